import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

private func loadConfig(_ yaml: String) throws(ConfigError) -> Config {
    try ConfigLoader(sections: AllChecks.sections).load(yaml: yaml, file: nil, environment: [:])
}

@Suite struct RateLimitSettingsExamples {
    @Test func defaultsAndRequest() throws {
        let c = try loadConfig("target: http://127.0.0.1:1\nrate_limit:\n  request: POST /chat/conversations/ID/messages\n  body: '{\"a\":1}'\n  headers:\n    Content-Type: application/json\n")
        let s = c.section(RateLimitSettings.self)
        #expect(s.isConfigured && s.method == "POST" && s.path == "/chat/conversations/ID/messages")
        #expect(s.burst == 250 && s.concurrency == 25)
        #expect(s.body == "{\"a\":1}" && s.headers == ["Content-Type": "application/json"])
    }

    @Test func absentSectionIsNotConfigured() throws {
        #expect(try loadConfig("target: http://127.0.0.1:1\n").section(RateLimitSettings.self).isConfigured == false)
    }

    @Test func everyProblemAtOnce() {
        do {
            _ = try loadConfig("rate_limit:\n  request: POST\n  burst: 6000\n  concurrency: 0\n  bursts: 3\n")
            Issue.record("expected a config error")
        } catch {
            let text = error.problems.map { "\($0.path): \($0.message)" }.joined(separator: "\n")
            #expect(text.contains("rate_limit.request"))
            #expect(text.contains("rate_limit.burst: 6000 is out of range (1…5000)"))
            #expect(text.contains("rate_limit.concurrency"))
            #expect(text.contains("rate_limit.bursts: unknown key (did you mean burst?)"))
        }
    }
}

/// The verdict on hand-made bursts: the planned-load arithmetic without a server.
@Suite struct RateLimitVerdictExamples {
    let plan = BurstPlan(method: "POST", url: "http://127.0.0.1:1/m", count: 50, concurrency: 5,
                         timeLimit: .seconds(8), requestTimeout: .seconds(2))

    func burst(_ answers: [(Int, [(String, String)])]) -> BurstResult {
        BurstResult(responses: answers.enumerated().map { i, a in
            BurstResponse(number: i + 1, status: a.0, headers: a.1.map { (name: $0.0, value: $0.1) })
        }, sent: answers.count, stop: .completed, elapsed: .milliseconds(100), connections: 5)
    }

    func draft6(_ remaining: Int) -> [(String, String)] {
        [("RateLimit-Limit", "600"), ("RateLimit-Remaining", "\(remaining)"), ("RateLimit-Reset", "50"), ("RateLimit-Policy", "600;w=60")]
    }

    @Test func plannedLoadExhaustsTheLimiter() {
        var load = LoadSettings()
        load.vus = 120
        let o = RateLimitCheck.judge(burst((0..<10).map { (201, draft6(599 - $0)) }), plan: plan, load: load)
        #expect(o.status == .fail)
        #expect(o.summary.contains("at ~2 requests/s per VU, 120 VUs exhaust 600 per 1 min in about 3 s"), "\(o.summary)")
        #expect(o.summary.contains("sent 10 POST requests (each may have created a row)"))
    }

    @Test func plannedLoadStaysUnder() {
        var load = LoadSettings()
        load.vus = 4
        let o = RateLimitCheck.judge(burst((0..<10).map { (201, draft6(599 - $0)) }), plan: plan, load: load)
        #expect(o.status == .warn)
        #expect(o.summary.contains("4 VUs at ~2 requests/s stay under it"), "\(o.summary)")
    }

    @Test func noVUsWarns() {
        let o = RateLimitCheck.judge(burst((0..<10).map { (201, draft6(599 - $0)) }), plan: plan, load: LoadSettings())
        #expect(o.status == .warn)
        #expect(o.summary.contains("set load.vus"))
    }

