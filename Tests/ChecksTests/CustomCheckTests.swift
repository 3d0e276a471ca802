import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

@Suite struct CustomCheckConfigTests {
    func load(_ yaml: String) throws -> [CustomCheckSpec] {
        try ConfigLoader(sections: AllChecks.sections).load(yaml: yaml, file: nil, environment: [:]).section(CustomCheckSettings.self).specs
    }

    @Test func readsEveryKind() throws {
        let specs = try load("""
            checks:
              - {id: api-health, type: http, url: /health, status: [200, 204], json: {status: ok}}
              - {id: redis, type: tcp, address: "127.0.0.1:6379", needs: [port]}
              - {id: seeded, type: sql, query: "SELECT count(*) FROM conversations", expect: ">= 1", needs: [database]}
              - {id: migrated, type: command, run: "true", timeout: 2s}
            """)
        #expect(specs.map(\.id) == ["api-health", "redis", "seeded", "migrated"])
        #expect(specs.map(\.layer) == [.service, .network, .database, .service])
        // `api` became a built-in check (routes against the OpenAPI description): a custom check of that id is refused.
        #expect(throws: (any Error).self) { try load("checks:\n  - {id: api, type: http, url: /health}") }
        #expect(specs[1].needs == ["port"])
    }

    @Test func everyProblemWithItsLine() {
        #expect {
            _ = try load("""
                checks:
                  - {id: a, type: tcp, address: nowhere}
                  - {type: http, url: /x}
                  - {id: b, type: sql}
                  - {id: c, type: command, run: "x", output: "(unclosed"}
                """)
        } throws: { error in
            let text = "\(error)"
            return text.contains("line 2: checks[0].address") && text.contains("line 3: checks[1]: every check needs an id")
                && text.contains("line 4: checks[2]: sql check \"b\" needs query") && text.contains("line 5: checks[3].output: not a valid regular expression")
        }
    }

    @Test func sqlExpectations() {
        #expect(SQLExpectation.parse(">= 1")?.matches("3") == true)
        #expect(SQLExpectation.parse(">= 1")?.matches("0") == false)
        #expect(SQLExpectation.parse("ok")?.matches("ok") == true)
        #expect(SQLExpectation.parse("!= 0")?.matches("0") == false)
        #expect(SQLExpectation.parse("> 1")?.matches("abc") == false)
        #expect(SQLExpectation.parse(">=") == nil)
        #expect(SQLExpectation.parse(">= 1")?.matches(nil) == false)
    }
}

