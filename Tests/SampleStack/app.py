#!/usr/bin/python3
"""Sample chat backend for preflight's acceptance scenarios.

A small stand-in for the seed incident's NestJS + Prisma chat service:
  GET  /api/v1/health
  POST /api/v1/chat/conversations/<id>/messages
  GET  /api/v1/chat/conversations/<id>/messages?userId=&limit=&cursor=

Environment:
  DATABASE_URL        postgresql://... (required for anything but a 503 health)
  DATABASE_POOL_SIZE  max connections of the pool (default 10)
  DATABASE_POOL_TIMEOUT seconds a request waits for a pooled connection (default 10)
  DATABASE_DELAY_MS   each chat request holds its connection this much longer (pg_sleep; default 0)
  PORT, HOST          listen address (default 127.0.0.1:3001; HOST may be ::1)
  TLS_CERT, TLS_KEY   serve https with this certificate and key (PEM files)
  RATE_LIMIT          messaging limit (default "200 per 15 minutes")
  DISABLE_RATE_LIMIT  "true" skips the limiter, evaluated per request (seed: skip: () => ...)
  HEALTH_DEGRADED     "cache": health answers 200 with status "degraded" and cache down
  MESSAGES_EDITED_AT  "1": the next release's code, which writes messages.edited_at (a migration adds it)

Uses Debian's python3-flask, python3-flask-limiter (3.3) and python3-psycopg2.
"""

import datetime
import io
import os
import random
import string
import sys
import threading
import time

import psycopg2
import psycopg2.extras
import psycopg2.pool
from flask import Flask, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.serving import WSGIRequestHandler, make_server

STARTED = time.monotonic()
MESSAGE_TYPES = ("TEXT", "IMAGE", "FILE", "SYSTEM")

app = Flask(__name__)


# --------------------------------------------------------------------------- pool
class Database:
    """A ThreadedConnectionPool created lazily, with a semaphore in front of it so
    that requests wait for a free connection (like Prisma's pool_timeout) instead
    of failing with PoolError when all maxconn connections are in use."""

    def __init__(self):
        self.url = os.environ.get("DATABASE_URL", "")
        self.size = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
        self.wait = float(os.environ.get("DATABASE_POOL_TIMEOUT", "10"))
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._pool = None

    def _get_pool(self):
        with self._lock:
            if self._pool is None:
                if not self.url:
                    raise RuntimeError("DATABASE_URL is not set")
                # minconn=0: creating the pool opens no connection, so the app
                # starts even when PostgreSQL is down or the password is wrong.
                self._pool = psycopg2.pool.ThreadedConnectionPool(
                    0, self.size, dsn=self.url, connect_timeout=2,
                    application_name="chat-backend")
            return self._pool

    def run(self, fn, delay=False):
        """Run fn(cursor) in a transaction on a pooled connection (after DATABASE_DELAY_MS if delay)."""
        if not self._slots.acquire(timeout=self.wait):
            raise TimeoutError("timed out waiting for a pooled connection")
        try:
            pool = self._get_pool()
            conn = pool.getconn()
            broken = False
            try:
                with conn:  # commit / rollback
                    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                        if delay and DELAY_MS > 0:
                            cur.execute("SELECT pg_sleep(%s)", (DELAY_MS / 1000.0,))
                        return fn(cur)
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                broken = True
                raise
            finally:
                pool.putconn(conn, close=broken or conn.closed != 0)
        finally:
            self._slots.release()


db = Database()
DELAY_MS = float(os.environ.get("DATABASE_DELAY_MS", "0"))


def short_error(exc):
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0].strip()
    return first.replace("FATAL:  ", "")


def iso(ts):
    if ts is None:
        return None
    if isinstance(ts, datetime.datetime):
        return ts.isoformat(timespec="milliseconds") + "Z"
    return str(ts)


def new_id():
    """cuid-ish: 'c' + base36 millisecond time + random base36."""
    n = int(time.time() * 1000)
    digits = string.digits + string.ascii_lowercase
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return "c" + out + "".join(random.choice(digits) for _ in range(16))


