#!/usr/bin/env python3
"""Record seeds for the `http_head` fuzz target from real peers, over loopback:

- the upgrade requests that Python `websockets` and Node `ws` send (written as server-side seeds:
  flags byte 0x00 + the request, and 0x02 / 0x0c variants read in 1-byte and 100-byte chunks);
- the 101 responses that a Python `websockets` server and a Node `ws` server give to a fixed
  request (client-side seeds: flags byte 0x01 + the response, with the accept value replaced by
  the target's `{accept}` marker).

Needs `pip install websockets` and `npm install ws` (NODE_PATH pointing at it). Usage:
    python3 fuzz/tools/http_seeds.py fuzz/corpus/http_head
"""
import asyncio
import os
import socket
import subprocess
import sys
import threading

OUT = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/http_head"
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data[: data.index(b"\r\n\r\n") + 4] if b"\r\n\r\n" in data else data


def capture_request(run_client):
    """Listen on loopback, run a client against it, return the request head it sent."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    got = {}

    def serve():
        conn, _ = srv.accept()
        got["head"] = read_head(conn)
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    run_client(port)
    t.join(10)
    srv.close()
    return got["head"]


def python_client(port):
    import websockets.sync.client as c

    try:
        c.connect(f"ws://127.0.0.1:{port}/chat?room=1", open_timeout=2).close()
    except Exception:
        pass


def node_client(port):
    js = (
        "const W=require('ws');const w=new W('ws://127.0.0.1:%d/chat',['chat','superchat'],"
        "{headers:{Origin:'http://example.com'}});w.on('error',()=>{});"
        "setTimeout(()=>process.exit(0),1500);" % port
    )
    subprocess.run(["node", "-e", js], timeout=10, check=False)


REQUEST = (
    "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: chat\r\n\r\n"
).encode()


def response_of(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(REQUEST)
    head = read_head(s)
    s.close()
    return head


def python_server_response():
    import websockets.sync.server as srv

    def handler(ws):
        try:
            ws.recv()
        except Exception:
            pass

    server = srv.serve(handler, "127.0.0.1", 0, subprotocols=["chat"])
    port = server.socket.getsockname()[1]
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        return response_of(port)
    finally:
        server.shutdown()


def node_server_response():
    js = (
        "const W=require('ws');const s=new W.WebSocketServer({port:0,host:'127.0.0.1',"
        "handleProtocols:(p)=>p.has('chat')?'chat':false});"
        "s.on('listening',()=>console.log(s.address().port));"
        "s.on('connection',w=>w.on('error',()=>{}));setTimeout(()=>process.exit(0),5000);"
    )
    p = subprocess.Popen(["node", "-e", js], stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline())
    try:
        return response_of(port)
    finally:
        p.kill()


def write(name, data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "seed-" + name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def main():
    for who, client in [("python-websockets", python_client), ("node-ws", node_client)]:
        head = capture_request(client)
        write(f"request-{who}", b"\x00" + head)
        write(f"request-{who}-1byte", b"\x02" + head)
        write(f"request-{who}-100byte", b"\x0a" + head)
    for who, fetch in [("python-websockets", python_server_response), ("node-ws", node_server_response)]:
        head = fetch().replace(ACCEPT, b"{accept}")
        write(f"response-{who}", b"\x01" + head)
        write(f"response-{who}-3byte", b"\x05" + head)


if __name__ == "__main__":
    main()
