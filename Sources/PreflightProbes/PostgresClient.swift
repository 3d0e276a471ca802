import CLibPQ
import Foundation
import PreflightCore
import Synchronization

/// A libpq failure, with libpq's own text (password-free: libpq never echoes it).
public struct PostgresError: Error, Sendable, Equatable {
    public let message: String
    /// Our own deadline ran out (not libpq's connect_timeout).
    public let timedOut: Bool

    public init(_ message: String, timedOut: Bool = false) {
        self.message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        self.timedOut = timedOut
    }
}

/// The seam for PostgreSQL: connect and run read-only queries under a deadline.
public protocol PostgresConnector: Sendable {
    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PostgresSession, PostgresError>
}

/// How a session keeps preflight read-only.
public enum ReadOnlyMode: String, Sendable {
    /// The startup parameter `options=-c default_transaction_read_only=on`: every statement of the session.
    case sessionOption = "session option default_transaction_read_only=on"
    /// Each query inside `BEGIN READ ONLY … ROLLBACK`: PgBouncer refuses the `options` startup parameter (and
    /// a session-level SET would leak to other clients in its transaction pool mode), and libpq's
    /// `target_session_attrs=read-write` would take the session option for a standby.
    case readOnlyTransaction = "each query in BEGIN READ ONLY … ROLLBACK"
}

/// An open, read-only session. Rows come back as text, NULL as nil.
public protocol PostgresSession: Sendable {
    func query(_ sql: String, timeout: Duration) async -> Result<[[String?]], PostgresError>
    func close() async
    var readOnlyMode: ReadOnlyMode { get }
}

extension PostgresSession {
    public var readOnlyMode: ReadOnlyMode { .sessionOption }
}

/// libpq through its non-blocking API (PQconnectStartParams, PQconnectPoll, PQsendQuery),
/// with poll(2) on the socket so every step honours our deadline exactly.
public struct LibPQConnector: PostgresConnector {
    public init() {}

    public func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PostgresSession, PostgresError> {
        await Blocking.run { () -> Result<any PostgresSession, PostgresError> in
            let deadline = Deadline(timeout)
            // statement_timeout: the server ends a query on its own shortly after our deadline, so a query
            // waiting on a lock does not stay queued behind it when preflight is killed before its PQcancel.
            let statementTimeoutMs = Int(timeout.milliseconds.rounded(.up)) + 500
            // The session is read-only from its first statement: preflight never writes. Through PgBouncer
            // (pgbouncer=true, or a refusal of `options`) every query runs in a read-only transaction instead.
            if !url.viaPgBouncer && !url.choosesAWritableHost {
                switch Self.open(url, options: "-c default_transaction_read_only=on -c statement_timeout=\(statementTimeoutMs)",
                                 timeout: timeout, deadline: deadline) {
                case .success(let conn):
                    return .success(LibPQSession(conn, mode: .sessionOption, statementTimeoutMs: statementTimeoutMs))
                case .failure(let e) where !e.message.contains("unsupported startup parameter: options"):
                    return .failure(e)
                case .failure:
                    break
                }
            }
            switch Self.open(url, options: nil, timeout: timeout, deadline: deadline) {
            case .success(let conn):
                return .success(LibPQSession(conn, mode: .readOnlyTransaction, statementTimeoutMs: statementTimeoutMs))
            case .failure(let e):
                return .failure(e)
            }
        }
    }

    /// One connection attempt; the handle is moved into exactly one session.
    static func open(_ url: DatabaseURL, options: String?, timeout: Duration, deadline: Deadline) -> Result<OpaquePointer, PostgresError> {
        if let missing = NativeLibrary.libpq.loadError { return .failure(PostgresError(missing)) }
        var keys = ["dbname", "application_name", "connect_timeout"]
        var values = [url.conninfo, "preflight", String(max(2, Int(timeout.seconds.rounded(.up))))]
        if let options { keys.append("options"); values.append(options) }
        let conn: OpaquePointer? = withCStrings(keys) { k in withCStrings(values) { v in PQconnectStartParams(k, v, 1) } }
        guard let conn else { return .failure(PostgresError("libpq could not allocate a connection")) }
        if PQstatus(conn) == CONNECTION_BAD {
            let e = PostgresError(String(cString: PQerrorMessage(conn)))
            PQfinish(conn)
            return .failure(e)
        }
        var state = PGRES_POLLING_WRITING
        while true {
            if state == PGRES_POLLING_OK { break }
            if state == PGRES_POLLING_FAILED {
                let e = PostgresError(String(cString: PQerrorMessage(conn)))
                PQfinish(conn)
                return .failure(e)
            }
            let waitFor = state == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
            guard wait(conn, for: waitFor, until: deadline) else {
                PQfinish(conn)
                return .failure(PostgresError("no answer within \(format(timeout)) (connected at TCP level, then silence)", timedOut: true))
            }
            state = PQconnectPoll(conn)
        }
        PQsetnonblocking(conn, 1)
        return .success(conn)
    }
}

