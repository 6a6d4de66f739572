#!/usr/bin/env python3
"""Loopback HTTP server for the Chromium interop page, run by scripts/interop.sh.

    python3 chromium_page_server.py [HOST:PORT] [HOLD_LIMIT_SECONDS]

Binds HOST:PORT (default 127.0.0.1:0, a free port), prints `listening on http://ADDR/` as its
first line, and answers

    GET /chromium_page.html, /chromium_page.js   the page and its script, from this directory
    GET /hold?run=ID     an empty page, but only once /release?run=ID has been asked for (or
                         after HOLD_LIMIT_SECONDS, default 45)
    GET /release?run=ID  204 No Content; lets the held /hold?run=ID answer

and 404 to anything else. Why the hold: `chromium --headless --dump-dom URL` prints the DOM when
the page's load event has fired. The page puts an <iframe src="/hold?run=ID"> into itself while
it is still loading, which keeps the load event back until that frame has loaded; the page asks
for /release only after it has written its verdict into the DOM, so the dump carries the verdict.
The hold limit is a backstop for a page that dies before releasing: the dump then comes without
a verdict and interop.sh counts the rows that are missing as failed.

One line per request goes to stderr (interop.sh keeps it in its logs of the last run).
"""

import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = {
    "/chromium_page.html": "text/html; charset=utf-8",
    "/chromium_page.js": "text/javascript; charset=utf-8",
}

# run ID -> Event set by /release; created by whichever of /hold and /release comes first.
releases = {}
releases_lock = threading.Lock()
hold_limit = 45.0


def release_event(run):
    with releases_lock:
        return releases.setdefault(run, threading.Event())


class Handler(BaseHTTPRequestHandler):
    server_version = "wspc-interop-page/1"

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {self.address_string()} {fmt % args}\n")

    def answer(self, status, body=b"", content_type="text/plain; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        run = urllib.parse.parse_qs(url.query).get("run", ["default"])[0]
        if url.path in FILES:
            with open(os.path.join(HERE, url.path.lstrip("/")), "rb") as f:
                self.answer(200, f.read(), FILES[url.path])
        elif url.path == "/hold":
            self.log_message("hold %s: waiting for its release", run)
            released = release_event(run).wait(hold_limit)
            note = "released" if released else f"not released within {hold_limit:g} s"
            self.log_message("hold %s: %s", run, note)
            self.answer(200, f"<!doctype html><title>{note}</title>".encode(), "text/html; charset=utf-8")
        elif url.path == "/release":
            release_event(run).set()
            self.answer(204)
        else:
            self.answer(404, b"not found\n")

    do_HEAD = do_GET


def main(argv):
    global hold_limit
    host, _, port = (argv[0] if argv else "127.0.0.1:0").rpartition(":")
    if len(argv) > 1:
        hold_limit = float(argv[1])
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Handler)
    server.daemon_threads = True
    addr, port = server.server_address[:2]
    print(f"listening on http://{addr}:{port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        pass
