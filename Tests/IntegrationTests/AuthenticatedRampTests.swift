import Foundation
import Testing
import TestSupport

/// The ramp against an API behind a bearer token (issue 30), through the built binary: unauthenticated, every
/// answer is a 401 and no capacity check passes on them; with load.headers it measures, and the token stays secret.
@Suite(.serialized, .tags(.live), .runsLive) struct AuthenticatedRampTests {
    static let token = "pf-secret-token-8c1e"

    func runPreflight(headers: Bool) async throws -> (ProcessOutput, [String: [String: Any]]) {
        let api = try await FixtureServer.start("bearer", [Self.token])
        defer { api.stop() }
        let dir = try temporaryDirectory("pf-auth-ramp")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            target: \(api.url)
            load:
              vus: 10
              request: GET /api/v1/items
            \(headers ? "  headers: {Authorization: \"Bearer ${API_TOKEN}\"}" : "")
            rate_limit:
              request: GET /api/v1/items
              burst: 30
            """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["API_TOKEN"] = Self.token
        let out = try await run(preflightBinary, ["--only", "pool-traffic,rate-limit", "--format", "json"], environment: env,
                                currentDirectory: dir, limit: 60)
        #expect(!out.stdout.contains(Self.token) && !out.stderr.contains(Self.token), "the token leaked")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(out.stdout) \(out.stderr)")
        let checks = ((root["checks"] as? [[String: Any]]) ?? []).reduce(into: [String: [String: Any]]()) { $0[$1["id"] as? String ?? ""] = $1 }
        return (out, checks)
    }

    @Test func aRampOf401sIsNotJudged() async throws {
        let (out, checks) = try await runPreflight(headers: false)
        for id in ["pool-traffic", "rate-limit"] {
            #expect(checks[id]?["status"] as? String == "warn", "\(id): \(checks[id] ?? [:])")
            #expect((checks[id]?["summary"] as? String)?.contains("could not be judged: every answer of the ramp was 401 ×") == true, "\(checks[id] ?? [:])")
            #expect((checks[id]?["fix"] as? String)?.contains("load.headers") == true)
        }
        #expect(out.status == 0, "warnings only: \(out.stdout)")
    }

    @Test func withLoadHeadersTheRampMeasures() async throws {
        let (_, checks) = try await runPreflight(headers: true)
        #expect(checks["pool-traffic"]?["status"] as? String == "pass", "\(checks["pool-traffic"] ?? [:])")
        #expect((checks["pool-traffic"]?["summary"] as? String)?.contains("ramp 1 → 5 → 10 concurrent") == true, "\(checks["pool-traffic"] ?? [:])")
        #expect(checks["rate-limit"]?["status"] as? String == "pass", "\(checks["rate-limit"] ?? [:])")
        #expect((checks["rate-limit"]?["summary"] as? String)?.contains("200 ×") == true, "\(checks["rate-limit"] ?? [:])")
    }
}
