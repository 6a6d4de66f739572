#!/usr/bin/env python3
"""Interop peer: the Python `websockets` asyncio client against a wspc echo server.

    python py_client.py [--no-deflate-url URL2] URL SERVER_NAME [ROW ...]

Runs each row (all by default) on its own connection(s), bounded by WSPC_INTEROP_ROW_TIMEOUT
seconds (default 60), and prints one line per row:

    PASS|FAIL <SERVER_NAME> python-websockets <row> (<detail>)

Exits 0 if every row passed. Run by scripts/interop.sh with the websockets it installed.

The plain rows run without compression (compression=None). The deflate-* rows offer
permessage-deflate against URL, a server that accepts it, except deflate-declined, which goes
to URL2, the same server started with --no-deflate:
    deflate-accepted        websockets' default offer is accepted (the 101's
                            Sec-WebSocket-Extensions and the negotiated extension say so); on that
                            one connection 1 MiB of non-ASCII text and binary of 0, 1, 125, 65536
                            B, 1 MiB compressible, 1 MiB random and 16 MiB echo equal; the
                            server's frames carry RSV1 and the compressible MiB came back in under
                            a quarter of its size
    deflate-fragmented      a compressed text in 9 fragments cut inside code points and a
                            compressed binary in 5 fragments, each echoed equal as one message
    deflate-small-messages  1000 pipelined text/binary messages of 0-125 B sharing most of their
                            bytes, echoed equal and in order; the server's frames total under half
                            the payload (its context taken over from message to message)
    deflate-params          offered with server_no_context_takeover, client_no_context_takeover
                            and server_max_window_bits=10: the 101 agrees to exactly those; a 16
                            KiB message repeating a 4 KiB block comes back uncompressible (no
                            back-reference reaches 4 KiB behind in a 1 KiB window, and one that
                            did would fail websockets' inflater); 200 small messages come back
                            over half their size (no context takeover)
    deflate-declined        against URL2: the offer gets no extension in the 101, and text and
                            binary echo
"""

import asyncio
import os
import random
import sys
import time

import websockets
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Opcode

PEER = "python-websockets"
ROW_TIMEOUT = float(os.environ.get("WSPC_INTEROP_ROW_TIMEOUT", "60"))
MIB = 1 << 20
# The URL of the --no-deflate instance of the server (--no-deflate-url), for deflate-declined.
NO_DEFLATE_URL = None


class Fail(Exception):
    """A row's check failed; the message is the detail."""


def options(**overrides):
    """Connection options: no compression unless a row asks for it (the plain matrix), no cap on
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
        await echo_pipelined(ws, messages)
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
            await echo_pipelined(ws, messages, f"client {k} ")
        return len(messages)

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


def split_codepoint_fragments(data, start=0):
    """Cut UTF-8 `data` (a repeated 'aé€😀') into fragments whose boundaries fall inside code
    points: after every byte of the first 'é€😀' at or after `start` (a multiple of 10) that is
    not its last, then twice more in the rest, each moved forward onto a continuation byte.
    Returns the fragments and how many boundaries cut a code point."""
    cuts = [i for i in range(start + 1, start + 10) if data[i] & 0xC0 == 0x80]
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


# ----- permessage-deflate (RFC 7692) -----------------------------------------------------------


def deflate_options(**overrides):
    """A compressed connection: websockets' default offer (compression="deflate" offers
    `permessage-deflate; client_max_window_bits`), no cap on message size."""
    return options(compression="deflate", **overrides)


def negotiated(ws):
    """The offer and the 101's answer; fails unless permessage-deflate was offered and agreed."""
    offer = ws.request.headers.get("Sec-WebSocket-Extensions")
    answer = ws.response.headers.get("Sec-WebSocket-Extensions")
    names = [e.name for e in ws.protocol.extensions]
    check(offer and "permessage-deflate" in offer, f"websockets did not offer permessage-deflate ({offer!r})")
    check(answer and "permessage-deflate" in answer, f"offered {offer!r}; the 101 answered Sec-WebSocket-Extensions {answer!r}")
    check(names == ["permessage-deflate"], f"the 101 answered {answer!r} but websockets negotiated {names}")
    return offer, answer


class Wire:
    """The server's data frames as they came off the wire, before websockets' permessage-deflate
    extension decoded them: (first frame of a message, RSV1, payload length). Installed right after
    the handshake, before anything is sent, by wrapping the negotiated extension's decode()."""

    def __init__(self, ws):
        self.frames = []
        ext = ws.protocol.extensions[0]
        decode = ext.decode

        def spy(frame, *, max_size=None):
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                self.frames.append((frame.opcode is not Opcode.CONT, frame.rsv1, len(frame.data)))
            return decode(frame, max_size=max_size)

        ext.decode = spy

    def take(self):
        """Since the last take: (messages, of which compressed (RSV1), payload bytes on the wire)."""
        frames, self.frames = self.frames, []
        firsts = [f for f in frames if f[0]]
        return len(firsts), sum(1 for f in firsts if f[1]), sum(f[2] for f in frames)


