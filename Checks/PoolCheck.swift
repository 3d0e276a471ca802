import Foundation
import PreflightCore
import PreflightProbes

/// The pool check's keys in `database:`: the services' pools, PgBouncer, the connection probe.
/// (`database.url` is the shared `DatabaseSettings`, Checks/Facts/Database.swift.)
public struct PoolSettings: ConfigSection {
    public static let key = "database"
    public static let keys = ["pools", "pgbouncer", "probe_connections"]
    /// A generated config cannot ask for more pools than this (each may be probed for real).
    public static let poolCap = 100
    /// The services' pools that will draw on this database (read by the pool check).
    public var pools: [PoolSpec] = []
    /// PgBouncer between the services and PostgreSQL, when there is one.
    public var pgbouncer: PgBouncerConfig?
    /// Open the pools' worth of connections for real (`--probe-connections`).
    public var probeConnections = false

    public init() {}
    public init(pools: [PoolSpec] = [], pgbouncer: PgBouncerConfig? = nil, probeConnections: Bool = false) {
        self.pools = pools
        self.pgbouncer = pgbouncer
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
        probeConnections = r.bool("probe_connections") ?? false
    }

    static func pool(_ r: SectionReader) -> PoolSpec? {
        r.allowKeys(["name", "size", "url", "replicas", "driver"])
        guard case .mapping(_, _)? = r.node else { return nil }
        guard let name = r.string("name"), !name.isEmpty else {
            r.problem(nil, "a pool needs a name (the service that owns it)")
            return nil
        }
        var p = PoolSpec(name: name)
        p.size = r.int("size", in: 1...100_000)
        p.replicas = r.int("replicas", in: 1...10_000) ?? 1
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

/// max_connections against every pool that will draw on the database (seed 004: two pools of 50
/// met max_connections 100, and 7% of requests failed with "sorry, too many clients already").
public struct PoolCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "pool", title: "Connection capacity", layer: .capacity, prerequisites: ["database"],
        examples: [
            CheckExample("pools need 10 (api 10); the server allows 17 (20 − 3 reserved)", .pass),
            CheckExample("no database.pools: the server's numbers only", .pass),
            CheckExample("pools need 16 of the 17 the server allows (above 80%)", .warn),
            CheckExample("a Go database/sql pool without SetMaxOpenConns (unbounded)", .warn),
            CheckExample("pools need 100 (api 50 + worker 50); the server allows 97 (100 − 3 reserved)", .fail),
            CheckExample("pools fit, but psql and pgAdmin already hold the rest", .fail),
            CheckExample("the role's CONNECTION LIMIT is lower than its pools", .fail),
            CheckExample("--probe-connections: the server refused some of the pools' connections", .fail),
            CheckExample("no database.url", .skipped),
        ],
        // Read the server (one timeout), probe (one more, all connections at once), close.
        timeoutBudget: 3)
    public static let settings: [any ConfigSection.Type] = [PoolSettings.self]
    public static let facts: [any Fact.Type] = [DatabaseSettings.self, LoadPlan.self]

    /// Interactive tools: their connections are never a configured service's pool.
    static let tools = ["psql", "pgadmin", "dbeaver", "datagrip", "tableplus", "postico", "pgcli"]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let settings = context.config.section(PoolSettings.self)
        guard let url = context.fact(DatabaseSettings.self).url else { return .skipped("no database.url configured") }
        let demand = PoolDemand(settings.pools)
        let route = Routing(settings: settings, demand: demand, fallback: url)

        let server: ServerConnections
        switch await probes.postgres.connect(url, timeout: context.timeout) {
        case .failure(let e):
            return .fail("cannot read the connection limits from \(url.hostPort): \(e.firstLine)",
                         evidence: Evidence(["error": .string(e.oneLine)]),
                         fix: "see the database check", suspects: ["database"])
        case .success(let session):
            let read = await ServerConnections.read(session, roles: route.roles, databases: route.databases, timeout: context.timeout)
            await session.close()
            switch read {
            case .failure(let e):
                return .fail("cannot read the connection limits from \(url.hostPort): \(e.firstLine)",
                             evidence: Evidence(["error": .string(e.oneLine)]))
            case .success(let s): server = s
            }
        }

