import Foundation
import PreflightCore
import PreflightProbes

/// Connections of one (database, user, application, state, client address) in pg_stat_activity.
public struct HeldConnections: Sendable, Equatable {
    public let database: String
    public let user: String
    public let application: String
    public let state: String
    /// `client_addr` ("127.0.0.1"), or "local" (Unix socket, or hidden without pg_read_all_stats).
    public let client: String
    public let count: Int
    /// The longest of these sessions has been idle this long (`now() − state_change`, state idle only).
    public let idleSeconds: Int?

    public init(database: String, user: String, application: String, state: String, client: String = "local",
                count: Int, idleSeconds: Int? = nil) {
        self.database = database
        self.user = user
        self.application = application
        self.state = state
        self.client = client
        self.count = count
        self.idleSeconds = idleSeconds
    }

    /// "psql" or, without application_name, "postgres@db".
    public var who: String { application.isEmpty ? "\(user)@\(database)" : application }
}

/// What the server allows and what is in use now, read in one read-only session.
public struct ServerConnections: Sendable, Equatable {
    public var maxConnections: Int
    public var superuserReserved: Int
    /// `reserved_connections` (PostgreSQL 16+); nil on older servers.
    public var reserved: Int?
    /// Client backends other than preflight's own sessions.
    public var inUse: [HeldConnections]
    /// rolconnlimit by role name, only where set (-1 = none is left out).
    public var roleLimits: [String: Int]
    /// datconnlimit by database name, only where set.
    public var databaseLimits: [String: Int]
    /// Roles that are superusers (they may use the reserved slots).
    public var superusers: Set<String>

    /// What ordinary roles may use: max_connections − superuser_reserved − reserved.
    public var allowance: Int { maxConnections - superuserReserved - (reserved ?? 0) }

    /// "20 − 3 reserved" or "100 − 3 superuser-reserved − 5 reserved".
    public var allowanceArithmetic: String {
        if let r = reserved, r > 0 { return "\(maxConnections) − \(superuserReserved) superuser-reserved − \(r) reserved" }
        return "\(maxConnections) − \(superuserReserved) reserved"
    }

    public var totalInUse: Int { inUse.map(\.count).reduce(0, +) }

    /// Reads settings, activity and the limits for these roles and databases.
    public static func read(_ session: any PostgresSession, roles: [String], databases: [String],
                            timeout: Duration) async -> Result<ServerConnections, PostgresError> {
        let settings = await session.query("""
            SELECT current_setting('max_connections'), current_setting('superuser_reserved_connections'),
                   current_setting('reserved_connections', true)
            """, timeout: timeout)
        guard case .success(let srows) = settings else { return .failure(settings.failure!) }
        let s = srows.first ?? []
        guard s.count == 3, let max = s[0].flatMap({ Int($0) }), let su = s[1].flatMap({ Int($0) }) else {
            return .failure(PostgresError("unexpected answer to current_setting('max_connections')"))
        }
        var out = ServerConnections(maxConnections: max, superuserReserved: su, reserved: s[2].flatMap { Int($0) },
                                    inUse: [], roleLimits: [:], databaseLimits: [:], superusers: [])

        // Client backends only, not background workers. Without pg_read_all_stats, other roles' sessions show
        // backend_type and state as NULL but keep database, user and application: count those as clients too.
        // preflight's own sessions (application_name preflight) are not demand.
        let activity = await session.query("""
            SELECT coalesce(datname, ''), coalesce(usename, ''), coalesce(application_name, ''), coalesce(state, 'hidden'),
                   coalesce(host(client_addr), 'local'), count(*),
                   max(CASE WHEN state = 'idle' THEN extract(epoch FROM now() - state_change) END)::bigint
            FROM pg_stat_activity
            WHERE (backend_type = 'client backend' OR (backend_type IS NULL AND datname IS NOT NULL AND usename IS NOT NULL))
              AND pid <> pg_backend_pid() AND coalesce(application_name, '') <> 'preflight'
            GROUP BY 1, 2, 3, 4, 5 ORDER BY 6 DESC, 3, 2, 1, 5
            """, timeout: timeout)
        guard case .success(let arows) = activity else { return .failure(activity.failure!) }
        out.inUse = arows.compactMap { r in
            guard r.count == 7, let n = r[5].flatMap({ Int($0) }) else { return nil }
            return HeldConnections(database: r[0] ?? "", user: r[1] ?? "", application: r[2] ?? "", state: r[3] ?? "",
                                   client: r[4] ?? "local", count: n, idleSeconds: r[6].flatMap { Int($0) })
        }

        let roleList = Set(roles).sorted().map(literal).joined(separator: ", ")
        let dbList = Set(databases).sorted().map(literal).joined(separator: ", ")
        let limits = await session.query("""
            SELECT 'role', rolname, rolconnlimit, rolsuper FROM pg_roles WHERE rolname IN (\(roleList.isEmpty ? "NULL" : roleList))
            UNION ALL
            SELECT 'database', datname, datconnlimit, false FROM pg_database WHERE datname IN (\(dbList.isEmpty ? "NULL" : dbList))
            """, timeout: timeout)
        guard case .success(let lrows) = limits else { return .failure(limits.failure!) }
        for r in lrows where r.count == 4 {
            guard let name = r[1], let limit = r[2].flatMap({ Int($0) }) else { continue }
            if r[0] == "role" {
                if limit >= 0 { out.roleLimits[name] = limit }
                if r[3] == "t" { out.superusers.insert(name) }
            } else if limit >= 0 {
                out.databaseLimits[name] = limit
            }
        }
        return .success(out)
    }

    /// A SQL string literal (standard_conforming_strings: only quotes need doubling).
    static func literal(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
}

extension Result {
    var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
