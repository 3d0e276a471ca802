import Foundation
import PreflightCore
import PreflightProbes

/// `database.pools`, `database.pgbouncer`, `database.pgbouncer_admin` and `database.probe_connections`: the services'
/// pools and what stands between them and PostgreSQL. A fact: the pool check judges the arithmetic and the live
/// state, the pool-traffic check the ramp against the same pools. (`database.url` is `DatabaseSettings`.)
public struct PoolSettings: ConfigSection, Fact {
    public static let key = "database"
    public static let keys = ["pools", "pgbouncer", "pgbouncer_admin", "probe_connections"]
    public static let name = "database pools"
    public static let sections: [any ConfigSection.Type] = [PoolSettings.self]
    /// A generated config cannot ask for more pools than this (each may be probed for real).
    public static let poolCap = 100
    /// The services' pools that will draw on this database.
    public var pools: [PoolSpec] = []
    /// PgBouncer between the services and PostgreSQL, when there is one (its ini, or the settings themselves).
    public var pgbouncer: PgBouncerConfig?
    /// PgBouncer's admin console (`postgresql://user:pw@host:6432/pgbouncer`): its live state, read with SHOW only.
    public var pgbouncerAdmin: DatabaseURL?
    /// Open the pools' worth of connections for real (`--probe-connections`).
    public var probeConnections = false

    public init() {}
    public init(pools: [PoolSpec] = [], pgbouncer: PgBouncerConfig? = nil, pgbouncerAdmin: DatabaseURL? = nil,
                probeConnections: Bool = false) {
        self.pools = pools
        self.pgbouncer = pgbouncer
        self.pgbouncerAdmin = pgbouncerAdmin
        self.probeConnections = probeConnections
    }
    public init(reading r: SectionReader) {
        if case .sequence(let items, _)? = r.node?["pools"], items.count > Self.poolCap {
            r.problem("pools", "\(items.count) pools; at most \(Self.poolCap) are allowed (each may be probed with real connections)")
            return
        }
        pools = r.list("pools", Self.pool)
        var seen = Set<String>()
        for (i, p) in pools.enumerated() where !seen.insert(p.name).inserted {
            r.problem("pools", "pool \"\(p.name)\" appears twice (entry \(i + 1))")
        }
        pgbouncer = Self.pgbouncer(r)
        if let raw = r.string("pgbouncer_admin") {
            let (parsed, why) = DatabaseURL.parse(raw)
            if let why { r.problem("pgbouncer_admin", why) }
            pgbouncerAdmin = parsed
        }
        probeConnections = r.bool("probe_connections") ?? false
    }

    public static func derive(from config: Config) -> PoolSettings { config.section(PoolSettings.self) }

    static func pool(_ r: SectionReader) -> PoolSpec? {
        r.allowKeys(["name", "size", "url", "replicas", "surge", "driver"])
        guard case .mapping(_, _)? = r.node else { return nil }
        guard let name = r.string("name"), !name.isEmpty else {
            r.problem(nil, "a pool needs a name (the service that owns it)")
            return nil
        }
        var p = PoolSpec(name: name)
        p.size = r.int("size", in: 1...100_000)
        p.replicas = r.int("replicas", in: 1...10_000) ?? 1
        if let s = r.string("surge") {
            p.surge = Surge.parse(s)
            if p.surge == nil { r.problem("surge", "expected a number of extra replicas or a percentage like \"25%\" (Kubernetes' maxSurge), found \"\(s)\"") }
        }
        if let raw = r.string("url") {
            let (parsed, why) = DatabaseURL.parse(raw)
            if let why { r.problem("url", why) }
            p.url = parsed
        }
        if let d = r.string("driver") {
            p.driver = PoolDriver.parse(d)
            if p.driver == nil { r.problem("driver", "unknown driver \"\(d)\"; known: \(PoolDriver.spellings)") }
        }
        return p
    }