# ------------------------------------------------------------------------ limiter
limiter = Limiter(
    get_remote_address,
    app=app,
    storage_uri="memory://",
    headers_enabled=True,
    strategy="fixed-window",
)


@limiter.request_filter
def rate_limit_disabled():
    # Like express-rate-limit's `skip: () => DISABLE_RATE_LIMIT`, checked per request.
    return os.environ.get("DISABLE_RATE_LIMIT", "").lower() == "true"


def messaging_limit():
    return os.environ.get("RATE_LIMIT", "200 per 15 minutes")


# One budget shared by every chat route, like the seed's messagingLimiter.
messaging_limiter = limiter.shared_limit(messaging_limit, scope="messaging")


@app.errorhandler(429)
def too_many(e):
    return jsonify(success=False, error="Too many requests, please try again later.",
                   limit=str(getattr(e, "description", ""))), 429


@app.errorhandler(404)
def not_found(e):
    return jsonify(success=False, error="not found"), 404


@app.errorhandler(405)
def not_allowed(e):
    return jsonify(success=False, error="method not allowed"), 405


@app.errorhandler(500)
def internal(e):
    return jsonify(success=False, error="internal server error"), 500


def db_failure(exc):
    """A database error inside a chat route: 503 if unreachable, else 500."""
    app.logger.error("database error: %s", short_error(exc))
    status = 503 if isinstance(exc, (psycopg2.OperationalError, TimeoutError, RuntimeError)) else 500
    return jsonify(success=False, error="database error", detail=short_error(exc)), status


