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
        let silent = ProbeAnswers { $0.postgres = .failure(PostgresError("no answer within 1s (connected at TCP level, then silence)", timedOut: true)) }
        let r = await ConnectionProbe(connector: silent.probes.postgres).run([(url("postgresql://a:pw-silent-x@127.0.0.1:1/a"), 3)], timeout: .seconds(1))
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

/// Idle sessions (psql reading its stdin) that stay open until released, as whoever `url` logs in as.
final class IdleSessions: @unchecked Sendable {
    private var processes: [(Process, Pipe)] = []
    let application: String
    let pg: PostgresCluster

    init(url: String, count: Int, application: String, pg: PostgresCluster) async throws {
        self.application = application
        self.pg = pg
        processes = try await offThread {
            try (0..<count).map { _ in
                let p = Process()
                let input = Pipe()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
                p.arguments = [url, "-X", "-q"]
                var env = ProcessInfo.processInfo.environment
                env["PGAPPNAME"] = application
                p.environment = env
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                p.standardInput = input
                try p.run()
                return (p, input)
            }
        }
        for _ in 0..<100 {
            if try await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(application)' AND state = 'idle'") == "\(count)" { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw FixtureError("the \(count) \(application) sessions did not all connect")
    }

    /// Closes their stdin: psql exits on its own.
    func release() async {
        for (_, input) in processes { try? input.fileHandleForWriting.close() }
        for _ in 0..<100 {
            if (try? await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(application)'")) == "0" { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Real PostgreSQL with max_connections 20: what the server says, and what it really does when probed.
@Suite(.serialized, .tags(.live), .runsLive) struct PoolCheckLive {
    let check = PoolCheck(probes: .live)

    func run(_ pg: PostgresCluster, _ pools: [PoolSpec], probe: Bool = false, vus: Int? = nil) async throws -> CheckOutcome {
        var c = Config()
        c.set(DatabaseSettings(url: url(pg.url)))
        c.set(PoolSettings(pools: pools, probeConnections: probe))
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
        #expect(!o.says(pg.password))
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
        #expect(o.says("pools need 12 (api 12); the server allows 17 (20 − 3 reserved) and 6 are already in use by psql (4), pgAdmin 4 (2), not declared in database.pools: 11 remain, 1 short"), "\(o.summary)")
    }

    @Test func undeclaredIdleHolderOnThePoolsRole() async throws {
        let pg = try await SmallCluster.shared.get()
        // A reporting job logged in as the pool's own role, idle: not the api's connections.
        let pools = [PoolSpec(name: "api", size: 10)]
        #expect(try await run(pg, pools).status != .fail)
        let reports = try await IdleSessions(url: pg.url, count: 8, application: "reports", pg: pg)
        let o = try await run(pg, pools)
        await reports.release()
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.says("8 are already in use by reports (8), not declared in database.pools: 9 remain, 1 short"), "\(o.summary)")
        guard case .array(let held)? = o.evidence["inUse"], case .object(let first)? = held.first else { Issue.record("no inUse"); return }
        #expect(first["application"] == .string("reports"))
        #expect(first["state"] == .string("idle"))
        #expect(first["client"] == .string("127.0.0.1"))
        if case .int(let idle)? = first["idleSeconds"] { #expect(idle >= 0) } else { Issue.record("no idleSeconds: \(first)") }
    }

    @Test func databaseConnectionLimit() async throws {
        let pg = try await SmallCluster.shared.get()
        try await pg.psql("DROP DATABASE IF EXISTS pool_db_limited")
        try await pg.psql("CREATE DATABASE pool_db_limited CONNECTION LIMIT 4")
        let limited = url("postgresql://preflight:\(pg.password)@127.0.0.1:\(pg.port)/pool_db_limited")
        let o = try await run(pg, [PoolSpec(name: "api", size: 3, url: limited, replicas: 2, surge: .replicas(1))])
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.says("database pool_db_limited has CONNECTION LIMIT 4 but the pools on it need 9"), "\(o.summary)")
        #expect(o.says("pools need 9 at a rollout's peak, 6 steady"), "\(o.summary)")
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
        #expect(o.says("role pool_limited has CONNECTION LIMIT 3 but its pools need 5 (reports 5)"), "\(o.summary)")
        // The probe agrees with the arithmetic.
        #expect(o.says("probe: the server accepted 3 of 5 connections, then refused: too many connections for role \"pool_limited\""), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
    }

    @Test func probeMeetsTheReservedSlots() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "chat-backend", size: 10), PoolSpec(name: "notification-worker", size: 10)], probe: true)
        #expect(o.status == .fail)
        guard case .object(let probe)? = o.evidence["probe"] else { Issue.record("no probe evidence"); return }
        #expect(probe["attempted"] == .int(20))
        #expect(probe["accepted"] == .int(17), "\(o.summary)")
        #expect(o.says("then refused: remaining connection slots are reserved"), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
    }

    @Test func probeHitsTooManyClients() async throws {
        let pg = try await SmallCluster.shared.get()
        // A superuser may use the reserved slots too: past 20 the server has no slot at all.
        let o = try await run(pg, [PoolSpec(name: "admin-tool", size: 23, url: url(pg.adminURL))], probe: true)
        #expect(o.status == .fail)
        #expect(o.says("probe: the server accepted 20 of 23 connections, then refused: sorry, too many clients already"), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
        #expect(try await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'") == "1")  // this psql
    }

    @Test func probeThatFitsLeavesNothingOpen() async throws {
        let pg = try await SmallCluster.shared.get()
        let o = try await run(pg, [PoolSpec(name: "api", size: 6)], probe: true)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.says("probe: the server accepted all 6 connections (all closed again)"), "\(o.summary)")
        #expect(try await openPreflightSessions(pg) == "0")
    }
}
