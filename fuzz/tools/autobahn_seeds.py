#!/usr/bin/env python3
"""Seeds from the Autobahn|Testsuite run (reports/autobahn/, written by scripts/autobahn.sh).

Each case report holds the opening handshake and a wire log of the octets the testsuite sent
('TO') and received ('RO'), one entry per TCP write. For one case of every group (1.1, 1.2, 2,
3, ..., 10.1, 12.1, ...) this writes, in the formats of core/testkit/src/fuzzing/:
- session_server/autobahn-<case>: the testsuite's frames to the wspc server, one DATA chunk per
  TCP write, each followed by PUMP, then DRIVE;
- session_client/autobahn-<case>: the same for the wspc client (testsuite as server);
- handshake_request/autobahn-client, handshake_response/autobahn-server: the testsuite's own
  request, and its response with the accept value replaced by the one for the RFC 6455 nonce
  the handshake_response harness uses.
Octets the wire log truncated (it keeps the first 64 bytes of a long write) end the script there.

Usage: python3 fuzz/tools/autobahn_seeds.py   (from the repository root)
"""
import glob
import json
import os
import re
import struct

OP_DATA, OP_PUMP, OP_DRIVE = 0, 15, 11


def script(flags, rbs, sbs, chunks):
    # Buffer sizes encoded as fuzzing::buffer_size_raw does (small sizes only here).
    out = bytearray([flags]) + struct.pack("<HH", rbs - 256, sbs - 16)
    for c in chunks:
        for i in range(0, len(c), 0xFFFF):
            part = c[i:i + 0xFFFF]
            out += bytes([OP_DATA]) + struct.pack("<H", len(part)) + part
        out.append(OP_PUMP)
    out.append(OP_DRIVE)
    return bytes(out)


def frames(report):
    """The testsuite's writes after the handshake, as long as the wire log kept them whole."""
    chunks = []
    handshake = True
    for entry in report.get("wirelog") or []:
        if entry[0] != "TO":
            continue
        n, data = entry[1][0], entry[1][1]
        if handshake and (data.startswith("474554") or data.startswith("48545450")):
            handshake = False
            continue
        if len(data) != 2 * n:
            break
        chunks.append(bytes.fromhex(data))
    return chunks


def group(case):
    parts = case.split(".")
    return ".".join(parts[:2]) if parts[0] in ("1", "5", "6", "7", "9", "10", "12", "13") else parts[0]


def main():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    corpus = os.path.join(root, "fuzz", "corpus")
    for role, target in (("server", "session_server"), ("client", "session_client")):
        seen = set()
        files = glob.glob(os.path.join(root, "reports", "autobahn", role, "wspc_case_*.json"))
        key = lambda f: [int(x) for x in re.findall(r"\d+", os.path.basename(f))]
        for f in sorted(files, key=key):
            report = json.load(open(f))
            case = report["case"] if isinstance(report["case"], str) else report["id"]
            g = group(report["id"])
            chunks = frames(report)
            if g in seen or not chunks:
                continue
            seen.add(g)

            seed = script(0, 1024, 16 if target == "session_server" else 256, chunks)
            name = "seed-autobahn-" + report["id"].replace(".", "_")
            open(os.path.join(corpus, target, name), "wb").write(seed)
        print(f"{target}: {len(seen)} Autobahn cases")
    # The handshakes.
    server_case = json.load(open(os.path.join(root, "reports", "autobahn", "server", "wspc_case_1_1_1.json")))
    request = server_case["httpRequest"].replace("\r\n", "\n").replace("\n", "\r\n")
    open(os.path.join(corpus, "handshake_request", "seed-autobahn-client"), "wb").write(request.encode())
    client_case = json.load(open(os.path.join(root, "reports", "autobahn", "client", "wspc_case_1_1_1.json")))
    response = re.sub(r"Sec-WebSocket-Accept: \S+", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
                      client_case["httpResponse"]).replace("\r\n", "\n").replace("\n", "\r\n")
    open(os.path.join(corpus, "handshake_response", "seed-autobahn-server"), "wb").write(response.encode())


if __name__ == "__main__":
    main()
