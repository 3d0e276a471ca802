import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

@Suite struct HealthBodyExamples {
    func parse(_ json: String) -> HealthBody? { HealthBody.parse(Data(json.utf8)) }

    @Test func seedShapeWithDatabaseConnected() throws {
        let b = try #require(parse(#"{"status":"ok","database":{"overall":"healthy","database":"connected"},"uptime":10.06,"memory":{"rss":1}}"#))
        #expect(b.overall == .up)
        #expect(b.downComponents.isEmpty)
        #expect(b.components.map(\.name) == ["database"])
    }

    @Test func seedShapeWithDatabaseDisconnected() throws {
        let b = try #require(parse(#"{"status":"error","database":{"overall":"unhealthy","database":"disconnected"}}"#))
        #expect(b.overall == .down)
        #expect(b.downComponents.map(\.name) == ["database"])
        #expect(HealthBody.isDatabase("database"))
    }

    @Test func springActuator() throws {
        let b = try #require(parse(#"{"status":"DOWN","components":{"db":{"status":"DOWN","details":{"error":"x"}},"diskSpace":{"status":"UP"}}}"#))
        #expect(b.overall == .down)
        #expect(b.downComponents.map(\.name) == ["db"])
        #expect(b.components.count == 2)
    }

    @Test func nestTerminus() throws {
        let b = try #require(parse(#"{"status":"error","info":{"redis":{"status":"up"}},"error":{"prisma":{"status":"down","message":"Can't reach database server"}},"details":{}}"#))
        #expect(b.downComponents.map(\.name) == ["prisma"])
        #expect(b.downComponents.first?.detail.contains("Can't reach database server") == true)
        #expect(HealthBody.isDatabase("prisma"))
    }

    @Test func flatStrings() throws {
        let b = try #require(parse(#"{"status":"healthy","redis":"up","postgres":"down"}"#))
        #expect(b.downComponents.map(\.name) == ["postgres"])
    }

    @Test func notJSONIsNil() {
        #expect(parse("OK") == nil)
        #expect(parse("[1,2]") == nil)
        #expect(parse("{\"status\":") == nil)
        #expect(HealthBody.parse(Data([0xff, 0x00, 0x7b])) == nil)
    }
}

/// Real HTTP servers on loopback, through libcurl.
@Suite(.serialized, .tags(.live), .runsLive) struct HealthCheckLoopback {
    let check = HealthCheck(probes: .live)

    func run(_ server: FixtureServer, path: String = "/health", timeout: Duration = .seconds(2), database: String? = nil) async throws -> CheckOutcome {
        try await check.run(context(config(target: server.url, database: database, healthPath: path), timeout: timeout))
    }

    @Test func healthyPassesWithTimings() async throws {
        let s = try await FixtureServer.start("json", ["200", #"{"status":"ok","database":{"overall":"healthy","database":"connected"}}"#])
        defer { s.stop() }
        let o = try await run(s)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary.contains("answers 200"))
        guard case .object(let t)? = o.evidence["timingsMs"] else { Issue.record("no timings"); return }
        #expect(t["total"] != nil && t["connect"] != nil && t["firstByte"] != nil)
    }

    @Test func databaseDownPointsAtTheDatabaseCheck() async throws {
        let s = try await FixtureServer.start("json", ["503", #"{"status":"error","database":{"overall":"unhealthy","database":"disconnected"}}"#])
        defer { s.stop() }
        let o = try await run(s, database: "postgresql://u:p@127.0.0.1:1/db")
        #expect(o.status == .fail)
        #expect(o.summary.contains("answers 503"))
        #expect(o.summary.contains("cannot reach its database"))
        #expect(o.suspects.contains("database"))
    }

    @Test func twoHundredThatSaysDegradedFails() async throws {
        let s = try await FixtureServer.start("json", ["200", #"{"status":"degraded","database":{"status":"up"},"cache":{"status":"down"}}"#])
        defer { s.stop() }
        let o = try await run(s)
        #expect(o.status == .fail)
        #expect(o.summary.contains("answers 200 but reports status degraded, cache down"), "\(o.summary)")
        #expect(o.suspects.isEmpty)
    }

    @Test func notFoundSuggestsTheHealthPath() async throws {
        let s = try await FixtureServer.start("json", ["404", #"{"message":"Cannot GET /health"}"#])
        defer { s.stop() }
        let o = try await run(s)
        #expect(o.status == .fail)
        #expect(o.fix?.contains("health.path") == true)
    }

    @Test func acceptsButNeverAnswers() async throws {
        let s = try await FixtureServer.start("hang")
        defer { s.stop() }
        let o = try await run(s, timeout: .milliseconds(300))
        #expect(o.status == .fail)
        #expect(o.summary.contains("accepts TCP connections but sent no answer within 300 ms"), "\(o.summary)")
    }

    @Test func garbageIsNotHTTP() async throws {
        let s = try await FixtureServer.start("garbage")
        defer { s.stop() }
        let o = try await run(s)
        #expect(o.status == .fail)
        #expect(o.summary.contains("answers, but not with HTTP"), "\(o.summary)")
    }

    @Test func plainHTTPAgainstATLSPort() async throws {
        let s = try await FixtureServer.start("tls")
        defer { s.stop() }
        let o = try await run(s)
        #expect(o.status == .fail)
        #expect(o.summary.contains("not with HTTP") || o.summary.contains("TLS"), "\(o.summary)")
    }

    @Test func httpsAgainstAPlainPort() async throws {
        let s = try await FixtureServer.start("json", ["200", "{}"])
        defer { s.stop() }
        // The port check (a prerequisite) saw TCP accept; the fixture never answers a ClientHello.
        let port = CheckResult(id: "port", title: "Service port", layer: .network, outcome: .pass("accepts"))
        let o = try await check.run(CheckContext(config: config(target: "https://127.0.0.1:\(s.port)"), timeout: .milliseconds(500),
                                                 prerequisites: ["port": port]))
        #expect(o.status == .fail)
        #expect(o.summary.contains("TLS handshake got no answer within 500 ms"), "\(o.summary)")
        #expect(o.fix?.contains("use http://") == true)
    }

    @Test func bodyLargerThanTheCapIsCut() async throws {
        let s = try await FixtureServer.start("big", [String(3 << 20)])
        defer { s.stop() }
        let o = try await run(s)
        #expect(o.evidence["body"] == .string("cut at 1048576 bytes"))
        #expect(o.status == .pass, "a 200 whose body is merely large still passes: \(o.summary)")
    }
}
