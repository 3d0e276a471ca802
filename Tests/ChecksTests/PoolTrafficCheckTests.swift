import Foundation
import Synchronization
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

private func url(_ s: String) -> DatabaseURL { DatabaseURL.parse(s).0! }

/// Answers every request of a step at once, with a latency and a status that depend on the step's concurrency.
final class RampBurster: HTTPBurster, @unchecked Sendable {
    let calls = Mutex<[Int]>([])
    let answer: @Sendable (Int, Int) -> (status: Int, seconds: Double)
    init(_ answer: @escaping @Sendable (_ concurrency: Int, _ i: Int) -> (status: Int, seconds: Double)) { self.answer = answer }
    func burst(_ plan: BurstPlan, isLimited: @escaping @Sendable (Int, [(name: String, value: String)]) -> Bool) async -> BurstResult {
        calls.withLock { $0.append(plan.concurrency) }
        var out: [BurstResponse] = []
        var limited = 0
        for i in 0..<plan.count {
            let a = answer(plan.concurrency, i)
            out.append(BurstResponse(number: i + 1, status: a.status, seconds: a.seconds))
            if isLimited(a.status, []) { limited += 1; if limited >= plan.stopAfterLimited { return BurstResult(responses: out, sent: i + 1, stop: .limiterAnswered, elapsed: .milliseconds(10), connections: plan.concurrency) } }
        }
        return BurstResult(responses: out, sent: plan.count, stop: .completed, elapsed: .milliseconds(10), connections: plan.concurrency)
    }
}

/// The shared scripted fake (pg_stat_activity with `busy` of the app's connections active) with this burster.
func rampProbes(_ burster: RampBurster, busy: Int) -> Probes {
    var p = ProbeAnswers { $0.postgres = .success(ProbeAnswers.activity(busy: busy)) }.probes
    p.burster = burster
    return p
}

@Suite struct PoolTrafficExamples {
    static let db = "postgresql://app:ramp-pw-x@127.0.0.1:5432/chat"

    func context(vus: Int? = 120, pool: PoolSpec? = PoolSpec(name: "api", size: 2, url: url("postgresql://app:ramp-pw-x@127.0.0.1:5432/chat?connection_limit=2&pool_timeout=1"))) -> CheckContext {
        var c = Config()
        c.target = ServiceURL.parse("http://127.0.0.1:1/api").0
        c.set(DatabaseSettings(url: url(Self.db)))
        c.set(PoolSettings(pools: pool.map { [$0] } ?? []))
        var l = LoadSettings()
        l.vus = vus
        l.request = ("GET", "/chat/messages")
        c.set(l)
        return CheckContext(config: c, timeout: .seconds(30))  // the fake answers at once; 4 × --timeout only guards a starved thread pool
    }

    func run(_ burster: RampBurster, busy: Int = 2, _ ctx: CheckContext? = nil) async throws -> CheckOutcome {
        try await PoolTrafficCheck(probes: rampProbes(burster, busy: busy)).run(ctx ?? context())
    }

    /// 50 ms alone; through a pool of 2, each request waits for the ones ahead of it.
    static var saturating: RampBurster { RampBurster { c, _ in (200, 0.05 * max(1, Double(c) / 2)) } }

    @Test func rampShape() {
        let p = TrafficPlan.plan(target: ServiceURL.parse("http://127.0.0.1:1").0!, rate: RateLimitSettings(),
                                 load: { var l = LoadSettings(); l.request = ("GET", "/x"); return l }(), peak: 120)!
        #expect(p.steps.map(\.concurrency) == [1, 5, 25, 100])
        #expect(p.steps.map(\.count) == [10, 15, 75, 300])
        #expect(p.plannedRequests <= TrafficPlan.rampCap)
        #expect(TrafficPlan.plan(target: ServiceURL.parse("http://127.0.0.1:1").0!, rate: RateLimitSettings(), load: LoadSettings(), peak: 120) == nil)
        // load.request is a read unless load.body is written: then the ramp sends it, as the test will (issue 30).
        #expect(p.body == nil)
        let config = try? ConfigLoader(sections: AllChecks.sections, secrets: Secrets()).load(
            yaml: "target: http://127.0.0.1:1\nload:\n  vus: 10\n  request: POST /messages\n  headers: {Content-Type: application/json}\n  body: '{\"text\": \"hi\"}'\n",
            file: nil, environment: [:])
        let load = config?.section(LoadSettings.self)
        #expect(load?.body == #"{"text": "hi"}"#)
        let post = load.flatMap { TrafficPlan.plan(target: ServiceURL.parse("http://127.0.0.1:1").0!, rate: RateLimitSettings(), load: $0, peak: 10) }
        #expect(post?.method == "POST")
        #expect(post?.body == Data(#"{"text": "hi"}"#.utf8))
    }

