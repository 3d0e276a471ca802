import Foundation
import PreflightCore
import PreflightProbes

/// The one burst of real traffic a run sends, read by the rate-limit check (what the limiter answers) and the
/// pool-traffic check (how latency and the app's connections grow with concurrency): planned here from the
/// config and the load plan, sent at most once per run (`TrafficSample.measure`, memoised by the run's
/// `FactStore.measured`), never twice.
///
/// With a peak (load.vus or the script's) and a request (`load.request`, else `rate_limit.request`) it is a
/// concurrency ramp, 1 → 5 → 25 → min(peak VUs, 100), max(10, 3 × concurrency) requests a step (≤ 600 in all;
/// the last step is lengthened to `rate_limit.burst` when that is larger, so the limiter sees its burst). Without a
/// peak it is the rate-limit burst as configured, one step. Either way ≤ 4 × --timeout in all, stopping when the
/// limiter has answered, a step has more than 20 % errors, or a step has a request slower than --timeout.
public struct TrafficPlan: Sendable {

    public struct Step: Sendable, Equatable {
        public var concurrency: Int
        public var count: Int
    }
    public static let rampCap = 600
    public static let rampWidths = [1, 5, 25, 100]
    /// A step with more errors than this stops the ramp.
    public static let distress = 0.2

    public let method: String
    public let url: String
    public let headers: [String: String]
    public let body: Data?
    public let steps: [Step]
    /// True for a concurrency ramp; false for the plain rate-limit burst.
    public let isRamp: Bool
    /// Where the request came from: "load.request" or "rate_limit.request".
    public let requestSource: String
    public let peakVUs: Int?
    /// How k6 makes the request (`TargetReach`): its TLS options and trust, redirects; and whether it keeps connections.
    public var options = HTTPRequestOptions()
    public var reuseConnections = true

    /// Nil when there is nothing to send (no rate_limit section and no load.request with a peak), or no target.
    /// From the config and the run's one load plan: every check that asks gets the same plan.
    public static func planned(_ context: CheckContext, environment: (String) -> String?) -> TrafficPlan? {
        guard var p = context.fact(PlannedTraffic.self).plan else { return nil }
        // The ramp and the burst reach the target as k6 will: a certificate k6 accepts is accepted here too.
        p.options = context.fact(TargetReach.self).requestOptions(for: p.url, environment: environment)
        return p
    }

    static func plan(target: ServiceURL, rate: RateLimitSettings, load: LoadSettings, peak: Int?) -> TrafficPlan? {
        let own = load.request
        guard own != nil || rate.isConfigured else { return nil }
        let method = own?.method ?? rate.method
        let path = own?.path ?? rate.path
        let url = target.appending(path: path)
        // load.request's own headers (a token the script also sends) and body (only when the user wrote one: a
        // load.request without it is a read, and the ramp never writes on its own).
        let headers = own == nil ? rate.headers : load.headers
        let body = (own == nil ? rate.body : load.body).map { Data($0.utf8) }
        let source = own == nil ? "rate_limit.request" : "load.request"
        guard let peak, peak > 0 else {
            guard rate.isConfigured else { return nil }
            return TrafficPlan(method: method, url: url, headers: headers, body: body,
                               steps: [Step(concurrency: rate.concurrency, count: rate.burst)], isRamp: false,
                               requestSource: source, peakVUs: nil)
        }
        let top = min(peak, rampWidths.last!)
        var widths = rampWidths.filter { $0 < top } + [top]
        widths = widths.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        var steps: [Step] = []
        var total = 0
        for w in widths {
            let n = min(max(10, 3 * w), rampCap - total)
            guard n > 0 else { break }
            steps.append(Step(concurrency: w, count: n))
            total += n
        }
        if rate.isConfigured, own == nil, rate.burst > total, !steps.isEmpty { steps[steps.count - 1].count += rate.burst - total }
        return TrafficPlan(method: method, url: url, headers: headers, body: body, steps: steps, isRamp: true,
                           requestSource: source, peakVUs: peak)
    }

    public var plannedRequests: Int { steps.map(\.count).reduce(0, +) }
}

/// The app's connections in one pg_stat_activity sample: (database, user, application, state, wait_event_type) → count.
public struct ActivityRow: Sendable, Equatable {
    public var database: String
    public var user: String
    public var application: String
    public var state: String
    public var waitEventType: String
    public var count: Int
}

/// The run's traffic as planned, once per run: from `rate_limit:` and `load.request`, the load plan's peak and how
/// k6 reaches the target (`TargetReach`: keep-alive here; the trust store, from the environment, when it is sent).
/// Nil when there is nothing to send.
public struct PlannedTraffic: Fact {
    public static let name = "traffic"
    /// Also built on `TargetReach` and `LoadPlan`.
    public static let sections: [any ConfigSection.Type] = [RateLimitSettings.self]
    public let plan: TrafficPlan?

    public static func derive(from facts: FactStore) -> PlannedTraffic {
        let reach = facts.get(TargetReach.self)
        let load = facts.get(LoadPlan.self)
        guard let target = reach.target,
              var p = TrafficPlan.plan(target: target, rate: facts.config.section(RateLimitSettings.self), load: load.settings, peak: load.peakVUs)
        else { return PlannedTraffic(plan: nil) }
        p.reuseConnections = reach.keepAlive.reusesConnections
        return PlannedTraffic(plan: p)
    }

    public static func derive(from config: Config) -> PlannedTraffic { derive(from: FactStore(config: config)) }
}
