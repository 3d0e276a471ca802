import Foundation
import Synchronization
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

private func url(_ s: String) -> DatabaseURL { DatabaseURL.parse(s).0! }

private func loadConfig(_ yaml: String) throws -> Config {
    try ConfigLoader(sections: AllChecks.sections).load(yaml: yaml, file: nil, environment: [:])
}

/// Fast examples: size resolution, pgbouncer.ini, config reading and the verdict's arithmetic.
@Suite struct PoolCheckExamples {
    let base = "postgresql://app:pool-secret-pw@db.example.invalid:5432/chat"

    @Test func sizeWinsOverEverything() {
        let p = PoolSpec(name: "api", size: 7, url: url(base + "?connection_limit=50"), driver: .prisma)
        #expect(PoolDemand.size(of: p, physicalCPUs: 4) == .bounded(7, source: "size in the config"))
    }

    @Test func connectionLimitInTheURL() {
        let p = PoolSpec(name: "api", url: url(base + "?connection_limit=50&pool_timeout=20"), driver: .prisma)
        #expect(PoolDemand.size(of: p, physicalCPUs: 4) == .bounded(50, source: "connection_limit=50 in its url"))
    }

    @Test func driverDefaults() {
        func size(_ d: PoolDriver?) -> PoolSize { PoolDemand.size(of: PoolSpec(name: "x", driver: d), physicalCPUs: 4) }
        #expect(size(.prisma).connections == 9)  // 4 × 2 + 1
        #expect(size(.prismaAdapterPg).connections == 10)
        #expect(size(.nodePostgres).connections == 10)
        #expect(size(.hikari).connections == 10)
        #expect(size(.sqlalchemy).connections == 15)
        if case .unbounded = size(.goDatabaseSQL) {} else { Issue.record("Go database/sql should be unbounded") }
        #expect(size(nil) == .unknown)
        #expect(PoolDriver.parse("@prisma/adapter-pg") == .prismaAdapterPg)
        #expect(PoolDriver.parse("HikariCP") == .hikari)
        #expect(PoolDriver.parse("database/sql") == .goDatabaseSQL)
    }

    @Test func physicalCPUsCountCoresNotThreads() {
        let two = "processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\n\nprocessor\t: 1\nphysical id\t: 0\ncore id\t\t: 0\n\n"
            + "processor\t: 2\nphysical id\t: 0\ncore id\t\t: 1\n\nprocessor\t: 3\nphysical id\t: 0\ncore id\t\t: 1\n"
        #expect(PhysicalCPUs.count(parsing: two) == 2)
        #expect(PhysicalCPUs.count(parsing: "processor : 0\n\nprocessor : 1\n") == 2)  // no core ids (some VMs)
        #expect(PhysicalCPUs.count() >= 1)
    }

    @Test func pgbouncerIni() {
        let ini = """
            ; comment
            [databases]
            chat = host=127.0.0.1 port=5432 dbname=chat pool_size=30
            * = host=127.0.0.1 port=5432

            [pgbouncer]
            listen_port = 6433
            pool_mode = transaction
            max_client_conn = 500
            default_pool_size = 15
            reserve_pool_size = 5
            max_db_connections = 40
            bogus line
            """
        let (c, problems) = PgBouncerConfig.parse(ini: ini, source: "/etc/pgbouncer/pgbouncer.ini")
        #expect(problems == ["line 13: expected key = value"])
        #expect(c.listenPort == 6433)
        #expect(c.maxClientConn == 500)
        #expect(c.poolMode == "transaction")
        #expect(c.serverPool(database: "chat") == 35)       // 30 + 5 reserve
        #expect(c.serverPool(database: "other") == 20)      // 15 + 5
        // Two users on chat: 35 + 35, capped by max_db_connections 40.
        #expect(c.serverBound(pairs: [("chat", "app"), ("chat", "worker")]) == 40)
    }

