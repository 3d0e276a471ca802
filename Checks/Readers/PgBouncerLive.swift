import Foundation
import PreflightCore
import PreflightProbes

/// PgBouncer as it runs, from its admin console: SHOW CONFIG, SHOW POOLS, SHOW DATABASES, SHOW LISTS.
public struct PgBouncerLive: Sendable, Equatable {
    /// One (database, user) pool of SHOW POOLS.
    public struct Pool: Sendable, Equatable {
        public var database: String
        public var user: String
        public var clientsActive: Int
        public var clientsWaiting: Int
        public var serversActive: Int
        public var serversIdle: Int
        /// The oldest waiting client's wait, in seconds (maxwait + maxwait_us).
        public var maxWait: Double
        public var mode: String
    }
    /// One entry of SHOW DATABASES.
    public struct Database: Sendable, Equatable {
        public var name: String
        public var poolSize: Int
        public var reservePool: Int
        /// `max_db_connections` for it (0: none).
        public var maxConnections: Int
        public var currentConnections: Int
        public var mode: String?
    }
    public var settings: [String: String] = [:]
    public var pools: [Pool] = []
    public var databases: [Database] = []
    public var lists: [String: Int] = [:]

    public init() {}

    /// Reads the four tables; columns are found by name (they change between versions).
    public static func parse(config: PgTable, pools: PgTable, databases: PgTable, lists: PgTable) -> PgBouncerLive {
        var live = PgBouncerLive()
        for r in config.records { if let k = r["key"], let v = r["value"] { live.settings[k] = v } }
        func int(_ r: [String: String], _ k: String) -> Int { r[k].flatMap { Int($0) } ?? 0 }
        live.pools = pools.records.compactMap { r in
            guard let db = r["database"], let user = r["user"] else { return nil }
            return Pool(database: db, user: user, clientsActive: int(r, "cl_active"), clientsWaiting: int(r, "cl_waiting"),
                        serversActive: int(r, "sv_active"), serversIdle: int(r, "sv_idle"),
                        maxWait: Double(int(r, "maxwait")) + Double(int(r, "maxwait_us")) / 1e6, mode: r["pool_mode"] ?? "")
        }
        live.databases = databases.records.compactMap { r in
            guard let name = r["name"] else { return nil }
            return Database(name: name, poolSize: int(r, "pool_size"), reservePool: int(r, "reserve_pool"),
                            maxConnections: int(r, "max_connections"), currentConnections: int(r, "current_connections"),
                            mode: r["pool_mode"].flatMap { $0.isEmpty ? nil : $0 })
        }
        for r in lists.records { if let k = r["list"], let v = r["items"].flatMap({ Int($0) }) { live.lists[k] = v } }
        return live
    }

    func setting(_ k: String) -> Int? { settings[k].flatMap { Int($0) } }

    /// The live settings over the ini's (or PgBouncer's defaults): what bounds connections right now.
    public func config(over ini: PgBouncerConfig?, source: String) -> PgBouncerConfig {
        var c = ini ?? PgBouncerConfig()
        c.source = source
        if let v = setting("listen_port") { c.listenPort = v }
        if let v = setting("default_pool_size") { c.defaultPoolSize = v }
        if let v = setting("reserve_pool_size") { c.reservePoolSize = v }
        if let v = setting("max_client_conn") { c.maxClientConn = v }
        if let v = setting("max_db_connections") { c.maxDBConnections = v }
        if let v = setting("max_user_connections") { c.maxUserConnections = v }
        if let v = settings["pool_mode"], !v.isEmpty { c.poolMode = v.lowercased() }
        for d in databases where d.name != "pgbouncer" && d.poolSize > 0 { c.databasePoolSizes[d.name] = d.poolSize }
        return c
    }

    /// Clients connected now (SHOW LISTS used_clients), preflight's own console session included.
    public var clientsNow: Int? { lists["used_clients"] }

    public var waiting: [Pool] { pools.filter { $0.clientsWaiting > 0 || $0.maxWait > 0 } }

    /// Pool mode of a database: its own entry's, else the global one.
    public func mode(database: String) -> String? {
        databases.first { $0.name == database }?.mode ?? databases.first { $0.name == "*" }?.mode ?? settings["pool_mode"]
    }

    /// Most server connections PgBouncer may open for the (database, user) pools it has now and those the
    /// services will add: (pool_size + reserve) each, capped per database by max_db_connections.
    public func serverBound(_ c: PgBouncerConfig, adding pairs: [(database: String, user: String)]) -> (total: Int, pools: Int) {
        var all = pools.filter { $0.database != "pgbouncer" }.map { (database: $0.database, user: $0.user) }
        for p in pairs where !all.contains(where: { $0.database == p.database && $0.user == p.user }) { all.append(p) }
        return (c.serverBound(pairs: all), all.count)
    }
}
