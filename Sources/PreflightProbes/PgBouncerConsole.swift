import CLibPQ
import Foundation
import PreflightCore
import Synchronization

/// The only commands preflight sends to PgBouncer's admin console: each is read-only by nature.
public enum PgBouncerShow: String, Sendable, CaseIterable {
    case config = "SHOW CONFIG"
    case pools = "SHOW POOLS"
    case databases = "SHOW DATABASES"
    case lists = "SHOW LISTS"
}

/// A result with its column names (the admin console's columns change between PgBouncer versions).
public struct PgTable: Sendable, Equatable {
    public var columns: [String]
    public var rows: [[String?]]

    public init(columns: [String], rows: [[String?]]) {
        self.columns = columns
        self.rows = rows
    }

    /// Each row as column name → value (NULL left out).
    public var records: [[String: String]] {
        rows.map { r in
            var d: [String: String] = [:]
            for (i, c) in columns.enumerated() where i < r.count { if let v = r[i] { d[c] = v } }
            return d
        }
    }
}

/// The seam for PgBouncer's admin console (`database.pgbouncer_admin`).
public protocol PgBouncerConsoleConnector: Sendable {
    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PgBouncerConsole, PostgresError>
}

/// An open admin-console session: SHOW commands only.
public protocol PgBouncerConsole: Sendable {
    func show(_ what: PgBouncerShow, timeout: Duration) async -> Result<PgTable, PostgresError>
    func close() async
}

/// libpq to the admin console, without `ReadOnlyMode`: the console is not PostgreSQL. It refuses the `options`
/// startup parameter, `BEGIN` and `SET` (so neither the session option nor a read-only transaction can be used),
/// and speaks the simple-query protocol only (PQsendQuery, not PQsendQueryParams). What keeps it read-only is
/// that the only text ever sent is one of `PgBouncerShow`'s four SHOW commands: SHOW changes nothing. It never
/// sends PAUSE, KILL, RELOAD, SET or SHUTDOWN.
public struct LibPQPgBouncerConsole: PgBouncerConsoleConnector {
    public init() {}

    public func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PgBouncerConsole, PostgresError> {
        await Blocking.run { () -> Result<any PgBouncerConsole, PostgresError> in
            switch LibPQConnector.open(url, options: nil, timeout: timeout, deadline: Deadline(timeout)) {
            case .success(let conn): return .success(LibPQConsoleSession(conn))
            case .failure(let e): return .failure(e)
            }
        }
    }
}

final class LibPQConsoleSession: PgBouncerConsole {
    private let conn: Mutex<OpaquePointer?>

    init(_ conn: sending OpaquePointer) { self.conn = Mutex(conn) }

    deinit { conn.withLock { c in if let p = c { PQfinish(p); c = nil } } }

    func close() async { conn.withLock { c in if let p = c { PQfinish(p); c = nil } } }

    func show(_ what: PgBouncerShow, timeout: Duration) async -> Result<PgTable, PostgresError> {
        await Blocking.run { [self] in
            conn.withLock { c -> Result<PgTable, PostgresError> in
                guard let p = c else { return .failure(PostgresError("connection is closed")) }
                return Self.run(what.rawValue, on: p, deadline: Deadline(timeout))
            }
        }
    }

    static func run(_ sql: String, on conn: OpaquePointer, deadline: Deadline) -> Result<PgTable, PostgresError> {
        guard PQsendQuery(conn, sql) == 1 else { return .failure(PostgresError(String(cString: PQerrorMessage(conn)))) }
        while PQflush(conn) == 1 {
            guard wait(conn, for: Int16(POLLOUT), until: deadline) else {
                return .failure(PostgresError("PgBouncer did not answer \(sql) within \(format(deadline.limit))", timedOut: true))
            }
        }
        var table = PgTable(columns: [], rows: [])
        var failure: PostgresError?
        while true {
            while PQisBusy(conn) == 1 {
                guard wait(conn, for: Int16(POLLIN), until: deadline) else {
                    return .failure(PostgresError("PgBouncer did not answer \(sql) within \(format(deadline.limit))", timedOut: true))
                }
                guard PQconsumeInput(conn) == 1 else { return .failure(PostgresError(String(cString: PQerrorMessage(conn)))) }
            }
            guard let result = PQgetResult(conn) else { break }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                if table.columns.isEmpty {
                    table.columns = (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
                }
                // Bounded: a console with thousands of pools still gives a bounded answer.
                for r in 0..<min(PQntuples(result), 10_000) {
                    table.rows.append((0..<PQnfields(result)).map { f in
                        PQgetisnull(result, r, f) == 1 ? nil : String(cString: PQgetvalue(result, r, f))
                    })
                }
            default:
                failure = failure ?? PostgresError(String(cString: PQresultErrorMessage(result)))
            }
        }
        return failure.map { .failure($0) } ?? .success(table)
    }
}