    @Test func configReadsPools() throws {
        let c = try loadConfig("""
            database:
              url: \(base)
              probe_connections: yes
              pools:
                - name: api
                  url: \(base)?connection_limit=20
                  replicas: 3
                - name: worker
                  driver: hikari
              pgbouncer:
                max_client_conn: 200
            """)
        let s = c.section(DatabaseSettings.self)
        #expect(s.pools.map(\.name) == ["api", "worker"])
        #expect(s.pools[0].replicas == 3)
        #expect(s.pools[1].driver == .hikari)
        #expect(s.probeConnections)
        #expect(s.pgbouncer?.maxClientConn == 200)
        #expect(s.pgbouncer?.source == "database.pgbouncer")
        #expect(Secrets.shared.scrub("x pool-secret-pw y") == "x *** y")
    }

    @Test func configProblemsHaveLines() throws {
        do {
            _ = try loadConfig("""
                database:
                  url: \(base)
                  pools:
                    - size: 5
                    - name: w
                      driver: cobol
                      replicas: 0
                  pgbouncer: /nonexistent/pgbouncer.ini
                """)
            Issue.record("config accepted")
        } catch let error as ConfigError {
            let lines = error.problems.map { "\($0.line) \($0.path): \($0.message)" }
            #expect(lines.contains { $0.hasPrefix("4 database.pools[0]") && $0.contains("needs a name") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("6 database.pools[1].driver") && $0.contains("unknown driver") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("7 database.pools[1].replicas") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("8 database.pgbouncer") && $0.contains("cannot read") }, "\(lines)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func libpqNeverSeesPrismaParameters() {
        let u = Routing.libpqURL(url(base + "?connection_limit=5&sslmode=disable&schema=public"))
        #expect(u.query == ["sslmode": "disable"])
        #expect(Routing.libpqURL(url(base + "?connection_limit=5")).raw == base)
    }

    func verdict(max: Int = 100, reserved: Int? = nil, inUse: [HeldConnections] = [], roleLimits: [String: Int] = [:],
                 pools: [PoolSpec], pgbouncer: PgBouncerConfig? = nil, vus: Int? = nil) -> CheckOutcome {
        let server = ServerConnections(maxConnections: max, superuserReserved: 3, reserved: reserved, inUse: inUse,
                                       roleLimits: roleLimits, databaseLimits: [:], superusers: [])
        let demand = PoolDemand(pools, physicalCPUs: 2)
        let settings = DatabaseSettings(url: url(base), pools: pools, pgbouncer: pgbouncer)
        return PoolVerdict(server: server, demand: demand, route: Routing(settings: settings, demand: demand, fallback: url(base)),
                           vus: vus).outcome()
    }

    @Test func seed004() {
        let o = verdict(inUse: [HeldConnections(database: "chat", user: "postgres", application: "psql", state: "idle", count: 8),
                                HeldConnections(database: "chat", user: "postgres", application: "pgAdmin 4", state: "idle", count: 4),
                                HeldConnections(database: "chat", user: "app", application: "", state: "idle", count: 30)],
                        pools: [PoolSpec(name: "api", size: 50), PoolSpec(name: "worker", size: 50)], vus: 150)
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("pools need 100 (api 50 + worker 50); the server allows 97 (100 − 3 reserved) and 12 are already in use by psql (8), pgAdmin 4 (4): 15 short"), "\(o.summary)")
        #expect(o.evidence["heldByOthers"] == .int(12))
        #expect(o.evidence["peakEstimate"] != nil)
    }

    @Test func moreVUsThanPooledConnectionsQueue() {
        let o = verdict(pools: [PoolSpec(name: "api", size: 20)], vus: 150)
        #expect(o.status == .pass)
        #expect(o.summary.hasSuffix("150 VUs share 20 pooled connections: at most 20 queries run at once and up to 130 requests queue for a connection (they fail only if the wait exceeds the pool timeout, Prisma's pool_timeout 10 s by default)"), "\(o.summary)")
    }

    @Test func reservedConnectionsOf16() {
        let o = verdict(reserved: 5, pools: [PoolSpec(name: "api", size: 10)])
        #expect(o.summary.contains("the server allows 92 (100 − 3 superuser-reserved − 5 reserved)"), "\(o.summary)")
    }

