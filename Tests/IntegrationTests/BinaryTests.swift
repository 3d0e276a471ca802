import Foundation
import Testing
import TestSupport

/// The built binary, run as a user or CI runs it: exit codes, streams, files, secrets, time.
@Suite(.serialized, .tags(.live), .runsLive) struct BinaryTests {
    func preflight(_ args: [String], env: [String: String] = [:], in dir: URL? = nil) async throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NO_COLOR")
        for (k, v) in env { environment[k] = v }
        return try await run(preflightBinary, args, environment: environment, currentDirectory: dir, limit: 60)
    }

    func json(_ out: ProcessOutput) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "not JSON: \(out.stdout)")
    }

    func checks(_ root: [String: Any]) -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: ((root["checks"] as? [[String: Any]]) ?? []).map { ($0["id"] as! String, $0) })
    }

    /// `--version` alone answers before ArgumentParser builds the command tree; with other arguments (a
    /// subcommand's `--version`, or `--version --help`) ArgumentParser still decides. Both say the same version.
    @Test func versionFastPathSaysWhatArgumentParserSays() async throws {
        let fast = try await preflight(["--version"])
        #expect(fast.status == 0)
        // A plain build names no commit; scripts/stamp-commit.sh writes it into installed binaries (test-install.sh).
        #expect(fast.stdout == "0.1.0 (commit unknown)\n")
        #expect(fast.stderr.isEmpty)
        let parsed = try await preflight(["run", "--version"])
        #expect(parsed.status == 0)
        #expect(parsed.stdout == fast.stdout)
        let help = try await preflight(["--version", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.hasPrefix("OVERVIEW:"))
    }

    @Test func deadPortIsNoGoWithPortAsRootCauseAndNamesTheListener() async throws {
        let other = try await FixtureServer.start("json", ["200", "{}"])
        defer { other.stop() }
        let dead = other.port + 1
        let out = try await preflight(["--target", "http://127.0.0.1:\(dead)", "--format", "json"])
        #expect(out.status == 1)
        let root = try json(out)
        #expect(root["verdict"] as? String == "no-go")
        #expect((root["rootCauses"] as? [String])?.first == "port")
        let port = checks(root)["port"]
        #expect((port?["summary"] as? String)?.contains("python3 (pid") == true, "\(port ?? [:])")
        #expect(checks(root)["health"]?["blockedBy"] as? [String] == ["port"])
        #expect(out.stderr.isEmpty)
    }

    @Test func healthyServiceAndRealPostgresIsGo() async throws {
        let pg = try await PostgresCluster.shared()
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok","database":{"database":"connected"}}"#])
        defer { api.stop() }
        let out = try await preflight(["--target", api.url, "--database-url", pg.url])
        #expect(out.status == 0, "\(out.stdout)")
        #expect(out.stdout.hasPrefix("GO"))
        #expect(!out.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
        #expect(!out.stdout.contains(pg.password))
    }

    /// A config that gives any check its inputs is runnable: a script-only one too; an empty one is not.
    @Test func aScriptOnlyConfigRunsAndAnEmptyOneSaysWhatIsMissing() async throws {
        let dir = try temporaryDirectory("pf-script-only")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "import http from 'k6/http';\nexport const options = { vus: 3 };\nexport default function () { http.get(`http://127.0.0.1:3001/x?cursor=${Date.now()}`); }\n"
            .write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        try "load:\n  script: load.js\n".write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let out = try await preflight(["--only", "script", "--format", "json"], in: dir)
        #expect(out.status == 1, "\(out.stdout) \(out.stderr)")
        #expect(checks(try json(out))["script"]?["status"] as? String == "fail", "the invented cursor is found: \(out.stdout)")
        try "timeout: 2s\n".write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let empty = try await preflight([], in: dir)
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("nothing to check"), "\(empty.stderr)")
        #expect(empty.stdout.isEmpty)
    }

    @Test func badConfigExitsTwoNamingEveryProblem() async throws {
        let dir = try temporaryDirectory("pf-cfg")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            target: localhost:3001
            timeout: soon
            health:
              path: /health
              interval: 5s
            database:
              url: ${PF_TEST_UNSET_VARIABLE}
            rate_limt: {}
            """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let out = try await preflight([], in: dir)
        #expect(out.status == 2)
        #expect(out.stdout.isEmpty)
        for expected in ["line 1: target:", "line 2: timeout:", "line 5: health.interval: unknown key", "line 7: database.url: environment variable PF_TEST_UNSET_VARIABLE is not set",
                         "line 8: rate_limt: unknown key"] {
            #expect(out.stderr.contains(expected), "missing \(expected) in \(out.stderr)")
        }
        // The unset variable once, not again as its consequence (issue 30).
        #expect(!out.stderr.contains("empty database URL"), "\(out.stderr)")
        #expect(out.stderr.contains("5 problems"), "\(out.stderr)")
    }

    @Test func usageErrorsExitTwo() async throws {
        let noConfig = try temporaryDirectory("pf-empty")
        defer { try? FileManager.default.removeItem(at: noConfig) }
        for args in [["--no-such-flag"], ["--format", "xml", "--target", "http://127.0.0.1:1"], ["--only", "nope", "--target", "http://127.0.0.1:1"],
                     ["--config", "/nonexistent/preflight.yml"], ["--timeout", "forever", "--target", "http://127.0.0.1:1"], []] {
            let out = try await preflight(args, in: noConfig)
            #expect(out.status == 2, "\(args): \(out.status) \(out.stderr)")
            #expect(out.stdout.isEmpty, "\(args)")
            #expect(!out.stderr.isEmpty, "\(args)")
            #expect(out.stderr.split(separator: "\n").count <= 8, "\(args): a short message, not a page")
        }
    }

    @Test func helpAndChecksListExitZero() async throws {
        let help = try await preflight(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Exit codes"))
        let list = try await preflight(["checks"])
        #expect(list.status == 0)
        #expect(list.stdout.contains("health — Health endpoint\n  prerequisites: port"))
    }

    @Test func noPasswordInAnyOutputOrReportFile() async throws {
        let dir = try temporaryDirectory("pf-secret")
        defer { try? FileManager.default.removeItem(at: dir) }
        let secret = "Sup3r-Secret-Pw"
        let envSecret = "Env-Secret-Pw-42"
        try """
            target: http://127.0.0.1:\(closedLoopbackPort())
            database:
              url: postgresql://chat:${PF_DB_PASSWORD}@127.0.0.1:\(closedLoopbackPort())/chat
            """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        for format in ["text", "json"] {
            let report = dir.appendingPathComponent("report.\(format)").path
            let out = try await preflight(["--format", format, "--output", report, "-v"], env: ["PF_DB_PASSWORD": envSecret], in: dir)
            #expect(out.status == 1)
            let file = try String(contentsOfFile: report, encoding: .utf8)
            for text in [out.stdout, out.stderr, file] { #expect(!text.contains(envSecret)) }
            #expect(file.contains(format == "json" ? "\"user\":\"chat\"" : "user: chat"), "the database evidence was rendered")
        }
        let bad = try await preflight(["--database-url", "postgresql://u:\(secret)@127.0.0.1:\(closedLoopbackPort())/db", "--format", "json"])
        #expect(!bad.stdout.contains(secret) && !bad.stderr.contains(secret))
        let malformed = try await preflight(["--database-url", "mysql://u:\(secret)@host/db"])
        #expect(malformed.status == 2)
        #expect(!malformed.stderr.contains(secret), "\(malformed.stderr)")
    }

    @Test func outputFileGetsTheFormatAndTheTerminalGetsText() async throws {
        let dir = try temporaryDirectory("pf-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("r.json").path
        let out = try await preflight(["--target", "http://127.0.0.1:\(closedLoopbackPort())", "--format", "json", "--output", report])
        #expect(out.status == 1)
        #expect(out.stdout.hasPrefix("NO-GO"))
        let data = try Data(contentsOf: URL(fileURLWithPath: report))
        #expect((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["verdict"] as? String == "no-go")
        let unwritable = try await preflight(["--target", "http://127.0.0.1:1", "--output", "/nonexistent-dir/r.json"])
        #expect(unwritable.status == 2)
    }

    @Test func blackholedTargetsEndInAboutOneTimeout() async throws {
        // The service and the database both accept TCP and never answer: two independent timeouts.
        let service = try await FixtureServer.start("hang")
        let database = try await FixtureServer.start("hang")
        defer { service.stop(); database.stop() }
        let out = try await preflight(["--target", service.url, "--database-url", "postgresql://u:pw-xyz@127.0.0.1:\(database.port)/db",
                                       "--timeout", "5s", "--format", "json"])
        #expect(out.status == 1)
        let root = try json(out)
        #expect(root["rootCauses"] as? [String] == ["health", "database"])
        // Run one after the other they would take 10 s; concurrently, about one timeout (5 s), and the 4 s left
        // are room for a loaded machine's start-up.
        #expect(out.seconds < 9.5, "took \(out.seconds) s")
    }
}
