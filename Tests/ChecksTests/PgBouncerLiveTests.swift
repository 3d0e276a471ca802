import Foundation
import Synchronization
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

private func url(_ s: String) -> DatabaseURL { DatabaseURL.parse(s).0! }

/// Records every command sent to the admin console: preflight sends SHOW and nothing else.
final class RecordingConsole: PgBouncerConsoleConnector, PgBouncerConsole, @unchecked Sendable {
    let sent = Mutex<[String]>([])
    let tables: [PgBouncerShow: PgTable]
    init(_ tables: [PgBouncerShow: PgTable]) { self.tables = tables }
    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PgBouncerConsole, PostgresError> { .success(self) }
    func show(_ what: PgBouncerShow, timeout: Duration) async -> Result<PgTable, PostgresError> {
        sent.withLock { $0.append(what.rawValue) }
        return .success(tables[what] ?? PgTable(columns: [], rows: []))
    }
    func close() async {}
}

@Suite struct PgBouncerConsoleExamples {
    static let tables: [PgBouncerShow: PgTable] = [
        .config: PgTable(columns: ["key", "value", "default", "changeable"],
                         rows: [["max_client_conn", "40", "100", "yes"], ["default_pool_size", "10", "20", "yes"],
                                ["listen_port", "6432", "6432", "no"], ["pool_mode", "transaction", "session", "yes"],
                                ["max_db_connections", "0", "0", "yes"]]),
        .pools: PgTable(columns: ["database", "user", "cl_active", "cl_waiting", "sv_active", "sv_idle", "maxwait", "maxwait_us", "pool_mode"],
                        rows: [["chat", "app", "10", "3", "10", "0", "2", "500000", "transaction"],
                               ["pgbouncer", "pgbouncer", "1", "0", "0", "0", "0", "0", "statement"]]),
        .databases: PgTable(columns: ["name", "pool_size", "reserve_pool", "pool_mode", "max_connections", "current_connections"],
                            rows: [["chat", "10", "0", nil, "0", "10"], ["pgbouncer", "2", "0", "statement", "0", "0"]]),
        .lists: PgTable(columns: ["list", "items"], rows: [["used_clients", "14"], ["databases", "2"]]),
    ]

    func run(_ pools: [PoolSpec]) async throws -> (CheckOutcome, [String]) {
        let console = RecordingConsole(Self.tables)
        var c = Config()
        c.set(DatabaseSettings(url: url("postgresql://app:pgb-pw-x@127.0.0.1:5432/chat")))
        c.set(PoolSettings(pools: pools, pgbouncerAdmin: url("postgresql://stats:pgb-admin-pw@127.0.0.1:6432/pgbouncer")))
        var probes = ProbeAnswers { $0.postgres = .success(PostgresAnswers([("max_connections", .success([["100", "3", nil]]))])) }.probes
        probes.pgbouncer = console
        let o = try await PoolCheck(probes: probes).run(context(c))
        return (o, console.sent.withLock { $0 })
    }

    @Test func onlyShowCommandsAndTheLiveNumbersWin() async throws {
        let bounced = url("postgresql://app:pgb-pw-x@127.0.0.1:6432/chat?pgbouncer=true")
        let (o, sent) = try await run([PoolSpec(name: "api", size: 25, url: bounced, replicas: 2)])
        #expect(sent == ["SHOW CONFIG", "SHOW POOLS", "SHOW DATABASES", "SHOW LISTS"])
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.says("PgBouncer max_client_conn 40 but the pools behind it open 50 (api 2×25; max_client_conn from SHOW CONFIG)"), "\(o.summary)")
        #expect(o.says("PgBouncer: 3 clients waiting now for a server connection in chat/app (maxwait 2.5 s; SHOW POOLS)"), "\(o.summary)")
        #expect(o.says("pools need 10 (PgBouncer 10 for api 2×25)"), "\(o.summary)")
        #expect(!o.findings.contains { $0.sentence.contains("pgb-admin-pw") || $0.fix?.contains("pgb-admin-pw") == true })
    }

    @Test func prismaInTransactionModeNeedsPgbouncerTrue() async throws {
        let bare = url("postgresql://app:pgb-pw-x@127.0.0.1:6432/chat?connection_limit=5")
        let (o, _) = try await run([PoolSpec(name: "api", url: bare, driver: .prisma)])
        #expect(o.says("api is a Prisma pool through PgBouncer in transaction pool mode (SHOW DATABASES/CONFIG) without pgbouncer=true in its url"), "\(o.summary)")
        let fixed = url("postgresql://app:pgb-pw-x@127.0.0.1:6432/chat?connection_limit=5&pgbouncer=true")
        let (ok, _) = try await run([PoolSpec(name: "api", url: fixed, driver: .prisma)])
        #expect(!ok.says("without pgbouncer=true"), "\(ok.summary)")
    }
}