    @Test func unboundedAndUnknownWarn() {
        let o = verdict(pools: [PoolSpec(name: "api", size: 10), PoolSpec(name: "jobs", driver: .goDatabaseSQL), PoolSpec(name: "cron")])
        #expect(o.status == .warn)
        #expect(o.summary.contains("jobs is unbounded"))
        #expect(o.summary.contains("size of cron unknown"))
    }

    @Test func pgbouncerBoundsTheServerSide() {
        var b = PgBouncerConfig()
        b.defaultPoolSize = 20
        b.maxClientConn = 100
        let bouncer = url("postgresql://app:pool-secret-pw@127.0.0.1:6432/chat")
        let pools = [PoolSpec(name: "api", size: 60, url: bouncer), PoolSpec(name: "worker", size: 60, url: bouncer),
                     PoolSpec(name: "migrations", size: 2)]
        let o = verdict(pools: pools, pgbouncer: b)
        #expect(o.summary.hasPrefix("pools need 22 (migrations 2 + PgBouncer 20 for api 60 + worker 60)"), "\(o.summary)")
        #expect(o.status == .fail)
        #expect(o.summary.contains("PgBouncer max_client_conn 100 but the pools behind it open 120"))
        b.maxClientConn = 1000
        #expect(verdict(pools: pools, pgbouncer: b).status == .pass)
        // Nothing points at PgBouncer's port: said so, and counted as direct.
        let direct = verdict(pools: [PoolSpec(name: "api", size: 10)], pgbouncer: b)
        #expect(direct.summary.contains("no pool's url uses PgBouncer's port 6432"), "\(direct.summary)")
    }

    @Test func roleLimitBelowThePools() {
        let o = verdict(roleLimits: ["app": 10], pools: [PoolSpec(name: "api", size: 4, replicas: 3)])
        #expect(o.status == .fail)
        #expect(o.summary.contains("role app has CONNECTION LIMIT 10 but its pools need 12 (api 3×4)"), "\(o.summary)")
    }

    @Test func describesItself() {
        #expect(PoolCheck.description.prerequisites == ["database"])
        #expect(Set(PoolCheck.description.examples.map(\.outcome)) == [.pass, .warn, .fail, .skipped])
        #expect(AllChecks.make().contains { $0.description.id == "pool" })
    }

    @Test func noDatabaseSkips() async throws {
        #expect(try await PoolCheck(probes: .live).run(context(config())).status == .skipped)
    }
}

/// Accepts every connection and counts the sessions still open.
final class CountingConnector: PostgresConnector, @unchecked Sendable {
    let open = Mutex(0)
    let opened = Mutex(0)

    final class Session: PostgresSession, @unchecked Sendable {
        let owner: CountingConnector
        let closed = Mutex(false)
        init(_ owner: CountingConnector) { self.owner = owner }
        func query(_ sql: String, timeout: Duration) async -> Result<[[String?]], PostgresError> { .success([]) }
        func close() async {
            if closed.withLock({ c in defer { c = true }; return !c }) { owner.open.withLock { $0 -= 1 } }
        }
    }

    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PostgresSession, PostgresError> {
        open.withLock { $0 += 1 }
        opened.withLock { $0 += 1 }
        return .success(Session(self))
    }
}

@Suite struct ConnectionProbeExamples {
    @Test func neverMoreThanTheCapAndClosesAll() async {
        let c = CountingConnector()
        let u = url("postgresql://app:pw-probe-x@127.0.0.1:1/app")
        let r = await ConnectionProbe(connector: c).run([(u, 150), (u, 150)], timeout: .seconds(1))
        #expect(r.attempted == ConnectionProbe.cap)
        #expect(r.accepted == ConnectionProbe.cap)
        #expect(c.opened.withLock { $0 } == ConnectionProbe.cap)
        #expect(c.open.withLock { $0 } == 0)
    }

