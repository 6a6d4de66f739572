#!/usr/bin/env python3
"""Interop peer server: a Python `websockets` asyncio echo server for the wspc clients.

    python py_echo_server.py [--deflate] [HOST] [PORT]      (default 127.0.0.1 0: a free port)

Prints `echo server listening on ws://HOST:PORT` once listening, then echoes every text and
binary message with its type (pings are answered by websockets; a close is answered with its
code) until killed. It speaks the subprotocol `chat`: selected when the client offers it, and
otherwise no Sec-WebSocket-Protocol in the answer (websockets' own default would refuse a client
that offers nothing or only others with 400).

Compression: none by default (compression=None: an offer of permessage-deflate is declined).
With --deflate, websockets' server default (compression="deflate"): it accepts a
permessage-deflate offer, answering server_max_window_bits=12 and, when the client offered
client_max_window_bits, client_max_window_bits=12, and compresses every message it sends.
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


def select_subprotocol(connection, offered):
    return "chat" if "chat" in offered else None


async def main():
    args = sys.argv[1:]
    deflate = "--deflate" in args
    args = [a for a in args if a != "--deflate"]
    host = args[0] if len(args) > 0 else "127.0.0.1"
    port = int(args[1]) if len(args) > 1 else 0
    async with serve(
        echo,
        host,
        port,
        compression="deflate" if deflate else None,
        max_size=None,
        select_subprotocol=select_subprotocol,
    ) as server:
        addr = server.sockets[0].getsockname()
        how = "accepting permessage-deflate" if deflate else "without compression"
        print(f"echo server listening on ws://{addr[0]}:{addr[1]} ({how})", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
