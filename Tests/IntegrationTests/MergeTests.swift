import Foundation
import Testing
import TestSupport

/// `preflight merge` on the JSON reports of real runs against a real HTTP server on loopback: one run while
/// it listens, one after it stopped (what a runner outside the allowlist sees). The runs are on this machine, so
/// their `runner` fields are rewritten to stand for different load generators.
@Suite(.serialized, .tags(.live), .runsLive) struct MergeTests {
    func preflight(_ args: [String], in dir: URL) async throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        return try await run(preflightBinary, args, currentDirectory: dir, limit: 60)
    }

    /// The report with its runner replaced by `address` (a load generator elsewhere).
    func asRunner(_ json: String, _ name: String, _ address: String) throws -> String {
        var root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        root["runner"] = ["hostname": name, "addresses": [address]]
        return String(decoding: try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]), as: UTF8.self) + "\n"
    }

    @Test func someRunnersRefusedOneVerdict() async throws {
        let dir = try temporaryDirectory("pf-merge")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        try "target: \(server.url)\ntimeout: 2s\nhealth:\n  path: /health\n".write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)

        let up = try await preflight(["--only", "port,health", "--format", "json"], in: dir)
        #expect(up.status == 0, "\(up.stderr)")
        // Where it ran: this machine's name and the source address toward the target.
        let root = try #require(try JSONSerialization.jsonObject(with: Data(up.stdout.utf8)) as? [String: Any])
        let runner = try #require(root["runner"] as? [String: Any])
        let hostname = try await run("/bin/hostname", [], limit: 10).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(runner["hostname"] as? String == hostname)
        #expect(runner["addresses"] as? [String] == ["127.0.0.1"])
        #expect(root["target"] as? String == server.url)
        server.stop()
        var down = try await preflight(["--only", "port,health", "--format", "json"], in: dir)
        // The fixture exits on its own once its stdin closes; until it has, a run can still connect (port passes)
        // and then be refused by health: wait for a run where the port itself is refused.
        for _ in 0..<50 where !(down.status == 1 && down.stdout.contains(#""rootCauses":["port"]"#)) {
            try await Task.sleep(for: .milliseconds(100))
            down = try await preflight(["--only", "port,health", "--format", "json"], in: dir)
        }
        #expect(down.status == 1, "\(down.stdout)")

        var files: [String] = []
        for i in 1...8 {
            let refused = [3, 5, 7].contains(i)
            let f = dir.appendingPathComponent("runner-\(i).json")
            try asRunner(refused ? down.stdout : up.stdout, "k6-runner-\(i)", "10.0.3.\(i)").write(to: f, atomically: true, encoding: .utf8)
            files.append(f.path)
        }
        let merged = try await preflight(["merge"] + files, in: dir)
        #expect(merged.status == 1, "\(merged.stderr)")
        #expect(merged.stdout.contains("fail from 3 of 8 runners (10.0.3.3, 10.0.3.5, 10.0.3.7): connection refused on 127.0.0.1:\(server.port)"), "\(merged.stdout)")
        #expect(merged.stdout.contains("the other 5 pass"))

        // JSON lines on stdin, in JSON: one root cause, every runner named.
        let lines = try await run("/bin/sh", ["-c", "cat \(files.map { "'\($0)'" }.joined(separator: " ")) | '\(preflightBinary)' merge - --format json"], limit: 60)
        #expect(lines.status == 1, "\(lines.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(lines.stdout.utf8)) as? [String: Any])
        #expect(doc["rootCauses"] as? [String] == ["port"])
        #expect((doc["runners"] as? [[String: Any]])?.count == 8)
        #expect(doc["exitCode"] as? Int == 1)

        // All runners connect: go.
        let allUp = try await preflight(["merge", files[0], files[1], files[3]], in: dir)
        #expect(allUp.status == 0, "\(allUp.stdout)")
    }

    /// merge's report options are the gate run's (one `@OptionGroup`): their help no longer differs.
    @Test func reportOptionsAreTheRunsOwn() async throws {
        let dir = try temporaryDirectory("pf-merge-help")
        defer { try? FileManager.default.removeItem(at: dir) }
        let merge = try await preflight(["merge", "--help"], in: dir)
        let gate = try await preflight(["run", "--help"], in: dir)
        #expect(merge.status == 0 && gate.status == 0)
        // ArgumentParser wraps help by the terminal's width: compare each option's words, whatever the wrapping.
        func words(_ help: String, _ option: String) -> String? {
            let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(option) }) else { return nil }
            var block = [lines[start]]
            for l in lines[(start + 1)...] {
                guard l.hasPrefix("                "), !l.trimmingCharacters(in: .whitespaces).hasPrefix("-") else { break }
                block.append(l)
            }
            return block.joined(separator: " ").split(separator: " ").joined(separator: " ")
        }
        for option in ["--format <format>", "--output <output>", "--report <format=file>", "--no-color", "-v, --verbose"] {
            let m = words(merge.stdout, option)
            #expect(m != nil, "\(option) not in merge --help")
            #expect(m == words(gate.stdout, option), "\(option)")
        }
        #expect(words(merge.stdout, "--report <format=file>")?.contains("e.g. junit=preflight.xml") == true)
    }

    @Test func badInputIsExitTwoWithOneMessage() async throws {
        let dir = try temporaryDirectory("pf-merge-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "not a report".write(to: dir.appendingPathComponent("garbage.json"), atomically: true, encoding: .utf8)
        let garbage = try await preflight(["merge", "garbage.json"], in: dir)
        #expect(garbage.status == 2)
        #expect(garbage.stdout.isEmpty)
        #expect(garbage.stderr.hasPrefix("preflight merge: garbage.json: not JSON"), "\(garbage.stderr)")
        #expect(garbage.stderr.split(separator: "\n").count == 1)

        let missing = try await preflight(["merge", "nope.json"], in: dir)
        #expect(missing.status == 2)
        #expect(missing.stderr == "preflight merge: nope.json: does not exist\n")

        let empty = try await run("/bin/sh", ["-c", "'\(preflightBinary)' merge - </dev/null"], limit: 30)
        #expect(empty.status == 2)
        #expect(empty.stderr == "preflight merge: stdin: no reports (expected one JSON report per line)\n")

        // Two configs (different targets) are not one verdict.
        let a = try await preflight(["--target", "http://127.0.0.1:\(closedLoopbackPort())", "--only", "port", "--format", "json"], in: dir)
        let b = try await preflight(["--target", "http://127.0.0.1:\(closedLoopbackPort())/other", "--only", "port", "--format", "json"], in: dir)
        try a.stdout.write(to: dir.appendingPathComponent("a.json"), atomically: true, encoding: .utf8)
        try b.stdout.write(to: dir.appendingPathComponent("b.json"), atomically: true, encoding: .utf8)
        let mismatch = try await preflight(["merge", "a.json", "b.json"], in: dir)
        #expect(mismatch.status == 2)
        #expect(mismatch.stderr.hasPrefix("preflight merge: the reports are not of one config: a.json checked http://127.0.0.1:"), "\(mismatch.stderr)")
    }
}
