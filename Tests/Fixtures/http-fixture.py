#!/usr/bin/env python3
"""Loopback server fixtures for preflight's tests. Prints "PORT <n>" and serves until stdin closes.

  http-fixture.py json STATUS BODY [HEADER:VALUE ...]   answer every request with STATUS and BODY
  http-fixture.py big BYTES                              200 with a JSON body of about BYTES bytes
  http-fixture.py hang                                   accept TCP, never answer
  http-fixture.py garbage                                accept, send bytes that are not HTTP, close
  http-fixture.py tls                                    TLS (self-signed) answering 200 {"status":"ok"}
  http-fixture.py blackhole                              listen queue full: new SYNs are dropped, connect times out
  http-fixture.py slowloris                              answer a valid 200 one byte per second
  http-fixture.py endless                                200 without length, then a body that never ends
  http-fixture.py badchunk                               200, chunked, with a chunk size that is not hex
  http-fixture.py bigheaders BYTES [one]                 200 after BYTES of header lines (one line with "one")
  http-fixture.py tally DELAY STATUS                     /burst…: STATUS after DELAY s, counted; GET /__tally: the count
  http-fixture.py pgecho                                 a fake PostgreSQL: asks for a cleartext password, echoes it in its error
  http-fixture.py echo                                   the request back as JSON {"path", "body", "headers": {name: value}} (names
                                                         in lower case); 200, or NNN for a path /status/NNN/…
  http-fixture.py routes PATH [PATH ...]                 an app with routes: 200 {"status":"ok"} on each PATH (PATH*:
                                                         every path it begins), 404 elsewhere; GET /__tally: {"answered": n};
                                                         [--openapi] GET /openapi.json lists the routes (FastAPI's document)
  http-fixture.py bearer TOKEN                           200 {"status":"ok"} with "Authorization: Bearer TOKEN", else 401;
                                                         /health answers 200 without it
  http-fixture.py jwt                                    a service that checks the bearer JWT's exp (never its signature): 200
                                                         while now < exp, 401 after (and without a JWT); GET /__tally:
                                                         {"ok": n, "refused": n, "first": t, "last_ok": t, "first_refused": t}
  http-fixture.py --host ::1 json 200 '{}'               bind another loopback address
  http-fixture.py --port N --delay S json 200 '{}'       print PORT N at once, listen only after S seconds
  http-fixture.py --tls CERT KEY json 200 '{}'           serve json over TLS with that certificate (PEM files);
                  [--tls-max 1.1|1.2] [--client-ca CA]   highest TLS version; require a client certificate from CA
  http-fixture.py --close json …                         close the connection after each response (no header says so)
  http-fixture.py --http10 json …                        answer HTTP/1.0 (no keep-alive) and close
  http-fixture.py --setuid N json …                      (root) after listening, run as uid/gid N: a daemon that
                                                         dropped its privileges holds a socket its new uid does not own
"""
import json, os, socket, ssl, subprocess, sys, tempfile, threading

# Close descriptors inherited from the test process, so we never hold another test's pipe open.
for fd in map(int, os.listdir("/proc/self/fd")):
    if fd > 2:
        try:
            os.close(fd)
        except OSError:
            pass

args = sys.argv[1:]
host = "127.0.0.1"
fixed_port = 0
delay = 0.0
tls_files = None
tls_max = None
client_ca = None
close_after = False
http10 = False
drop_to = None
while args and args[0].startswith("--"):
    if args[0] in ("--close", "--http10"):
        close_after = True
        http10 = args[0] == "--http10"
        args = args[1:]
        continue
    if args[0] == "--tls":
        tls_files = (args[1], args[2])
        args = args[1:]
    elif args[0] == "--tls-max":
        tls_max = args[1]
    elif args[0] == "--client-ca":
        client_ca = args[1]
    elif args[0] == "--host":
        host = args[1]
    elif args[0] == "--port":
        fixed_port = int(args[1])
    elif args[0] == "--delay":
        delay = float(args[1])
    elif args[0] == "--setuid":
        drop_to = int(args[1])
    args = args[2:]
mode = args[0]
if delay:
    # Announce the (fixed) port at once, start listening only later: a backend that is slow to start.
    print("PORT", fixed_port, flush=True)
    import time
    time.sleep(delay)
family = socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(backlog=128):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, fixed_port))
    s.listen(backlog)
    return s


def announce(s):
    if drop_to is not None:
        os.setgroups([])
        os.setgid(drop_to)
        os.setuid(drop_to)
    print("PORT", s.getsockname()[1], flush=True)