    @Test func testEndsBeforeExhaustion() {
        var load = LoadSettings()
        load.vus = 10
        load.duration = .seconds(10)
        // 600 per 60 s at 20 r/s lasts 30 s; the test lasts 10 s.
        let o = RateLimitCheck.judge(burst((0..<10).map { (201, draft6(599 - $0)) }), plan: plan, load: load)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("after the 10 s test ends"))
    }

    @Test func refusalNamesTheRequestNumber() {
        let answers = (1...30).map { n in n <= 20 ? (201, [("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "\(20 - n)")])
                                                  : (429, [("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "0"), ("Retry-After", "59")]) }
        let o = RateLimitCheck.judge(burst(answers), plan: plan, load: LoadSettings())
        #expect(o.status == .fail)
        #expect(o.summary.contains("the limiter answered 429 from request 21 on (20 succeeded first, 30 sent) (limit 20, resets in 59 s, X-RateLimit-*)"), "\(o.summary)")
        #expect(o.evidence["firstRefusedAt"] == .int(21))
    }

    @Test func plain503IsNotALimiter() {
        let o = RateLimitCheck.judge(burst([(201, []), (503, [])]), plan: plan, load: LoadSettings())
        #expect(o.status == .warn)
        #expect(o.summary.contains("part of the burst failed"))
    }

    @Test func nothingAnsweredPasses() {
        let o = RateLimitCheck.judge(burst((0..<10).map { _ in (201, []) }), plan: plan, load: LoadSettings())
        #expect(o.status == .pass)
        #expect(o.summary.contains("a limiter that skips these requests (a `skip` rule, an allow-list of this address) looks the same"))
    }

    @Test func remainingThatNeverFallsWarns() {
        let o = RateLimitCheck.judge(burst((0..<10).map { _ in (201, draft6(600)) }), plan: plan, load: LoadSettings())
        #expect(o.status == .warn)
        #expect(o.summary.contains("Remaining stays at 600"))
    }
}

/// Real limiters on loopback: the python counting limiter (each header generation) and nginx limit_req.
@Suite(.serialized, .tags(.live), .runsLive) struct RateLimitLoopback {
    let check = RateLimitCheck(probes: .live)

    func run(_ base: String, request: String = "GET /anything", burst: Int = 50, concurrency: Int = 10, vus: Int? = nil,
             health: String = "/health", section: Bool = true, timeout: String = "2s") async throws -> CheckOutcome {
        var yaml = "target: \(base)\nhealth:\n  path: \(health)\n"
        if section { yaml += "rate_limit:\n  request: \(request)\n  burst: \(burst)\n  concurrency: \(concurrency)\n" }
        if let vus { yaml += "load:\n  vus: \(vus)\n" }
        let c = try loadConfig(yaml)
        return try await check.run(CheckContext(config: c, timeout: parseDuration(timeout)!))
    }

    @Test(arguments: ["legacy", "draft6", "draft7", "draft8", "none"])
    func lowLimitRefusesFromRequest21(_ generation: String) async throws {
        let s = try await FixtureServer.start("counting", ["20", "60", generation])
        defer { s.stop() }
        let o = try await run(s.url)
        #expect(o.status == .fail)
        #expect(o.summary.contains("the limiter answered 429 from request 21 on"), "\(o.summary)")
        #expect(o.evidence["firstRefusedAt"] == .int(21))
        if generation != "none" {
            #expect(o.summary.contains("20"), "\(o.summary)")
            #expect(o.evidence["headerGeneration"] != nil)
        }
        if generation == "draft6" || generation == "draft7" || generation == "draft8" {
            #expect(o.summary.contains("20 per 1 min"), "\(o.summary)")
        }
    }

    @Test(arguments: ["legacy", "draft6", "draft7", "draft8"])
    func highLimitIsOnButNotTripped(_ generation: String) async throws {
        let s = try await FixtureServer.start("counting", ["10000", "60", generation])
        defer { s.stop() }
        let quiet = try await run(s.url, burst: 100, vus: 20)   // 40 r/s × 60 s = 2,400 < 10,000
        let busy = try await run(s.url, burst: 100, vus: 120)   // 240 r/s exhausts 10,000 in ~42 s
        if generation == "legacy" {
            // No window in legacy headers: any load that spends the limit counts as exhausting it.
            #expect(quiet.status == .fail, "\(quiet.summary)")
        } else {
            #expect(quiet.status == .warn, "\(quiet.summary)")
            #expect(quiet.summary.contains("stay under it"))
        }
        #expect(busy.status == .fail, "\(busy.summary)")
        #expect(busy.summary.contains("120 VUs exhaust"), "\(busy.summary)")
        #expect(busy.evidence["remainingFell"] != nil)
    }

    @Test func limiter503WithRetryAfterCounts() async throws {
        let s = try await FixtureServer.start("counting", ["10", "60", "none", "503"])
        defer { s.stop() }
        let o = try await run(s.url)
        #expect(o.status == .fail)
        #expect(o.summary.contains("answered 503 from request 11 on"), "\(o.summary)")
    }

    @Test func stopsOnceTheLimiterHasClearlyAnswered() async throws {
        let s = try await FixtureServer.start("counting", ["5", "60", "draft8"])
        defer { s.stop() }
        let o = try await run(s.url, burst: 5000, concurrency: 4)
        #expect(o.status == .fail)
        guard case .int(let sent)? = o.evidence["sent"] else { Issue.record("no sent"); return }
        #expect(sent < 30, "sent \(sent)")
        #expect(o.evidence["stopped"] != nil)
    }

    @Test func healthOnlyWithoutASection() async throws {
        let s = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#, "RateLimit-Limit: 100", "RateLimit-Remaining: 42", "RateLimit-Policy: 100;w=900"])
        defer { s.stop() }
        let o = try await run(s.url, section: false)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("read the health response only (no rate_limit section, no burst sent)"))
        #expect(o.evidence["sent"] == .int(1))
        let plain = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { plain.stop() }
        let p = try await run(plain.url, section: false)
        #expect(p.status == .pass)
        #expect(p.summary.contains("no rate-limit headers on GET"))
    }

    @Test func burstIsBoundedInTime() async throws {
        let s = try await FixtureServer.start("hang")
        defer { s.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let o = try await run(s.url, burst: 250, concurrency: 5, timeout: "300ms")
        let took = clock.now - start
        // The burst stops itself at its time limit (4 × 300 ms), far short of 250 requests; the wall-clock
        // guard only catches a real hang (250 × 300 ms / 5 connections would be 15 s), not a slow machine.
        guard case .string(let stopped)? = o.evidence["stopped"], case .int(let sent)? = o.evidence["sent"] else {
            Issue.record("no stop reason: \(o.evidence)")
            return
        }
        #expect(stopped.hasPrefix("time limit 1.2 s reached"), "\(stopped)")
        #expect(sent < 250)
        #expect(took < .seconds(10), "took \(took)")
        #expect(o.status == .fail)
        #expect(o.summary.contains("got no answer"), "\(o.summary)")
    }

    // nginx limit_req, default refusal 503 and limit_req_status 429.
    @Test(arguments: ["503", "429"])
    func nginxLimitReq(_ mode: String) async throws {
        let nginx = try await NginxLimiter.start(mode)
        defer { nginx.stop() }
        let o = try await run(nginx.url, request: "GET /index.json", burst: 100, concurrency: 10, health: "/index.json")
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.contains(mode == "503" ? "nginx answered 503 (its limit_req default) from request" : "the limiter answered 429 from request"), "\(o.summary)")
        guard case .int(let first)? = o.evidence["firstRefusedAt"] else { Issue.record("no firstRefusedAt"); return }
        #expect((9...14).contains(first), "first refusal at \(first)")  // burst=10 nodelay, 5 r/s
    }

    @Test func nginxWithoutLimiterPasses() async throws {
        let nginx = try await NginxLimiter.start("open")
        defer { nginx.stop() }
        let o = try await run(nginx.url, request: "GET /index.json", burst: 250, concurrency: 25, health: "/index.json")
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["sent"] == .int(250))
        guard case .int(let conns)? = o.evidence["connections"] else { Issue.record("no connections"); return }
        #expect(conns <= 25, "keep-alive: \(conns) connections for 250 requests")
    }
}

/// Tests/Fixtures/nginx-limiter.sh: a real nginx in its own temporary prefix, stopped by PID.
final class NginxLimiter: @unchecked Sendable {
    let dir: URL
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }
    static let script = packageRoot.appendingPathComponent("Tests/Fixtures/nginx-limiter.sh").path

    static func start(_ mode: String) async throws -> NginxLimiter {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pf-nginx-\(UUID().uuidString.prefix(8))")
        let out = try await TestSupport.run("/bin/bash", [script, "start", dir.path, mode], limit: 30)
        guard out.status == 0, let line = out.stdout.split(separator: "\n").first(where: { $0.hasPrefix("PORT=") }),
              let port = Int(line.dropFirst(5)) else { throw FixtureError("nginx did not start: \(out.stderr)") }
        return NginxLimiter(dir: dir, port: port)
    }

    init(dir: URL, port: Int) { self.dir = dir; self.port = port }

    func stop() { _ = try? runProcess("/bin/bash", [Self.script, "stop", dir.path], limit: 10) }
}

/// The sample stack's Flask-Limiter ("20 per minute"), with and without DISABLE_RATE_LIMIT=true.
@Suite(.serialized, .tags(.live), .runsLive) struct RateLimitSampleStack {
    static let stack = packageRoot.appendingPathComponent("Tests/SampleStack/stack.sh").path

    func outcome(_ scenario: String) async throws -> CheckOutcome {
        let dir = try temporaryDirectory("pf-rl-stack")
        var env = ProcessInfo.processInfo.environment
        env["STACK_LIVE_KEYS"] = "target timeout health database.url rate_limit load"
        let up = try await run("/bin/bash", [Self.stack, "up", scenario, "--dir", dir.path], environment: env, limit: 120)
        defer {
            _ = try? runProcess("/bin/bash", [Self.stack, "down", "--dir", dir.path], limit: 60)
            try? FileManager.default.removeItem(at: dir)
        }
        guard up.status == 0 else { throw FixtureError("stack.sh up \(scenario) failed: \(up.stderr)") }
        let config = try ConfigLoader(sections: AllChecks.sections).load(file: dir.appendingPathComponent("preflight.yml").path,
                                                                       environment: [:])
        // 10 s, not the stack's 3 s: the ramp is bounded by 4 × the timeout, and in a full `make test` the Flask
        // development server, sharing 2 cores with the other suites, once answered only the first step in 12 s.
        // The findings asserted are about the limiter, not time.
        return try await RateLimitCheck(probes: .live).run(CheckContext(config: config, timeout: .seconds(10)))
    }

    @Test func flaskLimiterOnFailsAfter20() async throws {
        let o = try await outcome("rate-limited")
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.contains("the limiter answered 429 from request 21 on (20 succeeded first"), "\(o.summary)")
        #expect(o.summary.contains("limit 20"))
        #expect(o.summary.contains("POST requests (each may have created a row)"))
    }

    @Test func flaskLimiterSkippedPasses() async throws {
        let o = try await outcome("healthy")
        #expect(o.status == .pass, "\(o.summary)")
        // The run's one burst is the concurrency ramp for load.vus 20: 1 × 10, 5 × 15, 20 × 60 (more than burst 50).
        #expect(o.summary.contains("no limiter answered 85 requests (201 ×85)"), "\(o.summary)")
        guard case .object(let t)? = o.evidence["traffic"] else { Issue.record("no traffic evidence"); return }
        #expect(t["shape"] == .string("concurrency ramp 1 → 5 → 20"))
        #expect(t["sent"] == .int(85))
    }
}
