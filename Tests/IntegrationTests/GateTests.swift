import Foundation
import Testing
import TestSupport

/// preflight as a CI gate: several reports in one run, the GitHub step summary, --wait.
@Suite(.serialized, .tags(.live), .runsLive) struct GateTests {
    func preflight(_ args: [String], env: [String: String] = [:]) async throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        return try await run(preflightBinary, args, environment: environment, limit: 60)
    }

    @Test func severalReportsInOneRun() async throws {
        let dir = try temporaryDirectory("pf-reports")
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = dir.appendingPathComponent("summary.md")
        try "# earlier step\n".write(to: summary, atomically: true, encoding: .utf8)
        let out = try await preflight(["--target", "http://127.0.0.1:\(closedLoopbackPort())", "--format", "github",
                                       "--report", "junit=\(dir.path)/r.xml", "--report", "json=\(dir.path)/r.json",
                                       "--report", "markdown=\(dir.path)/r.md"],
                                      env: ["GITHUB_STEP_SUMMARY": summary.path])
        #expect(out.status == 1)
        #expect(out.stdout.hasPrefix("::error title=Service port [port]::connection refused"), "\(out.stdout)")
        let xml = try String(contentsOfFile: "\(dir.path)/r.xml", encoding: .utf8)
        #expect(xml.contains(#"failures="1" errors="0""#), "\(xml)")
        #expect(xml.contains(#"<testcase classname="preflight.port" name="Service port""#))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir.path)/r.json"))) as? [String: Any]
        #expect(json?["rootCauses"] as? [String] == ["port"])
        #expect(try String(contentsOfFile: "\(dir.path)/r.md", encoding: .utf8).hasPrefix("## ❌ preflight: NO-GO"))
        let appended = try String(contentsOf: summary, encoding: .utf8)
        #expect(appended.hasPrefix("# earlier step\n## ❌ preflight: NO-GO"), "appended, not overwritten")
    }

    @Test func badReportArgumentIsAUsageError() async throws {
        for arg in ["xml=out.xml", "junit=", "junit"] {
            let out = try await preflight(["--target", "http://127.0.0.1:1", "--report", arg])
            #expect(out.status == 2, "\(arg)")
            #expect(out.stdout.isEmpty)
        }
    }

    @Test func waitSucceedsOnceALateBackendListens() async throws {
        let port = closedLoopbackPort()
        let late = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#], options: ["--port", String(port), "--delay", "8"])  // long enough that the first attempt meets a closed port on a loaded machine too (4 s was not, once)
        defer { late.stop() }
        let out = try await preflight(["--target", "http://127.0.0.1:\(port)", "--wait", "40s", "--timeout", "1s"])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.stdout.hasPrefix("GO"))
        #expect(out.stderr.contains("preflight: attempt 1 no-go"), "plain progress lines when stderr is not a terminal: \(out.stderr)")
        #expect(out.stderr.contains("preflight: go after"))
        #expect(out.seconds < 40, "it stopped waiting once the backend answered")
    }

    @Test func waitGivesUpAtTheDeadlineAndSaysWhatStillFails() async throws {
        let out = try await preflight(["--target", "http://127.0.0.1:\(closedLoopbackPort())", "--wait", "2s", "--format", "json"])
        #expect(out.status == 1)
        #expect(out.stderr.contains("still no-go after waiting 2 s"), "\(out.stderr)")
        let root = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        #expect((root?["rootCauses"] as? [String]) == ["port"])
        // Bounded: the deadline plus at most one attempt's budget.
        #expect(out.seconds < 2 + 6 + 6, "took \(out.seconds) s")  // + room for a loaded machine's start-up
    }

    @Test func badWaitIsAUsageError() async throws {
        let out = try await preflight(["--target", "http://127.0.0.1:1", "--wait", "until-ready"])
        #expect(out.status == 2)
        #expect(out.stderr.contains("--wait"))
    }
}