    @Test func timeoutsAreNotRefusals() async {
        struct Silent: PostgresConnector {
            func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PostgresSession, PostgresError> {
                .failure(PostgresError("no answer within 1s (connected at TCP level, then silence)", timedOut: true))
            }
        }
        let r = await ConnectionProbe(connector: Silent()).run([(url("postgresql://a:pw-silent-x@127.0.0.1:1/a"), 3)], timeout: .seconds(1))
        #expect(r.timedOut == 3)
        #expect(r.firstRefusal == nil)
    }

    @Test func refusalWithoutLibpqPrefix() {
        let r = ConnectionProbe.Result(attempted: 3, accepted: 2, firstRefusal:
            "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients already")
        #expect(r.refusal == "sorry, too many clients already")
    }
}

/// One cluster with max_connections 20 (3 reserved for superusers: ordinary roles get 17) for the live suite.
actor SmallCluster {
    static let shared = SmallCluster()
    private var starting: Task<PostgresCluster, any Error>?

    func get() async throws -> PostgresCluster {
        if starting == nil {
            starting = Task {
                let c = try await PostgresCluster.start(maxConnections: 20)
                smallClusterDirectory.withLock { $0 = c.directory.path }
                atexit {
                    guard let dir = smallClusterDirectory.withLock({ $0 }) else { return }
                    _ = try? runProcess("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/pg-cluster.sh").path, "stop", dir], limit: 60)
                    try? FileManager.default.removeItem(atPath: dir)
                }
                return c
            }
        }
        return try await starting!.value
    }
}

private let smallClusterDirectory = Mutex<String?>(nil)

/// psql sessions that sit in pg_sleep until released: other clients holding connections.
final class HeldSessions: @unchecked Sendable {
    private var processes: [Process] = []
    let application: String
    let pg: PostgresCluster

    init(_ pg: PostgresCluster, count: Int, application: String) async throws {
        self.pg = pg
        self.application = application
        let admin = pg.adminURL
        processes = try await offThread {
            try (0..<count).map { _ in
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
                p.arguments = [admin, "-X", "-q", "-c", "SELECT pg_sleep(60)"]
                var env = ProcessInfo.processInfo.environment
                env["PGAPPNAME"] = application
                p.environment = env
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                p.standardInput = FileHandle.nullDevice
                try p.run()
                return p
            }
        }
        for _ in 0..<100 {
            if try await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(application)' AND pid <> pg_backend_pid()") == "\(count)" { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FixtureError("the \(count) \(application) sessions did not all connect")
    }

    func release() async {
        _ = try? await pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(application)' AND pid <> pg_backend_pid()")
        let ps = processes
        _ = try? await offThread { for p in ps where p.isRunning { p.terminate() } }
    }
}

/// Real PostgreSQL with max_connections 20: what the server says, and what it really does when probed.
@Suite(.serialized) struct PoolCheckLive {
    let check = PoolCheck(probes: .live)

    func run(_ pg: PostgresCluster, _ pools: [PoolSpec], probe: Bool = false, vus: Int? = nil) async throws -> CheckOutcome {
        var c = Config()
        c.set(DatabaseSettings(url: url(pg.url), pools: pools, probeConnections: probe))
        if let vus {
            var l = LoadSettings()
            l.vus = vus
            c.set(l)
        }
        return try await check.run(context(c, timeout: .seconds(5)))
    }

