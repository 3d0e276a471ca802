import Foundation
import Testing
import TestSupport

/// `preflight checks` in its three formats, and the README's checks table, which is `--format markdown`'s output.
@Suite struct ChecksListingTests {
    static let begin = "<!-- checks-table:begin (generated: preflight checks --format markdown) -->\n"
    static let end = "<!-- checks-table:end -->"

    @Test func readmeTableIsCurrent() async throws {
        let out = try await run(preflightBinary, ["checks", "--format", "markdown"], limit: 30)
        #expect(out.status == 0, "\(out.stderr)")
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: Self.begin), "README.md has no generated checks table")
        let stop = try #require(readme.range(of: Self.end, range: start.upperBound..<readme.endIndex))
        #expect(String(readme[start.upperBound..<stop.lowerBound]) == out.stdout,
                "README.md's checks table is stale: put the output of .build/debug/preflight checks --format markdown between its checks-table markers")
    }

    @Test func jsonListsEveryCheckWithItsExamples() async throws {
        let out = try await run(preflightBinary, ["checks", "--format", "json"], limit: 30)
        #expect(out.status == 0, "\(out.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let checks = try #require(root["checks"] as? [[String: Any]])
        #expect(checks.map { $0["id"] as? String } == ["generator", "port", "health", "database", "pool", "pool-traffic", "rate-limit", "server", "grpc", "migrations", "schema", "script", "api", "smoke"])
        let port = try #require(checks.first { $0["id"] as? String == "port" })
        #expect(port["layer"] as? String == "network")
        #expect(port["prerequisites"] as? [String] == [])
        #expect(port["configKeys"] as? [String] == ["target"])
        let examples = try #require(port["examples"] as? [[String: Any]])
        let refused = try #require(examples.first { ($0["says"] as? String)?.contains("nothing listens on port 3001") == true })
        #expect(refused["status"] as? String == "fail")
        #expect((refused["given"] as? [String: Any])?["config"] as? String == "target: http://127.0.0.1:3001")
        for c in checks { #expect((c["examples"] as? [Any])?.isEmpty == false, "\(c["id"] ?? "?") has no example") }
    }

    @Test func textShowsThePhraseAndTheGivenConfig() async throws {
        let out = try await run(preflightBinary, ["checks"], limit: 30)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("port — Service port\n  prerequisites: none\n  layer: network\n  config: target\n"), "\(out.stdout.prefix(600))")
        #expect(out.stdout.contains("  fail: nothing listens on port 3001; node (pid 4242) listens on 3000\n    given: target: http://127.0.0.1:3001\n"))
    }
}
