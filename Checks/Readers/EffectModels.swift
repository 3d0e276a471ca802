import Foundation
import PreflightCore

/// The models behind the findings' predicted effects (issue 29): each turns what a check measured into the share of
/// the run's requests that will fail, as a range, with its basis. Pure arithmetic, tested against real k6 runs
/// (Tests/SampleStack/predict-vs-k6.sh).
public enum EffectModel {
    /// Nothing reaches the service (a refused port, a name that does not resolve, an untrusted certificate):
    /// every request of the run fails, from the start.
    public static func everyRequest(k6: String, basis: String) -> Effect {
        Effect(share: .exactly(1), from: "start", k6: k6, basis: basis)
    }

    /// The share a closed k6 model (VUs that each send one request, then sleep) loses to a pool that makes requests
    /// wait longer than its timeout. With `pool` connections each held `service` s, at most pool/service requests a
    /// second succeed; by Little's law every VU is either sleeping (`think` s), being served, or waiting, and a
    /// request that waits `timeout` s fails. Successes wait between 0 and `timeout` s, which bounds the range.
    /// `service` is a range too (the ramp's median at 1 concurrent request includes the HTTP round trip).
    public static func poolTimeouts(vus: Int, think: Double, pool: Int, service: ClosedRange<Double>, timeout: Double) -> ShareRange {
        func share(_ s: Double, successWait: Double) -> Double {
            guard s > 0, pool > 0 else { return 0 }
            let succeed = Double(pool) / s
            let busy = succeed * (think + s + successWait)
            guard Double(vus) > busy else { return 0 }
            let failing = (Double(vus) - busy) / (think + timeout)
            return failing / (failing + succeed)
        }
        // Fewer failures: the slowest service fills the pool with fewest VUs? No: a longer service time means fewer
        // successes a second, so more VUs left waiting. The low end is the shortest service with successes waiting
        // the full timeout; the high end the longest service with successes not waiting.
        let low = share(service.lowerBound, successWait: timeout)
        let high = share(service.upperBound, successWait: 0)
        return ShareRange(low: low, high: high)
    }

    /// The requests a limiter refuses: `quota` requests per `window` s for the requests it counts, sent at
    /// `rate` a second for `duration` s. Every window lets `quota` through; the rest are refused (429).
    public static func rateLimited(quota: Int, window: Double, rate: Double, duration: Double) -> ShareRange {
        guard rate > 0, duration > 0, window > 0 else { return .exactly(0) }
        let sent = rate * duration
        // Windows that start within the run: at least ⌈duration / window⌉, one more when the run straddles a boundary.
        let windows = (duration / window).rounded(.up)
        let allowedLow = Double(quota) * windows, allowedHigh = Double(quota) * (windows + 1)
        let high = max(0, 1 - allowedLow / sent), low = max(0, 1 - allowedHigh / sent)
        return ShareRange(low: low, high: high)
    }

    /// Connections past a descriptor limit: each VU holds one (keep-alive); the ones past `available` fail to dial
    /// ("socket: too many open files") at every iteration.
    public static func pastLimit(vus: Int, available: Int) -> ShareRange {
        guard vus > 0, available < vus else { return .exactly(0) }
        let past = Double(vus - max(0, available)) / Double(vus)
        // A connection the server or k6 closes must be dialled again and competes with the VUs that never got one:
        // measured with k6 1.1.0, 400 VUs under `ulimit -n 256` (250 free) failed 77 % of their requests, not 38 %.
        return ShareRange(low: past * 0.8, high: min(1, past * 2.2))
    }

    /// VUs whose connection the service cannot accept (its descriptors are used up): measured with k6 1.1.0 against
    /// Python's threading server under `prlimit --nofile=64`, accept() failing with EMFILE leaves the connection in the
    /// accept queue (Python and asyncio retry, nothing is reset), so those VUs wait: each fails one request per k6
    /// `timeout` (60 s by default) while the served VUs succeed one per iteration (`think` s of sleep + a response of
    /// 1 ms to 1 s). 100 VUs, 0.1 s sleep, 59 free descriptors, 5 s: with k6's 60 s timeout 0 of 2,589 requests
    /// failed (41 VUs stalled); with a 2 s timeout 124 of 1,923 failed (6.4 %, "request timeout"; this model: 3.4-27.7 %).
    public static func unaccepted(vus: Int, free: Int, think: Double, timeout: Double = 60) -> ShareRange {
        guard vus > 0, free < vus, timeout > 0 else { return .exactly(0) }
        let stuck = Double(vus - max(0, free)), served = Double(max(0, free))
        func share(_ response: Double) -> Double {
            let failing = stuck / timeout, succeeding = served / max(0.001, think + response)
            return failing / (failing + succeeding)
        }
        return ShareRange(low: share(0.001), high: share(1))
    }

    /// The request rate of a closed model: VUs / (think + response time).
    public static func rate(vus: Int, think: Double, response: Double) -> Double {
        Double(vus) / max(0.001, think + response)
    }

    /// The requests that touch changed tables (a migration not deployed, a column renamed): the script's requests
    /// whose path names a table (as is, singular or plural), each one an equal share of an iteration (branches are
    /// not weighed). At least the writes among them fail (they name every column), at most all of them (an ORM that
    /// selects every column of a model, as Prisma does). When no path names a table: all writes. Unknown without
    /// the script's requests.
    public static func touching(tables: [String], requests: [RequestShape], k6: String, what: String) -> Effect {
        guard !requests.isEmpty else {
            return Effect(share: nil, from: "start", k6: k6, basis: "\(what): the requests that touch it fail; unknown share (no script requests read)")
        }
        let names = Set(tables.flatMap { t -> [String] in
            let l = t.lowercased()
            return [l, l.hasSuffix("s") ? String(l.dropLast()) : l + "s"]
        })
        let hit = requests.filter { r in r.pathWords.contains { names.contains($0) } }
        let each = 1 / Double(requests.count)
        if hit.isEmpty {
            let writes = requests.filter(\.isWrite)
            return Effect(requests: writes.map(\.label), share: .exactly(Double(writes.count) * each), from: "start", k6: k6,
                          basis: "\(what): no request's path names \(tables.joined(separator: ", ")); every write (\(writes.count) of \(requests.count) requests) assumed to touch it")
        }
        let writes = hit.filter(\.isWrite)
        return Effect(requests: hit.map(\.label), share: ShareRange(low: Double(writes.count) * each, high: Double(hit.count) * each), from: "start", k6: k6,
                      basis: "\(what): \(hit.count) of the script's \(requests.count) requests name \(tables.joined(separator: ", ")) (writes fail; reads too where the code selects the new column)")
    }
}
