/// A parsed threshold expression such as `rate<0.01` or `p(95)<250`.
struct ThresholdExpression: Sendable, Equatable {
    enum Comparison: String, Sendable { case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "==", ne = "!=", seq = "===" }

    /// The aggregation: `rate`, `count`, `value`, `avg`, `min`, `max`, `med`, or `p(N)`.
    var aggregation: String
    var comparison: Comparison
    var limit: Double

    init?(_ text: String) {
        let s = text.filter { !$0.isWhitespace }
        let ops: [Comparison] = [.seq, .le, .ge, .eq, .ne, .lt, .gt]
        for op in ops {
            if let r = s.range(of: op.rawValue) {
                let lhs = String(s[..<r.lowerBound]), rhs = String(s[r.upperBound...])
                guard !lhs.isEmpty, let v = Double(rhs) else { return nil }
                aggregation = lhs
                comparison = op
                limit = v
                return
            }
        }
        return nil
    }

    /// The percentile of a `p(N)` aggregation.
    var percentile: Double? {
        guard aggregation.hasPrefix("p("), aggregation.hasSuffix(")") else { return nil }
        return Double(aggregation.dropFirst(2).dropLast())
    }

    func holds(for value: Double) -> Bool {
        switch comparison {
        case .lt: return value < limit
        case .le: return value <= limit
        case .gt: return value > limit
        case .ge: return value >= limit
        case .eq, .seq: return value == limit
        case .ne: return value != limit
        }
    }

    /// "by how much": how far the value is past the limit, for a person.
    func overshoot(of value: Double) -> String {
        if limit != 0 && value != 0 && (comparison == .lt || comparison == .le) {
            return "\(formatNumber(value / limit))x the limit"
        }
        if limit != 0 && (comparison == .gt || comparison == .ge) {
            return "\(formatPercent(value / limit)) of the minimum"
        }
        return "limit \(formatNumber(limit))"
    }
}

extension ThresholdResult {
    /// One line: "http_req_failed rate<0.01 crossed: rate was 0.0707 (7.07x the limit)".
    var line: String {
        guard let observed, let expr = ThresholdExpression(expression) else {
            return "\(metric) \(expression) crossed"
        }
        let shown = expr.aggregation == "rate" ? "\(formatNumber(observed)) (\(formatPercent(observed)))" : formatNumber(observed)
        return "\(metric) \(expression) crossed: \(expr.aggregation) was \(shown), \(expr.overshoot(of: observed))"
    }
}
