/// A k6 run second by second, from `--out json`: requests, failures by signature, VUs. Seconds count from the
/// first request; memory grows with the run's length in seconds (capped), never with its number of lines.
public struct Timeline: Sendable, Equatable {
    /// The wall clock (seconds since 1970) of the first request: second 0.
    public var startUnix: Double
    public var requests: [Int]
    /// Failed requests per second by signature (its raw value).
    public var failures: [String: [Int]]
    /// The highest `vus` gauge of each second, nil where k6 wrote none.
    public var vus: [Int?]

    public var seconds: Int { requests.count }
}

/// Per-second buckets keyed by the absolute second, turned into a `Timeline` at the end.
struct TimelineAccumulator {
    /// A day of seconds: a longer run keeps its first day on the timeline (the totals still count everything).
    static let maxSeconds = 86_400

    private var requests: [Int: Int] = [:]
    private var failures: [String: [Int: Int]] = [:]
    private var vus: [Int: Int] = [:]
    private var first = Int.max

    private mutating func admit(_ time: Double) -> Int? {
        let s = Int(time.rounded(.down))
        if first == Int.max { first = s }
        if s < first { first = s }
        return s - first < Self.maxSeconds ? s : nil
    }

    mutating func request(at time: Double, failure signature: Signature?) {
        guard let s = admit(time) else { return }
        requests[s, default: 0] += 1
        if let signature {
            let name = signature.rawValue
            failures[name, default: [:]][s, default: 0] += 1
        }
    }

    mutating func vus(at time: Double, _ value: Double) {
        guard let s = admit(time) else { return }
        vus[s] = max(vus[s] ?? 0, Int(value))
    }

    /// Second 0 is the first request's second; VU points before it are folded into it.
    func timeline(startUnix: Double) -> Timeline? {
        guard !requests.isEmpty else { return nil }
        let zero = Int(startUnix.rounded(.down))
        let last = max(requests.keys.max() ?? zero, vus.keys.max() ?? zero)
        let n = min(Self.maxSeconds, last - zero + 1)
        var r = [Int](repeating: 0, count: n)
        for (s, c) in requests where s - zero < n { r[max(0, s - zero)] += c }
        var f: [String: [Int]] = [:]
        for (name, by) in failures {
            var a = [Int](repeating: 0, count: n)
            for (s, c) in by where s - zero < n { a[max(0, s - zero)] += c }
            f[name] = a
        }
        var v = [Int?](repeating: nil, count: n)
        for (s, c) in vus where s - zero < n { let i = max(0, s - zero); v[i] = max(v[i] ?? 0, c) }
        return Timeline(startUnix: startUnix, requests: r, failures: f, vus: v)
    }
}