def response(status, body, headers):
    reason = {200: "OK", 201: "Created", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Status")
    head = [f"HTTP/{'1.0' if http10 else '1.1'} {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(body)}"] + headers
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip() or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head


def tls_wrap():
    if not tls_files:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls_files[0], tls_files[1])
    if tls_max == "1.1":
        # A legacy server: TLS 1.0/1.1 only (OpenSSL 3 needs security level 0 for them).
        import warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    elif tls_max:
        ctx.maximum_version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[tls_max]
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    ctx.set_alpn_protocols(["http/1.1"])
    return lambda c: ctx.wrap_socket(c, server_side=True)


def serve_http(s, status, body, headers, wrap=None):
    wrap = wrap or tls_wrap()

    def handle(conn):
        try:
            if wrap:
                try:
                    conn = wrap(conn)
                except ssl.SSLError:
                    # Let the client read the alert before the connection goes (else it may see only a reset).
                    import time
                    time.sleep(0.2)
                    raise
            while read_request(conn) is not None:
                conn.sendall(response(status, body, headers))
                if close_after:
                    break
        except Exception:
            pass
        finally:
            conn.close()

    def loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


held = []
if mode == "json":
    s = listener()
    serve_http(s, int(args[1]), args[2].encode(), args[3:])
elif mode == "big":
    s = listener()
    size = int(args[1])
    serve_http(s, 200, b'{"status":"ok","pad":"' + b"x" * size + b'"}', [])
elif mode == "hang":
    s = listener()

    def hold():
        while True:
            conn, _ = s.accept()
            held.append(conn)

    threading.Thread(target=hold, daemon=True).start()
elif mode == "garbage":
    s = listener()

    def spew():
        while True:
            conn, _ = s.accept()
            try:
                conn.sendall(b"\x00\x01\x02garbage-not-http\xff\xfe" * 8)
            except Exception:
                pass
            conn.close()

    threading.Thread(target=spew, daemon=True).start()
elif mode == "tls":
    d = tempfile.mkdtemp()
    cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = listener()
    serve_http(s, 200, b'{"status":"ok"}', [], wrap=lambda c: ctx.wrap_socket(c, server_side=True))
elif mode == "blackhole":
    s = listener(backlog=0)
    # One connection that is never accepted fills the queue; the kernel then drops new SYNs.
    filler = socket.socket(family, socket.SOCK_STREAM)
    filler.connect(s.getsockname()[:2])
    held.append(filler)
elif mode == "counting":
    # counting LIMIT WINDOW GENERATION [REFUSAL]: a fixed-window limiter shared by every request;
    # GENERATION is legacy, draft6, draft7, draft8 or none; REFUSAL is the status past LIMIT (429).
    import time
    limit, window, generation = int(args[1]), int(args[2]), args[3]
    refusal = int(args[4]) if len(args) > 4 else 429
    lock = threading.Lock()
    state = {"count": 0, "start": time.time()}
    s = listener()

    def limiter_headers(remaining, reset):
        if generation == "legacy":
            return [f"X-RateLimit-Limit: {limit}", f"X-RateLimit-Remaining: {remaining}",
                    f"X-RateLimit-Reset: {int(time.time() + reset)}"]
        if generation == "draft6":
            return [f"RateLimit-Limit: {limit}", f"RateLimit-Remaining: {remaining}", f"RateLimit-Reset: {reset}",
                    f"RateLimit-Policy: {limit};w={window}"]
        if generation == "draft7":
            return [f"RateLimit: limit={limit}, remaining={remaining}, reset={reset}", f"RateLimit-Policy: {limit};w={window}"]
        if generation == "draft8":
            return [f'RateLimit: "default";r={remaining};t={reset}', f'RateLimit-Policy: "default";q={limit};w={window}']
        return []

    def counted(conn):
        try:
            while read_request(conn) is not None:
                with lock:
                    now = time.time()
                    if now - state["start"] >= window:
                        state["count"], state["start"] = 0, now
                    state["count"] += 1
                    n = state["count"]
                    reset = max(1, int(window - (now - state["start"])))
                    # Answer inside the lock: the answers leave in the order they were counted.
                    if n > limit:
                        head = limiter_headers(0, reset) + [f"Retry-After: {reset}"]
                        conn.sendall(response(refusal, b'{"error":"too many requests"}', head))
                    else:
                        conn.sendall(response(200, b'{"status":"ok"}', limiter_headers(limit - n, reset)))
        except Exception:
            pass
        finally:
            conn.close()

    def counting_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=counted, args=(conn,), daemon=True).start()

    threading.Thread(target=counting_loop, daemon=True).start()
elif mode == "slowloris":
    import time
    s = listener()

    def drip(conn):
        try:
            if read_request(conn) is not None:
                for b in response(200, b'{"status":"ok"}', []):
                    conn.sendall(bytes([b]))
                    time.sleep(1)
        except Exception:
            pass
        finally:
            conn.close()

    def drip_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=drip_loop, daemon=True).start()
