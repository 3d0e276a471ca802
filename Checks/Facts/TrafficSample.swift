import Foundation
import PreflightCore
import PreflightProbes

/// What the traffic found: each step's answers and the database's samples while it ran.
public struct TrafficSample: Sendable {
    public struct Step: Sendable {
        public var concurrency: Int
        public var result: BurstResult
        /// pg_stat_activity while the step ran (at most `samplesPerStep`); empty without a database.
        public var samples: [[ActivityRow]]
    }
    public enum Stop: Sendable, Equatable {
        case completed, limiterAnswered, timeLimit
        case distress(String)
    }
    public var plan: TrafficPlan
    public var steps: [Step]
    public var stop: Stop
    public var elapsed: Duration
    /// Why the database could not be sampled, when it could not.
    public var samplingProblem: String?
    /// The listen-queue and CPU-throttling counters of the process listening on the target (a target on this
    /// machine), read just before the first step and just after the last: what the server check judges.
    public var serviceBefore: ServiceCounters?
    public var serviceAfter: ServiceCounters?

    public var sent: Int { steps.map(\.result.sent).reduce(0, +) }

    /// Every answer of every step, numbered in one sequence (what the rate-limit check reads as its burst).
    public var combined: BurstResult {
        var out: [BurstResponse] = []
        var offset = 0, answered = 0
        for s in steps {
            for var r in s.result.responses.sorted(by: { $0.answered < $1.answered }) {
                r.number += offset
                answered += 1
                r.answered = answered
                out.append(r)
            }
            offset += s.result.sent
        }
        let stop: BurstResult.Stop = switch self.stop {
        case .limiterAnswered: .limiterAnswered
        case .timeLimit: .timeLimit
        case .completed, .distress: .completed
        }
        return BurstResult(responses: out, sent: sent, stop: stop, elapsed: elapsed,
                           connections: steps.map(\.result.connections).reduce(0, +))
    }

    static let samplesPerStep = 50
    /// The limiter has clearly answered after this many refusals (the rate-limit check's rule).
    static let stopAfterLimited = 5

    /// Sends the run's traffic once (the first caller sends it; every other caller gets the same sample).
    public static func measure(_ context: CheckContext, probes: Probes) async -> TrafficSample? {
        let isLimited: @Sendable (Int, [(name: String, value: String)]) -> Bool = { RateLimitHeaders.isLimiterAnswer($0, $1) }
        guard let plan = TrafficPlan.planned(context, environment: probes.host.environment) else { return nil }
        let database = context.fact(DatabaseSettings.self).url
        let target = context.fact(TargetReach.self).target
        let timeout = context.timeout
        return await context.measured(TrafficSample.self) {
            // The target's process (if it is on this machine), found once per run: its counters frame the ramp.
            var pid: Int?
            if let target { pid = await TargetListener.locate(context, target: target, probes: probes).listener?.pid }
            let before = ServiceCounters.read(pid: pid, host: probes.host)
            var sample = await run(plan, database: database, timeout: timeout, probes: probes, isLimited: isLimited)
            sample.serviceBefore = before
            sample.serviceAfter = ServiceCounters.read(pid: pid, host: probes.host)
            return sample
        }
    }

