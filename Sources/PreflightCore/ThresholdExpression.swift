/// A k6 threshold expression such as `rate<0.01` or `p(95)<250`: the one parser that the script check, the
/// prediction and `explain` share.
public struct ThresholdExpression: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "==", ne = "!=", seq = "==="
    }

    /// k6's aggregation methods: which value of the metric the threshold judges.
    public enum Aggregation: Sendable, Equatable {
        case rate, count, value, avg, min, max, med
        case percentile(Double)

        /// As k6 writes it, and the key of the value in a summary: "rate", "p(95)", "p(99.9)".
        public var name: String {
            switch self {
            case .rate: return "rate"
            case .count: return "count"
            case .value: return "value"
            case .avg: return "avg"
            case .min: return "min"
            case .max: return "max"
            case .med: return "med"
            case .percentile(let p):
                let whole = p.rounded() == p && abs(p) < 1e15
                return "p(\(whole ? String(Int(p)) : String(p)))"
            }
        }

        public init?(name: String) {
            switch name {
            case "rate": self = .rate
            case "count": self = .count
            case "value": self = .value
            case "avg": self = .avg
            case "min": self = .min
            case "max": self = .max
            case "med": self = .med
            default:
                guard name.hasPrefix("p("), name.hasSuffix(")"), let p = Double(name.dropFirst(2).dropLast()),
                      p >= 0, p <= 100 else { return nil }
                self = .percentile(p)
            }
        }
    }

    public var aggregation: Aggregation
    public var comparison: Comparison
    public var limit: Double

    public init(_ aggregation: Aggregation, _ comparison: Comparison, _ limit: Double) {
        self.aggregation = aggregation
        self.comparison = comparison
        self.limit = limit
    }

    /// Parses k6's `<aggregation> <operator> <value>`; nil for anything k6 would refuse.
    public init?(_ text: String) {
        let s = text.filter { !$0.isWhitespace }
        // Longest operators first: "<=" is not "<" followed by "=0".
        let ops: [Comparison] = [.seq, .le, .ge, .eq, .ne, .lt, .gt]
        for op in ops {
            guard let r = s.range(of: op.rawValue) else { continue }
            guard let a = Aggregation(name: String(s[..<r.lowerBound])), let v = Double(s[r.upperBound...]), v.isFinite
            else { return nil }
            self.init(a, op, v)
            return
        }
        return nil
    }

    /// The percentile of a `p(N)` aggregation.
    public var percentile: Double? {
        if case .percentile(let p) = aggregation { return p }
        return nil
    }

    /// Whether a value of the metric passes.
    public func holds(for value: Double) -> Bool {
        switch comparison {
        case .lt: return value < limit
        case .le: return value <= limit
        case .gt: return value > limit
        case .ge: return value >= limit
        case .eq, .seq: return value == limit
        case .ne: return value != limit
        }
    }

    /// True when no value can cross it: `rate<=1`, `count>=0`.
    public var cannotFail: Bool {
        if aggregation == .rate {
            switch comparison {
            case .le: return limit >= 1
            case .lt: return limit > 1
            case .ge: return limit <= 0
            case .gt: return limit < 0
            default: return false
            }
        }
        return (comparison == .ge && limit <= 0) || (comparison == .gt && limit < 0)
    }

    /// The expression written the way k6 prints it: "rate<0.01", "p(95)<500".
    public var description: String {
        let whole = limit.rounded() == limit && abs(limit) < 1e15
        return aggregation.name + comparison.rawValue + (whole ? String(Int(limit)) : String(limit))
    }
}

/// The metric a threshold is on, with its tag filter: `http_req_failed{name:send}` is http_req_failed's
/// samples tagged name=send (a k6 submetric).
public struct MetricSelector: Sendable, Equatable, CustomStringConvertible {
    public struct Tag: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }
    public var metric: String
    /// In the order written; empty for the whole metric.
    public var tags: [Tag]

    public init(metric: String, tags: [Tag] = []) {
        self.metric = metric
        self.tags = tags
    }

    /// `name{key:value,key2:value2}`; quotes around keys or values are dropped as k6 drops them; nil for an
    /// empty name or a malformed filter.
    public init?(_ text: String) {
        let t = text.trimmingWhitespace
        guard let open = t.firstIndex(of: "{") else {
            guard !t.isEmpty else { return nil }
            self.init(metric: t)
            return
        }
        let name = String(t[..<open]).trimmingWhitespace
        guard !name.isEmpty, t.hasSuffix("}") else { return nil }
        let inner = t[t.index(after: open)..<t.index(before: t.endIndex)]
        var tags: [Tag] = []
        for part in inner.split(separator: ",", omittingEmptySubsequences: true) {
            guard let colon = part.firstIndex(of: ":") else { return nil }
            let k = String(part[..<colon]).unquoted, v = String(part[part.index(after: colon)...]).unquoted
            guard !k.isEmpty else { return nil }
            tags.append(Tag(k, v))
        }
        self.init(metric: name, tags: tags)
    }

    /// The value of one tag of the filter.
    public func tag(_ key: String) -> String? { tags.first { $0.key == key }?.value }

    public var description: String {
        tags.isEmpty ? metric : metric + "{" + tags.map { "\($0.key):\($0.value)" }.joined(separator: ",") + "}"
    }
}

/// One threshold a k6 script declares: `thresholds: { 'http_req_failed{name:send}': [{ threshold: 'rate<0.01',
/// abortOnFail: true, delayAbortEval: '10s' }] }`, or the string form `['rate<0.01']`.
public struct ScriptThreshold: Sendable, Equatable {
    /// The key as written (`http_req_failed{name:send}`) and what it selects.
    public var key: String
    public var selector: MetricSelector?
    /// The expression as written, and parsed (nil when k6 would refuse it).
    public var source: String
    public var expression: ThresholdExpression?
    public var abortOnFail: Bool
    /// How long k6 waits before an abortOnFail threshold may abort ("10s"), as written.
    public var delayAbortEval: String?
    /// Where it is written in the script, when known.
    public var line: Int?

    public init(key: String, source: String, abortOnFail: Bool = false, delayAbortEval: String? = nil, line: Int? = nil) {
        self.key = key
        self.selector = MetricSelector(key)
        self.source = source
        self.expression = ThresholdExpression(source)
        self.abortOnFail = abortOnFail
        self.delayAbortEval = delayAbortEval
        self.line = line
    }

    /// The base metric's name ("http_req_failed" for `http_req_failed{name:send}`).
    public var metric: String { selector?.metric ?? key }

    /// What preflight judges a script without thresholds against (issue 29); k6 itself then has no threshold.
    public static let defaultFailedRequests = ScriptThreshold(key: "http_req_failed", source: "rate<0.01")
}

extension StringProtocol {
    fileprivate var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }

    fileprivate var unquoted: String {
        var s = trimmingWhitespace
        if s.count >= 2, let f = s.first, f == s.last, f == "\"" || f == "'" || f == "`" { s = String(s.dropFirst().dropLast()) }
        return s
    }
}
