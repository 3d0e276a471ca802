import Foundation
import PreflightCore
import PreflightProbes

/// max_connections against every pool that will draw on the database (seed 004: two pools of 50
/// met max_connections 100, and 7% of requests failed with "sorry, too many clients already").
public struct PoolCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "pool", title: "Connection capacity", layer: .capacity, prerequisites: ["database"],
        examples: [
            CheckExample(.pass, given: World(config: Self.config(pools: "[{name: api, size: 10}]"), answers: Self.server(max: 20)),
                         says: "pools need 10 (api 10); the server allows 17 (20 − 3 reserved)"),
            CheckExample(.pass, given: World(config: Self.config(pools: nil), answers: Self.server(max: 20)),
                         says: "no pools configured: add database.pools to compare demand; the server allows 17"),
            CheckExample(.warn, given: World(config: Self.config(pools: "[{name: api, size: 16}]"), answers: Self.server(max: 20)),
                         says: "pools need 16 (api 16) of the 17 the server allows"),
            CheckExample(.warn, given: World(config: Self.config(pools: "[{name: api, size: 10, replicas: 2, surge: 1}]"), answers: Self.server(max: 40)),
                         says: "pools need 30 at a rollout's peak, 20 steady (surge on api)"),
            CheckExample(.warn, given: World(config: Self.config(pools: "[{name: api, driver: go}]"), answers: Self.server(max: 20)),
                         says: "api is unbounded ("),
            CheckExample(.fail, given: World(config: Self.config(pools: "[{name: api, size: 50}, {name: worker, size: 50}]"), answers: Self.server(max: 100)),
                         says: "pools need 100 (api 50 + worker 50); the server allows 97 (100 − 3 reserved)"),
            CheckExample(.fail, given: World(config: Self.config(pools: "[{name: api, size: 10}]"), answers: Self.server(max: 20, activity: [
                ["chat", "chat", "psql", "idle", "local", "4", "600"], ["chat", "chat", "pgAdmin 4", "idle", "10.0.0.9", "4", "600"],
            ])), says: "8 are already in use by"),
            CheckExample(.fail, given: World(config: Self.config(pools: "[{name: api, size: 10}]"), answers: Self.server(max: 20, activity: [
                ["chat", "chat", "reports", "idle", "10.0.0.5", "8", "600"],
            ])), says: "not declared in database.pools"),
            CheckExample(.fail, given: World(config: Self.config(pools: "[{name: api, size: 10}]"), answers: Self.server(max: 100, limits: [["role", "chat", "5", "f"]])),
                         says: "role chat has CONNECTION LIMIT 5 but its pools need 10"),
            CheckExample(.fail, given: World(config: Self.config(pools: "[{name: api, size: 10}]") + "\n  probe_connections: true",
                                             answers: Self.server(max: 100, accepting: 5)),
                         says: "probe: the server accepted 4 of 10 connections"),
            CheckExample(.fail, given: World(config: Self.config(pools: "[{name: api, size: 6, url: \"postgresql://chat@127.0.0.1:6432/chat\"}]")
                                                 + "\n  pgbouncer: {listen_port: 6432}\n  pgbouncer_admin: postgresql://stats@127.0.0.1:6432/pgbouncer",
                                             answers: Self.server(max: 100, bouncer: [.config: .of(["key", "value"], ["listen_port", "6432"], ["max_client_conn", "4"])])),
                         says: "PgBouncer max_client_conn 4 but the pools behind it open 6"),
            CheckExample(.fail, given: World(config: Self.config(pools: "[{name: api, size: 5, driver: prisma, url: \"postgresql://chat@127.0.0.1:6432/chat\"}]")
                                                 + "\n  pgbouncer: {listen_port: 6432, pool_mode: transaction}", answers: Self.server(max: 100)),
                         says: "api is a Prisma pool through PgBouncer in transaction pool mode (database.pgbouncer) without pgbouncer=true in its url"),
            CheckExample(.warn, given: World(config: Self.config(pools: "[{name: api, size: 5, url: \"postgresql://chat@127.0.0.1:6432/chat\"}]")
                                                 + "\n  pgbouncer: {listen_port: 6432}\n  pgbouncer_admin: postgresql://stats@127.0.0.1:6432/pgbouncer",
                                             answers: Self.server(max: 100, bouncer: [.pools: .of(
                                                ["database", "user", "cl_active", "cl_waiting", "sv_active", "sv_idle", "maxwait", "maxwait_us", "pool_mode"],
                                                ["chat", "chat", "10", "3", "2", "0", "4", "0", "session"])])),
                         says: "PgBouncer: 3 clients waiting now for a server connection in chat/chat (maxwait 4 s; SHOW POOLS)"),
            CheckExample(.warn, given: World(config: Self.config(pools: "[{name: api, size: 5}]")
                                                 + "\n  pgbouncer_admin: postgresql://stats@127.0.0.1:6432/pgbouncer",
                                             answers: ProbeAnswers {
                                                 $0.postgres = Self.server(max: 100).postgres
                                                 $0.pgbouncer = .failure(PostgresError("FATAL:  not allowed"))
                                             }),
                         says: "cannot read PgBouncer's admin console at 127.0.0.1:6432"),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001"), says: "no database.url configured"),
        ],
        // Read the server (one timeout), probe (one more, all connections at once), close.
        timeoutBudget: 3)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [DatabaseSettings.self, PoolSettings.self, LoadPlan.self]

    /// Interactive tools: their connections are never a configured service's pool.
    static let tools = ["psql", "pgadmin", "dbeaver", "datagrip", "tableplus", "postico", "pgcli"]

    /// An example's config: database.url, and `database.pools` when given (a YAML flow list).
    static func config(pools: String?) -> String {
        "database:\n  url: postgresql://chat@127.0.0.1:5432/chat" + (pools.map { "\n  pools: \($0)" } ?? "")
    }

    /// A server with `max` max_connections (3 reserved for superusers), the sessions it holds (database, user,
    /// application, state, client, count, idle seconds), roles' and databases' CONNECTION LIMITs, how many logins it
    /// accepts in all, and PgBouncer's admin console's tables (the others empty).
    static func server(max: Int, activity: [[String?]] = [], limits: [[String?]] = [], accepting: Int? = nil,
                       bouncer: [PgBouncerShow: PgTable]? = nil) -> ProbeAnswers {
        ProbeAnswers {
            var server = PostgresAnswers([
                ("current_setting('max_connections')", .success([[String(max), "3", nil]])),
                ("FROM pg_stat_activity", .success(activity)),
                ("FROM pg_roles", .success(limits)),
            ])
            server.acceptsConnections = accepting
            $0.postgres = .success(server)
            if let bouncer {
                var tables: [PgBouncerShow: PgTable] = [.config: .none, .pools: .none, .databases: .none, .lists: .none]
                for (k, v) in bouncer { tables[k] = v }
                $0.pgbouncer = .success(tables)
            }
        }
    }

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        var settings = context.fact(PoolSettings.self)
        guard let url = context.fact(DatabaseSettings.self).url else { return .skipped("no database.url configured") }
        // PgBouncer's admin console, read beside the server: its live settings replace the ini's.
        let admin = settings.pgbouncerAdmin
        async let console = readConsole(admin, timeout: context.timeout)
        // Roles, databases and the probe plan follow the rollout's peak, as the verdict does.
        let demand = PoolDemand(settings.pools.map(\.atPeak))
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

        let live = await console
        if case .success(let l)? = live {
            settings.pgbouncer = l.config(over: settings.pgbouncer, source: "SHOW CONFIG on \(settings.pgbouncerAdmin!.hostPort)")
        }
        var verdict = PoolVerdict(server: server, settings: settings, fallback: url, vus: context.fact(LoadPlan.self).peakVUs)
        verdict.bouncerConsole = settings.pgbouncerAdmin?.hostPort
        switch live {
        case .success(let l)?: verdict.bouncerLive = l
        case .failure(let e)?: verdict.bouncerConsoleError = e.firstLine
        case nil: break
        }
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

