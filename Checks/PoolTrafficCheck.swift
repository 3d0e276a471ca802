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
            CheckExample("ramp 1 → 5 → 20 concurrent: p95 8 ms → 30 ms, no errors", .pass),
            CheckExample("api pool 2 saturates at 5 concurrent requests; at 120 VUs a request waits ~2.9 s, past pool_timeout 1 s", .fail),
            CheckExample("at 25 concurrent requests 40 of 75 failed (503); at 1 concurrent none did", .fail),
            CheckExample("the pool saturates and the wait at the peak crosses the script's p(95) threshold, within the pool timeout", .warn),
            CheckExample("the request fails even alone (500 at 1 concurrent): not a capacity finding", .warn),
            CheckExample("no peak VUs or no request to send: no ramp", .skipped),
            CheckExample("the limiter answered during the ramp: see rate-limit", .skipped),
        ],
        // The ramp: at most 4 × --timeout, plus one to open the sampling session.
        timeoutBudget: 6)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetURL.self, DatabaseSettings.self, PoolSettings.self, LoadPlan.self]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard TrafficPlan.planned(context)?.isRamp == true else {
            return .skipped("no ramp: needs a peak (load.vus or the script's) and a request (load.request or rate_limit.request)")
        }
        guard let sample = await TrafficSample.measure(context, probes: probes) else { return .skipped("nothing to send") }
        let settings = context.fact(PoolSettings.self)
        let database = context.fact(DatabaseSettings.self).url
        let pool = PoolDemand(settings.pools).pools.first
        let poolURL = pool?.spec.url ?? database
        var resolved = pool
        if resolved == nil, let n = database?.connectionLimit {
            resolved = ResolvedPool(spec: PoolSpec(name: "database.url", url: database), size: .bounded(n, source: "connection_limit=\(n) in database.url"))
        }
        let timeout = PoolTimeout.of(url: poolURL, driver: pool?.spec.driver)
        return PoolSaturation(sample: sample, pool: resolved, poolURL: poolURL, timeout: timeout,
                              threshold: Self.threshold(context.fact(LoadPlan.self).options)).outcome()
    }

    /// The tightest `p(95)<N` (ms) among the script's thresholds on a duration metric.
    static func threshold(_ options: K6Options?) -> (seconds: Double, text: String)? {
        var best: (Double, String)?
        for t in options?.thresholds ?? [] where t.metric.contains("duration") {
            for e in t.expressions {
                let x = e.replacingOccurrences(of: " ", with: "")
                guard x.hasPrefix("p(95)<"), let n = Double(x.dropFirst(6).trimmingCharacters(in: CharacterSet(charactersIn: "="))) else { continue }
                if best == nil || n / 1000 < best!.0 { best = (n / 1000, "\(t.metric) \(e)") }
            }
        }
        return best
    }
}
