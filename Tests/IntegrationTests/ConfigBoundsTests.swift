import Foundation
import Testing
import TestSupport

/// A config file is input too (in CI it comes from the branch under test): alias bombs and oversized files
/// end at once with one config error, in no more memory than a normal run (issue 21).
@Suite(.serialized, .tags(.live), .runsLive) struct ConfigBoundsTests {
    /// Only guards against a hang: a bomb that got through would run far longer.
    static let hangLimit: TimeInterval = 30
    /// What a bomb may take over a normal run's peak memory: allocator noise, not an expansion.
    static let memorySlackKiB = 8 * 1024

    static let bombs: [(name: String, yaml: String, line: Int, alias: String)] = {
        let lol = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"
        func list(_ p: Character) -> String { "[" + Array(repeating: "*\(p)", count: 9).joined(separator: ",") + "]" }
        let pairs = Array(zip("abcdefgh", "bcdefghi"))
        // The classic: nine lists of nine aliases to the list above.
        let classic = ([lol] + pairs.map { p, c in "\(c): &\(c) \(list(p))" }).joined(separator: "\n")
        // All of it inside one mapping key, which Yams hashes whole to look for duplicates.
        let key = (["? - &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"] + pairs.map { p, c in "  - &\(c) \(list(p))" } + [": 1"])
            .joined(separator: "\n")
        // Merge keys, in x- blocks that are otherwise ignored.
        let merge = (["x-a: &a {k1: lol, k2: lol, k3: lol, k4: lol, k5: lol, k6: lol, k7: lol, k8: lol, k9: lol}"]
            + pairs.map { p, c in "x-\(c): &\(c) {" + (1...9).map { "m\($0): {<<: *\(p)}" }.joined(separator: ", ") + "}" })
            .joined(separator: "\n")
        return [("classic", classic, 5, "*d"), ("key", key, 5, "*d"), ("merge", merge, 4, "*c")]
    }()

    func writeConfig(_ text: String, in dir: URL, name: String = "preflight.yml") throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func preflight(_ args: [String]) async throws -> MeasuredOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        return try await runMeasuringMemory(preflightBinary, args, limit: Self.hangLimit)
    }

    /// The same binary on a small, valid config: every check runs (against a port nothing listens on).
    func normalRun(in dir: URL) async throws -> MeasuredOutput {
        let config = try writeConfig("target: http://127.0.0.1:\(closedLoopbackPort())/\ntimeout: 2s\n", in: dir, name: "normal.yml")
        let normal = try await preflight(["--config", config])
        try #require(normal.output.status == 1, "the normal run: \(normal.output.stderr)")
        return normal
    }

    @Test(arguments: bombs.indices)
    func aliasBombEndsAtOnceWithOneConfigError(_ i: Int) async throws {
        let bomb = Self.bombs[i]
        let dir = try temporaryDirectory("pf-bomb")
        defer { try? FileManager.default.removeItem(at: dir) }
        let normal = try await normalRun(in: dir)
        let config = try writeConfig(bomb.yaml, in: dir)
        let out = try await preflight(["--config", config])
        #expect(out.output.status == 2, "\(bomb.name): \(out.output.status) \(out.output.stderr)")
        #expect(out.output.stdout.isEmpty)
        #expect(out.output.stderr.split(separator: "\n").count == 1, "\(bomb.name): one line: \(out.output.stderr)")
        #expect(out.output.stderr.hasPrefix("preflight: \(config): line \(bomb.line): alias \(bomb.alias) expands the config past the limit of"),
                "\(bomb.name): \(out.output.stderr)")
        #expect(out.peakRSSKiB <= normal.peakRSSKiB + Self.memorySlackKiB,
                "\(bomb.name): peak \(out.peakRSSKiB) KiB, a normal run \(normal.peakRSSKiB) KiB")
    }

    @Test func oversizedConfigIsRefusedBeforeItIsRead() async throws {
        let dir = try temporaryDirectory("pf-big")
        defer { try? FileManager.default.removeItem(at: dir) }
        let normal = try await normalRun(in: dir)
        let config = try writeConfig("target: http://127.0.0.1:1/\n# " + String(repeating: "padding ", count: 262_144), in: dir)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: config)[.size] as? NSNumber).intValue
        let out = try await preflight(["--config", config])
        #expect(out.output.status == 2)
        #expect(out.output.stdout.isEmpty)
        #expect(out.output.stderr == "preflight: \(config): config file is 2.0 MiB (\(size) bytes); the limit is 1 MiB\n")
        #expect(out.peakRSSKiB <= normal.peakRSSKiB + Self.memorySlackKiB, "peak \(out.peakRSSKiB) KiB, normal \(normal.peakRSSKiB) KiB")
    }

    @Test func mergedPoolDefaultsReachThePoolCheck() async throws {
        let pg = try await PostgresCluster.shared()
        let dir = try temporaryDirectory("pf-merge")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try writeConfig("""
            x-pool-defaults: &defaults
              size: 10
              replicas: 2
              driver: pg
            database:
              url: \(pg.url)
              pools:
                - <<: *defaults
                  name: api
                - <<: *defaults
                  name: worker
                  size: 4
            """, in: dir)
        let out = try await run(preflightBinary, ["--config", config, "--only", "database,pool", "--format", "json"], limit: Self.hangLimit)
        #expect(out.stderr.isEmpty, "\(out.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "not JSON: \(out.stdout)")
        let pool = ((root["checks"] as? [[String: Any]]) ?? []).first { $0["id"] as? String == "pool" }
        let summary = try #require(pool?["summary"] as? String, "\(out.stdout)")
        #expect(summary.contains("pools need 28 (api 2×10 + worker 2×4)"), "\(summary)")
    }

    @Test func anUnknownTopLevelKeyWithoutXIsStillAnError() async throws {
        let dir = try temporaryDirectory("pf-xkey")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try writeConfig("""
            target: http://127.0.0.1:\(closedLoopbackPort())/
            pool-defaults: &defaults {size: 10}
            x-header: &h {Authorization: Bearer t}
            """, in: dir)
        let out = try await run(preflightBinary, ["--config", config], limit: Self.hangLimit)
        #expect(out.status == 2)
        #expect(out.stderr.hasPrefix("preflight: \(config): line 2: pool-defaults: unknown key"), "\(out.stderr)")
        #expect(!out.stderr.contains("x-header"))
    }
}
