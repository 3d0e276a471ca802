import Foundation
import Testing
import TestSupport

/// `preflight exec -- …`: the gate in front of the load test.
@Suite(.serialized) struct ExecTests {
    /// Runs in a folder of its own: exec writes its samples (and k6's --out json) in the current directory.
    func preflight(_ args: [String]) async throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        let dir = try temporaryDirectory("pf-exec-cwd")
        defer { try? FileManager.default.removeItem(at: dir) }
        return try await run(preflightBinary, args, currentDirectory: dir, limit: 60)
    }

    @Test func noGoNeverStartsTheLoadTest() async throws {
        let dir = try temporaryDirectory("pf-exec")
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("ran").path
        let out = try await preflight(["exec", "--target", "http://127.0.0.1:\(closedLoopbackPort())", "--", "/bin/sh", "-c", "touch \(marker)"])
        #expect(out.status == 1)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(out.stderr.contains("no-go: not running"))
    }

    @Test func goRunsItAndPassesItsExitCodeThrough() async throws {
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { api.stop() }
        let out = try await preflight(["exec", "--target", api.url, "--", "/bin/sh", "-c", "echo load test output; exit 3"])
        #expect(out.status == 3, "\(out.stderr)")
        #expect(out.stdout.contains("load test output"))
        #expect(out.stdout.hasPrefix("GO"))
    }

    @Test func failedK6RunIsExplainedFromTheSummaryPreflightAsksFor() async throws {
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { api.stop() }
        let dir = try temporaryDirectory("pf-k6")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A stand-in for k6 that writes a genuine k6 summary (from the explain fixtures) where it is told to.
        let fixture = packageRoot.appendingPathComponent("Tests/PreflightExplainTests/Fixtures/refused.summary-export.json").path
        let k6 = dir.appendingPathComponent("k6")
        let script = """
            #!/bin/sh
            while [ $# -gt 0 ]; do [ "$1" = --summary-export ] && cp '\(fixture)' "$2"; shift; done
            exit 99
            """
        try writeExecutable(script, to: k6)
        let out = try await preflight(["exec", "--target", api.url, "--", k6.path, "run", "script.js"])
        #expect(out.status == 99)
        #expect(out.stderr.contains("the load test failed (exit 99)"))
        #expect(out.stderr.contains("connection-refused"), "\(out.stderr)")
    }

    @Test func missingCommandIsAUsageError() async throws {
        let out = try await preflight(["exec", "--target", "http://127.0.0.1:1"])
        #expect(out.status == 2)
        #expect(out.stderr.contains("give the load test after --"))
    }
}
