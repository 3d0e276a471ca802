import PreflightCore

/// How `explain` words a crossed threshold (the expression itself is Core's `ThresholdExpression`).
extension ThresholdExpression {
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
        let shown = expr.aggregation == .rate ? "\(formatNumber(observed)) (\(formatPercent(observed)))" : formatNumber(observed)
        return "\(metric) \(expression) crossed: \(expr.aggregation.name) was \(shown), \(expr.overshoot(of: observed))"
    }
}