elif mode in ("endless", "badchunk", "bigheaders"):
    # Hostile answers to the first request of each connection.
    size = int(args[1]) if mode == "bigheaders" else 0
    one_line = mode == "bigheaders" and len(args) > 2 and args[2] == "one"
    s = listener()

    def hostile(conn):
        try:
            if read_request(conn) is None:
                return
            if mode == "endless":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"status\":\"ok\",\"pad\":\"")
                block = b"x" * 65536
                while True:  # about 6 MB/s: endless, without taking the CPU from the tests that run beside it
                    conn.sendall(block)
                    time.sleep(0.01)
            elif mode == "badchunk":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"zz-not-hex\r\n{\"status\":\"ok\"}\r\n0\r\n\r\n")
                time.sleep(30)
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                if one_line:
                    conn.sendall(b"X-Pad: " + b"p" * size + b"\r\n")
                else:
                    line = b"X-Pad: " + b"p" * 1000 + b"\r\n"
                    for _ in range(max(1, size // len(line))):
                        conn.sendall(line)
                conn.sendall(b"Content-Length: 15\r\n\r\n{\"status\":\"ok\"}")
                time.sleep(30)
        except Exception:
            pass
        finally:
            conn.close()

    import time

    def hostile_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=hostile, args=(conn,), daemon=True).start()

    threading.Thread(target=hostile_loop, daemon=True).start()
elif mode == "tally":
    # tally DELAY STATUS: every request to /burst… is counted (with its arrival time) and answered STATUS
    # after DELAY seconds; other paths get 200 at once; GET /__tally answers {"count": n, "first": t, "last": t, "open": max concurrent}.
    import time
    delay_s, status = float(args[1]), int(args[2])
    lock = threading.Lock()
    tally = {"count": 0, "first": None, "last": None, "open": 0, "peak": 0}
    s = listener()

    def tallied(conn):
        try:
            while True:
                head = read_request(conn)
                if head is None:
                    break
                if head.startswith(b"GET /__tally "):
                    with lock:
                        body = json.dumps(tally).encode()
                    conn.sendall(response(200, body, []))
                    continue
                if not head.split(b" ")[1].startswith(b"/burst"):
                    conn.sendall(response(200, b'{"status":"ok"}', []))
                    continue
                with lock:
                    now = time.time()
                    tally["count"] += 1
                    tally["first"] = tally["first"] or now
                    tally["last"] = now
                    tally["open"] += 1
                    tally["peak"] = max(tally["peak"], tally["open"])
                try:
                    time.sleep(delay_s)
                    conn.sendall(response(status, b'{"status":"ok"}', ["Retry-After: 60"] if status == 429 else []))
                finally:
                    with lock:
                        tally["open"] -= 1
        except Exception:
            pass
        finally:
            conn.close()

    def tally_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=tallied, args=(conn,), daemon=True).start()

    threading.Thread(target=tally_loop, daemon=True).start()
elif mode == "pgecho":
    # A hostile "PostgreSQL": refuses SSL, asks for the password in clear text and sends it back in a FATAL error.
    import struct
    s = listener()

    def recv_exact(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def echo_password(conn):
        try:
            while True:
                length, code = struct.unpack("!ii", recv_exact(conn, 8))
                recv_exact(conn, length - 8)
                if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: not here
                    conn.sendall(b"N")
                    continue
                break
            conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            kind = recv_exact(conn, 1)
            length = struct.unpack("!i", recv_exact(conn, 4))[0]
            password = recv_exact(conn, length - 4).rstrip(b"\0")
            fields = b"SFATAL\0VFATAL\0C28P01\0M" + b"password " + password + b" is not the one, and neither is " + password + b"\0\0"
            conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)
        except Exception:
            pass
        finally:
            conn.close()

    def pgecho_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=echo_password, args=(conn,), daemon=True).start()

    threading.Thread(target=pgecho_loop, daemon=True).start()
elif mode == "bearer":
    # An API behind a bearer token (a JWT API's data routes): 401 without it; the health route is open.
    token = args[1].encode()
    s = listener()

    def guarded(conn):
        try:
            while True:
                head = read_request(conn)
                if head is None:
                    break
                lines = head.split(b"\r\n")
                ok = any(l.lower().startswith(b"authorization:") and l.split(b":", 1)[1].strip() == b"Bearer " + token for l in lines[1:])
                if lines[0].split(b" ")[1].startswith(b"/health") or ok:
                    conn.sendall(response(200, b'{"status":"ok"}', []))
                else:
                    conn.sendall(response(401, b'{"detail":"Not authenticated"}', ["WWW-Authenticate: Bearer"]))
        except Exception:
            pass
        finally:
            conn.close()

    def guarded_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=guarded, args=(conn,), daemon=True).start()

    threading.Thread(target=guarded_loop, daemon=True).start()
