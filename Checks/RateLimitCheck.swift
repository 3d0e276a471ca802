import Foundation
import PreflightCore
import PreflightProbes

/// Sends a bounded burst of the load test's own request and reads what the limiter says.
public struct RateLimitCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "rate-limit", title: "Rate limiter", layer: .limits, prerequisites: ["health"],
        examples: [
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001\nrate_limit:\n  request: POST /messages\n  burst: 50", answers: ProbeAnswers {
                $0.burst = ProbeAnswers.burst { n in
                    n <= 20 ? .answer(n, 201) : .answer(n, 429, headers: [("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "0")])
                }
            }), says: "the limiter answered 429 from request 21 on (20 succeeded first, 50 sent)"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:8080\nrate_limit:\n  request: GET /messages\n  burst: 50", answers: ProbeAnswers {
                $0.burst = ProbeAnswers.burst { n in n <= 10 ? .answer(n, 200) : .answer(n, 503, headers: [("Server", "nginx/1.22.1")]) }
            }), says: "nginx answered 503 (its limit_req default) from request 11 on"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001\nrate_limit:\n  request: GET /messages\nload:\n  vus: 100", answers: ProbeAnswers {
                $0.burst = ProbeAnswers.burst { n in
                    .answer(n, 200, headers: [("RateLimit-Limit", "1000"), ("RateLimit-Remaining", String(1000 - n))])
                }
            }), says: "at ~2 requests/s per VU, 100 VUs exhaust"),
            CheckExample(.warn, given: World(config: "target: http://127.0.0.1:3001\nrate_limit:\n  request: GET /messages\n  burst: 50", answers: ProbeAnswers {
                $0.burst = ProbeAnswers.burst { n in
                    .answer(n, 200, headers: [("RateLimit-Limit", "1000"), ("RateLimit-Remaining", String(1000 - n))])
                }
            }), says: "set load.vus to know whether the load test exhausts it"),
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001\nrate_limit:\n  request: GET /messages\n  burst: 50", answers: ProbeAnswers {
                $0.burst = ProbeAnswers.burst { n in .answer(n, 200) }
            }), says: "no limiter answered 50 requests (200 ×50)"),
            // A limiter that never answered 50 unauthenticated requests proves nothing about the authenticated ones.
            CheckExample(.warn, given: World(config: "target: http://127.0.0.1:3001\nrate_limit:\n  request: GET /messages\n  burst: 50", answers: ProbeAnswers {
                $0.burst = ProbeAnswers.burst { n in .answer(n, 401) }
            }), says: "the rate limiter could not be judged: every answer of the ramp was 401 ×50"),
            // Nor do a few successes among many 401s (a token that works for one route, or for a few requests).
            CheckExample(.warn, given: World(config: "target: http://127.0.0.1:3001\nrate_limit:\n  request: GET /messages\n  burst: 50", answers: ProbeAnswers {
                $0.burst = ProbeAnswers.burst { n in .answer(n, n % 10 == 0 ? 200 : 401) }
            }), says: "the rate limiter could not be judged: the ramp's answers were 401 ×45, 5 of 50 succeeded"),
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:3001/health"] = .answer(200, #"{"status":"ok"}"#)
            }), says: "no rate-limit headers on GET http://127.0.0.1:3001/health: read the health response only"),
            CheckExample(.skipped, given: World(config: ""), says: "no target configured"),
        ],
        timeoutBudget: 6)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetReach.self, LoadPlan.self, PlannedTraffic.self, DatabaseSettings.self]

    /// How a k6 VU's request rate is estimated: a script that sleeps ~0.5–1 s between requests
    /// makes about 1–2 requests/s; the busy end is used, so the estimate errs towards "exhausted".
    static let requestsPerVU = 2.0
    /// The limiter has clearly answered after this many refusals: the rest of the burst adds nothing.
    static let stopAfterLimited = 5

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let reach = context.fact(TargetReach.self)
        guard let healthURL = reach.healthURL else { return .skipped("no target configured") }
        // Without load.vus, the peak of the script's own options (vus, stages, scenarios), from the one reading of it.
        let loadPlan = context.fact(LoadPlan.self)
        var load = loadPlan.settings
        load.vus = loadPlan.peakVUs
        // The run's one burst of traffic (a concurrency ramp when a peak is known), shared with the pool-traffic check.
        if let sample = await TrafficSample.measure(context, probes: probes) {
            if let why = sample.unjudged { return sample.unjudgedOutcome(why, check: "the rate limiter") }
            let p = sample.plan
            let plan = BurstPlan(method: p.method, url: p.url, headers: p.headers, body: p.body, count: p.plannedRequests,
                                 concurrency: p.steps.map(\.concurrency).max() ?? 1, timeLimit: context.timeout * 4,
                                 requestTimeout: context.timeout, stopAfterLimited: Self.stopAfterLimited)
            var o = Self.judge(sample.combined, plan: plan, load: load)
            o.evidence["traffic"] = sample.evidenceSummary
            if o.status == .fail { o = o.effect(Self.effect(sample.combined, plan: loadPlan)) }
            return o
        }
        return await healthOnly(healthURL, options: reach.requestOptions(for: healthURL, environment: probes.host.environment),
                                context: context, load: load)
    }

    /// 429, or a 503 that a limiter marked (rate-limit headers, Retry-After) or that nginx sent
    /// (`limit_req` answers 503 by default, with no header at all).
    static func isLimiterAnswer(_ status: Int, _ headers: [(name: String, value: String)]) -> Bool {
        RateLimitHeaders.isLimiterAnswer(status, headers)
    }

    /// Without a rate_limit section: one GET of the health URL, headers only; no burst is sent.
    func healthOnly(_ url: String, options: HTTPRequestOptions, context: CheckContext, load: LoadSettings) async -> CheckOutcome {
        let x = await probes.http.send("GET", url: url, headers: [:], body: nil, timeout: context.timeout, bodyCap: 4096, options: options)
        let where_ = "GET \(redactURL(url))"
        var evidence = Evidence(["request": .string(where_), "sent": 1,
                                 "mode": "health response only (no rate_limit section)"])
        guard let status = x.status else {
            evidence["error"] = .string(x.failure.map { "curl \($0.code): \($0.message)" } ?? "no status")
            return .warn("\(where_) got no answer, so no rate-limit headers could be read", evidence: evidence,
                         fix: "see the health check; add rate_limit.request to test the load test's own route")
        }
        evidence["status"] = .int(status)
        let kept = x.headers.filter { RateLimitHeaders.isRateLimitHeader($0.name) }
        let h = RateLimitHeaders.parse(kept)
        if !kept.isEmpty { evidence["headers"] = .object(Evidence(kept.map { ($0.name, JSONValue.string($0.value)) })) }
        let note = "read the health response only (no rate_limit section, no burst sent)"
        if Self.isLimiterAnswer(status, x.headers) {
            return .fail("\(where_) answered \(status): a limiter refuses requests already\(Self.policySuffix(h)); \(note)",
                         evidence: evidence, fix: Self.disableFix)
        }
        if h.limit != nil || h.remaining != nil {
            return Self.limiterOn(h, falling: nil, load: load, lead: "\(where_) carries rate-limit headers", note: note, evidence: evidence)
        }
        return .pass("no rate-limit headers on \(where_): \(note); add rate_limit.request to test the load test's own route",
                     evidence: evidence)
    }

    static let disableFix = "disable or raise the limiter for the load test (e.g. start the backend with DISABLE_RATE_LIMIT=true and check its skip really reads it), or run k6 from an address the limiter allows"

    /// The verdict on a finished burst.
    static func judge(_ r: BurstResult, plan: BurstPlan, load: LoadSettings, now: Date = Date()) -> CheckOutcome {
        let what = "\(plan.method) \(redactURL(plan.url))"
        var evidence = Evidence(["request": .string(what)])
        evidence["sent"] = .int(r.sent)
        evidence["answered"] = .int(r.responses.filter { $0.status != nil }.count)
        var counts: [String: Int] = [:]
        for x in r.responses { counts[x.status.map(String.init) ?? "no answer", default: 0] += 1 }
        evidence["statuses"] = .object(Evidence(counts.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) }))
        evidence["elapsedMs"] = .int(Int(r.elapsed.milliseconds.rounded()))
        evidence["requestsPerSecond"] = .double((r.requestsPerSecond * 10).rounded() / 10)
        evidence["connections"] = .int(r.connections)
        evidence["concurrency"] = .int(plan.concurrency)
        switch r.stop {
        case .completed: break
        case .limiterAnswered: evidence["stopped"] = .string("after \(stopAfterLimited) refusals: the limiter had answered")
        case .timeLimit: evidence["stopped"] = .string("time limit \(format(plan.timeLimit)) reached (\(r.sent) of \(plan.count) sent)")
        }
        let sideEffect = "sent \(r.sent) \(plan.method) requests" + (plan.method == "GET" || plan.method == "HEAD" ? "" : " (each may have created a row)")
        evidence["sideEffects"] = .string(sideEffect)
        let statusText = counts.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")

        let inOrder = r.responses.sorted { $0.answered < $1.answered }
        let limited = inOrder.filter { x in x.status.map { isLimiterAnswer($0, x.headers) } ?? false }
        if let first = limited.first, let status = first.status {
            let h = RateLimitHeaders.parse(first.headers, now: now)
            // Where the refusals began: the successes among requests started before the last refusal, plus one.
            // Neither the first refusal's start position nor its answer position will do: concurrent
            // requests reach the server out of start order, and a refusal comes back long before a
            // success that writes to a database. The burst stops soon after the limiter has answered,
            // so few refills slip in before its last refusal.
            let last = limited.map(\.number).max() ?? first.number
            let before = r.responses.filter { $0.number < last && ($0.status.map { (200...299).contains($0) } ?? false) }.count
            evidence["firstRefusedAt"] = .int(before + 1)
            evidence["refused"] = .int(limited.count)
            addHeaders(first, h, to: &evidence)
            let byNginx = status == 503 && h.isEmpty
            let who = byNginx ? "nginx answered 503 (its limit_req default)" : "the limiter answered \(status)"
            return .fail("\(who) from request \(before + 1) on (\(before) succeeded first, \(r.sent) sent)\(policySuffix(h)); \(sideEffect)",
                         evidence: evidence,
                         fix: byNginx ? "raise or remove nginx's limit_req for the load test, or set limit_req_status 429 so clients can tell" : disableFix)
        }

        let withHeaders = r.responses.map { RateLimitHeaders.parse($0.headers, now: now) }.filter { $0.limit != nil || $0.remaining != nil }
        if let last = withHeaders.last, let example = r.responses.last(where: { !RateLimitHeaders.parse($0.headers).isEmpty }) {
            addHeaders(example, last, to: &evidence)
            let remaining = withHeaders.compactMap(\.remaining)
            let falling = remaining.count >= 2 ? (remaining.max()! > remaining.min()!) : nil
            if let hi = remaining.max(), let lo = remaining.min() { evidence["remainingFell"] = .string("\(hi) → \(lo)") }
            if falling == false {
                return .warn("rate-limit headers on every answer, but Remaining stays at \(remaining[0]): this route's requests are not counted (\(statusText)); \(sideEffect)",
                             evidence: evidence, fix: "check which routes the limiter counts; the load test's other requests may be")
            }
            return limiterOn(last, falling: falling, load: load,
                             lead: "no refusal in \(r.responses.count) answers (\(statusText)), but rate-limit headers show a limiter counting", note: sideEffect, evidence: evidence)
        }

        let ok = counts.filter { Int($0.key).map { (200...299).contains($0) } ?? false }.values.reduce(0, +)
        if ok == 0 {
            if let f = r.responses.first(where: { $0.failure != nil }), r.responses.allSatisfy({ $0.status == nil }) {
                evidence["error"] = .string("curl \(f.failureCode ?? 0): \(f.failure ?? "")")
                return .fail("\(what) got no answer to any of \(r.sent) requests: \(f.failure ?? "")", evidence: evidence,
                             fix: "check rate_limit.request and that the service answers it")
            }
            return .warn("\(what) never succeeded (\(statusText)): cannot judge a limiter on a request that fails; \(sideEffect)",
                         evidence: evidence, fix: "set rate_limit.request (and body, headers) to a request the load test really sends")
        }
        if counts.contains(where: { $0.key == "no answer" || (Int($0.key).map { $0 >= 500 } ?? false) }) {
            return .warn("no limiter answered, but part of the burst failed (\(statusText)); \(sideEffect)", evidence: evidence,
                         fix: "look at the service's log for the failures under \(plan.concurrency) concurrent requests")
        }
        return .pass("no limiter answered \(r.responses.count) requests (\(statusText)) in \(format(r.elapsed)); a limiter that skips these requests (a `skip` rule, an allow-list of this address) looks the same; \(sideEffect)",
                     evidence: evidence)
    }

    static func addHeaders(_ x: BurstResponse, _ h: RateLimitHeaders, to evidence: inout Evidence) {
        let kept = x.headers.filter { RateLimitHeaders.isRateLimitHeader($0.name) }
        if !kept.isEmpty { evidence["headers"] = .object(Evidence(kept.map { ($0.name, JSONValue.string($0.value)) })) }
        if let g = h.generation { evidence["headerGeneration"] = .string(g.rawValue) }
        if let p = h.policyText { evidence["policy"] = .string(p) }
        if !x.bodySample.isEmpty, let s = String(data: x.bodySample, encoding: .utf8), x.status.map({ $0 >= 400 }) ?? false {
            evidence["bodySample"] = .string(s.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
    }

    /// " (limit 20, resets in 58 s; X-RateLimit-*)" or "".
    static func policySuffix(_ h: RateLimitHeaders) -> String {
        var parts: [String] = []
        if let p = h.policyText { parts.append(p) }
        if let reset = h.resetSeconds ?? h.retryAfterSeconds { parts.append("resets in \(RateLimitHeaders.seconds(reset.rounded()))") }
        if let g = h.generation { parts.append(g.rawValue) }
        return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
    }

    /// The limiter is on but did not refuse: fail when the planned load would exhaust it during the test.
    static func limiterOn(_ h: RateLimitHeaders, falling: Bool?, load: LoadSettings, lead: String, note: String,
                          evidence: Evidence) -> CheckOutcome {
        var evidence = evidence
        let policy = h.policyText ?? "an unknown limit"
        guard let vus = load.vus, let limit = h.limit ?? h.remaining, limit >= 0 else {
            return .warn("\(lead)\(policySuffix(h)); set load.vus to know whether the load test exhausts it; \(note)",
                         evidence: evidence, fix: disableFix)
        }
        let rate = Double(vus) * requestsPerVU
        let seconds = Double(limit) / rate
        evidence["estimate"] = .string("~\(Int(requestsPerVU)) requests/s per VU (a VU sleeping ~0.5–1 s between requests), \(vus) VUs: ~\(Int(rate)) requests/s")
        let exhaust = "at ~\(Int(requestsPerVU)) requests/s per VU, \(vus) VUs exhaust \(policy) in about \(RateLimitHeaders.seconds(max(1, seconds.rounded())))"
        if let w = h.windowSeconds, rate * Double(w) <= Double(limit) {
            return .warn("\(lead)\(policySuffix(h)); \(vus) VUs at ~\(Int(requestsPerVU)) requests/s stay under it; \(note)",
                         evidence: evidence, fix: "keep the load under \(policy), or disable the limiter for the test")
        }
        if let d = load.duration, seconds > d.seconds {
            return .warn("\(lead)\(policySuffix(h)); \(exhaust), after the \(format(d)) test ends; \(note)",
                         evidence: evidence, fix: disableFix)
        }
        return .fail("\(lead)\(policySuffix(h)): \(exhaust); \(note)", evidence: evidence, fix: disableFix)
    }
}

extension RateLimitCheck {
    /// The requests the limiter will refuse in the run: its quota per window against the planned rate (the closed
    /// model: VUs / (the script's sleeps + the burst's median response)) over the planned duration. nil share when
    /// the quota, the rate or the duration is not known.
    static func effect(_ r: BurstResult, plan: LoadPlan) -> Effect {
        let limited = r.responses.sorted { $0.answered < $1.answered }.filter { x in x.status.map { isLimiterAnswer($0, x.headers) } ?? false }
        let status = limited.first?.status.map(String.init) ?? "429"
        let k6 = "\(status) (the limiter's refusal)"
        guard let first = limited.first else { return Effect(share: nil, k6: k6, basis: "the limiter refuses part of the requests; unknown share") }
        let h = RateLimitHeaders.parse(first.headers)
        let succeeded = r.responses.filter { $0.status.map { (200...299).contains($0) } ?? false }
        let quota = h.limit ?? (succeeded.isEmpty ? nil : succeeded.count)
        let times = succeeded.compactMap(\.seconds).sorted()
        let response = times.isEmpty ? 0.1 : times[times.count / 2]
        guard let quota, let vus = plan.peakVUs, let think = plan.options?.iterationSleep, let duration = plan.plannedSeconds else {
            return Effect(share: nil, from: "start", k6: k6,
                          basis: "the limiter refuses requests past its quota; unknown share (the quota, VUs, the script's sleeps or the test's duration not known)")
        }
        let rate = EffectModel.rate(vus: vus, think: think, response: response)
        // The window: the limiter's own, else at least what its reset or Retry-After says is left of it.
        let window = h.windowSeconds.map(Double.init) ?? max(1, h.resetSeconds ?? h.retryAfterSeconds ?? 60)
        var share = EffectModel.rateLimited(quota: quota, window: window, rate: rate, duration: duration)
        if h.windowSeconds == nil {
            // An unknown window may be as long as the run: then only one quota gets through.
            share = ShareRange(low: share.low, high: max(share.high, EffectModel.rateLimited(quota: quota, window: duration, rate: rate, duration: duration).high))
        }
        return Effect(share: share, from: "start", k6: k6,
                      basis: "\(quota) requests per \(h.windowSeconds.map { "\($0) s" } ?? "window (~\(Int(window)) s)") against ~\(String(format: "%.1f", rate)) requests/s (\(vus) VUs, \(String(format: "%.1f", think)) s of sleep an iteration) for \(Int(duration)) s")
    }
}