    static func run(_ plan: TrafficPlan, database: DatabaseURL?, timeout: Duration, probes: Probes,
                    isLimited: @escaping @Sendable (Int, [(name: String, value: String)]) -> Bool) async -> TrafficSample {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + timeout * 4
        var sample = TrafficSample(plan: plan, steps: [], stop: .completed, elapsed: .zero)
        // One read-only session samples pg_stat_activity during the ramp (the plain burst needs none).
        var session: (any PostgresSession)?
        if plan.isRamp, let database {
            switch await probes.postgres.connect(database, timeout: timeout) {
            case .success(let s): session = s
            case .failure(let e): sample.samplingProblem = e.firstLine
            }
        } else if plan.isRamp {
            sample.samplingProblem = "no database.url"
        }
        var limited = 0
        for step in plan.steps {
            let left = clock.now.duration(to: deadline)
            guard left > .milliseconds(50) else { sample.stop = .timeLimit; break }
            var burst = BurstPlan(method: plan.method, url: plan.url, headers: plan.headers, body: plan.body, count: step.count,
                                  concurrency: step.concurrency, timeLimit: left, requestTimeout: timeout,
                                  stopAfterLimited: max(1, stopAfterLimited - limited))
            burst.options = plan.options
            burst.reuseConnections = plan.reuseConnections
            burst.keptHeaders = RateLimitHeaders.answerHeaders
            let sampler: Task<[[ActivityRow]], Never>? = session.map { s in
                Task {
                    // At least one sample per step, however short the step; then one every 100 ms until it ends.
                    var out: [[ActivityRow]] = []
                    repeat {
                        if case .success(let rows) = await s.query(activityQuery, timeout: min(timeout, .seconds(1))) {
                            out.append(rows.compactMap(ActivityRow.init(row:)))
                        }
                        do { try await Task.sleep(for: .milliseconds(100)) } catch { break }
                    } while !Task.isCancelled && out.count < samplesPerStep
                    return out
                }
            }
            let result = await probes.burster.burst(burst, isLimited: isLimited)
            sampler?.cancel()
            let samples = await sampler?.value ?? []
            sample.steps.append(Step(concurrency: step.concurrency, result: result, samples: samples))
            limited += result.responses.filter { r in r.failure == nil && r.status.map { isLimited($0, r.headers) } ?? false }.count
            if result.stop == .limiterAnswered || limited >= stopAfterLimited { sample.stop = .limiterAnswered; break }
            if result.stop == .timeLimit { sample.stop = .timeLimit; break }
            let errors = result.responses.filter { $0.status == nil || ($0.status ?? 0) >= 500 }.count
            if result.responses.count > 0, Double(errors) / Double(result.responses.count) > TrafficPlan.distress {
                sample.stop = .distress("\(errors) of \(result.responses.count) failed at \(step.concurrency) concurrent")
                break
            }
            if result.responses.contains(where: { ($0.seconds ?? 0) >= timeout.seconds || $0.failureCode == 28 }) {
                sample.stop = .distress("a request took --timeout \(format(timeout)) at \(step.concurrency) concurrent")
                break
            }
        }
        await session?.close()
        sample.elapsed = clock.now - start
        return sample
    }

    static let activityQuery = """
        SELECT coalesce(datname, ''), coalesce(usename, ''), coalesce(application_name, ''), coalesce(state, ''),
               coalesce(wait_event_type, ''), count(*)
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND coalesce(application_name, '') <> 'preflight'
        GROUP BY 1, 2, 3, 4, 5
        """
}

extension ActivityRow {
    init?(row r: [String?]) {
        guard r.count == 6, let n = r[5].flatMap({ Int($0) }) else { return nil }
        self.init(database: r[0] ?? "", user: r[1] ?? "", application: r[2] ?? "", state: r[3] ?? "", waitEventType: r[4] ?? "", count: n)
    }
}

