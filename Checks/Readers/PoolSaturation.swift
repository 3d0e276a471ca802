import Foundation
import PreflightCore
import PreflightProbes

/// How long a pool lets a request wait for a connection, and who says so.
public struct PoolTimeout: Sendable, Equatable {
    /// nil: the driver waits for ever.
    public let seconds: Double?
    public let source: String

    /// The URL's `pool_timeout`, else the driver's default (nil when neither is known).
    public static func of(url: DatabaseURL?, driver: PoolDriver?) -> PoolTimeout? {
        if let t = url?.poolTimeout, let s = Double(t) { return PoolTimeout(seconds: s == 0 ? nil : s, source: "pool_timeout=\(t) in its url") }
        switch driver {
        case .prisma?: return PoolTimeout(seconds: 10, source: "Prisma's default pool_timeout 10 s")
        case .sqlalchemy?: return PoolTimeout(seconds: 30, source: "SQLAlchemy's default pool_timeout 30 s")
        case .hikari?: return PoolTimeout(seconds: 30, source: "HikariCP's default connectionTimeout 30 s")
        case .nodePostgres?, .prismaAdapterPg?: return PoolTimeout(seconds: nil, source: "node-postgres' default connectionTimeoutMillis 0: no timeout, requests queue")
        case .goDatabaseSQL?: return PoolTimeout(seconds: nil, source: "Go database/sql: no pool timeout (the request's context decides)")
        case nil: return nil
        }
    }
}

extension PoolDriver? {
    /// The setting that sizes the pool, in the driver's own words (issue 30: a SQLAlchemy user is never told
    /// Prisma's connection_limit).
    var poolSizeSetting: String {
        switch self {
        case .prisma?: "connection_limit in its url"
        case .sqlalchemy?: "pool_size and max_overflow of create_engine"
        case .hikari?: "HikariCP's maximumPoolSize"
        case .nodePostgres?, .prismaAdapterPg?: "the pg Pool's max"
        case .goDatabaseSQL?: "db.SetMaxOpenConns (pgxpool: pool_max_conns)"
        case nil: "the pool's size (connection_limit, pool_size, maximumPoolSize… as its driver calls it)"
        }
    }
}

/// The verdict on the ramp: is the pool the bottleneck, and what happens at the planned peak (Little's law).
struct PoolSaturation {
    let sample: TrafficSample
    /// The pool that serves the target (the first of database.pools), resolved, with its URL.
    let pool: ResolvedPool?
    let poolURL: DatabaseURL?
    let timeout: PoolTimeout?
    /// The script's tightest p(95)<N threshold on a duration metric, in seconds, and where it is.
    let threshold: (seconds: Double, text: String)?

    /// The pool's busy connections (state active or idle in transaction) in a step's median sample: "sit at its
    /// size" means most of the step, not one sample that caught every fast query at once.
    func busy(_ s: TrafficSample.Step) -> Int? {
        guard !s.samples.isEmpty, let url = poolURL else { return nil }
        let db = url.database ?? url.user ?? "postgres", user = url.user ?? "postgres"
        let counts = s.samples.map { rows in
            rows.filter { $0.database == db && $0.user == user && ($0.state == "active" || $0.state.hasPrefix("idle in transaction")) }
                .map(\.count).reduce(0, +)
        }.sorted()
        return counts[counts.count / 2]
    }

    /// The most connections the app held at once in any sample of the ramp, in any state: a pool opens connections
    /// as requests wait for them, so a pool that never held more than this many is no bigger, whatever its config says.
    func held() -> Int? {
        guard let url = poolURL else { return nil }
        let db = url.database ?? url.user ?? "postgres", user = url.user ?? "postgres"
        let counts = sample.steps.flatMap(\.samples).map { rows in
            rows.filter { $0.database == db && $0.user == user }.map(\.count).reduce(0, +)
        }
        return counts.max()
    }

    static func ms(_ s: Double) -> String { s < 1 ? "\(Int((s * 1000).rounded())) ms" : String(format: "%.1f s", s) }