def size_of(m):
    return len(m.encode() if isinstance(m, str) else m)


def compressible_bytes(n):
    """n bytes that compress well: numbered lines of one sentence."""
    lines, size, i = [], 0, 0
    while size < n:
        line = f"line {i:07d}: the quick brown fox jumps over the lazy dog\n".encode()
        lines.append(line)
        size += len(line)
        i += 1
    return b"".join(lines)[:n]


def deflate_small_messages(n):
    """n messages of 0-125 B, alternating text and binary (every 50th an empty text), that share
    most of their bytes: a number, then a prefix of one random 120-byte string (letters for the
    texts, bytes for the binaries). Alone each compresses hardly at all; with the context of the
    messages before it, to a few bytes."""
    rng = random.Random(7692)
    shared_text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(120))
    shared_bin = rng.randbytes(123)
    out = []
    for i in range(n):
        if i % 50 == 0:
            out.append("")
        elif i % 2:
            out.append(i.to_bytes(2, "big") + shared_bin[: rng.randint(0, 123)])
        else:
            out.append(f"{i:04d} " + shared_text[: rng.randint(0, 120)])
    return out


async def echo_pipelined(ws, messages, who=""):
    """Send every message while reading the echoes; check them equal and in order (`who`
    prefixes the failure message)."""

    async def sender():
        for m in messages:
            await ws.send(m)

    async def receiver():
        return [await ws.recv() for _ in messages]

    _, echoes = await asyncio.gather(sender(), receiver())
    for i, (m, e) in enumerate(zip(messages, echoes)):
        check(type(m) is type(e) and m == e, f"{who}message {i}: sent {describe(m)}, got {describe(e)}")