extension PoolCheck {
    /// SHOW CONFIG, POOLS, DATABASES and LISTS over one admin-console session (the only commands it sends).
    func readConsole(_ admin: DatabaseURL?, timeout: Duration) async -> Result<PgBouncerLive, PostgresError>? {
        guard let admin else { return nil }
        switch await probes.pgbouncer.connect(admin, timeout: timeout) {
        case .failure(let e): return .failure(e)
        case .success(let console):
            var tables: [PgTable] = []
            for what in [PgBouncerShow.config, .pools, .databases, .lists] {
                switch await console.show(what, timeout: timeout) {
                case .success(let t): tables.append(t)
                case .failure(let e):
                    await console.close()
                    return .failure(PostgresError("\(what.rawValue): \(e.message)", timedOut: e.timedOut))
                }
            }
            await console.close()
            return .success(PgBouncerLive.parse(config: tables[0], pools: tables[1], databases: tables[2], lists: tables[3]))
        }
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

    /// A pool goes through PgBouncer when its URL (its own, else database.url) uses PgBouncer's listen_port or
    /// says pgbouncer=true.
    func viaBouncer(_ p: ResolvedPool) -> Bool {
        guard let b = pgbouncer else { return false }
        return url(p).port == b.listenPort || url(p).viaPgBouncer
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

    /// Connections a declared pool explains: its (database, user), and an application_name that is empty, a
    /// driver's default, or the pool's name. Anything else (a `reports` job logging in as the same role) is held by others.
    func isPools(_ h: HeldConnections) -> Bool {
        let app = Self.folded(h.application)
        if PoolCheck.tools.contains(where: { app.hasPrefix($0) }) { return false }
        return demand.pools.contains { p in
            guard database(p) == h.database && user(p) == h.user else { return false }
            let name = Self.folded(p.spec.name)
            return app.isEmpty || Self.driverDefaults.contains(app) || app.contains(name) || name.contains(app)
        }
    }

    /// application_name values drivers set on their own (PgJDBC); the others leave it empty.
    static let driverDefaults: Set<String> = ["postgresqljdbcdriver"]
    static func folded(_ s: String) -> String { s.lowercased().filter { $0.isLetter || $0.isNumber } }

    /// Each pool's connections with its own URL, as its service would open them.
    func probePlan() -> [(url: DatabaseURL, count: Int)] {
        demand.pools.compactMap { p in p.total.map { (url(p), $0) } }.filter { $0.1 > 0 }
    }
}