        var verdict = PoolVerdict(server: server, demand: demand, route: route,
                                  vus: context.fact(LoadPlan.self).peakVUs)
        if settings.probeConnections {
            let plan = route.probePlan()
            if plan.isEmpty {
                verdict.probeSkipped = "nothing to probe: no pool with a known size"
            } else {
                verdict.probe = await ConnectionProbe(connector: probes.postgres).run(plan, timeout: context.timeout)
            }
        }
        return verdict.outcome()
    }
}

/// Who connects as whom, and what reaches PostgreSQL (directly, or through PgBouncer's server pools).
struct Routing: Sendable {
    let demand: PoolDemand
    let pgbouncer: PgBouncerConfig?
    let fallback: DatabaseURL

    init(settings: PoolSettings, demand: PoolDemand, fallback: DatabaseURL) {
        self.demand = demand
        self.pgbouncer = settings.pgbouncer
        self.fallback = fallback
    }

    func url(_ p: ResolvedPool) -> DatabaseURL { p.spec.url ?? fallback }
    func user(_ p: ResolvedPool) -> String { url(p).user ?? "postgres" }
    func database(_ p: ResolvedPool) -> String { url(p).database ?? user(p) }

    var roles: [String] { [fallback.user ?? "postgres"] + demand.pools.map(user) }
    var databases: [String] { [fallback.database ?? fallback.user ?? "postgres"] + demand.pools.map(database) }

    /// A pool goes through PgBouncer when its URL (its own, else database.url) uses PgBouncer's listen_port.
    func viaBouncer(_ p: ResolvedPool) -> Bool {
        guard let b = pgbouncer else { return false }
        return url(p).port == b.listenPort
    }

    var direct: [ResolvedPool] { demand.pools.filter { !viaBouncer($0) } }
    var bounced: [ResolvedPool] { demand.pools.filter(viaBouncer) }

    /// Connections PgBouncer opens to PostgreSQL: its clients' demand, bounded by its server pools.
    var bouncerServerSide: Int? {
        guard let b = pgbouncer, !bounced.isEmpty else { return nil }
        var pairs: [(database: String, user: String)] = []
        for p in bounced where !pairs.contains(where: { $0.database == database(p) && $0.user == user(p) }) {
            pairs.append((database(p), user(p)))
        }
        return min(bounced.compactMap(\.total).reduce(0, +), b.serverBound(pairs: pairs))
    }

    /// What the pools ask of PostgreSQL itself.
    var serverDemand: Int { direct.compactMap(\.total).reduce(0, +) + (bouncerServerSide ?? 0) }

    /// The (database, user) pairs the configured services connect as.
    func isPools(_ h: HeldConnections) -> Bool {
        let app = h.application.lowercased()
        if PoolCheck.tools.contains(where: { app.hasPrefix($0) }) { return false }
        return demand.pools.contains { database($0) == h.database && user($0) == h.user }
    }

    /// Each pool's connections with its own URL, as its service would open them.
    func probePlan() -> [(url: DatabaseURL, count: Int)] {
        demand.pools.compactMap { p in p.total.map { (url(p), $0) } }.filter { $0.1 > 0 }
    }
}

/// The secrets in `database.pools`: every pool's URL password.
extension PoolSettings {
    public var secrets: [String] { pools.compactMap(\.url).flatMap { Secrets.inURL($0.raw) + ($0.password.map { [$0] } ?? []) } }
}

extension PoolSettings {
    public static let schema: ValueSchema = .object([
        SchemaKey("pools", "Every service that will draw on this database, with its pool (at most \(poolCap))", .list(.object([
            SchemaKey("name", "The service that owns the pool", .string),
            SchemaKey("size", "Connections per replica (else read from the URL or the driver's default)", .integer(1...100_000)),
            SchemaKey("url", "The service's own database URL (its driver parameters give the pool size)", .string),
            SchemaKey("replicas", "How many copies of the service run (default 1)", .integer(1...10_000)),
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
        SchemaKey("probe_connections", "Open the pools' demand of connections for real (bounded), as --probe-connections", .boolean),
    ])
}