    @Test func poolTooSmallForThePeakFails() async throws {
        let b = Self.saturating
        let o = try await run(b)
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.hasPrefix("api pool 2 saturates at 5 concurrent requests: p95 50 ms → 125 ms, its connections all busy (pg_stat_activity); at 120 VUs a request waits ~3.0 s for a connection, past pool_timeout=1 in its url: expect 5xx"), "\(o.summary)")
        #expect(o.says("sent 400 GET requests"), "\(o.sentences)")
        #expect(b.calls.withLock { $0 } == [1, 5, 25, 100])
    }

    @Test func healthyRampPasses() async throws {
        let o = try await run(RampBurster { _, _ in (200, 0.01) }, busy: 1)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary.hasPrefix("ramp 1 → 5 → 25 → 100 concurrent: p95 10 ms → 10 ms → 10 ms → 10 ms"), "\(o.summary)")
    }

    @Test func errorsThatComeWithConcurrencyFail() async throws {
        let b = RampBurster { c, i in (c >= 25 && i % 2 == 0 ? 503 : 200, 0.01) }
        let o = try await run(b, busy: 1)
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.says("at 25 concurrent requests 38 of 75 failed (503 ×38) (more than the api pool's 2 connections, pool_timeout=1 in its url); at 1 concurrent none did"), "\(o.summary)")
        #expect(b.calls.withLock { $0 } == [1, 5, 25])   // stopped at the first sign of distress
    }

    /// Issue 30: a pool declared 15 (SQLAlchemy) whose app never held more than 2 connections: what pg_stat_activity
    /// measured wins in the sentence, and the fix speaks SQLAlchemy's words.
    @Test func theMeasuredPoolWinsOverTheDeclaredOne() async throws {
        let b = RampBurster { c, i in (c >= 25 && i % 2 == 0 ? 503 : 200, 0.01) }
        let declared = PoolSpec(name: "backend", size: 15, url: url("postgresql://app:ramp-pw-x@127.0.0.1:5432/chat"), driver: .sqlalchemy)
        let o = try await run(b, busy: 1, context(pool: declared))
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.says("(the app never held more than 2 connections in pg_stat_activity, fewer than the backend pool's declared 15: its pool is about 2, SQLAlchemy's default pool_timeout 30 s)"), "\(o.summary)")
        #expect(!o.says("more than the backend pool's 15 connections"))
    }

    @Test func withinTheTimeoutButPastTheThresholdWarns() async throws {
        let ctx = context(pool: PoolSpec(name: "api", size: 2, url: url(Self.db), driver: .prisma))
        let sample = try #require(await TrafficSample.measure(ctx, probes: rampProbes(Self.saturating, busy: 2)))
        let pool = PoolDemand([PoolSpec(name: "api", size: 2, url: url(Self.db), driver: .prisma)]).pools.first
        let o = PoolSaturation(sample: sample, pool: pool, poolURL: url(Self.db), timeout: PoolTimeout.of(url: url(Self.db), driver: .prisma),
                               threshold: (0.5, "http_req_duration p(95)<500")).outcome()
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.says("past the script's threshold http_req_duration p(95)<500"), "\(o.summary)")
        #expect(o.evidence["poolTimeout"] == .string("Prisma's default pool_timeout 10 s"))
    }

    @Test func failingAloneIsNotCapacity() async throws {
        let o = try await run(RampBurster { _, _ in (500, 0.01) }, busy: 0)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.says("fails even alone (500 ×10 at 1 concurrent)"), "\(o.summary)")
    }

    @Test func noPeakOrLimiterSkips() async throws {
        #expect(try await run(Self.saturating, context(vus: nil)).status == .skipped)
        let limited = try await run(RampBurster { _, i in (i >= 3 ? 429 : 200, 0.01) })
        #expect(limited.status == .skipped, "\(limited.summary)")
        #expect(limited.says("the limiter answered"), "\(limited.summary)")
    }

    @Test func driverTimeouts() {
        #expect(PoolTimeout.of(url: nil, driver: .sqlalchemy)?.seconds == 30)
        #expect(PoolTimeout.of(url: nil, driver: .hikari)?.seconds == 30)
        #expect(PoolTimeout.of(url: nil, driver: .nodePostgres)?.seconds == nil)
        #expect(PoolTimeout.of(url: nil, driver: .nodePostgres)?.source.contains("no timeout") == true)
        #expect(PoolTimeout.of(url: nil, driver: nil) == nil)
    }

    /// The rate-limit check and the pool-traffic check read one burst: the second gets the first's sample.
    @Test func oneBurstForBothChecks() async throws {
        let b = RampBurster { _, _ in (200, 0.01) }
        let probes = rampProbes(b, busy: 1)
        var c = context().config
        var r = RateLimitSettings()
        r.isConfigured = true
        r.burst = 50
        c.set(r)
        let shared = CheckContext(config: c, timeout: .seconds(30))
        async let a = RateLimitCheck(probes: probes).run(shared)
        async let p = PoolTrafficCheck(probes: probes).run(shared)
        let (rate, pool) = try await (a, p)
        #expect(b.calls.withLock { $0 } == [1, 5, 25, 100], "one ramp, not two")
        #expect(rate.says("no limiter answered 400 requests"), "\(rate.summary)")
        #expect(pool.status == .pass, "\(pool.summary)")
    }
}