# ------------------------------------------------------------------------- routes
@app.get("/api/v1/health")
@limiter.exempt
def health():
    now = datetime.datetime.utcnow().isoformat(timespec="milliseconds") + "Z"
    uptime = round(time.monotonic() - STARTED, 2)
    try:
        db.run(lambda cur: cur.execute("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - health reports any failure
        return jsonify(status="error", timestamp=now, uptime=uptime,
                       database={"overall": "unhealthy", "database": "disconnected",
                                 "error": short_error(exc)}), 503
    body = {"status": "ok", "timestamp": now,
            "database": {"overall": "healthy", "database": "connected"},
            "uptime": uptime}
    if os.environ.get("HEALTH_DEGRADED", "") == "cache":
        body["status"] = "degraded"
        body["cache"] = {"status": "down", "error": "redis: connection refused"}
    return jsonify(body), 200


@app.post("/api/v1/chat/conversations/<conversation_id>/messages")
@messaging_limiter
def send_message(conversation_id):
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(success=False, error="JSON body required"), 400
    user_id, content = data.get("userId"), data.get("content")
    mtype = data.get("type", "TEXT")
    if not isinstance(user_id, str) or not user_id:
        return jsonify(success=False, error="userId is required"), 400
    if not isinstance(content, str) or not content:
        return jsonify(success=False, error="content is required"), 400
    if mtype not in MESSAGE_TYPES:
        return jsonify(success=False, error="type must be one of " + ", ".join(MESSAGE_TYPES)), 400

    def work(cur):
        cur.execute("SELECT 1 FROM conversations WHERE id = %s", (conversation_id,))
        if cur.fetchone() is None:
            return 404, None
        cur.execute("SELECT id, username, first_name, last_name FROM users WHERE id = %s", (user_id,))
        sender = cur.fetchone()
        if sender is None:
            return 400, None
        edited = ", edited_at" if os.environ.get("MESSAGES_EDITED_AT") == "1" else ""
        cur.execute(
            "INSERT INTO messages (id, conversation_id, sender_id, content, type, status" + edited + ") "
            "VALUES (%s, %s, %s, %s, %s, 'SENT'" + (", NULL" if edited else "") + ") "
            "RETURNING id, content, type::text AS type, status, created_at",
            (new_id(), conversation_id, user_id, content, mtype))
        return 201, (cur.fetchone(), sender)

    try:
        status, result = db.run(work, delay=True)
    except Exception as exc:  # noqa: BLE001
        return db_failure(exc)
    if status == 404:
        return jsonify(success=False, error="conversation not found"), 404
    if status == 400:
        return jsonify(success=False, error="unknown userId"), 400
    row, sender = result
    return jsonify(success=True, message={
        "id": row["id"], "content": row["content"], "type": row["type"],
        "status": row["status"], "createdAt": iso(row["created_at"]),
        "sender": {"id": sender["id"], "username": sender["username"],
                   "firstName": sender["first_name"], "lastName": sender["last_name"]},
        "attachments": []}), 201


@app.get("/api/v1/chat/conversations/<conversation_id>/messages")
@messaging_limiter
def history(conversation_id):
    user_id = request.args.get("userId", "")
    cursor = request.args.get("cursor") or None
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError:
        return jsonify(success=False, error="limit must be an integer"), 400
    limit = max(1, min(limit, 100))

    def work(cur):
        cur.execute("SELECT 1 FROM conversations WHERE id = %s", (conversation_id,))
        if cur.fetchone() is None:
            return 404, None
        before = None
        if cursor is not None:
            cur.execute("SELECT id, created_at FROM messages WHERE id = %s AND conversation_id = %s",
                        (cursor, conversation_id))
            before = cur.fetchone()
            if before is None:
                return 400, None
        cur.execute(
            "SELECT m.id, m.content, m.type::text AS type, m.status, m.created_at, "
            "       u.id AS sender_id, u.username, "
            "       COALESCE((SELECT json_agg(json_build_object('userId', r.user_id, 'readAt', r.read_at)) "
            "                 FROM message_reads r WHERE r.message_id = m.id AND r.user_id = %s), '[]') "
            "         AS message_reads "
            "FROM messages m JOIN users u ON u.id = m.sender_id "
            "WHERE m.conversation_id = %s "
            "  AND (%s::timestamp IS NULL OR (m.created_at, m.id) < (%s::timestamp, %s)) "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT %s",
            (user_id, conversation_id,
             before and before["created_at"], before and before["created_at"], before and before["id"],
             limit + 1))
        return 200, cur.fetchall()

    try:
        status, rows = db.run(work, delay=True)
    except Exception as exc:  # noqa: BLE001
        return db_failure(exc)
    if status == 404:
        return jsonify(success=False, error="conversation not found"), 404
    if status == 400:
        return jsonify(success=False, error="invalid cursor"), 400
    has_more = len(rows) > limit
    messages = [{"id": r["id"], "content": r["content"], "type": r["type"], "status": r["status"],
                 "createdAt": iso(r["created_at"]),
                 "sender": {"id": r["sender_id"], "username": r["username"]},
                 "messageReads": r["message_reads"]} for r in rows[:limit]]
    page = {"limit": limit, "hasMore": has_more}
    if has_more and messages:
        page["nextCursor"] = messages[-1]["id"]
    return jsonify(success=True, data={"messages": messages, "pagination": page}), 200


# ------------------------------------------------------------------------- server
class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with real keep-alive. Werkzeug 2.2 always sends "Connection:
    close" because an unread request body would corrupt the next request on the
    connection; buffer_body() below always drains the body, so the header is
    dropped unless the client asked to close (HTTP/1.0 or Connection: close)."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after 30 s

    def send_header(self, keyword, value):
        if keyword.lower() == "connection" and value.lower() == "close" and not self.close_connection:
            return
        super().send_header(keyword, value)


def buffer_body(wsgi_app):
    """WSGI middleware: read the whole request body before the app runs."""
    def wrapper(environ, start_response):
        stream = environ["wsgi.input"]
        if environ.get("wsgi.input_terminated"):  # chunked request
            body = stream.read()
        else:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            body = stream.read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        return wsgi_app(environ, start_response)
    return wrapper


def main():
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3001"))
    WSGIRequestHandler.protocol_version = "HTTP/1.1"
    tls = (os.environ["TLS_CERT"], os.environ["TLS_KEY"]) if os.environ.get("TLS_CERT") else None
    server = make_server(host, port, buffer_body(app), threaded=True, request_handler=KeepAliveHandler, ssl_context=tls)
    shown = f"[{host}]" if ":" in host else host
    print(f"chat-backend listening on {'https' if tls else 'http'}://{shown}:{port} (pool {db.size}, "
          f"rate limit {'disabled' if rate_limit_disabled() else messaging_limit()})",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
