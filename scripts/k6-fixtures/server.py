#!/usr/bin/env python3
"""Loopback HTTP server for k6 fixtures: one behaviour per mode, bound to 127.0.0.1 only."""
import sys
import time
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
PORT = int(sys.argv[2])
lock = threading.Lock()
count = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as k6 expects from a real server

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # k6 gave up on a slow answer: expected in the slow fixture

    def log_message(self, *args):
        pass

    def reply(self, status, body=b'{"ok":true}', headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            count["n"] += 1
            n = count["n"]
        path = self.path.split("?")[0]
        if MODE == "ratelimit":
            # a fixed window of 60 s allowing 5 requests, like express-rate-limit
            if n > 5:
                self.reply(429, b'{"error":"Too many requests"}', [
                    ("RateLimit-Limit", "5"), ("RateLimit-Remaining", "0"),
                    ("RateLimit-Reset", "60"), ("Retry-After", "60")])
            else:
                self.reply(200, headers=[("RateLimit-Limit", "5"), ("RateLimit-Remaining", str(5 - n))])
        elif MODE == "servererror":
            if path == "/api/orders":
                self.reply(500, b'{"error":"internal"}')
            else:
                self.reply(200)
        elif MODE == "slow":
            time.sleep(2.0)
            self.reply(200)
        elif MODE == "cursor":
            # the cursor bug: odd cursors are rejected
            if path == "/api/feed" and "cursor=" in self.path:
                cursor = int(self.path.split("cursor=")[1].split("&")[0])
                if cursor % 2 == 1:
                    self.reply(400, b'{"error":"invalid cursor"}')
                    return
            self.reply(200)
        else:  # pass
            self.reply(200)


def serve_resets(port):
    """Accept, read the request, then close with SO_LINGER 0 so the client sees a TCP reset."""
    import socket
    import struct
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    while True:
        c, _ = ls.accept()
        try:
            c.recv(65536)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            c.close()


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # stock backlog of 5 drops SYNs under concurrency
    daemon_threads = True


if MODE == "reset":
    serve_resets(PORT)
else:
    # "tls" is a plain HTTP server that k6 is pointed at with https://
    Server(("127.0.0.1", PORT), Handler).serve_forever()