/// The real sample stack (Flask, psycopg2's pool, real PostgreSQL): the ramp and the sampler against the real thing.
@Suite(.serialized, .tags(.live), .runsLive) struct PoolTrafficSampleStack {
    static let stack = packageRoot.appendingPathComponent("Tests/SampleStack/stack.sh").path

    /// Both checks of one run, sharing its one burst.
    func outcomes(_ scenario: String) async throws -> (pool: CheckOutcome, rate: CheckOutcome) {
        let dir = try temporaryDirectory("pf-pt-stack")
        let up = try await TestSupport.run("/bin/bash", [Self.stack, "up", scenario, "--dir", dir.path], limit: 120)
        defer {
            _ = try? runProcess("/bin/bash", [Self.stack, "down", "--dir", dir.path], limit: 60)
            try? FileManager.default.removeItem(at: dir)
        }
        guard up.status == 0 else { throw FixtureError("stack.sh up \(scenario) failed: \(up.stderr)") }
        let config = try ConfigLoader(sections: AllChecks.sections).load(file: dir.appendingPathComponent("preflight.yml").path,
                                                                       environment: [:])
        // --timeout 10 s, not the stack's 3 s: the ramp's bound (4 × --timeout) must not be spent by this test
        // process's own cooperative threads, which other suites' synchronous `stack.sh down` can hold for seconds
        // (seen once in a full run: one step of 10 requests, then "ramp stopped at 4 × --timeout" after 26 s).
        let shared = CheckContext(config: config, timeout: .seconds(10))
        async let p = PoolTrafficCheck(probes: .live).run(shared)
        async let r = RateLimitCheck(probes: .live).run(shared)
        return try await (p, r)
    }

    @Test func poolTooSmallIsFoundByTheRamp() async throws {
        let (o, rate) = try await outcomes("pool-too-small")
        #expect(o.status == .fail, "\(o.summary)")
        // Which of the two findings comes first depends on how busy this machine is: on a quiet one the samples
        // show both connections busy and Little's law says "expect 5xx"; on a loaded one Python's own time hides
        // part of the pool's and the 503s it answers past pool_timeout 1 s are the evidence.
        let saturated = o.says("chat-backend pool 2 saturates at") && o.says("past pool_timeout=1 in its url: expect 5xx")
        let erred = o.says("concurrent requests") && o.says("failed (503")
        #expect(saturated || erred, "\(o.summary)")
        #expect(o.says("GET requests in"), "\(o.summary)")
        guard case .object(let t)? = o.evidence["traffic"], case .object(let rt)? = rate.evidence["traffic"] else {
            Issue.record("no traffic evidence"); return
        }
        #expect(t["sent"] == rt["sent"], "the rate-limit check read the same burst")
        #expect(o.evidence["poolBusy"] != nil, "the database was sampled: \(o.evidence)")
    }
}