    /// `pgbouncer: /etc/pgbouncer/pgbouncer.ini`, or a mapping with `ini` and/or the settings themselves.
    static func pgbouncer(_ r: SectionReader) -> PgBouncerConfig? {
        guard let node = r.node?["pgbouncer"] else { return nil }
        func load(_ path: String, line: Int?) -> PgBouncerConfig {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                r.problem("pgbouncer", "cannot read \(path)", line: line)
                return PgBouncerConfig()
            }
            let (c, problems) = PgBouncerConfig.parse(ini: text, source: path)
            for m in problems { r.problem("pgbouncer", "\(path) \(m)", line: line) }
            return c
        }
        switch node {
        case .null: return nil
        case .scalar(let path, let line): return load(path, line: line)
        case .mapping:
            let b = r.child("pgbouncer")
            b.allowKeys(["ini", "listen_port", "default_pool_size", "reserve_pool_size", "max_client_conn",
                         "max_db_connections", "max_user_connections", "pool_mode"])
            var c = b.string("ini").map { load($0, line: node["ini"]?.line) } ?? PgBouncerConfig()
            if b.string("ini") == nil { c.source = "database.pgbouncer" }
            if let v = b.int("listen_port", in: 1...65535) { c.listenPort = v }
            if let v = b.int("default_pool_size", in: 1...100_000) { c.defaultPoolSize = v }
            if let v = b.int("reserve_pool_size", in: 0...100_000) { c.reservePoolSize = v }
            if let v = b.int("max_client_conn", in: 1...1_000_000) { c.maxClientConn = v }
            if let v = b.int("max_db_connections", in: 0...100_000) { c.maxDBConnections = v }
            if let v = b.int("max_user_connections", in: 0...100_000) { c.maxUserConnections = v }
            if let v = b.string("pool_mode") { c.poolMode = v.lowercased() }
            return c
        default:
            r.problem("pgbouncer", "expected a pgbouncer.ini path or a mapping")
            return nil
        }
    }
}

/// The secrets in `database.pools` and `database.pgbouncer_admin`: every URL's password.
extension PoolSettings {
    public var secrets: [String] {
        (pools.compactMap(\.url) + [pgbouncerAdmin].compactMap { $0 })
            .flatMap { Secrets.inURL($0.raw) + ($0.password.map { [$0] } ?? []) }
    }
}

extension PoolSettings {
    public static let schema: ValueSchema = .object([
        SchemaKey("pools", "Every service that will draw on this database, with its pool (at most \(poolCap))", .list(.object([
            SchemaKey("name", "The service that owns the pool", .string),
            SchemaKey("size", "Connections per replica (else read from the URL or the driver's default)", .integer(1...100_000)),
            SchemaKey("url", "The service's own database URL (its driver parameters give the pool size)", .string),
            SchemaKey("replicas", "How many copies of the service run (default 1)", .integer(1...10_000)),
            SchemaKey("surge", "Extra replicas during a rolling deploy: a number, or a percentage of replicas like \"25%\" (Kubernetes' maxSurge)", .anyOf([.integer(0...10_000), .string])),
            SchemaKey("driver", "The driver: \(PoolDriver.spellings)", .string),
        ], required: ["name"]))),
        SchemaKey("pgbouncer", "PgBouncer between the services and PostgreSQL: its ini file, or its settings", .anyOf([.string, .object([
            SchemaKey("ini", "Path of pgbouncer.ini", .string),
            SchemaKey("listen_port", "", .integer(1...65535)),
            SchemaKey("default_pool_size", "", .integer(1...100_000)),
            SchemaKey("reserve_pool_size", "", .integer(0...100_000)),
            SchemaKey("max_client_conn", "", .integer(1...1_000_000)),
            SchemaKey("max_db_connections", "", .integer(0...100_000)),
            SchemaKey("max_user_connections", "", .integer(0...100_000)),
            SchemaKey("pool_mode", "session, transaction or statement", .string),
        ])])),
        SchemaKey("pgbouncer_admin", "PgBouncer's admin console URL (postgresql://USER@HOST:6432/pgbouncer, USER in stats_users; its password in a ${VAR}), read with SHOW only", .string),
        SchemaKey("probe_connections", "Open the pools' demand of connections for real (bounded), as --probe-connections", .boolean),
    ])
}
