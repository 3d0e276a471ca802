import Foundation
import PreflightCore
import PreflightProbes
import Synchronization

/// The database while a load test runs, in one statement: client backends by application and state, sessions
/// waiting on locks (up to 5, with what blocks them), and max_connections. Read by exec's watcher through
/// `DatabaseActivityWatch`, which keeps one read-only session.
public struct DatabaseActivity: Sendable, Equatable {
    public struct Connections: Sendable, Equatable {
        public var application: String
        public var state: String
        public var count: Int
    }
    public struct LockWait: Sendable, Equatable {
        public var relation: String?
        public var application: String?
        public var blockedBy: [Int]
    }

    public var maxConnections: Int?
    /// Sorted by application, then state.
    public var connections: [Connections] = []
    public var lockWaits: [LockWait] = []
    public var waitingOnLocks: Int?
    public var total: Int { connections.map(\.count).reduce(0, +) }

    /// One row: max_connections, the connections as JSON, the lock waits as JSON, the count of lock waiters.
    public static let query = """
        SELECT current_setting('max_connections'),
          (SELECT coalesce(json_agg(json_build_array(a, s, n)), '[]') FROM (
             SELECT coalesce(application_name, '') a, coalesce(state, '') s, count(*) n FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1, 2) c),
          (SELECT coalesce(json_agg(json_build_array(r, app, b)), '[]') FROM (
             SELECT l.relation::regclass::text r, coalesce(a.application_name, '') app, pg_blocking_pids(a.pid) b
             FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
             WHERE a.wait_event_type = 'Lock' LIMIT 5) w),
          (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock')
        """

    /// The query's answer; nil for any other shape.
    public init?(rows: [[String?]]) {
        guard let row = rows.first, row.count == 4 else { return nil }
        maxConnections = row[0].flatMap { Int($0) }
        waitingOnLocks = row[3].flatMap { Int($0) }
        for item in Self.jsonArray(row[1]) {
            guard item.count == 3, let n = (item[2] as? NSNumber)?.intValue else { continue }
            connections.append(Connections(application: item[0] as? String ?? "", state: item[1] as? String ?? "", count: n))
        }
        connections.sort { ($0.application, $0.state) < ($1.application, $1.state) }
        lockWaits = Self.jsonArray(row[2]).map { item in
            LockWait(relation: item.first as? String, application: item.count > 1 ? item[1] as? String : nil,
                     blockedBy: (item.count > 2 ? item[2] as? [Any] : nil)?.compactMap { ($0 as? NSNumber)?.intValue } ?? [])
        }
    }

    static func jsonArray(_ text: String?) -> [[Any]] {
        guard let text, let data = text.data(using: .utf8),
              let parsed = try? JSONSerialization.jsonObject(with: data) as? [Any] else { return [] }
        return parsed.compactMap { $0 as? [Any] }
    }
}

/// One read-only session (`Probes.postgres`) asking `DatabaseActivity.query` again and again: opened on first use,
/// kept open, reopened after a failure.
public final class DatabaseActivityWatch: Sendable {
    let probes: Probes
    let url: DatabaseURL
    let timeout: Duration
    private let session = Mutex<(any PostgresSession)?>(nil)

    public init(probes: Probes, url: DatabaseURL, timeout: Duration) {
        self.probes = probes
        self.url = url
        self.timeout = timeout
    }

    /// The activity now, or libpq's words for why not.
    public func sample() async -> Result<DatabaseActivity, PostgresError> {
        let current: any PostgresSession
        if let open = session.withLock({ $0 }) {
            current = open
        } else {
            switch await probes.postgres.connect(url, timeout: timeout) {
            case .failure(let e): return .failure(e)
            case .success(let new):
                session.withLock { $0 = new }
                current = new
            }
        }
        switch await current.query(DatabaseActivity.query, timeout: timeout) {
        case .failure(let e):
            session.withLock { $0 = nil }
            await current.close()
            return .failure(e)
        case .success(let rows):
            guard let activity = DatabaseActivity(rows: rows) else { return .failure(PostgresError("unexpected answer")) }
            return .success(activity)
        }
    }

    public func close() async {
        if let s = session.withLock({ v -> (any PostgresSession)? in defer { v = nil }; return v }) { await s.close() }
    }
}
