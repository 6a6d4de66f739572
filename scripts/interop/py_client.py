#!/usr/bin/env python3
"""Interop peer: the Python `websockets` asyncio client against a wspc echo server.

    python py_client.py URL SERVER_NAME [ROW ...]

Runs each row (all by default) on its own connection(s), bounded by WSPC_INTEROP_ROW_TIMEOUT
seconds (default 60), and prints one line per row:

    PASS|FAIL <SERVER_NAME> python-websockets <row> (<detail>)

Exits 0 if every row passed. Run by scripts/interop.sh with the websockets it installed.
"""

import asyncio
import os
import random
import sys
import time

import websockets
from websockets.asyncio.client import connect

PEER = "python-websockets"
ROW_TIMEOUT = float(os.environ.get("WSPC_INTEROP_ROW_TIMEOUT", "60"))
MIB = 1 << 20


class Fail(Exception):
    """A row's check failed; the message is the detail."""


def options(**overrides):
    """Connection options: no compression (wspc has no permessage-deflate yet), no cap on
    message size, no proxy from the environment."""
    base = dict(compression=None, max_size=None, proxy=None, open_timeout=10, close_timeout=10)
    base.update(overrides)
    return base


def check(cond, detail):
    if not cond:
        raise Fail(detail)


def describe(m):
    kind = "text" if isinstance(m, str) else "binary"
    return f"{kind} of {len(m)}"


async def row_16mib(url):
    payload = random.Random(16).randbytes(16 * MIB)
    async with connect(url, **options()) as ws:
        t0 = time.monotonic()
        # Send the whole message first; only then read.
        await ws.send(payload)
        fragments = []
        async for fragment in ws.recv_streaming():
            fragments.append(fragment)
        dt = time.monotonic() - t0
    check(all(isinstance(f, bytes) for f in fragments), "echo was not binary")
    echoed = b"".join(fragments)
    check(len(echoed) == len(payload), f"echo has {len(echoed)} bytes, sent {len(payload)}")
    check(echoed == payload, "echo differs from what was sent")
    check(len(fragments) == 1, f"echo arrived in {len(fragments)} frames, expected 1")
    return f"{len(payload)} bytes echoed equal in 1 message of 1 frame, {dt:.2f} s"


async def row_deflate(url):
    text = "permessage-deflate offered; " * 40
    # The client's defaults: compression="deflate" offers permessage-deflate.
    async with connect(url, **options(compression="deflate")) as ws:
        offered = ws.request.headers.get("Sec-WebSocket-Extensions")
        accepted = ws.response.headers.get("Sec-WebSocket-Extensions")
        negotiated = [e.name for e in ws.protocol.extensions]
        await ws.send(text)
        echo = await ws.recv()
    check(offered and "permessage-deflate" in offered, f"the client did not offer it ({offered!r})")
    check(echo == text, f"echo differs: {describe(echo)}")
    how = "declined" if not negotiated else f"accepted {accepted!r}"
    return f"offered {offered!r}; server {how}; {len(text)}-char text echoed equal"