    /// Waits until preflight's own sessions are gone (PQfinish is asynchronous on the server side).
    func openPreflightSessions(_ pg: PostgresCluster) async throws -> String {
        var n = ""
        for _ in 0..<40 {
            n = try await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'preflight'")
            if n == "0" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return n
    }

    @Test func poolsThatFit() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "api", size: 5)])
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary == "pools need 5 (api 5); the server allows 17 (20 − 3 reserved): 29% used", "\(o.summary)")
        #expect(o.evidence["reservedConnections"] == .string("n/a (PostgreSQL < 16)") || o.evidence["reservedConnections"] == .int(0))
    }

    @Test func noPoolsSaysWhatItCan() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [])
        #expect(o.status == .pass)
        #expect(o.summary.hasPrefix("no pools configured: add database.pools to compare demand; the server allows 17 (20 − 3 reserved)"), "\(o.summary)")
    }

    @Test func nearTheLimitWarns() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "api", size: 8), PoolSpec(name: "worker", size: 7)])
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.hasPrefix("pools need 15 (api 8 + worker 7) of the 17 the server allows (20 − 3 reserved): 88%"), "\(o.summary)")
    }

    @Test func poolsThatExceedFail() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "chat-backend", size: 10), PoolSpec(name: "notification-worker", size: 10)], vus: 20)
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("pools need 20 (chat-backend 10 + notification-worker 10); the server allows 17 (20 − 3 reserved): 3 short"), "\(o.summary)")
        #expect(!o.summary.contains(pg.password))
    }

    @Test func othersHoldingConnectionsTipItOver() async throws {
        let pg = try await SmallCluster.shared.get()
        let pools = [PoolSpec(name: "api", size: 12)]
        #expect(try await run(pg, pools).status != .fail)
        let psql = try await HeldSessions(pg, count: 4, application: "psql")
        let admin = try await HeldSessions(pg, count: 2, application: "pgAdmin 4")
        let o = try await run(pg, pools)
        await psql.release()
        await admin.release()
        #expect(o.status == .fail)
        #expect(o.summary.contains("pools need 12 (api 12); the server allows 17 (20 − 3 reserved) and 6 are already in use by psql (4), pgAdmin 4 (2): 1 short"), "\(o.summary)")
    }

    @Test func connectionLimitInTheURL() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "api", url: url(pg.url + "?connection_limit=25"), driver: .prisma)])
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("pools need 25 (api 25)"), "\(o.summary)")
        guard case .array(let pools)? = o.evidence["pools"], case .object(let api)? = pools.first else { Issue.record("no pools evidence"); return }
        #expect(api["source"] == .string("connection_limit=25 in its url"))
        #expect(!JSONValue.object(o.evidence).display.contains(pg.password))
    }

    @Test func roleLimitLowerThanThePool() async throws {
        let pg = try await SmallCluster.shared.get()
        try await pg.psql("DROP ROLE IF EXISTS pool_limited; CREATE ROLE pool_limited LOGIN PASSWORD 'pool-limited-pw' CONNECTION LIMIT 3; GRANT CONNECT ON DATABASE preflight TO pool_limited")
        let limited = url("postgresql://pool_limited:pool-limited-pw@127.0.0.1:\(pg.port)/preflight")
        let o = try await run(pg, [PoolSpec(name: "reports", size: 5, url: limited)], probe: true)
        #expect(o.status == .fail)
        #expect(o.summary.contains("role pool_limited has CONNECTION LIMIT 3 but its pools need 5 (reports 5)"), "\(o.summary)")
        // The probe agrees with the arithmetic.
        #expect(o.summary.contains("probe: the server accepted 3 of 5 connections, then refused: too many connections for role \"pool_limited\""), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
    }

    @Test func probeMeetsTheReservedSlots() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "chat-backend", size: 10), PoolSpec(name: "notification-worker", size: 10)], probe: true)
        #expect(o.status == .fail)
        guard case .object(let probe)? = o.evidence["probe"] else { Issue.record("no probe evidence"); return }
        #expect(probe["attempted"] == .int(20))
        #expect(probe["accepted"] == .int(17), "\(o.summary)")
        #expect(o.summary.contains("then refused: remaining connection slots are reserved"), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
    }

    @Test func probeHitsTooManyClients() async throws {
        let pg = try await SmallCluster.shared.get()
        // A superuser may use the reserved slots too: past 20 the server has no slot at all.
        let o = try await run(pg, [PoolSpec(name: "admin-tool", size: 23, url: url(pg.adminURL))], probe: true)
        #expect(o.status == .fail)
        #expect(o.summary.contains("probe: the server accepted 20 of 23 connections, then refused: sorry, too many clients already"), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
        #expect(try await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'") == "1")  // this psql
    }

    @Test func probeThatFitsLeavesNothingOpen() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "api", size: 6)], probe: true)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary.hasSuffix("probe: the server accepted all 6 connections (all closed again)"), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
    }
}
