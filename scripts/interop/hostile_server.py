#!/usr/bin/env python3
"""Interop peer server that breaks the upgrade on purpose, for the wspc clients' refusal rows.

    python3 hostile_server.py [HOST:PORT]      (default 127.0.0.1:0: a free port)

Plain asyncio and hand-written HTTP and frames, no WebSocket library: the point is to send what a
library would not. Prints `hostile server listening on ws://ADDR` once listening; the request's
path chooses the mode:

    /extension-not-offered    101 with `Sec-WebSocket-Extensions: permessage-deflate`, which the
                              client did not offer (the row's client has permessage-deflate off)
    /other-extension          101 with `Sec-WebSocket-Extensions: x-webkit-deflate-frame`, an
                              extension no client here offers (they offer permessage-deflate)
    /deflate-answer?ext=V     101 with `Sec-WebSocket-Extensions: V` (V percent-decoded): the
                              client's row chooses a permessage-deflate answer it must refuse (a
                              window size outside 8-15, a parameter twice or unknown, ...)
    /subprotocol-not-offered  101 with `Sec-WebSocket-Protocol: chat`, whatever the client offered
                              (the rows offer none)
    /wrong-accept             101 whose Sec-WebSocket-Accept answers a different key
    /frame-with-101           a correct 101 and, in the same write, an unmasked text frame "early";
                              then an echo server (text and binary echoed, pings answered, a close
                              answered with its code and the connection closed)

Any other path gets 404. After a bad 101 the server sends nothing more and waits (up to 10 s) for
the client to end the connection. One line per connection goes to stdout:
`PEER MODE: ...` with what the client did after the 101 (interop.sh keeps it in its logs).
"""

import asyncio
import base64
import hashlib
import struct
import sys
from urllib.parse import parse_qs

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MODES = (
    "extension-not-offered",
    "other-extension",
    "deflate-answer",
    "subprotocol-not-offered",
    "wrong-accept",
    "frame-with-101",
)
WAIT = 10.0


def accept_for(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final frame (a server's)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


async def read_frame(reader):
    """One frame from the client: (fin, opcode, unmasked payload)."""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if b1 & 0x80 else b"\0\0\0\0"
    data = await reader.readexactly(n)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return bool(b0 & 0x80), b0 & 0x0F, payload


async def echo(reader, writer):
    """A minimal echo session: messages reassembled and sent back whole; returns how it ended."""
    parts, kind, count = [], None, 0
    while True:
        fin, opcode, payload = await read_frame(reader)
        if opcode == 0x8:
            writer.write(frame(0x8, payload[:2]))
            await writer.drain()
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            return f"{count} messages echoed, then the client closed with {code}; answered"
        if opcode == 0x9:
            writer.write(frame(0xA, payload))
        elif opcode in (0x1, 0x2, 0x0):
            if opcode:
                kind = opcode
            parts.append(payload)
            if fin:
                writer.write(frame(kind, b"".join(parts)))
                parts, count = [], count + 1
        await writer.drain()


async def handle(reader, writer):
    peer = "%s:%s" % writer.get_extra_info("peername")[:2]
    mode = "?"
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1] if len(lines[0].split(" ")) == 3 else ""
        mode = target.split("?")[0].lstrip("/")
        query = parse_qs(target.split("?", 1)[1]) if "?" in target else {}
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key", "").encode()
        if mode not in MODES or not key:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            print(f"{peer} {mode}: 404", flush=True)
            return
        accept = accept_for(b"not the key that was sent" if mode == "wrong-accept" else key)
        response = [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Accept: {accept.decode()}",
        ]
        if mode == "extension-not-offered":
            response.append("Sec-WebSocket-Extensions: permessage-deflate")
        if mode == "other-extension":
            response.append("Sec-WebSocket-Extensions: x-webkit-deflate-frame")
        if mode == "deflate-answer":
            # parse_qs has percent-decoded it; a CR or LF would end the header early.
            answer = query.get("ext", [""])[0].replace("\r", "").replace("\n", "")
            response.append(f"Sec-WebSocket-Extensions: {answer}")
            mode = f"deflate-answer '{answer}'"
        if mode == "subprotocol-not-offered":
            response.append("Sec-WebSocket-Protocol: chat")
        out = ("\r\n".join(response) + "\r\n\r\n").encode()
        if mode == "frame-with-101":
            # The head and the first frame in one write: the client must keep the frame's bytes
            # that arrive with (or right behind) the head.
            writer.write(out + frame(0x1, b"early"))
            await writer.drain()
            ended = await asyncio.wait_for(echo(reader, writer), WAIT)
            print(f"{peer} {mode}: {ended}", flush=True)
            return
        writer.write(out)
        await writer.drain()
        # A client that refused the 101 sends nothing more and ends the connection.
        rest = await asyncio.wait_for(reader.read(), WAIT)
        print(f"{peer} {mode}: the client sent {len(rest)} bytes after the 101, then ended the stream", flush=True)
    except asyncio.TimeoutError:
        print(f"{peer} {mode}: timed out after {WAIT:.0f} s", flush=True)
    except (asyncio.IncompleteReadError, ConnectionError) as e:
        print(f"{peer} {mode}: the connection ended: {type(e).__name__}", flush=True)
    finally:
        writer.close()


async def main():
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:0").rpartition(":")
    server = await asyncio.start_server(handle, host, int(port))
    addr = server.sockets[0].getsockname()
    print(f"hostile server listening on ws://{addr[0]}:{addr[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
