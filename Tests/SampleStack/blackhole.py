#!/usr/bin/python3
"""A loopback listener that accepts TCP connections and never answers.

    blackhole.py PORT [PORT...]

Every port is bound on 127.0.0.1. Connections are accepted (so a TCP connect
succeeds), whatever the client sends is read and dropped, nothing is ever sent
back, and the connection stays open until the client gives up.
"""

import selectors
import socket
import sys


def main(ports):
    sel = selectors.DefaultSelector()
    for port in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listener")
    print("blackhole listening on " + ", ".join(f"127.0.0.1:{p}" for p in ports), flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if key.data == "listener":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, "conn")
            else:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:  # client closed
                    sel.unregister(sock)
                    sock.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    try:
        main([int(p) for p in sys.argv[1:]])
    except KeyboardInterrupt:
        pass