/// Each kind against the real thing: PostgreSQL, an HTTP server, a closed port, real commands.
@Suite(.serialized, .tags(.live), .runsLive) struct CustomCheckLive {
    func check(_ kind: CustomCheckSpec.Kind, needs: [CheckID] = []) -> CustomCheck {
        CustomCheck(spec: CustomCheckSpec(id: "mine", title: "Mine", needs: needs, layer: .service, kind: kind, fix: "do the thing", line: 1),
                    probes: .live, timeout: .seconds(2))
    }

    @Test func sqlSeededRowExistsOrNot() async throws {
        let pg = try await PostgresCluster.shared()
        try await pg.psql("CREATE TABLE IF NOT EXISTS conversations (id text primary key); INSERT INTO conversations VALUES ('8822dd87') ON CONFLICT DO NOTHING; GRANT SELECT, INSERT, UPDATE, DELETE ON conversations TO preflight", database: "preflight")
        let c = config(database: pg.url)
        let found = try await check(.sql(query: "SELECT count(*) FROM conversations WHERE id = '8822dd87'", expect: .parse(">= 1"), url: nil)).run(context(c))
        #expect(found.status == .pass, "\(found.summary)")
        let missing = try await check(.sql(query: "SELECT count(*) FROM conversations WHERE id = 'nope'", expect: .parse(">= 1"), url: nil)).run(context(c))
        #expect(missing.status == .fail)
        #expect(missing.summary == "returned 0, expected >= 1")
        #expect(missing.fix == "do the thing")
    }

    @Test func writesAreRefusedByTheServer() async throws {
        let pg = try await PostgresCluster.shared()
        try await pg.psql("CREATE TABLE IF NOT EXISTS written (x int); GRANT ALL ON written TO preflight", database: "preflight")
        let c = config(database: pg.url)
        for sql in ["INSERT INTO written VALUES (1)",
                    "SET default_transaction_read_only = off; INSERT INTO written VALUES (2)",
                    "WITH w AS (INSERT INTO written VALUES (3) RETURNING x) SELECT x FROM w"] {
            let o = try await check(.sql(query: sql, expect: nil, url: nil)).run(context(c))
            #expect(o.status == .fail, "\(sql)")
        }
        #expect(try await pg.psql("SELECT count(*) FROM written", database: "preflight") == "0")
    }

    @Test func httpStatusAndJSONFields() async throws {
        let s = try await FixtureServer.start("json", ["200", #"{"status":"ok","data":{"items":[{"id":7}]},"ready":true}"#])
        defer { s.stop() }
        let c = config(target: s.url)
        let ok = try await check(.http(method: "GET", url: "/x", headers: [:], body: nil, status: [200], json: ["status": "ok", "data.items.0.id": "7", "ready": "true"])).run(context(c))
        #expect(ok.status == .pass, "\(ok.summary)")
        let wrong = try await check(.http(method: "GET", url: "/x", headers: [:], body: nil, status: [], json: ["status": "degraded"])).run(context(c))
        #expect(wrong.summary.hasSuffix("status is \"ok\", expected \"degraded\""))
        let code = try await check(.http(method: "POST", url: "/x", headers: ["Content-Type": "application/json"], body: "{}", status: [201], json: [:])).run(context(c))
        #expect(code.summary.hasSuffix("answered 200, expected 201"))
    }

    @Test func tcpOpenAndClosed() async throws {
        let s = try await FixtureServer.start("json", ["200", "{}"])
        defer { s.stop() }
        #expect(try await check(.tcp(host: "127.0.0.1", port: s.port)).run(context(config())).status == .pass)
        let closed = try await check(.tcp(host: "127.0.0.1", port: closedLoopbackPort())).run(context(config()))
        #expect(closed.status == .fail)
        #expect(closed.summary.hasSuffix("refused"))
    }

    @Test func commandExitOutputAndTimeout() async throws {
        let ok = try await check(.command(argv: ["/bin/sh", "-c", "echo migrations up to date"], exit: 0, output: "up to date", timeout: .seconds(5))).run(context(config()))
        #expect(ok.status == .pass)
        let exit = try await check(.command(argv: ["/bin/sh", "-c", "echo pending >&2; exit 3"], exit: 0, output: nil, timeout: .seconds(5))).run(context(config()))
        #expect(exit.summary.hasSuffix("exited 3, expected 0"))
        #expect(exit.evidence["output"] == .string("pending"))
        let slow = try await check(.command(argv: ["/bin/sh", "-c", "sleep 30"], exit: 0, output: nil, timeout: .milliseconds(300))).run(context(config()))
        #expect(slow.summary.hasSuffix("did not finish within 300 ms"))
        let missing = try await check(.command(argv: ["/nonexistent/tool"], exit: 0, output: nil, timeout: .seconds(1))).run(context(config()))
        #expect(missing.status == .fail)
    }

    @Test func customChecksTakePartInPrerequisitesAndRootCauses() async throws {
        let c = try ConfigLoader(sections: AllChecks.sections).load(yaml: """
            target: http://127.0.0.1:\(closedLoopbackPort())
            checks:
              - {id: api-ready, type: http, url: /ready, needs: [health]}
              - {id: tool, type: command, run: "exit 1", layer: script}
            """, file: nil, environment: [:])
        // 10 s, not 1: a closed port answers at once, but under a loaded machine's scheduling a 1 s bound once
        // ended the port check as timed out (not a root cause); the order asserted here is not about time.
        let report = await Engine(checks: AllChecks.make(config: c)).run(config: c, timeout: .seconds(10))
        #expect(report.result("api-ready")?.status == .blocked)
        #expect(report.result("api-ready")?.blockedBy == ["port"])
        #expect(report.rootCauses == ["port", "tool"])
    }
}