/// A real PgBouncer (apt) with a small max_client_conn, read over its real admin console.
@Suite(.serialized, .tags(.live), .runsLive) struct PgBouncerLive {
    func run(_ pg: PostgresCluster, _ bouncer: PgBouncerFixture, _ pools: [PoolSpec], probe: Bool = false,
             admin: String? = nil) async throws -> CheckOutcome {
        var c = Config()
        c.set(DatabaseSettings(url: url(pg.url)))
        c.set(PoolSettings(pools: pools, pgbouncerAdmin: url(admin ?? bouncer.adminURL), probeConnections: probe))
        return try await PoolCheck(probes: .live).run(context(c, timeout: .seconds(5)))
    }

    @Test func smallMaxClientConnFromTheConsoleAndTheRefusalAgrees() async throws {
        let pg = try await PostgresCluster.shared()
        let bouncer = try await PgBouncerFixture.start(pg, mode: "session", maxClientConn: 4)
        defer { bouncer.stop() }
        let o = try await run(pg, bouncer, [PoolSpec(name: "api", size: 6, url: url(bouncer.url))], probe: true)
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.says("PgBouncer max_client_conn 4 but the pools behind it open 6 (api 6; max_client_conn from SHOW CONFIG)"), "\(o.summary)")
        #expect(o.says("then refused: no more connections allowed (max_client_conn)"), "\(o.summary)")
        guard case .object(let live)? = o.evidence["pgbouncerLive"] else { Issue.record("no pgbouncerLive: \(o.evidence)"); return }
        #expect(live["maxClientConn"] == .int(4))
        #expect(live["defaultPoolSize"] == .int(5))
        #expect(live["poolMode"] == .string("session"))
    }

    @Test func fitsAndSaysWhatPgBouncerMayOpen() async throws {
        let pg = try await PostgresCluster.shared()
        let bouncer = try await PgBouncerFixture.start(pg, mode: "transaction")
        defer { bouncer.stop() }
        let o = try await run(pg, bouncer, [PoolSpec(name: "api", size: 10, url: url(bouncer.url + "?pgbouncer=true"), driver: .prisma)])
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.says("pools need 5 (PgBouncer 5 for api 10)"), "\(o.summary)")
        #expect(o.says("PgBouncer may open at most 5 server connections (default_pool_size 5 × 1 (database, user) pools; SHOW CONFIG, SHOW POOLS)"), "\(o.summary)")
    }

    @Test func clientsWaitingNow() async throws {
        let pg = try await PostgresCluster.shared()
        let bouncer = try await PgBouncerFixture.start(pg, mode: "transaction")
        defer { bouncer.stop() }
        // Five open transactions pin PgBouncer's five server connections; a sixth client waits for one.
        var holders: [LockHolder] = []
        for _ in 0..<5 { holders.append(try await LockHolder.start(url: bouncer.url, "SELECT 1", application: "holder")) }
        let waiter = Process()
        waiter.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        waiter.arguments = [bouncer.url, "-X", "-q", "-c", "SELECT 1"]
        waiter.standardOutput = FileHandle.nullDevice
        waiter.standardError = FileHandle.nullDevice
        try waiter.run()
        try await Task.sleep(for: .milliseconds(1200))
        let o = try await run(pg, bouncer, [PoolSpec(name: "api", size: 2, url: url(bouncer.url))])
        for h in holders { _ = try? await h.release() }
        if waiter.isRunning { waiter.terminate() }
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.says("PgBouncer: 1 client waiting now for a server connection in preflight/preflight"), "\(o.summary)")
    }

    @Test func consoleThatRefusesIsAWarningNotACrash() async throws {
        let pg = try await PostgresCluster.shared()
        let bouncer = try await PgBouncerFixture.start(pg, mode: "session")
        defer { bouncer.stop() }
        let wrong = bouncer.adminURL.replacingOccurrences(of: pg.password, with: "not-the-pw-x")
        let o = try await run(pg, bouncer, [PoolSpec(name: "api", size: 2)], admin: wrong)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.says("cannot read PgBouncer's admin console at 127.0.0.1:\(bouncer.port)"), "\(o.summary)")
        #expect(!o.says("not-the-pw-x"))
    }
}