async def row_text(url):
    unit = "é€😀"
    text = unit * (MIB // len(unit.encode()))
    async with connect(url, **options()) as ws:
        await ws.send(text)
        echo = await ws.recv()
    check(isinstance(echo, str), f"echo was {describe(echo)}, expected text")
    check(echo == text, "echo differs from what was sent")
    return f"{len(text.encode())} bytes of UTF-8 ({len(text)} chars) echoed equal"


def small_messages(seed, n, max_len):
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzé€😀 "
    out = []
    for i in range(n):
        size = 0 if i % 50 == 0 else rng.randint(0, max_len)
        if i % 2:
            out.append(rng.randbytes(size))
        else:
            # Up to `size` bytes of UTF-8, stopping at the first character that does not fit.
            chars, used = [], 0
            while True:
                c = rng.choice(alphabet)
                if used + len(c.encode()) > size:
                    break
                chars.append(c)
                used += len(c.encode())
            out.append("".join(chars))
    return out


async def row_small(url):
    messages = small_messages(1000, 1000, 125)
    async with connect(url, **options()) as ws:

        async def sender():
            for m in messages:
                await ws.send(m)

        async def receiver():
            return [await ws.recv() for _ in messages]

        _, echoes = await asyncio.gather(sender(), receiver())
    for i, (m, e) in enumerate(zip(messages, echoes)):
        check(type(m) is type(e) and m == e, f"message {i}: sent {describe(m)}, got {describe(e)}")
    empty = sum(1 for m in messages if len(m) == 0)
    texts = sum(1 for m in messages if isinstance(m, str))
    return f"{len(messages)} messages ({texts} text, {len(messages) - texts} binary, {empty} empty) echoed equal, in order"


async def row_ping(url):
    payload = b"wspc-interop-ping"
    async with connect(url, **options()) as ws:
        waiter = await ws.ping(payload)
        latency = await waiter
    # websockets completes the waiter only for a pong carrying this ping's payload.
    return f"pong with payload {payload!r} in {latency * 1000:.1f} ms"


async def row_close(url):
    ws = await connect(url, **options())
    await ws.send("before close")
    check(await ws.recv() == "before close", "echo before close differs")
    await ws.close(4001, "bye")
    await ws.wait_closed()
    p = ws.protocol
    rcvd, sent = p.close_rcvd, p.close_sent
    check(sent is not None and sent.code == 4001 and sent.reason == "bye", f"sent close {sent}")
    check(rcvd is not None, "no close frame came back from the server")
    check(p.close_rcvd_then_sent is False, "the server closed first")
    check(ws.close_code == 4001 and rcvd is not None and rcvd.reason == "bye",
          f"server answered close code {ws.close_code} ({rcvd}); want 4001 'bye' echoed")
    return f"sent 4001 'bye', server echoed code {rcvd.code} reason {rcvd.reason!r}, handshake complete"


async def row_concurrent(url):
    clients, per_client = 50, 200

    async def one(k):
        messages = small_messages(k, per_client, 1024)
        async with connect(url, **options()) as ws:

            async def sender():
                for m in messages:
                    await ws.send(m)

            async def receiver():
                return [await ws.recv() for _ in messages]

            _, echoes = await asyncio.gather(sender(), receiver())
        for i, (m, e) in enumerate(zip(messages, echoes)):
            check(type(m) is type(e) and m == e, f"client {k} message {i}: sent {describe(m)}, got {describe(e)}")
        return len(echoes)

    t0 = time.monotonic()
    counts = await asyncio.gather(*(one(k) for k in range(clients)))
    dt = time.monotonic() - t0
    return f"{clients} clients x {per_client} messages = {sum(counts)} echoed equal, in order, {dt:.2f} s"


async def echo_one(ws, message):
    """Send one message and check that its echo is equal and of the same type."""
    await ws.send(message)
    echo = await ws.recv()
    check(type(echo) is type(message), f"sent {describe(message)}, got {describe(echo)}")
    check(echo == message, f"echo of {describe(message)} differs from what was sent")
    return echo


async def row_subprotocol(url):
    # The echo servers run with `--subprotocol chat`: they select 'chat' when it is offered
    # (alone or after one they do not speak) and answer other offers with no header, which
    # websockets accepts (it requires only that a selected subprotocol was offered).
    seen = []
    for offer, want in ((["chat"], "chat"), (["nope", "chat"], "chat"), (["nope"], None), (None, None)):
        async with connect(url, **options(subprotocols=offer)) as ws:
            selected = ws.subprotocol
            await echo_one(ws, f"offered {offer}")
        check(selected == want, f"offered {offer}: selected {selected!r}, expected {want!r}")
        seen.append(f"{offer} -> {selected!r}")
    return "; ".join(seen) + "; a text echoed on each"


async def row_text_ascii(url):
    # All 128 ASCII code points, NUL and DEL included, 512 times over: 64 KiB.
    text = "".join(map(chr, range(128))) * 512
    async with connect(url, **options()) as ws:
        await echo_one(ws, text)
    return f"{len(text)} chars (U+0000-U+007F x 512) echoed equal"


def split_codepoint_fragments(data):
    """Cut UTF-8 `data` (a repeated 'aé€😀') into fragments whose boundaries fall inside code
    points: after every byte of the first 'é€😀' that is not its last, then twice more in the
    rest, each moved forward onto a continuation byte. Returns the fragments and how many
    boundaries cut a code point."""
    cuts = [i for i in range(1, 10) if data[i] & 0xC0 == 0x80]
    for at in (len(data) // 3, 2 * len(data) // 3):
        while data[at] & 0xC0 != 0x80:
            at += 1
        cuts.append(at)
    bounds = [0, *cuts, len(data)]
    fragments = [data[a:b] for a, b in zip(bounds, bounds[1:])]
    inside = sum(1 for c in cuts if data[c] & 0xC0 == 0x80)
    return fragments, inside


async def row_text_split(url):
    text = "aé€😀" * 6554
    data = text.encode()
    fragments, inside = split_codepoint_fragments(data)
    async with connect(url, **options()) as ws:
        # An iterable of bytes with text=True: a text message, one frame per item (and an empty
        # final continuation frame), the items cut wherever we like.
        await ws.send(fragments, text=True)
        echo = await ws.recv()
    check(isinstance(echo, str), f"echo was {describe(echo)}, expected text")
    check(echo == text, "echo differs from what was sent")
    return (
        f"{len(data)} B of UTF-8 sent in {len(fragments)} fragments (+ websockets' empty final one), "
        f"{inside} boundaries inside code points (2-, 3- and 4-byte), echoed equal as one text"
    )


BINARY_SIZES = (0, 1, 125, 126, 65535, 65536, MIB, 16 * MIB)


async def row_binary_sizes(url):
    rng = random.Random(7)
    t0 = time.monotonic()
    for size in BINARY_SIZES:
        async with connect(url, **options()) as ws:
            await echo_one(ws, rng.randbytes(size))
    dt = time.monotonic() - t0
    return f"binary of {', '.join(map(str, BINARY_SIZES))} B each echoed equal, {dt:.2f} s"


async def row_fragmented(url):
    payload = random.Random(5).randbytes(100_000)
    bounds = [0, 1, 126, 252, 65788, len(payload)]
    fragments = [payload[a:b] for a, b in zip(bounds, bounds[1:])]
    async with connect(url, **options()) as ws:
        await ws.send(fragments)
        echo = await ws.recv()
    check(isinstance(echo, bytes), f"echo was {describe(echo)}, expected binary")
    check(echo == payload, f"echo of {len(echo)} B differs from the {len(payload)} B sent")
    sizes = ", ".join(str(len(f)) for f in fragments)
    return f"{len(payload)} B sent in {len(fragments)} fragments ({sizes} B, + an empty final one), echoed equal as one message"


ROWS = {
    "subprotocol": row_subprotocol,
    "text-ascii": row_text_ascii,
    "text-split-codepoints": row_text_split,
    "binary-sizes": row_binary_sizes,
    "fragmented": row_fragmented,
    "16mib-send-before-read": row_16mib,
    "deflate-offered": row_deflate,
    "text-nonascii": row_text,
    "small-messages": row_small,
    "ping-pong": row_ping,
    "close-code": row_close,
    "concurrent": row_concurrent,
}


async def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    url, server, names = argv[0], argv[1], argv[2:] or list(ROWS)
    failed = 0
    for name in names:
        try:
            detail = await asyncio.wait_for(ROWS[name](url), ROW_TIMEOUT)
            verdict = "PASS"
        except asyncio.TimeoutError:
            verdict, detail = "FAIL", f"timed out after {ROW_TIMEOUT:.0f} s"
        except Fail as e:
            verdict, detail = "FAIL", str(e)
        except Exception as e:  # noqa: BLE001 - any error is the row's failure
            verdict, detail = "FAIL", f"{type(e).__name__}: {e}"
        failed += verdict == "FAIL"
        print(f"{verdict} {server} {PEER} {name} ({detail})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    print(f"# websockets {websockets.__version__}", file=sys.stderr)
    sys.exit(asyncio.run(main(sys.argv[1:])))