    func outcome() -> CheckOutcome {
        var evidence = Evidence()
        evidence["traffic"] = sample.evidenceSummary
        let stats = sample.steps.map(StepStats.init)
        let plan = sample.plan
        let traffic = "sent \(sample.sent) \(plan.method) requests in \(String(format: "%.1f", sample.elapsed.seconds)) s (\(plan.requestSource))"
        let shape = "ramp " + stats.map { String($0.concurrency) }.joined(separator: " → ")
        guard let first = stats.first else { return .skipped("the ramp sent nothing (no time left)") }
        if sample.stop == .limiterAnswered {
            return CheckOutcome(.skipped, "the limiter answered during the \(shape): the pool could not be measured (see rate-limit); \(traffic)", evidence: evidence)
        }
        if first.errorRate > TrafficPlan.distress {
            return .warn("\(plan.method) \(redactURL(plan.url)) fails even alone (\(first.errorStatuses) at 1 concurrent): not a capacity finding; \(traffic)",
                         evidence: evidence, fix: "see the other checks (schema, health) for why the request fails")
        }
        let latencies = stats.compactMap { s in s.p95.map { Self.ms($0) } }.joined(separator: " → ")
        let busyNow = sample.steps.map(busy)
        if busyNow.contains(where: { $0 != nil }) {
            evidence["poolBusy"] = .array(zip(stats, busyNow).map { .string("\($0.concurrency) concurrent: \($1.map(String.init) ?? "-") busy (median sample)") })
        }
        let size = pool?.size.connections
        let name = pool.map { "\($0.spec.name) pool" } ?? "the pool"
        var failures: [Finding] = [], warnings: [Finding] = [], notes: [Finding] = []

        // Errors that appear with concurrency (5xx, no answer) are evidence on their own.
        // What pg_stat_activity measured wins over a declared or default size: an app that never held more than m
        // busy connections has a pool of about m, whatever its config says.
        let measuredMax = held()
        if let bad = stats.dropFirst().first(where: { $0.errorRate > TrafficPlan.distress }) {
            var against = size.map { n in bad.concurrency > n ? " (more than the \(name)'s \(n) connections\(timeout.map { ", \($0.source)" } ?? ""))" : "" } ?? ""
            if let m = measuredMax, m > 0, bad.concurrency > m, size.map({ m < $0 }) ?? true {
                against = " (the app never held more than \(m) connection\(m == 1 ? "" : "s") in pg_stat_activity\(size.map { ", fewer than the \(name)'s declared \($0)" } ?? ""): its pool is about \(m)\(timeout.map { ", \($0.source)" } ?? ""))"
            }
            failures.append(Finding(.fail, "at \(bad.concurrency) concurrent requests \(bad.errors) of \(bad.answered) failed (\(bad.errorStatuses))\(against); at 1 concurrent none did"))
        } else if let some = stats.first(where: { $0.errors > 0 }) {
            warnings.append(Finding(.warn, "at \(some.concurrency) concurrent requests \(some.errors) of \(some.answered) failed (\(some.errorStatuses))"))
        }

        // The pool is the bottleneck when latency grows with concurrency while its connections sit at its size.
        var saturatedAt: StepStats?
        if let size, let p0 = first.p95 {
            for (i, s) in stats.enumerated().dropFirst() where s.concurrency > size {
                let grew = (s.p95 ?? 0) >= 2 * p0
                let full = busyNow[i].map { $0 >= size } ?? false
                if grew && full { saturatedAt = s; break }
            }
        }
        if let at = saturatedAt, let size, let service = first.p50, let vus = plan.peakVUs {
            evidence["serviceTimeMs"] = .int(Int((service * 1000).rounded()))
            evidence["estimate"] = .string("Little's law: at \(vus) VUs with one request each in flight and \(size) connections, a request waits ≈ service time × (VUs / pool size − 1); service time = median at 1 concurrent request")
            let wait = vus > size ? service * (Double(vus) / Double(size) - 1) : 0
            evidence["waitAtPeakMs"] = .int(Int((wait * 1000).rounded()))
            let lead = "\(name) \(size) saturates at \(at.concurrency) concurrent requests: p95 \(Self.ms(first.p95 ?? 0)) → \(Self.ms(at.p95 ?? 0)), its connections all busy (pg_stat_activity)"
            let waitText = "at \(vus) VUs a request waits ~\(Self.ms(wait)) for a connection"
            if let t = timeout, let limit = t.seconds, wait > limit {
                failures.insert(Finding(.fail, "\(lead); \(waitText), past \(t.source): expect 5xx", fix: "raise \(pool?.spec.driver.poolSizeSetting ?? PoolDriver?.none.poolSizeSetting) to about \(min(vus, Int((Double(vus) * service / max(0.001, limit)).rounded(.up)) + 1)) if the server has room (see the pool check), or make each request hold its connection for less"), at: 0)
            } else if let th = threshold, wait + service > th.seconds {
                warnings.append(Finding(.warn, "\(lead); \(waitText): past the script's threshold \(th.text)",
                                        fix: "raise \(pool?.spec.driver.poolSizeSetting ?? PoolDriver?.none.poolSizeSetting) or expect the threshold to fail"))
            } else {
                notes.append(Finding(.pass, "\(lead); \(waitText)" + (timeout.map { ", within \($0.source)" } ?? "; pool timeout unknown (give driver or pool_timeout in its url)")))
            }
        } else if size == nil {
            notes.append(Finding(.pass, "pool size unknown: give database.pools (size and driver) to judge the pool"))
        }
        if let why = sample.samplingProblem { notes.append(Finding(.pass, "database not sampled: \(why)")) }
        if case .distress(let why) = sample.stop { notes.append(Finding(.pass, "ramp stopped: \(why)")) }
        if sample.stop == .timeLimit { notes.append(Finding(.pass, "ramp stopped at 4 × --timeout")) }

        let main = "\(shape) concurrent: p95 \(latencies.isEmpty ? "-" : latencies)"
        // Failures, then warnings, then the ramp's latencies (the headline when nothing went wrong), notes, the traffic sent.
        let findings = failures + warnings + [Finding(.pass, main)] + notes + [Finding(.pass, traffic)]
        if let timeout { evidence["poolTimeout"] = .string(timeout.source) }
        if let size { evidence["poolSize"] = .int(size) }
        return CheckOutcome(findings: findings, evidence: evidence)
    }
}
