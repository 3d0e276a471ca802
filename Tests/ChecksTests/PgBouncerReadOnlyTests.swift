import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// Through a real PgBouncer, which refuses libpq's `options` startup parameter: preflight still logs in,
/// stays read-only (each query in BEGIN READ ONLY … ROLLBACK), says so, and leaves no setting behind.
@Suite(.serialized, .tags(.live), .runsLive) struct PgBouncerReadOnlyLive {
    func run(_ raw: String) async throws -> CheckOutcome {
        var c = Config()
        c.set(DatabaseSettings(url: DatabaseURL.parse(raw).0))
        return try await DatabaseCheck(probes: .live).run(CheckContext(config: c, timeout: .seconds(3)))
    }

    @Test(arguments: ["session", "transaction"])
    func logsInReadOnlyThroughPgBouncer(mode: String) async throws {
        let pg = try await PostgresCluster.shared()
        let bouncer = try await PgBouncerFixture.start(pg, mode: mode)
        defer { bouncer.stop() }
        for url in [bouncer.url, bouncer.url + "?pgbouncer=true&connection_limit=3"] {
            let o = try await run(url)
            #expect(o.status == .pass, "\(mode) \(redactURL(url)): \(o.summary) \(o.evidence)")
            #expect(o.evidence["readOnlyBy"] == .string(ReadOnlyMode.readOnlyTransaction.rawValue), "\(o.evidence)")
            #expect(o.evidence["readOnly"] == .bool(true))
        }
        // A write is refused inside the read-only transaction, and nothing leaks to the next client of the pool.
        let session = try await LibPQConnector().connect(DatabaseURL.parse(bouncer.url).0!, timeout: .seconds(3)).get()
        let write = await session.query("CREATE TABLE pf_should_not_exist (id int)", timeout: .seconds(3))
        guard case .failure(let e) = write else { Issue.record("a write went through PgBouncer"); return }
        #expect(e.message.contains("read-only transaction"), "\(e.message)")
        await session.close()
        let exists = try await pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'pf_should_not_exist'", database: "preflight")
        #expect(exists == "0")
        let app = try await LibPQConnector().connect(DatabaseURL.parse(bouncer.url).0!, timeout: .seconds(3)).get()
        defer { Task { await app.close() } }
        // Another client of the pool (read through a read-only transaction too) sees the server's default again.
        let rows = try await app.query("SELECT current_setting('default_transaction_read_only')", timeout: .seconds(3)).get()
        #expect(rows.first?.first == "off")
    }

    @Test func directSessionsKeepTheSessionOption() async throws {
        let pg = try await PostgresCluster.shared()
        let o = try await run(pg.url)
        #expect(o.status == .pass)
        #expect(o.evidence["readOnlyBy"] == .string(ReadOnlyMode.sessionOption.rawValue))
    }
}