async def row_deflate_accepted(url):
    rng = random.Random(1692)
    unit = "é€😀"
    text = unit * (MIB // len(unit.encode()))
    messages = [
        text,
        b"",
        rng.randbytes(1),
        rng.randbytes(125),
        rng.randbytes(65536),
        compressible_bytes(MIB),
        rng.randbytes(MIB),
        rng.randbytes(16 * MIB),
    ]
    async with connect(url, **deflate_options()) as ws:
        offer, answer = negotiated(ws)
        wire = Wire(ws)
        t0 = time.monotonic()
        seen = []
        for m in messages:
            await echo_one(ws, m)
            seen.append(wire.take())
        dt = time.monotonic() - t0
    for m, (n, compressed, _) in zip(messages, seen):
        check(n == 1 and compressed == 1, f"the echo of {describe(m)} came as {n} message(s), {compressed} with RSV1")
    text_wire, compressible_wire = seen[0][2], seen[5][2]
    check(compressible_wire < MIB // 4, f"the echo of 1 MiB of compressible binary took {compressible_wire} B on the wire")
    return (
        f"offered {offer!r}, the 101 answered {answer!r}; on one connection {size_of(text)} B of "
        f"non-ASCII text ({text_wire} B on the wire) and binary of 0, 1, 125, 65536 B, 1 MiB "
        f"compressible ({compressible_wire} B on the wire), 1 MiB random ({seen[6][2]} B) and 16 MiB "
        f"({seen[7][2]} B) echoed equal, every echo compressed (RSV1), {dt:.2f} s"
    )


async def row_deflate_fragmented(url):
    text = "aé€😀" * 6554
    data = text.encode()
    text_fragments, inside = split_codepoint_fragments(data, start=4000)
    rng = random.Random(5)
    payload = rng.randbytes(50_000) + compressible_bytes(50_000)
    bounds = [0, 4096, 4097, 4223, 65788, len(payload)]
    binary_fragments = [payload[a:b] for a, b in zip(bounds, bounds[1:])]
    async with connect(url, **deflate_options()) as ws:
        negotiated(ws)
        wire = Wire(ws)
        # websockets compresses the fragments of one message as one stream (RSV1 on the first).
        await ws.send(text_fragments, text=True)
        echo = await ws.recv()
        check(isinstance(echo, str) and echo == text, f"the fragmented text came back as {describe(echo)}, not equal")
        t = wire.take()
        await ws.send(binary_fragments)
        echo = await ws.recv()
        check(isinstance(echo, bytes) and echo == payload, f"the fragmented binary came back as {describe(echo)}, not equal")
        b = wire.take()
    check(t[:2] == (1, 1) and b[:2] == (1, 1), f"echoes: text {t[:2]}, binary {b[:2]} (messages, with RSV1)")
    return (
        f"compressed text of {len(data)} B in {len(text_fragments)} fragments ({inside} boundaries "
        f"inside code points) and binary of {len(payload)} B in {len(binary_fragments)} fragments "
        f"({', '.join(str(len(f)) for f in binary_fragments)} B), each echoed equal as one "
        f"compressed message ({t[2]} and {b[2]} B on the wire)"
    )


async def row_deflate_small(url):
    messages = deflate_small_messages(1000)
    raw = sum(size_of(m) for m in messages)
    async with connect(url, **deflate_options()) as ws:
        negotiated(ws)
        wire = Wire(ws)
        await echo_pipelined(ws, messages)
    n, compressed, on_wire = wire.take()
    check(n == len(messages) and compressed == n, f"{n} echoes, {compressed} with RSV1")
    check(on_wire < raw / 2, f"the {n} echoes took {on_wire} B on the wire for {raw} B: context not taken over?")
    return (
        f"{len(messages)} messages of 0-125 B sharing most bytes, pipelined, echoed equal and in "
        f"order, every echo compressed; {raw} B of payload came back as {on_wire} B "
        f"({100 * on_wire / raw:.0f}%: the server's context taken over between messages)"
    )


def parse_answer(answer):
    """permessage-deflate's parameters in an answer, as {name: value or None}."""
    _, *params = [p.strip() for p in answer.split(";")]
    out = {}
    for p in params:
        name, _, value = p.partition("=")
        out[name.strip().lower()] = value.strip().strip('"') or None
    return out


async def row_deflate_params(url):
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True, server_max_window_bits=10
    )
    rng = random.Random(10)
    block = rng.randbytes(4096)
    far = block * 4
    small = deflate_small_messages(200)
    raw = sum(size_of(m) for m in small)
    async with connect(url, **options(extensions=[factory])) as ws:
        offer, answer = negotiated(ws)
        got = parse_answer(answer)
        want = {"server_no_context_takeover": None, "client_no_context_takeover": None, "server_max_window_bits": "10"}
        check(
            {k: got.get(k, "absent") for k in want} == want and set(got) <= set(want) | {"client_max_window_bits"},
            f"offered {offer!r}; the 101 answered {answer!r}",
        )
        ext = ws.protocol.extensions[0]
        check(
            ext.remote_no_context_takeover and ext.local_no_context_takeover and ext.remote_max_window_bits == 10,
            f"websockets agreed to {ext!r}",
        )
        wire = Wire(ws)
        await echo_one(ws, far)
        f = wire.take()
        await echo_pipelined(ws, small)
        s = wire.take()
    # A 4 KiB block seen 4 times: only a window of 4 KiB or more finds the repeats.
    check(f[:2] == (1, 1) and f[2] > 0.9 * len(far), f"the echo of {len(far)} B (a 4 KiB block x 4) took {f[2]} B on the wire, messages {f[:2]}")
    check(s[:2] == (len(small), len(small)), f"{s[0]} echoes of the small messages, {s[1]} with RSV1")
    check(s[2] > raw / 2, f"the {len(small)} echoes took {s[2]} B on the wire for {raw} B: context taken over?")
    return (
        f"offered {offer!r}, the 101 answered {answer!r}; a 4 KiB random block x 4 came back as "
        f"{f[2]} B on the wire (no repeat found in a 1 KiB window; websockets inflates with 10 bits), "
        f"{len(small)} small messages echoed equal as {s[2]} B for {raw} B of payload (no context "
        f"takeover: {100 * s[2] / raw:.0f}%)"
    )


async def row_deflate_declined(url):
    check(NO_DEFLATE_URL, "no --no-deflate-url (the server started with --no-deflate) given")
    unit = "é€😀"
    text = unit * (MIB // len(unit.encode()))
    async with connect(NO_DEFLATE_URL, **deflate_options()) as ws:
        offer = ws.request.headers.get("Sec-WebSocket-Extensions")
        answer = ws.response.headers.get("Sec-WebSocket-Extensions")
        names = [e.name for e in ws.protocol.extensions]
        check(offer and "permessage-deflate" in offer, f"websockets did not offer permessage-deflate ({offer!r})")
        check(answer is None and not names, f"the --no-deflate server answered {answer!r} ({names})")
        await echo_one(ws, text)
        await echo_one(ws, compressible_bytes(MIB))
        await echo_one(ws, random.Random(3).randbytes(65536))
    return (
        f"offered {offer!r} to the --no-deflate server: no Sec-WebSocket-Extensions in the 101, "
        f"nothing negotiated; {size_of(text)} B of text, 1 MiB and 64 KiB of binary echoed equal"
    )


ROWS = {
    "subprotocol": row_subprotocol,
    "text-ascii": row_text_ascii,
    "text-split-codepoints": row_text_split,
    "binary-sizes": row_binary_sizes,
    "fragmented": row_fragmented,
    "16mib-send-before-read": row_16mib,
    "deflate-accepted": row_deflate_accepted,
    "deflate-fragmented": row_deflate_fragmented,
    "deflate-small-messages": row_deflate_small,
    "deflate-params": row_deflate_params,
    "deflate-declined": row_deflate_declined,
    "text-nonascii": row_text,
    "small-messages": row_small,
    "ping-pong": row_ping,
    "close-code": row_close,
    "concurrent": row_concurrent,
}


async def main(argv):
    global NO_DEFLATE_URL
    if "--no-deflate-url" in argv:
        i = argv.index("--no-deflate-url")
        if i + 1 >= len(argv):
            print(__doc__, file=sys.stderr)
            return 2
        NO_DEFLATE_URL = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
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