elif mode == "routes":
    # An application's own routes, so a probe that guesses a wrong path meets the 404 a real app answers.
    openapi = "--openapi" in args[1:]
    routes = [a for a in args[1:] if a != "--openapi"]
    exact = {a.encode() for a in routes if not a.endswith("*")}
    prefixes = [a[:-1].encode() for a in routes if a.endswith("*")]
    document = json.dumps({"openapi": "3.1.0", "paths": {a.rstrip("*"): {"get": {}} for a in routes}}).encode()
    answered = [0]
    s = listener()

    def routed(conn):
        try:
            while True:
                head = read_request(conn)
                if head is None:
                    break
                path = head.split(b"\r\n")[0].split(b" ")[1].split(b"?")[0]
                if path == b"/__tally":
                    conn.sendall(response(200, json.dumps({"answered": answered[0]}).encode(), []))
                    continue
                answered[0] += 1
                if openapi and path == b"/openapi.json":
                    conn.sendall(response(200, document, []))
                elif path in exact or any(path.startswith(p) for p in prefixes):
                    conn.sendall(response(200, b'{"status":"ok"}', []))
                else:
                    conn.sendall(response(404, b'{"detail":"Not Found"}', []))
        except Exception:
            pass
        finally:
            conn.close()

    def routed_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=routed, args=(conn,), daemon=True).start()

    threading.Thread(target=routed_loop, daemon=True).start()
elif mode == "jwt":
    import base64, time
    s = listener()
    seen = {"ok": 0, "refused": 0, "first": None, "last_ok": None, "first_refused": None}
    seen_lock = threading.Lock()

    def expiry(headers):
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        parts = auth[7:].strip().split(".")
        if len(parts) != 3:
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            return float(payload["exp"])
        except Exception:
            return None

    def jwt_conn(conn):
        try:
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, _ = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                if lines[0].startswith("GET /__tally "):
                    with seen_lock:
                        conn.sendall(response(200, json.dumps(seen).encode(), []))
                    continue
                exp = expiry(headers)
                now = time.time()
                with seen_lock:
                    seen["first"] = seen["first"] or now
                    if exp is not None and now < exp:
                        seen["ok"] += 1
                        seen["last_ok"] = now
                        status, body = 200, b'{"ok":true}'
                    else:
                        seen["refused"] += 1
                        seen["first_refused"] = seen["first_refused"] or now
                        status, body = 401, b'{"detail":"token expired"}'
                conn.sendall(response(status, body, []))
        except Exception:
            pass
        finally:
            conn.close()

    def jwt_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=jwt_conn, args=(conn,), daemon=True).start()

    threading.Thread(target=jwt_loop, daemon=True).start()
elif mode == "echo":
    # A service that quotes what it was sent (a debug route, an error page showing the request): the request's
    # path, body and headers back as JSON.
    s = listener()

    def echo(conn):
        try:
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                words = lines[0].split(" ")
                path = words[1] if len(words) > 1 else "/"
                parts = path.split("/")
                status = int(parts[2]) if len(parts) > 2 and parts[1] == "status" and parts[2].isdigit() else 200
                answer = {"path": path, "body": body[:length].decode("utf-8", "replace"), "headers": headers}
                conn.sendall(response(status, json.dumps(answer).encode(), []))
        except Exception:
            pass
        finally:
            conn.close()

    def echo_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=echo_loop, daemon=True).start()
elif mode == "slowaccept":
    # slowaccept BACKLOG SECONDS: listen(BACKLOG) and accept one connection every SECONDS, each then served with
    # keep-alive: a burst of connections overflows the accept queue (the kernel counts ListenOverflows).
    import time
    s = listener(backlog=int(args[1]))
    pause = float(args[2])

    def answer(conn):
        try:
            while read_request(conn) is not None:
                conn.sendall(response(200, b'{"status":"ok"}', []))
        except Exception:
            pass
        finally:
            conn.close()

    def slow_loop():
        while True:
            time.sleep(pause)
            conn, _ = s.accept()
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=slow_loop, daemon=True).start()
elif mode == "busy":
    # busy MS: every request spins the CPU for MS milliseconds before its answer (a CPU quota throttles it).
    import time
    s = listener()
    spin = float(args[1]) / 1000

    def busy(conn):
        try:
            while read_request(conn) is not None:
                end = time.thread_time() + spin
                while time.thread_time() < end:
                    pass
                conn.sendall(response(200, b'{"status":"ok"}', []))
        except Exception:
            pass
        finally:
            conn.close()

    def busy_loop():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=busy, args=(conn,), daemon=True).start()

    threading.Thread(target=busy_loop, daemon=True).start()
else:
    sys.exit(f"unknown mode {mode}")

if not delay:
    announce(s)
sys.stdin.read()  # serve until the test closes our stdin (or exits)
