import Foundation
import Testing
import TestSupport

/// Hostile servers, through the built binary with `--timeout 1s`: every run must end within its deadline
/// (plus a margin generous enough for a loaded two-core CI machine: these guard against hangs, not speed)
/// and say clearly what the server did.
@Suite(.serialized, .tags(.live), .runsLive) struct HostileServerTests {
    /// The health check's budget is one timeout plus the engine's 750 ms grace; the rate-limit check's
    /// header GET shares the same deadline (about 3 s in all). A hang would run into the 60 s process limit
    /// instead; 12 s leaves a two-core machine busy with the other suites room to start the process.
    static let bound = 12.0

    func preflight(_ args: [String], env: [String: String] = [:]) async throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        return try await run(preflightBinary, args, environment: environment, limit: 60)
    }

    /// Runs preflight on `server` and returns the health check's summary (and the whole run).
    func health(_ target: String, timeout: String = "1s") async throws -> (summary: String, status: String, out: ProcessOutput) {
        let out = try await preflight(["--target", target, "--timeout", timeout, "--format", "json"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any],
                                "not JSON: \(out.stdout) \(out.stderr)")
        let checks = (root["checks"] as? [[String: Any]]) ?? []
        let h = try #require(checks.first { $0["id"] as? String == "health" }, "no health check: \(out.stdout)")
        #expect(out.seconds < Self.bound, "took \(out.seconds) s")
        #expect(!out.stderr.contains("Fatal error"), "\(out.stderr)")
        return (h["summary"] as? String ?? "", h["status"] as? String ?? "", out)
    }

    @Test func acceptsTCPAndNeverAnswers() async throws {
        let s = try await FixtureServer.start("hang")
        defer { s.stop() }
        let h = try await health(s.url)
        #expect(h.out.status == 1)
        #expect(h.status == "fail")
        #expect(h.summary.contains("accepts TCP connections but sent no answer within 1 s"), "\(h.summary)")
    }

    @Test func slowlorisOneBytePerSecond() async throws {
        let s = try await FixtureServer.start("slowloris")
        defer { s.stop() }
        let h = try await health(s.url)
        #expect(h.out.status == 1)
        #expect(h.status == "fail")
        #expect(h.summary.contains("did not finish its answer within 1 s"), "\(h.summary)")
    }

    @Test func endlessBodyIsCutAtTheCap() async throws {
        let s = try await FixtureServer.start("endless")
        defer { s.stop() }
        let h = try await health(s.url)
        // A 200 whose body never ends: preflight stops reading at 1 MiB and judges the status it got.
        #expect(h.summary.contains("answers 200"), "\(h.summary)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(h.out.stdout.utf8)) as? [String: Any])
        let health = ((json["checks"] as? [[String: Any]]) ?? []).first { $0["id"] as? String == "health" }
        let evidence = health?["evidence"] as? [String: Any]
        #expect(evidence?["body"] as? String == "cut at 1048576 bytes", "\(evidence ?? [:])")
    }

    @Test func bodyMuchLargerThanTheCap() async throws {
        let s = try await FixtureServer.start("big", [String(16 << 20)])  // over 4 × the cap: libcurl's MAXFILESIZE once failed it
        defer { s.stop() }
        let h = try await health(s.url)
        #expect(h.summary.contains("answers 200"), "\(h.summary)")
        #expect(h.out.stdout.contains("cut at 1048576 bytes"))
    }

    @Test func invalidChunkedEncoding() async throws {
        let s = try await FixtureServer.start("badchunk")
        defer { s.stop() }
        let h = try await health(s.url)
        #expect(h.out.status == 1)
        #expect(h.status == "fail")
        #expect(h.summary.contains("not with valid HTTP") || h.summary.contains("not with HTTP"), "\(h.summary)")
        #expect(h.summary.lowercased().contains("chunk"), "\(h.summary)")
    }

    @Test func headerBlockOfMegabytesInManyLines() async throws {
        let s = try await FixtureServer.start("bigheaders", [String(4 << 20)])
        defer { s.stop() }
        let h = try await health(s.url)
        #expect(h.out.status == 1)
        #expect(h.status == "fail")
        #expect(h.summary.contains("header"), "\(h.summary)")
        #expect(!h.summary.contains("Failed writing"), "libcurl's internal wording is not a diagnosis: \(h.summary)")
    }

    @Test func headerBlockOfMegabytesInOneLine() async throws {
        let s = try await FixtureServer.start("bigheaders", [String(4 << 20), "one"])
        defer { s.stop() }
        let h = try await health(s.url)
        #expect(h.out.status == 1)
        #expect(h.status == "fail")
        #expect(h.summary.contains("header"), "\(h.summary)")
        #expect(!h.summary.contains("Out of memory"), "libcurl's internal wording is not a diagnosis: \(h.summary)")
    }

    @Test func plainHTTPAgainstTLS() async throws {
        let s = try await FixtureServer.start("tls")
        defer { s.stop() }
        let h = try await health(s.url)
        #expect(h.status == "fail")
        #expect(h.summary.contains("not with HTTP") || h.summary.contains("TLS"), "\(h.summary)")
    }

    @Test func httpsAgainstPlainHTTP() async throws {
        let s = try await FixtureServer.start("json", ["200", "{}"])
        defer { s.stop() }
        let h = try await health("https://127.0.0.1:\(s.port)")
        #expect(h.status == "fail")
        #expect(h.summary.contains("TLS"), "\(h.summary)")
    }

    @Test func garbageOnThePostgresPort() async throws {
        let g = try await FixtureServer.start("garbage")
        let hang = try await FixtureServer.start("hang")
        defer { g.stop(); hang.stop() }
        for (server, expected) in [(g, ["does not speak the PostgreSQL protocol", "cannot log in"]), (hang, ["did not answer within 1 s"])] {
            let out = try await preflight(["--database-url", "postgresql://u:pw-hostile@127.0.0.1:\(server.port)/db?sslmode=disable",
                                           "--only", "database", "--timeout", "1s", "--format", "json"])
            #expect(out.seconds < Self.bound, "took \(out.seconds) s")
            #expect(out.status == 1, "\(out.stdout) \(out.stderr)")
            #expect(expected.contains { out.stdout.contains($0) }, "\(out.stdout)")
            #expect(!out.stdout.contains("pw-hostile") && !out.stderr.contains("pw-hostile"))
        }
    }
}
