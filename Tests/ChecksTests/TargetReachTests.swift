import Foundation
import Synchronization
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

private func load(_ yaml: String, file: String? = nil) throws -> Config {
    try ConfigLoader(sections: AllChecks.sections).load(yaml: yaml, file: file, environment: [:])
}

/// A script file in a fresh folder, and its path.
private func scriptFile(_ text: String) throws -> String {
    let dir = try temporaryDirectory("pf-reach")
    let file = dir.appendingPathComponent("t.js")
    try text.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

/// The one owner of how k6 reaches the target: what it derives from the config and the script.
@Suite struct TargetReachDerivation {
    @Test func healthURLIsTheTargetAndHealthPath() throws {
        let r = TargetReach.derive(from: try load("target: http://127.0.0.1:3001/api/v1/\nhealth: {path: /ready}"))
        #expect(r.origin == "http://127.0.0.1:3001")
        #expect(r.basePath == "/api/v1/")
        #expect(r.healthURL == "http://127.0.0.1:3001/api/v1/ready")
        let full = TargetReach.derive(from: try load("target: http://127.0.0.1:3001\nhealth: {path: 'http://127.0.0.1:9/up'}"))
        #expect(full.healthURL == "http://127.0.0.1:9/up")
        #expect(TargetReach.derive(from: try load("health: {path: /x}")).healthURL == nil)
        #expect(TargetReach.derive(from: try load("target: http://127.0.0.1:3001")).healthURL == "http://127.0.0.1:3001/health")
    }

    @Test func theScriptDecidesTLSKeepAliveAndRedirects() throws {
        let script = try scriptFile("""
        export const options = { insecureSkipTLSVerify: true, tlsVersion: "tls1.3", noConnectionReuse: true, maxRedirects: 2, vus: 3 };
        """)
        let r = TargetReach.derive(from: try load("target: https://127.0.0.1:3001\nload: {script: \(script)}"))
        #expect(r.insecureSkipVerify)
        #expect(r.keepAlive == .off("options.noConnectionReuse"))
        #expect(r.maxRedirects == 2)
        let o = r.requestOptions(for: "https://127.0.0.1:3001/x", environment: { _ in nil })
        #expect(!o.verifyPeer)
        #expect(o.tlsMin == .tls1_3 && o.tlsMax == .tls1_3)
        #expect(o.maxRedirects == 2)

        let plain = TargetReach.derive(from: try load("target: https://127.0.0.1:3001"))
        #expect(!plain.insecureSkipVerify && plain.keepAlive == .on && plain.maxRedirects == 10)
        let p = plain.requestOptions(for: "https://127.0.0.1:3001/x", environment: { _ in nil })
        #expect(p.verifyPeer && p.tlsMin == .tls1_2 && p.tlsMax == nil && p.maxRedirects == 10)
    }

    @Test func theCAK6TrustsIsHealthCAThenSSLCertFileThenTheSystems() throws {
        let env: (String) -> String? = { ["SSL_CERT_FILE": "/env/ca.pem", "SSL_CERT_DIR": "/env/certs"][$0] }
        let withCA = TargetReach.derive(from: try load("target: https://h:1\nhealth: {ca: ca.pem}", file: "/etc/pf/preflight.yml"))
        #expect(withCA.trust(environment: env) == .init(file: "/etc/pf/ca.pem", dir: nil, source: "trusted: health.ca ca.pem"))
        let none = TargetReach.derive(from: try load("target: https://h:1"))
        #expect(none.trust(environment: env) == .init(file: "/env/ca.pem", dir: "/env/certs", source: "trusted: SSL_CERT_FILE /env/ca.pem, SSL_CERT_DIR /env/certs"))
        #expect(none.trust(environment: { _ in "" }) == .init(file: nil, dir: nil, source: "trusted: the system's CA bundle"))
    }

    @Test func aClientCertificateIsTheScriptsForTheHost() throws {
        let script = try scriptFile("""
        export const options = { tlsAuth: [{ domains: ["example.test"], cert: open("c.pem"), key: open("/abs/c.key") }] };
        """)
        let r = TargetReach.derive(from: try load("target: https://api.example.test\nload: {script: \(script)}"))
        let folder = URL(fileURLWithPath: script).deletingLastPathComponent().path
        #expect(r.clientCertificate(for: "https://api.example.test/x") == .init(written: "c.pem", certFile: folder + "/c.pem", keyFile: "/abs/c.key"))
        #expect(r.clientCertificate(for: "https://other.test/x") == nil)
    }

    /// What each check declares it reads: the checks that send requests as k6 would read the reach, and health.path
    /// and health.ca through it; a check that needs only the address reads `TargetURL` and lists `target` alone; no
    /// check lists the health check's own upstream but the health check; no check owns what another reads.
    @Test func checksDeclareTheReachAndNoOtherChecksSettings() {
        for check in [HealthCheck.self, RateLimitCheck.self, PoolTrafficCheck.self] as [any BuiltInCheck.Type] {
            #expect(check.facts.contains { $0 == TargetReach.self }, "\(check.description.id)")
            #expect(check.configKeys.starts(with: ["target"]), "\(check.description.id): \(check.configKeys)")
        }
        for check in [PortCheck.self, GeneratorCheck.self, ScriptCheck.self] as [any BuiltInCheck.Type] {
            #expect(check.facts.contains { $0 == TargetURL.self } && !check.facts.contains { $0 == TargetReach.self }, "\(check.description.id)")
        }
        #expect(HealthCheck.configKeys.contains("health.upstream") && HealthCheck.configKeys.contains("health.path"))
        #expect(RateLimitCheck.configKeys.contains("health.path"))
        #expect(!RateLimitCheck.configKeys.contains("health.upstream"))
        #expect(!RateLimitCheck.settings.contains { $0 == HealthUpstreamSettings.self })
        #expect(PortCheck.configKeys == ["target"])
        // rate_limit: is the traffic's (the ramp may send its request), read by both checks through the fact.
        for check in [RateLimitCheck.self, PoolTrafficCheck.self] as [any BuiltInCheck.Type] {
            #expect(check.facts.contains { $0 == PlannedTraffic.self } && check.configKeys.contains("rate_limit.request"), "\(check.description.id)")
        }
        #expect(!AllChecks.builtIn.contains { $0.settings.contains { $0 == RateLimitSettings.self || $0 == HealthSettings.self } })
    }
}

/// Remembers every burst plan it is handed and answers 200 to each request.
final class PlanRecorder: HTTPBurster, @unchecked Sendable {
    let plans = Mutex<[BurstPlan]>([])
    func burst(_ plan: BurstPlan, isLimited: @escaping @Sendable (Int, [(name: String, value: String)]) -> Bool) async -> BurstResult {
        plans.withLock { $0.append(plan) }
        let out = (0..<plan.count).map { BurstResponse(number: $0 + 1, status: 200, seconds: 0.001) }
        return BurstResult(responses: out, sent: plan.count, stop: .completed, elapsed: .milliseconds(5), connections: plan.concurrency)
    }
}

@Suite struct TrafficReachesAsK6 {
    @Test func theRampUsesTheScriptsTLSKeepAliveAndRedirects() async throws {
        let script = try scriptFile("export const options = { insecureSkipTLSVerify: true, noVUConnectionReuse: true, maxRedirects: 0, vus: 5 };")
        let c = try load("target: https://127.0.0.1:1\nload: {script: \(script), request: GET /items}")
        let burster = PlanRecorder()
        let o = try await RateLimitCheck(probes: Probes(burster: burster)).run(CheckContext(config: c, timeout: .seconds(30)))
        #expect(o.status == .pass, "\(o.summary)")
        let plans = burster.plans.withLock { $0 }
        #expect(plans.map(\.concurrency) == [1, 5])
        for p in plans {
            #expect(!p.options.verifyPeer)
            #expect(p.options.tlsMin == .tls1_2)
            #expect(p.options.maxRedirects == 0)
            #expect(!p.reuseConnections)
            #expect(p.keptHeaders == RateLimitHeaders.answerHeaders)
        }
    }
}

/// The measured bug: an expired certificate that the script accepts (insecureSkipTLSVerify: true). Health warned,
/// then the burst failed every request on the certificate and the verdict was a false NO-GO with rate-limit as
/// its root cause. Now the ramp and the burst reach the target as k6 does: GO, with the certificate warning.
@Suite(.serialized) struct ExpiredCertificateAcceptedByTheScript {
    static let script = """
    import http from "k6/http";
    export const options = {
      insecureSkipTLSVerify: true, vus: 5, duration: "2s",
      thresholds: { http_req_failed: ["rate==0"] },
    };
    export default function () { http.get(`${__ENV.TARGET}/items`); }
    """

    func setUp(_ s: FixtureServer) throws -> (Config, URL) {
        let dir = try temporaryDirectory("pf-expired")
        try Self.script.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        let c = try load("""
            target: https://127.0.0.1:\(s.port)
            health: {path: /health, ca: \(try TestCertificates.path("ca.pem"))}
            load: {script: load.js, request: GET /items}
            rate_limit: {request: GET /items, burst: 40, concurrency: 5}
            """, file: dir.appendingPathComponent("preflight.yml").path)
        return (c, dir)
    }

    @Test func theVerdictIsGoWithTheCertificateWarning() async throws {
        let s = try await TestCertificates.server("expired")
        defer { s.stop() }
        let (c, dir) = try setUp(s)
        defer { try? FileManager.default.removeItem(at: dir) }
        let engine = Engine(checks: AllChecks.make(probes: .live, config: c))
        let report = await engine.run(config: c, timeout: .seconds(5), only: ["health", "rate-limit", "pool-traffic"])
        let health = try #require(report.result("health"))
        #expect(health.status == .warn, "\(health.outcome.summary)")
        #expect(health.outcome.summary.contains("the certificate expired on 2021-01-01"), "\(health.outcome.summary)")
        #expect(health.outcome.summary.contains("k6 accepts it only because the script sets insecureSkipTLSVerify: true"))
        for id in ["rate-limit", "pool-traffic"] {
            let r = try #require(report.result(id))
            #expect(r.status != .fail && r.status != .crash, "\(id): \(r.outcome.summary)")
        }
        let rate = try #require(report.result("rate-limit"))
        #expect(rate.outcome.summary.contains("no limiter answered"), "\(rate.outcome.summary)")
        // The ramp (load.request at the script's 5 VUs: 10 requests alone, 15 at 5 concurrent), every one answered 200.
        #expect(rate.outcome.evidence["statuses"] == .object(Evidence([("200", .int(25))])), "\(rate.outcome.evidence)")
        #expect(report.verdict == .go, "\(report.rootCauses)")
        #expect(report.rootCauses.isEmpty)
    }

    @Test(.enabled(if: realK6("ExpiredCertificateAcceptedByTheScript") != nil))
    func realK6RunsTheScriptWithoutFailures() async throws {
        let s = try await TestCertificates.server("expired")
        defer { s.stop() }
        let (_, dir) = try setUp(s)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await run("/usr/bin/env", ["k6", "run", "--no-usage-report", "--quiet", "--summary-export", "summary.json",
                                                 "-e", "TARGET=https://127.0.0.1:\(s.port)", "load.js"],
                                currentDirectory: dir, limit: 120)
        #expect(out.status == 0, "k6 accepts the expired certificate: \((out.stdout + out.stderr).suffix(600))")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any]
        let failed = (summary?["metrics"] as? [String: Any])?["http_req_failed"] as? [String: Any]
        #expect((failed?["value"] as? NSNumber)?.doubleValue == 0, "\(String(describing: failed))")
        let requests = ((summary?["metrics"] as? [String: Any])?["http_reqs"] as? [String: Any])?["count"] as? NSNumber
        #expect((requests?.intValue ?? 0) > 0)
    }
}
