import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

@Suite struct DatabaseCheckExamples {
    func outcome(_ message: String) async throws -> CheckOutcome {
        try await DatabaseCheck(probes: ProbeAnswers { $0.postgres = .failure(PostgresError(message)) }.probes)
            .run(context(config(database: "postgresql://chat:pw-example@db.example.invalid:5432/chat")))
    }

    @Test func dnsFailure() async throws {
        let o = try await outcome("could not translate host name \"db.example.invalid\" to address: Name or service not known\n")
        #expect(o.summary == "the database host db.example.invalid does not resolve")
    }

    @Test func sslRequired() async throws {
        let o = try await outcome("connection to server at \"10.0.0.1\", port 5432 failed: server does not support SSL, but SSL was required\n")
        #expect(o.summary.hasPrefix("SSL mismatch"))
    }

    @Test func reservedSlots() async throws {
        let o = try await outcome("FATAL:  remaining connection slots are reserved for non-replication superuser connections\n")
        #expect(o.summary.contains("refuses new connections"))
        #expect(o.fix?.contains("pool") == true)
    }
}

/// Real PostgreSQL clusters started by the tests themselves (Tests/Fixtures/pg-cluster.sh).
@Suite(.serialized, .tags(.live), .runsLive) struct DatabaseCheckLive {
    let check = DatabaseCheck(probes: .live)

    func cluster() async throws -> PostgresCluster { try await PostgresCluster.shared() }

    func run(_ url: String, timeout: Duration = .seconds(3)) async throws -> CheckOutcome {
        try await check.run(context(config(database: url), timeout: timeout))
    }

    func swapPassword(_ url: String, _ pw: String, _ to: String) -> String { url.replacingOccurrences(of: ":\(pw)@", with: ":\(to)@") }

    @Test func logsInReadOnly() async throws {
        let pg = try await cluster()
        let o = try await run(pg.url)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["readOnly"] == .bool(true))
        #expect(o.summary.contains("PostgreSQL 1"))
        #expect(!o.summary.contains(pg.password))
    }

    @Test func sessionRefusesWrites() async throws {
        let pg = try await cluster()
        let session = try await LibPQConnector().connect(DatabaseURL.parse(pg.url).0!, timeout: .seconds(3)).get()
        let result = await session.query("CREATE TABLE preflight_must_not_exist (x int)", timeout: .seconds(3))
        await session.close()
        guard case .failure(let e) = result else { Issue.record("the write succeeded"); return }
        #expect(e.message.contains("read-only transaction"), "\(e.message)")
        #expect(try await pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'preflight_must_not_exist'") == "0")
    }

    @Test func leavesNoConnectionBehind() async throws {
        let pg = try await cluster()
        // A role of its own: other suites share this cluster and run preflight sessions at the same time.
        try await pg.psql("DROP ROLE IF EXISTS leakcheck; CREATE ROLE leakcheck LOGIN PASSWORD 'leakcheck-pw'; GRANT CONNECT ON DATABASE preflight TO leakcheck")
        // Its schema has no tables (the shared database's tables were granted to other roles, not to this one).
        let o = try await run("postgresql://leakcheck:leakcheck-pw@127.0.0.1:\(pg.port)/preflight?schema=leakcheck_none")
        #expect(o.status == .pass, "\(o.summary)")
        var left = "?"
        for _ in 0..<20 {  // the backend leaves pg_stat_activity a moment after the client disconnects
            left = try await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'leakcheck'")
            if left == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(left == "0")
    }

    @Test func wrongPassword() async throws {
        let pg = try await cluster()
        let o = try await run(swapPassword(pg.url, pg.password, "wrong-password-123"))
        #expect(o.status == .fail)
        #expect(o.summary.contains("rejects the password for preflight"))
        #expect(!JSONValue.object(o.evidence).display.contains("wrong-password-123"))
    }

    @Test func missingDatabase() async throws {
        let pg = try await cluster()
        let o = try await run("postgresql://preflight:\(pg.password)@127.0.0.1:\(pg.port)/no_such_db")
        #expect(o.summary == "database \"no_such_db\" does not exist on 127.0.0.1:\(pg.port)")
    }

    @Test func roleConnectionLimit() async throws {
        let pg = try await cluster()
        try await pg.psql("DROP ROLE IF EXISTS limited; CREATE ROLE limited LOGIN PASSWORD 'limited-pw' CONNECTION LIMIT 1; GRANT CONNECT ON DATABASE preflight TO limited")
        let url = "postgresql://limited:limited-pw@127.0.0.1:\(pg.port)/preflight"
        let held = try await LibPQConnector().connect(DatabaseURL.parse(url).0!, timeout: .seconds(3)).get()
        let o = try await run(url)
        await held.close()
        #expect(o.status == .fail)
        #expect(o.summary.contains("too many connections for role"), "\(o.summary)")
    }

    @Test func tooManyClients() async throws {
        // max_connections 5, 3 reserved for superusers: ordinary roles get 2.
        let small = try await PostgresCluster.start(maxConnections: 5)
        let url = DatabaseURL.parse(small.url).0!
        var held: [any PostgresSession] = []
        for _ in 0..<2 { held.append(try await LibPQConnector().connect(url, timeout: .seconds(3)).get()) }
        let o = try await run(small.url)
        for s in held { await s.close() }
        await small.stop()
        #expect(o.status == .fail)
        #expect(o.summary.contains("refuses new connections"), "\(o.summary)")
        if case .string(let e)? = o.evidence["error"] {
            #expect(e.contains("too many clients") || e.contains("reserved"), "\(e)")
        }
    }

    @Test func nothingListening() async throws {
        let port = closedLoopbackPort()
        let o = try await run("postgresql://u:secret-pw@127.0.0.1:\(port)/db")
        #expect(o.summary == "connection refused on 127.0.0.1:\(port): PostgreSQL is not running there")
    }

    @Test func acceptsButNeverSpeaksEndsAtTheDeadline() async throws {
        let hang = try await FixtureServer.start("hang")
        defer { hang.stop() }
        let o = try await run("postgresql://u:secret-pw@127.0.0.1:\(hang.port)/db", timeout: .milliseconds(400))
        #expect(o.status == .fail)
        #expect(o.summary == "PostgreSQL at 127.0.0.1:\(hang.port) did not answer within 400 ms")
    }

    @Test func garbageSpeakingServer() async throws {
        let garbage = try await FixtureServer.start("garbage")
        defer { garbage.stop() }
        let o = try await run("postgresql://u:secret-pw@127.0.0.1:\(garbage.port)/db?sslmode=disable")
        #expect(o.status == .fail)
        #expect(o.summary.contains("does not speak the PostgreSQL protocol") || o.summary.contains("cannot log in"), "\(o.summary)")
    }
}
