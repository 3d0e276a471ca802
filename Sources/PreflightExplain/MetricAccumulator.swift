import Foundation
import PreflightCore

/// Running aggregates of one metric's samples, enough to judge its thresholds in constant memory.
/// Percentiles come from log-spaced buckets (1% wide), so `p(N)` is approximate to about 1%.
struct MetricAccumulator: Sendable {
    private static let ratio = log(1.01)
    private static let bucketCount = 4096
    private static let offset = 2048  // bucket 0 = 1.01^-2048 ≈ 1.4e-9

    var count = 0
    var sum = 0.0
    var nonZero = 0
    var minimum = Double.infinity
    var maximum = -Double.infinity
    var last = 0.0
    private var zeros = 0
    private var buckets: [Int] = []

    mutating func add(_ v: Double) {
        count += 1
        sum += v
        last = v
        if v != 0 { nonZero += 1 }
        minimum = Swift.min(minimum, v)
        maximum = Swift.max(maximum, v)
        if buckets.isEmpty { buckets = [Int](repeating: 0, count: MetricAccumulator.bucketCount) }
        if v <= 0 { zeros += 1; return }
        let i = Int((log(v) / MetricAccumulator.ratio).rounded(.down)) + MetricAccumulator.offset
        buckets[Swift.max(0, Swift.min(MetricAccumulator.bucketCount - 1, i))] += 1
    }

    func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Int((p / 100 * Double(count - 1)).rounded(.up))
        if rank < zeros { return 0 }
        var seen = zeros
        for (i, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen > rank {
                // the bucket's geometric middle, clamped to what was seen
                let v = exp((Double(i - MetricAccumulator.offset) + 0.5) * MetricAccumulator.ratio)
                return Swift.min(maximum, Swift.max(minimum, v))
            }
        }
        return maximum
    }

    /// The value a threshold expression judges, for a metric of k6 type `type`.
    func value(for expression: String, type: String, span: Double?) -> Double? {
        guard count > 0, let e = ThresholdExpression(expression) else { return nil }
        switch e.aggregation {
        case .rate:
            if type == "counter" { return span.flatMap { $0 > 0 ? sum / $0 : nil } }
            return Double(nonZero) / Double(count)
        case .count: return type == "rate" ? Double(nonZero) : sum
        case .avg: return sum / Double(count)
        case .min: return minimum
        case .max: return maximum
        case .med: return percentile(50)
        case .value: return type == "rate" ? Double(nonZero) / Double(count) : last
        case .percentile(let p): return percentile(p)
        }
    }
}
