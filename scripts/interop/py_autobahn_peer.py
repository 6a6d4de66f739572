#!/usr/bin/env python3
"""A Python `websockets` implementation for `scripts/autobahn.sh --server-cmd/--client-cmd`.

    python py_autobahn_peer.py server HOST:PORT [--corrupt]
    python py_autobahn_peer.py client URL AGENT

`server`: an asyncio echo server on HOST:PORT that sends every text and binary message back as
it came (pings are answered by websockets), until killed. With `--corrupt` it echoes a wrong
message instead (one character or byte appended), so that the testsuite's echo cases fail: the
negative control of scripts/test-autobahn-external.sh.

`client`: the client side of the fuzzingserver's protocol, as Autobahn's own clients speak it:
`URL/getCaseCount` (one text message, the count), then `URL/runCase?case=N&agent=AGENT` for
N = 1..count, echoing every message of each case until the testsuite closes, then
`URL/updateReports?agent=AGENT`. A case that ends in an error is the testsuite's finding, not a
reason to stop; only getCaseCount and updateReports failing make the exit status 1.

Both run with compression off and no message-size cap, so that the testsuite sees websockets'
framing and close handling rather than its defaults for untrusted peers.
"""

import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import WebSocketException

OPTIONS = dict(compression=None, max_size=None)


def corrupted(message):
    """The message with one character or byte added: never equal to what was sent."""
    return message + ("!" if isinstance(message, str) else b"\x00")


async def run_server(addr, corrupt):
    host, _, port = addr.rpartition(":")

    async def echo(ws):
        try:
            async for message in ws:
                await ws.send(corrupted(message) if corrupt else message)
        except WebSocketException:
            # The testsuite breaks the protocol on purpose; websockets has answered already.
            pass

    async with serve(echo, host or "127.0.0.1", int(port), **OPTIONS) as server:
        bound = server.sockets[0].getsockname()
        mode = " (corrupting every echo)" if corrupt else ""
        print(f"autobahn echo server listening on ws://{bound[0]}:{bound[1]}{mode}", flush=True)
        await server.serve_forever()


async def echo_case(uri):
    try:
        async with connect(uri, proxy=None, **OPTIONS) as ws:
            async for message in ws:
                await ws.send(message)
    except (OSError, WebSocketException, asyncio.TimeoutError) as e:
        return e
    return None


async def run_client(url, agent):
    url = url.rstrip("/")
    async with connect(f"{url}/getCaseCount", proxy=None, **OPTIONS) as ws:
        count = int(await ws.recv())
    print(f"[py-client] {count} cases", flush=True)
    for case in range(1, count + 1):
        error = await echo_case(f"{url}/runCase?case={case}&agent={agent}")
        if error is not None:
            print(f"[py-client] case {case}: {type(error).__name__}: {error}", file=sys.stderr)
    async with connect(f"{url}/updateReports?agent={agent}", proxy=None, **OPTIONS) as ws:
        await ws.wait_closed()
    print(f"[py-client] {count} cases run; reports updated", flush=True)


def main(argv):
    if len(argv) >= 2 and argv[0] == "server" and set(argv[2:]) <= {"--corrupt"}:
        asyncio.run(run_server(argv[1], "--corrupt" in argv[2:]))
    elif len(argv) == 3 and argv[0] == "client":
        asyncio.run(run_client(argv[1], argv[2]))
    else:
        print("usage:\n" + "\n".join(__doc__.splitlines()[2:4]), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