/// Owns one PGconn; PQfinish runs on close or at the latest in deinit.
final class LibPQSession: PostgresSession {
    private let conn: Mutex<OpaquePointer?>
    let readOnlyMode: ReadOnlyMode
    let statementTimeoutMs: Int

    init(_ conn: sending OpaquePointer, mode: ReadOnlyMode, statementTimeoutMs: Int) {
        self.conn = Mutex(conn)
        readOnlyMode = mode
        self.statementTimeoutMs = statementTimeoutMs
    }

    deinit {
        conn.withLock { c in if let p = c { PQfinish(p); c = nil } }
    }

    func close() async {
        conn.withLock { c in if let p = c { PQfinish(p); c = nil } }
    }

    func query(_ sql: String, timeout: Duration) async -> Result<[[String?]], PostgresError> {
        await Blocking.run { [self] in
            conn.withLock { c -> Result<[[String?]], PostgresError> in
                guard let p = c else { return .failure(PostgresError("connection is closed")) }
                let deadline = Deadline(timeout)
                guard readOnlyMode == .readOnlyTransaction else { return Self.run(sql, on: p, deadline: deadline) }
                // One server connection for the whole transaction, in every PgBouncer pool mode; nothing outlives it.
                if case .failure(let e) = Self.run("BEGIN TRANSACTION READ ONLY", on: p, deadline: deadline) { return .failure(e) }
                defer { _ = Self.run("ROLLBACK", on: p, deadline: Deadline(.seconds(2))) }
                if case .failure(let e) = Self.run("SET LOCAL statement_timeout = \(statementTimeoutMs)", on: p, deadline: deadline) {
                    return .failure(e)
                }
                return Self.run(sql, on: p, deadline: deadline)
            }
        }
    }

    static func run(_ sql: String, on conn: OpaquePointer, deadline: Deadline) -> Result<[[String?]], PostgresError> {
        // The extended protocol takes exactly one statement: no "SET …; INSERT …" past the read-only session.
        guard PQsendQueryParams(conn, sql, 0, nil, nil, nil, nil, 0) == 1 else {
            return .failure(PostgresError(String(cString: PQerrorMessage(conn))))
        }
        while PQflush(conn) == 1 {
            guard wait(conn, for: Int16(POLLOUT), until: deadline) else { return .failure(timedOut(conn, deadline)) }
        }
        var rows: [[String?]] = []
        var failure: PostgresError?
        while true {
            while PQisBusy(conn) == 1 {
                guard wait(conn, for: Int16(POLLIN), until: deadline) else { return .failure(timedOut(conn, deadline)) }
                guard PQconsumeInput(conn) == 1 else { return .failure(PostgresError(String(cString: PQerrorMessage(conn)))) }
            }
            guard let result = PQgetResult(conn) else { break }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                for r in 0..<PQntuples(result) {
                    rows.append((0..<PQnfields(result)).map { f in
                        PQgetisnull(result, r, f) == 1 ? nil : String(cString: PQgetvalue(result, r, f))
                    })
                }
            default:
                failure = failure ?? PostgresError(String(cString: PQresultErrorMessage(result)))
            }
        }
        return failure.map { .failure($0) } ?? .success(rows)
    }

    /// Asks the server to stop the query it is stuck on, then reports the timeout.
    static func timedOut(_ conn: OpaquePointer, _ deadline: Deadline) -> PostgresError {
        if let cancel = PQgetCancel(conn) {
            var buffer = [CChar](repeating: 0, count: 256)
            PQcancel(cancel, &buffer, Int32(buffer.count))
            PQfreeCancel(cancel)
        }
        return PostgresError("the server did not answer the query within \(format(deadline.limit))", timedOut: true)
    }
}

/// A point in time derived from a timeout, for repeated poll(2) calls.
struct Deadline {
    let limit: Duration
    let end: ContinuousClock.Instant
    init(_ limit: Duration) {
        self.limit = limit
        end = .now + limit
    }
    var remainingMs: Int32 {
        let left = ContinuousClock.now.duration(to: end).milliseconds
        return left <= 0 ? 0 : Int32(min(left.rounded(.up), 3_600_000))
    }
}

/// Waits until the connection's socket is ready; false when the deadline passed first.
func wait(_ conn: OpaquePointer, for events: Int16, until deadline: Deadline) -> Bool {
    let fd = PQsocket(conn)
    guard fd >= 0 else { return true }  // let libpq report the problem itself
    var pfd = pollfd(fd: fd, events: events, revents: 0)
    while true {
        let left = deadline.remainingMs
        if left == 0 { return false }
        let rc = poll(&pfd, 1, left)
        if rc > 0 { return true }
        if rc == 0 { return false }
        if errno != EINTR { return true }
    }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer<CChar>($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