extension TrafficSample {
    /// "401 ×190" when the ramp's answers never reached the work: client errors the limiter did not send (401, 403,
    /// 404, 405…) in every answer of a step, or in most answers of the ramp. A capacity measured on those is no
    /// verdict (a few successes among many 401s measure a service that did almost nothing). Nil when no step is
    /// like that, or when any failure is the service's (5xx, no answer), which the checks judge.
    public var unjudged: String? {
        let rs = steps.flatMap(\.result.responses)
        func isClient(_ r: BurstResponse) -> Bool { (r.status ?? 0) >= 400 && (r.status ?? 0) < 500 && r.status != 429 }
        guard !rs.isEmpty, !rs.contains(where: { $0.status == nil || ($0.status ?? 0) >= 500 }) else { return nil }
        let client = rs.filter(isClient)
        let stepWithoutSuccess = steps.contains { s in !s.result.responses.isEmpty && s.result.responses.allSatisfy(isClient) }
        guard stepWithoutSuccess || client.count * 2 > rs.count else { return nil }
        var counts: [Int: Int] = [:]
        for r in client { counts[r.status!, default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
    }

    /// The warning both checks give for `unjudged`: how to give the ramp a request that succeeds.
    public func unjudgedOutcome(_ why: String, check: String) -> CheckOutcome {
        let rs = steps.flatMap(\.result.responses)
        let auth = rs.contains { $0.status == 401 || $0.status == 403 }
        let fix = auth
            ? "give the ramp the credentials the script sends: load.headers (e.g. Authorization: \"Bearer ${TOKEN}\", with TOKEN in the environment or load.env), or a \(plan.requestSource) that needs none"
            : "set \(plan.requestSource) to a route the service answers with 2xx (\(plan.method) \(redactURL(plan.url)) answered \(why))"
        let succeeded = rs.filter { ($0.status ?? 0) >= 200 && ($0.status ?? 0) < 400 }.count
        let what = succeeded == 0 && rs.allSatisfy({ ($0.status ?? 0) >= 400 && $0.status != 429 })
            ? "every answer of the ramp was \(why)"
            : "the ramp's answers were \(why), \(succeeded) of \(rs.count) succeeded"
        var e = Evidence()
        e["traffic"] = evidenceSummary
        return CheckOutcome(findings: [Finding(.warn, "\(check) could not be judged: \(what) (\(plan.method) \(redactURL(plan.url)), \(plan.requestSource)); sent \(sent) requests", fix: fix)],
                            evidence: e)
    }

    /// What was sent, step by step: the evidence both checks show.
    public var evidenceSummary: JSONValue {
        var e = Evidence()
        e["request"] = .string("\(plan.method) \(redactURL(plan.url)) (\(plan.requestSource))")
        e["shape"] = .string(plan.isRamp ? "concurrency ramp \(plan.steps.map { String($0.concurrency) }.joined(separator: " → "))" : "one burst")
        e["sent"] = .int(sent)
        e["seconds"] = .double((elapsed.seconds * 100).rounded() / 100)
        switch stop {
        case .completed: break
        case .limiterAnswered: e["stopped"] = "the limiter answered"
        case .timeLimit: e["stopped"] = "4 × --timeout reached"
        case .distress(let why): e["stopped"] = .string(why)
        }
        e["steps"] = .array(steps.map { s in
            let t = StepStats(s)
            var o: [(String, JSONValue)] = [("concurrency", .int(s.concurrency)), ("sent", .int(s.result.sent)),
                                            ("errors", .int(t.errors))]
            if let p50 = t.p50 { o.append(("p50Ms", .int(Int((p50 * 1000).rounded())))) }
            if let p95 = t.p95 { o.append(("p95Ms", .int(Int((p95 * 1000).rounded())))) }
            o.append(("samples", .int(s.samples.count)))
            return .object(Evidence(o))
        })
        if let why = samplingProblem { e["databaseNotSampled"] = .string(why) }
        return .object(e)
    }
}

extension TrafficSample {
    /// A request's latency for an iteration's time: the mean of the successful (2xx/3xx) answers of the ramp's
    /// highest step that has at least 5 of them (the step nearest the planned concurrency), with how it was measured.
    /// Nil for a plain burst, or when no step had 5 successful answers (a latency of 401s or 5xx says nothing).
    public var iterationLatency: (seconds: Double, basis: String)? {
        guard plan.isRamp else { return nil }
        for s in steps.reversed() {
            let ok = s.result.responses.filter { ($0.status ?? 0) >= 200 && ($0.status ?? 0) < 400 }.compactMap(\.seconds)
            guard ok.count >= 5 else { continue }
            let mean = ok.reduce(0, +) / Double(ok.count)
            let ms = Int((mean * 1000).rounded())
            return (mean, "\(ms) ms: the mean of \(ok.count) successful answers at \(s.concurrency) concurrent, the ramp's \(plan.method) \(redactURL(plan.url)) (\(plan.requestSource))")
        }
        return nil
    }
}

/// One step's latency and errors (5xx and no answer; a limiter's 429 is not an error here).
public struct StepStats: Sendable {
    public let concurrency: Int
    public let answered: Int
    public let errors: Int
    public let p50: Double?
    public let p95: Double?
    public let errorStatuses: String

    public init(_ s: TrafficSample.Step) {
        concurrency = s.concurrency
        let rs = s.result.responses
        answered = rs.count
        let bad = rs.filter { $0.status == nil || ($0.status ?? 0) >= 500 }
        errors = bad.count
        var counts: [String: Int] = [:]
        for r in bad { counts[r.status.map(String.init) ?? "no answer", default: 0] += 1 }
        errorStatuses = counts.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        let times = rs.compactMap(\.seconds).sorted()
        func q(_ x: Double) -> Double? { times.isEmpty ? nil : times[min(times.count - 1, Int((Double(times.count) * x).rounded(.up)) - 1)] }
        p50 = q(0.5)
        p95 = q(0.95)
    }

    public var errorRate: Double { answered == 0 ? 0 : Double(errors) / Double(answered) }
}
