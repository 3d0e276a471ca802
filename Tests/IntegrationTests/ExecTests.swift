import Foundation
import Testing
import TestSupport

/// `preflight exec -- …`: the gate in front of the load test.
@Suite(.serialized, .tags(.live), .runsLive) struct ExecTests {
    /// Runs in a folder of its own: exec writes its samples (and k6's --out csv) in the current directory.
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

    /// What exec adds to `k6 run` (issue 36): `--out json=preflight-k6.json.gz` and a summary; no output file when
    /// the command has its own --out json or csv, nor with --no-watch (k6's writer is what costs throughput).
    @Test func execAddsTheCSVOutputOnlyWhenTheCommandHasNone() async throws {
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { api.stop() }
        let dir = try temporaryDirectory("pf-k6-args")
        defer { try? FileManager.default.removeItem(at: dir) }
        let k6 = dir.appendingPathComponent("k6")
        try writeExecutable("#!/bin/sh\necho \"ARGS $*\"\n", to: k6)
        func args(_ extra: [String], _ k6Args: [String] = []) async throws -> String {
            let out = try await run(preflightBinary, ["exec", "--target", api.url, "--only", "port"] + extra + ["--", k6.path, "run"] + k6Args + ["s.js"],
                                    currentDirectory: dir, limit: 60)
            #expect(out.status == 0, "\(out.stderr)")
            return out.stdout.split(separator: "\n").first { $0.hasPrefix("ARGS ") }.map(String.init) ?? ""
        }
        let plain = try await args([])
        #expect(plain.contains("--out json=preflight-k6.json.gz"), "\(plain)")
        #expect(plain.contains("--summary-export "), "\(plain)")
        let noWatch = try await args(["--no-watch"])
        #expect(!noWatch.contains("--out"), "\(noWatch)")
        #expect(noWatch.contains("--summary-export"), "the summary stays: explain reads it when the run fails: \(noWatch)")
        let own = try await args([], ["--out", "json=mine.json"])
        #expect(!own.contains("preflight-k6"), "\(own)")
        let ownCSV = try await args([], ["-o", "csv=fileName=mine.csv,saveInterval=2s"])
        #expect(!ownCSV.contains("preflight-k6"), "\(ownCSV)")
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

    /// The gate and the watcher reach the target as k6 does (`TargetReach`, the run's one config): an expired
    /// certificate the script accepts (insecureSkipTLSVerify) is GO with a warning, and the watcher's health GETs get
    /// through (before, they were made without the script's TLS options and every one failed on the certificate).
    @Test func theWatcherReachesTheTargetAsTheScriptSays() async throws {
        let dir = try temporaryDirectory("pf-exec-tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let certs = dir.appendingPathComponent("certs")
        let made = try await run("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/tls-certs.sh").path, certs.path], limit: 120)
        try #require(made.status == 0, "\(made.stderr)")
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#],
                                                options: ["--tls", certs.appendingPathComponent("expired.pem").path, certs.appendingPathComponent("expired.key").path])
        defer { api.stop() }
        try #"export const options = { insecureSkipTLSVerify: true, vus: 1, duration: "1s" };"#
            .write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        try "target: https://127.0.0.1:\(api.port)\nhealth: {ca: certs/ca.pem}\nload: {script: load.js}\n"
            .write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let out = try await run(preflightBinary, ["exec", "--only", "port,health", "--watch-interval", "500ms", "--samples", "s.jsonl",
                                                  "--no-color", "--", "/bin/sh", "-c", "sleep 2"], currentDirectory: dir, limit: 60)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.stdout.contains("the certificate expired on 2021-01-01"), "\(out.stdout)")
        let lines = try String(contentsOf: dir.appendingPathComponent("s.jsonl"), encoding: .utf8).split(separator: "\n").dropFirst()
        let health = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["health"] as? [String: Any] }
            .filter { $0["busy"] == nil }
        // A sample may time out on a loaded machine (each probe has the interval as its deadline); none may fail on TLS.
        #expect(health.contains { $0["status"] as? Int == 200 }, "\(health)")
        #expect(!health.contains { ($0["error"] as? String).map { $0.contains("SSL") || $0.contains("certificate") } ?? false }, "\(health)")
    }

    @Test func missingCommandIsAUsageError() async throws {
        let out = try await preflight(["exec", "--target", "http://127.0.0.1:1"])
        #expect(out.status == 2)
        #expect(out.stderr.contains("give the load test after --"))
    }
}
