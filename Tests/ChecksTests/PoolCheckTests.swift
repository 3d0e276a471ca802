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
        let s = c.section(PoolSettings.self)
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
        // One parse for every check: the pool probe connects with the same conninfo as the database check.
        #expect(url(base + "?connection_limit=5&sslmode=disable&schema=public").conninfo == base + "?sslmode=disable")
        #expect(url(base + "?connection_limit=5").conninfo == base)
    }

    func verdict(max: Int = 100, reserved: Int? = nil, inUse: [HeldConnections] = [], roleLimits: [String: Int] = [:],
                 pools: [PoolSpec], pgbouncer: PgBouncerConfig? = nil, vus: Int? = nil) -> CheckOutcome {
        let server = ServerConnections(maxConnections: max, superuserReserved: 3, reserved: reserved, inUse: inUse,
                                       roleLimits: roleLimits, databaseLimits: [:], superusers: [])
        let settings = PoolSettings(pools: pools, pgbouncer: pgbouncer)
        return PoolVerdict(server: server, settings: settings, fallback: url(base), vus: vus, physicalCPUs: 2).outcome()
    }

    @Test func seed004() {
        let o = verdict(inUse: [HeldConnections(database: "chat", user: "postgres", application: "psql", state: "idle", count: 8),
                                HeldConnections(database: "chat", user: "postgres", application: "pgAdmin 4", state: "idle", count: 4),
                                HeldConnections(database: "chat", user: "app", application: "", state: "idle", count: 30)],
                        pools: [PoolSpec(name: "api", size: 50), PoolSpec(name: "worker", size: 50)], vus: 150)
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("pools need 100 (api 50 + worker 50); the server allows 97 (100 − 3 reserved) and 12 are already in use by psql (8), pgAdmin 4 (4), not declared in database.pools: 85 remain, 15 short"), "\(o.summary)")
        #expect(o.evidence["heldByOthers"] == .int(12))
        #expect(o.evidence["peakEstimate"] != nil)
    }

    @Test func surgeCountsOldAndNewReplicas() {
        let o = verdict(max: 40, pools: [PoolSpec(name: "api", size: 10, replicas: 2, surge: .replicas(1))])
        // 3 × 10 = 30 of 37: above 80% at the peak, 20 steady.
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.hasPrefix("pools need 30 at a rollout's peak, 20 steady (surge on api) (api (2+1)×10) of the 37 the server allows"), "\(o.summary)")
        #expect(o.evidence["demandSteady"] == .int(20))
        let fail = verdict(max: 40, pools: [PoolSpec(name: "api", size: 10, replicas: 2, surge: .percent(100))])
        #expect(fail.status == .fail, "\(fail.summary)")
        #expect(fail.summary.contains("pools need 40 at a rollout's peak, 20 steady"), "\(fail.summary)")
        #expect(verdict(max: 40, pools: [PoolSpec(name: "api", size: 10, replicas: 2)]).status == .pass)
        #expect(Surge.parse("25%") == .percent(25))
        #expect(Surge.percent(25).replicas(of: 3) == 1)   // rounded up, like maxSurge
        #expect(Surge.parse("1") == .replicas(1))
        #expect(Surge.parse("lots") == nil)
    }

    @Test func undeclaredApplicationOnThePoolsRoleIsHeldByOthers() {
        let held = [HeldConnections(database: "chat", user: "app", application: "reports", state: "idle", client: "10.1.2.3",
                                    count: 40, idleSeconds: 750),
                    HeldConnections(database: "chat", user: "app", application: "api", state: "idle", count: 20),
                    HeldConnections(database: "chat", user: "app", application: "PostgreSQL JDBC Driver", state: "idle", count: 5)]
        let o = verdict(inUse: held, pools: [PoolSpec(name: "api", size: 30)])
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary == "pools need 30 (api 30); the server allows 97 (100 − 3 reserved), 40 in use by reports (40, idle for 12 min, from 10.1.2.3), not declared in database.pools: 57 remain: 72% used", "\(o.summary)")
        #expect(o.evidence["heldByOthers"] == .int(40))
        #expect(o.evidence["freeNow"] == .int(57))
        let short = verdict(inUse: held, pools: [PoolSpec(name: "api", size: 60)])
        #expect(short.status == .fail, "\(short.summary)")
        #expect(short.summary.hasPrefix("pools need 60 (api 60); the server allows 97 (100 − 3 reserved) and 40 are already in use by reports (40, idle for 12 min, from 10.1.2.3), not declared in database.pools: 57 remain, 3 short"), "\(short.summary)")
    }

    @Test func surgeInTheConfig() throws {
        let c = try loadConfig("""
            database:
              url: \(base)
              pools:
                - name: api
                  size: 10
                  replicas: 4
                  surge: 25%
            """)
        #expect(c.section(PoolSettings.self).pools.first?.atPeak.replicas == 5)
        do {
            _ = try loadConfig("database:\n  pools:\n    - name: api\n      surge: many\n")
            Issue.record("surge: many accepted")
        } catch let error as ConfigError {
            #expect(error.problems.contains { $0.path == "database.pools[0].surge" }, "\(error.problems)")
        }
    }

    @Test func moreVUsThanPooledConnectionsQueue() {
        let o = verdict(pools: [PoolSpec(name: "api", size: 20)], vus: 150)
        #expect(o.status == .pass)
        #expect(o.says("150 VUs share 20 pooled connections: at most 20 queries run at once and up to 130 requests queue for a connection (they fail only if the wait exceeds the pool timeout, by default 10 s in Prisma, 30 s in SQLAlchemy and HikariCP, none in node-postgres; pool-traffic measures it)"), "\(o.summary)")
        let hikari = verdict(pools: [PoolSpec(name: "api", size: 20, driver: .hikari)], vus: 150)
        #expect(hikari.says("(they fail only if the wait exceeds the pool timeout: HikariCP's default connectionTimeout 30 s; pool-traffic measures it)"), "\(hikari.summary)")
    }

    @Test func reservedConnectionsOf16() {
        let o = verdict(reserved: 5, pools: [PoolSpec(name: "api", size: 10)])
        #expect(o.summary.contains("the server allows 92 (100 − 3 superuser-reserved − 5 reserved)"), "\(o.summary)")
    }

    @Test func unboundedAndUnknownWarn() {
        let o = verdict(pools: [PoolSpec(name: "api", size: 10), PoolSpec(name: "jobs", driver: .goDatabaseSQL), PoolSpec(name: "cron")])
        #expect(o.status == .warn)
        #expect(o.summary.contains("jobs is unbounded"))
        #expect(o.says("size of cron unknown"), "\(o.sentences)")
    }

    @Test func pgbouncerBoundsTheServerSide() {
        var b = PgBouncerConfig()
        b.defaultPoolSize = 20
        b.maxClientConn = 100
        let bouncer = url("postgresql://app:pool-secret-pw@127.0.0.1:6432/chat")
        let pools = [PoolSpec(name: "api", size: 60, url: bouncer), PoolSpec(name: "worker", size: 60, url: bouncer),
                     PoolSpec(name: "migrations", size: 2)]
        let o = verdict(pools: pools, pgbouncer: b)
        #expect(o.findings.contains { $0.severity == .pass && $0.sentence.hasPrefix("pools need 22 (migrations 2 + PgBouncer 20 for api 60 + worker 60)") }, "\(o.sentences)")
        #expect(o.status == .fail)
        #expect(o.summary.contains("PgBouncer max_client_conn 100 but the pools behind it open 120"))
        b.maxClientConn = 1000
        #expect(verdict(pools: pools, pgbouncer: b).status == .pass)
        // Nothing points at PgBouncer's port: said so, and counted as direct.
        let direct = verdict(pools: [PoolSpec(name: "api", size: 10)], pgbouncer: b)
        #expect(direct.says("no pool's url uses PgBouncer's port 6432"), "\(direct.summary)")
    }

    @Test func roleLimitBelowThePools() {
        let o = verdict(roleLimits: ["app": 10], pools: [PoolSpec(name: "api", size: 4, replicas: 3)])
        #expect(o.status == .fail)
        #expect(o.summary.contains("role app has CONNECTION LIMIT 10 but its pools need 12 (api 3×4)"), "\(o.summary)")
    }

    /// Findings are data: each problem its own sentence and fix, worst first, the demand sentence kept as information.
    @Test func severalProblemsAreSeveralFindings() {
        var b = PgBouncerConfig()
        b.maxClientConn = 100
        let bouncer = url("postgresql://app:pool-secret-pw@127.0.0.1:6432/chat")
        let o = verdict(roleLimits: ["app": 10], pools: [PoolSpec(name: "api", size: 60, url: bouncer), PoolSpec(name: "worker", size: 60, url: bouncer),
                                                        PoolSpec(name: "cron")], pgbouncer: b)
        #expect(o.status == .fail)
        #expect(o.findings.map(\.severity) == [.fail, .fail, .warn, .pass], "\(o.sentences)")
        #expect(o.findings[0].sentence.hasPrefix("role app has CONNECTION LIMIT 10"), "\(o.sentences)")
        #expect(o.findings[0].fix?.hasPrefix("ALTER ROLE app CONNECTION LIMIT") == true)
        #expect(o.findings[1].sentence.hasPrefix("PgBouncer max_client_conn 100 but the pools behind it open 120"))
        #expect(o.findings[1].fix?.hasPrefix("raise max_client_conn") == true)
        #expect(o.findings[2].sentence == "size of cron unknown: give its size or driver in database.pools")
        #expect(o.findings[3].sentence.hasPrefix("pools need "))
        #expect(!o.findings.contains { $0.sentence.contains("; role") || ($0.fix ?? "").contains("; raise") }, "no sentence or fix holds another")
    }
}
