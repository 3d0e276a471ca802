import Foundation
import PreflightCore
import PreflightProbes

/// A pool sized for the traffic, measured: the run's one concurrency ramp (shared with the rate-limit check),
/// the database sampled at each step, and Little's law for the wait at the planned peak against the pool timeout
/// (Prisma P2024 "Timed out fetching a new connection from the connection pool": a pool that fits the server but
/// is too small for the load).
public struct PoolTrafficCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "pool-traffic", title: "Pool under the planned traffic", layer: .capacity, prerequisites: ["health"],
        examples: [
            CheckExample(.pass, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.burst = ProbeAnswers.ramp { _, n in .answer(n, 200, seconds: 0.01) }
                $0.postgres = .success(ProbeAnswers.activity(busy: 1))
            }), says: "ramp 1 → 5 → 25 → 100 concurrent: p95 10 ms → 10 ms → 10 ms → 10 ms"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                // 50 ms alone; through a pool of 2, each request waits for the ones ahead of it.
                $0.burst = ProbeAnswers.ramp { c, n in .answer(n, 200, seconds: 0.05 * max(1, Double(c) / 2)) }
                $0.postgres = .success(ProbeAnswers.activity(busy: 2))
            }), says: "api pool 2 saturates at 5 concurrent requests"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.burst = ProbeAnswers.ramp { c, n in .answer(n, c >= 25 && n % 2 == 1 ? 503 : 200, seconds: 0.01) }
                $0.postgres = .success(ProbeAnswers.activity(busy: 1))
            }), says: "at 25 concurrent requests 38 of 75 failed (503 ×38)"),
            CheckExample(.warn, given: World(config: """
                timeout: 30s
                target: http://127.0.0.1:3001
                database:
                  url: postgresql://app@127.0.0.1:5432/chat
                  pools:
                    - {name: api, size: 2, driver: prisma}
                load:
                  script: load.js
                  vus: 120
                  request: GET /chat/messages
                """, files: ["load.js": """
                    import http from 'k6/http';
                    export const options = { vus: 120, duration: '1m', thresholds: { http_req_duration: ['p(95)<500'] } };
                    export default function () { http.get('http://127.0.0.1:3001/chat/messages'); }
                    """], answers: ProbeAnswers {
                $0.burst = ProbeAnswers.ramp { c, n in .answer(n, 200, seconds: 0.05 * max(1, Double(c) / 2)) }
                $0.postgres = .success(ProbeAnswers.activity(busy: 2))
            }), says: "past the script's threshold http_req_duration p(95)<500"),
            CheckExample(.warn, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.burst = ProbeAnswers.ramp { _, n in .answer(n, 500, seconds: 0.01) }
                $0.postgres = .success(ProbeAnswers.activity(busy: 0))
            }), says: "fails even alone (500 ×10 at 1 concurrent)"),
            // A ramp of 401s never reached the database: no capacity verdict, and how to authenticate it.
            CheckExample(.warn, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.burst = ProbeAnswers.ramp { _, n in .answer(n, 401, seconds: 0.002) }
                $0.postgres = .success(ProbeAnswers.activity(busy: 0))
            }), says: "load.headers (e.g. Authorization: \"Bearer ${TOKEN}\""),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001\nload:\n  request: GET /chat/messages"),
                         says: "no ramp: needs a peak (load.vus or the script's) and a request"),
            CheckExample(.skipped, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.burst = ProbeAnswers.ramp { _, n in .answer(n, n > 3 ? 429 : 200, seconds: 0.01) }
                $0.postgres = .success(ProbeAnswers.activity(busy: 1))
            }), says: "the limiter answered"),
        ],
        // The ramp: at most 4 × --timeout, plus one to open the sampling session.
        timeoutBudget: 6)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetReach.self, PlannedTraffic.self, DatabaseSettings.self, PoolSettings.self, LoadPlan.self]

    /// The examples' stack: an api pool of 2 connections (pool_timeout 1 s) in front of 120 VUs.
    static let exampleConfig = """
        timeout: 30s
        target: http://127.0.0.1:3001
        database:
          url: postgresql://app@127.0.0.1:5432/chat
          pools:
            - {name: api, size: 2, url: "postgresql://app@127.0.0.1:5432/chat?connection_limit=2&pool_timeout=1"}
        load:
          vus: 120
          request: GET /chat/messages
        """

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard TrafficPlan.planned(context, environment: probes.host.environment)?.isRamp == true else {
            return .skipped("no ramp: needs a peak (load.vus or the script's) and a request (load.request or rate_limit.request)")
        }
        guard let sample = await TrafficSample.measure(context, probes: probes) else { return .skipped("nothing to send") }
        if let why = sample.unjudged { return sample.unjudgedOutcome(why, check: "the pool") }
        let settings = context.fact(PoolSettings.self)
        let database = context.fact(DatabaseSettings.self).url
        let pool = PoolDemand(settings.pools).pools.first
        let poolURL = pool?.spec.url ?? database
        var resolved = pool
        if resolved == nil, let n = database?.connectionLimit {
            resolved = ResolvedPool(spec: PoolSpec(name: "database.url", url: database), size: .bounded(n, source: "connection_limit=\(n) in database.url"))
        }
        let timeout = PoolTimeout.of(url: poolURL, driver: pool?.spec.driver)
        let plan = context.fact(LoadPlan.self)
        let outcome = PoolSaturation(sample: sample, pool: resolved, poolURL: poolURL, timeout: timeout,
                                     threshold: Self.threshold(plan.options)).outcome()
        guard outcome.status == .fail else { return outcome }
        // A service that cannot accept the ramp's connections (its descriptors) fails the ramp too: that is the cause.
        var failed = outcome
        failed.suspects.append("server")
        return failed.effect(Self.effect(sample: sample, size: resolved?.size.connections, timeout: timeout?.seconds,
                                          think: plan.options?.iterationSleep))
    }

    /// Requests that wait past the pool timeout fail (the app's 5xx): the closed-model share at the planned VUs, from
    /// the ramp's service time and the script's sleeps; "unknown share" when either is not known.
    static func effect(sample: TrafficSample, size: Int?, timeout: Double?, think: Double?) -> Effect {
        let stats = sample.steps.map(StepStats.init)
        // The status the failing step got most ("503 ×31" → 503); a request with no answer is k6's request timeout.
        let statuses = stats.last(where: { $0.errors > 0 })?.errorStatuses ?? ""
        let top = statuses.split(separator: " ").first.flatMap { Int($0) }
        let k6 = top.map { "\($0) (the app's answer to a request that waited past its pool timeout)" } ?? FailureKind.requestTimeout.k6
        guard let size, let timeout, let think, let vus = sample.plan.peakVUs, let service = stats.first?.p50, service > 0 else {
            return Effect(share: nil, from: "peak", k6: k6, basis: "pool timeouts at the peak; unknown share (pool size, pool timeout, the script's sleeps or the service time not known)")
        }
        let share = EffectModel.poolTimeouts(vus: vus, think: think, pool: size, service: (service * 0.5)...service, timeout: timeout)
        return Effect(share: share, from: "peak", k6: k6,
                      basis: "\(vus) VUs sleeping \(String(format: "%.1f", think)) s an iteration share \(size) connections held ~\(Int((service * 1000).rounded())) ms each; a request waiting past \(String(format: "%g", timeout)) s fails (closed-model Little's law)")
    }

    /// The tightest `p(95)<N` (ms) among the script's thresholds on a duration metric.
    static func threshold(_ options: K6Options?) -> (seconds: Double, text: String)? {
        var best: (Double, String)?
        for t in options?.thresholds ?? [] where t.metric.contains("duration") {
            for e in t.expressions {
                guard let x = ThresholdExpression(e), x.aggregation == .percentile(95), x.comparison == .lt || x.comparison == .le
                else { continue }
                let n = x.limit
                if best == nil || n / 1000 < best!.0 { best = (n / 1000, "\(t.metric) \(e)") }
            }
        }
        return best
    }
}
