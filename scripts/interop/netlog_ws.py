#!/usr/bin/env python3
"""What Chromium's net log says about the WebSocket connections of the interop page.

    python3 netlog_ws.py NETLOG ROW accepted|declined
    python3 netlog_ws.py NETLOG all-accepted HOST:PORT

The page (chromium_page.js) tags each row's connections with `?row=ROW` in their URL, so the
connections of one row can be told apart in the log (`chromium --log-net-log=NETLOG`). For each
WebSocket connection the log holds the request's and the 101's headers
(HTTP_TRANSACTION_SEND_REQUEST_HEADERS, HTTP_TRANSACTION_READ_RESPONSE_HEADERS) and the header of
every frame sent and received (WEBSOCKET_SENT_FRAME_HEADER, WEBSOCKET_RECV_FRAME_HEADER: opcode,
reserved1 = RSV1, payload_length), which the page itself cannot see.

Checks (exit 0 if it holds, 1 if not, 2 on a log that cannot be read; one line on stdout says
what was found):
  ROW accepted    every connection of ROW offered permessage-deflate, its 101 agreed to it, and
                  the first frame of every data message received (from the wspc server) had RSV1
                  set (a compressed message); at least one such message
  ROW declined    every connection of ROW offered permessage-deflate, its 101 has no
                  Sec-WebSocket-Extensions, and no frame either way had RSV1 set; at least one
                  data message received
  all-accepted HOST:PORT
                  every connection to ws://HOST:PORT that got a 101 agreed to permessage-deflate
                  and received only compressed data messages (the other rows of the page ran
                  compressed)
"""

import json
import sys
from urllib.parse import parse_qs, urlsplit

DATA_OPCODES = (1, 2)


def load(path):
    """The log's constants and events. A log Chromium did not finish (killed at its time bound)
    lacks the closing brackets: then it is read one event (one line) at a time."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        log = json.loads(text)
        return log["constants"], log["events"]
    except (ValueError, KeyError):
        pass
    lines = text.splitlines()
    constants = json.loads(lines[0].rstrip(",") + "}")["constants"]
    events = []
    for line in lines[2:]:
        line = line.rstrip().rstrip(",")
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                break
    return constants, events


def header(lines, name):
    """The value of the header `name` in a list of 'Name: value' lines, or None."""
    prefix = name.lower() + ":"
    for line in lines:
        if line.lower().startswith(prefix):
            return line.split(":", 1)[1].strip()
    return None


class Connection:
    def __init__(self, url):
        self.url = url
        self.offer = None
        self.status = None
        self.answer = None
        self.sent = []  # frame headers: (opcode, rsv1, payload_length)
        self.recv = []


def firsts(frames):
    """The first frames of the data messages among `frames` (continuations have opcode 0)."""
    return [f for f in frames if f[0] in DATA_OPCODES]


def connections(path):
    constants, events = load(path)
    names = {v: k for k, v in constants["logEventTypes"].items()}
    by_source = {}
    for e in events:
        kind = names.get(e.get("type"))
        src = e.get("source", {}).get("id")
        params = e.get("params") or {}
        if kind == "URL_REQUEST_START_JOB" and str(params.get("url", "")).startswith("ws"):
            by_source[src] = Connection(params["url"])
            continue
        c = by_source.get(src)
        if c is None:
            continue
        if kind == "HTTP_TRANSACTION_SEND_REQUEST_HEADERS":
            c.offer = header(params.get("headers", []), "Sec-WebSocket-Extensions")
        elif kind == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS":
            lines = params.get("headers", [])
            if lines:
                parts = lines[0].split(" ")
                c.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            c.answer = header(lines, "Sec-WebSocket-Extensions")
        elif kind in ("WEBSOCKET_SENT_FRAME_HEADER", "WEBSOCKET_RECV_FRAME_HEADER"):
            frame = (params.get("opcode"), bool(params.get("reserved1")), params.get("payload_length", 0))
            (c.sent if kind.startswith("WEBSOCKET_SENT") else c.recv).append(frame)
    return list(by_source.values())


def row_of(c):
    return parse_qs(urlsplit(c.url).query).get("row", [None])[0]


def offered(c):
    return c.offer is not None and "permessage-deflate" in c.offer.lower()


def check_accepted(conns, what):
    if not conns:
        return False, f"no WebSocket connection of {what} in the net log"
    messages = payload = 0
    for c in conns:
        if not offered(c):
            return False, f"{c.url}: offered {c.offer!r}, not permessage-deflate"
        if c.status != 101:
            continue
        if c.answer is None or "permessage-deflate" not in c.answer.lower():
            return False, f"{c.url}: the 101 answered Sec-WebSocket-Extensions {c.answer!r}"
        received = firsts(c.recv)
        plain = [f for f in received if not f[1]]
        if plain:
            return False, f"{c.url}: {len(plain)} of {len(received)} data messages received without RSV1 (not compressed)"
        messages += len(received)
        payload += sum(f[2] for f in c.recv if f[0] in (0, *DATA_OPCODES))
    if messages == 0:
        return False, f"no data message received on the {len(conns)} connection(s) of {what}"
    answers = sorted({c.answer for c in conns if c.status == 101})
    return True, (
        f"net log: {len(conns)} connection(s) offered '{conns[0].offer}', the 101 answered "
        f"{' / '.join(repr(a) for a in answers)}; all {messages} data messages received had RSV1 "
        f"({payload} B of compressed payload)"
    )


def check_declined(conns, what):
    if not conns:
        return False, f"no WebSocket connection of {what} in the net log"
    messages = 0
    for c in conns:
        if not offered(c):
            return False, f"{c.url}: offered {c.offer!r}, not permessage-deflate"
        if c.answer is not None:
            return False, f"{c.url}: the 101 answered Sec-WebSocket-Extensions {c.answer!r}"
        rsv1 = [f for f in c.sent + c.recv if f[1]]
        if rsv1:
            return False, f"{c.url}: {len(rsv1)} frames with RSV1 on a connection without the extension"
        messages += len(firsts(c.recv))
    if messages == 0:
        return False, f"no data message received on the {len(conns)} connection(s) of {what}"
    return True, (
        f"net log: offered '{conns[0].offer}', the 101 had no Sec-WebSocket-Extensions; "
        f"{messages} data messages received and all frames either way without RSV1"
    )


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, a, b = argv
    try:
        conns = connections(path)
    except (OSError, ValueError, KeyError, IndexError) as e:
        print(f"cannot read the net log {path}: {type(e).__name__}: {e}")
        return 2
    if a == "all-accepted":
        mine = [c for c in conns if urlsplit(c.url).netloc == b]
        ok, detail = check_accepted(mine, f"ws://{b}")
    elif b in ("accepted", "declined"):
        mine = [c for c in conns if row_of(c) == a]
        ok, detail = (check_accepted if b == "accepted" else check_declined)(mine, f"row {a}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
