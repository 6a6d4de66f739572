#!/usr/bin/env python3
"""Interop peer server: a Python `websockets` asyncio echo server for the wspc example clients.

    python py_echo_server.py [HOST] [PORT]      (default 127.0.0.1 0: a free port)

Prints `echo server listening on ws://HOST:PORT` once listening, then echoes every text and
binary message with its type (pings are answered by websockets) until killed.
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    async with serve(echo, host, port, compression=None, max_size=None) as server:
        addr = server.sockets[0].getsockname()
        print(f"echo server listening on ws://{addr[0]}:{addr[1]}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
