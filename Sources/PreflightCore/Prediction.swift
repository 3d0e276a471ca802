/// The run predicted against its thresholds (issue 29): per threshold, the predicted value or range, whether it
/// crosses, and the checks whose findings it comes from. A threshold nothing predicts has `predicted == nil` and
/// `crossed == nil` ("unpredicted"), never a guess.
public struct Prediction: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var threshold: ScriptThreshold
        /// True for the `http_req_failed rate<0.01` that judges a script declaring no threshold.
        public var isDefault: Bool
        public var predicted: ShareRange?
        /// true: crosses; false: holds; nil: cannot say (unpredicted, or the range straddles the limit).
        public var crossed: Bool?
        public var from: [CheckID]
        /// Why it is unpredicted, or what the prediction assumes. `predicted` is a share of requests, except for
        /// `dropped_iterations`: iterations (`count`) or iterations per second (`rate`).
        public var note: String?
    }

    public var thresholds: [Line]
    /// The share of the run's requests predicted to fail (`http_req_failed`); nil when a finding's share is unknown
    /// and nothing else bounds it.
    public var httpReqFailed: ShareRange?
    /// The findings behind `httpReqFailed`, one clause each.
    public var basis: String
    /// Checks whose findings predict failed requests, in report order.
    public var from: [CheckID]

    public var crossed: [Line] { thresholds.filter { $0.crossed == true } }

    /// Predicts from the findings' effects. Only checks that warn or are root causes count: a consequence's
    /// requests are its cause's (counting both would count them twice).
    public static func make(results: [CheckResult], thresholds declared: [ScriptThreshold]) -> Prediction {
        let isDefault = declared.isEmpty
        let thresholds = isDefault ? [ScriptThreshold.defaultFailedRequests] : declared
        var effects: [(CheckID, Effect)] = []
        var drops: [(CheckID, Effect)] = []
        var slower: [(CheckID, Effect)] = []
        var grpcEffects: [(CheckID, Effect)] = []
        for r in results where (r.status == .fail || r.status == .warn) && r.consequenceOf == nil {
            for f in r.outcome.findings where f.severity == .fail || f.severity == .warn {
                guard let e = f.effect else {
                    // A failure that predicts nothing may cost any share: unknown, never "holds".
                    if f.severity == .fail, r.status == .fail {
                        effects.append((r.id, Effect(share: nil, k6: "", basis: "\(f.sentence) (unknown share)")))
                    }
                    continue
                }
                if e.droppedIterations != nil { drops.append((r.id, e)) }
                if e.addsLatency { slower.append((r.id, e)) }
                // Dropped iterations send no request, and slower ones do not fail: no unknown share of failed ones.
                // A failed gRPC call is no failed HTTP request: it counts in `checks` only.
                if !e.failsNoRequest { if e.grpc { grpcEffects.append((r.id, e)) } else { effects.append((r.id, e)) } }
            }
        }
        let all = combine(effects.map(\.1))
        let from = effects.map(\.0).reduce(into: [CheckID]()) { if !$0.contains($1) { $0.append($1) } }
        let basis = effects.isEmpty && grpcEffects.isEmpty
            ? "no finding predicts failed requests"
            : (effects + grpcEffects).map { "\($0.0): \($0.1.basis)" }.joined(separator: "; ")

        var lines: [Line] = []
        for t in thresholds {
            guard let expr = t.expression else {
                lines.append(Line(threshold: t, isDefault: isDefault, predicted: nil, crossed: nil, from: [], note: "expression not understood"))
                continue
            }
            switch (t.metric, expr.aggregation) {
            case ("http_req_failed", .rate):
                let tagged = t.selector?.tag("name")
                // An effect that names its requests by method and URL, not by this name tag, may or may not hit the
                // tagged ones: an unknown share of them, never left out.
                let hits = effects.compactMap { h -> (CheckID, Effect)? in
                    guard let name = tagged, !h.1.requests.isEmpty, !h.1.requests.contains(name) else { return h }
                    // Named by other name tags only ("send"): it does not hit this one.
                    if !h.1.requests.contains(where: { $0.contains(" ") }) { return nil }
                    var e = h.1
                    e.share = nil
                    return (h.0, e)
                }
                var range = combine(hits.map(\.1))
                // A named subset fails at least at the share of all requests, and at most entirely.
                if let name = tagged, let r = range, hits.contains(where: { $0.1.requests.contains(name) }) {
                    range = ShareRange(low: r.low, high: 1)
                }
                lines.append(Line(threshold: t, isDefault: isDefault, predicted: range, crossed: crosses(expr, range: range, low: lowBound(hits.map(\.1))),
                                  from: hits.map(\.0).uniqued, note: nil))
            case ("checks", .rate):
                // Checks pass where requests succeed, when the script's checks test the status; a gRPC effect's share
                // is already the share of the checks it fails.
                let both = effects + grpcEffects
                let failing = combine(both.map(\.1))
                let pass = failing.map { ShareRange(low: 1 - $0.high, high: 1 - $0.low) }
                let lowFail = lowBound(both.map(\.1))
                let crossed: Bool? = pass.map { p in crossedRange(expr, p) } ?? (lowFail > 0 && !expr.holds(for: 1 - lowFail) ? true : nil)
                lines.append(Line(threshold: t, isDefault: isDefault, predicted: pass, crossed: crossed,
                                  from: (from + grpcEffects.map(\.0)).uniqued,
                                  note: "assumes the script's checks test the status"))
            case ("dropped_iterations", .count), ("dropped_iterations", .rate):
                guard !drops.isEmpty else {
                    lines.append(Line(threshold: t, isDefault: isDefault, predicted: nil, crossed: nil, from: [], note: "unpredicted: no check predicts \(t.metric)"))
                    continue
                }
                // A counter: `count` is the total, `rate` the count per second of the run. Findings add up.
                let perSecond = expr.aggregation == .rate
                let parts = drops.compactMap { d in d.1.droppedIterations.map { perSecond ? $0.perSecond : $0.count } }
                let range = ShareRange(low: parts.map(\.lowerBound).reduce(0, +), high: parts.map(\.upperBound).reduce(0, +))
                lines.append(Line(threshold: t, isDefault: isDefault, predicted: range, crossed: crossedRange(expr, range),
                                  from: drops.map(\.0).uniqued, note: drops.map { "\($0.0): \($0.1.basis)" }.joined(separator: "; ")))
            case ("http_req_duration", _) where slower.contains(where: { !$0.1.grpc }),
                 ("grpc_req_duration", _) where slower.contains(where: { $0.1.grpc }):
                // A slower gRPC call is no slower HTTP request, and the reverse.
                let these = slower.filter { $0.1.grpc == (t.metric == "grpc_req_duration") }
                lines.append(Line(threshold: t, isDefault: isDefault, predicted: nil, crossed: nil, from: these.map(\.0).uniqued,
                                  note: "every latency grows: " + these.map { "\($0.0): \($0.1.basis)" }.joined(separator: "; ")))
            default:
                lines.append(Line(threshold: t, isDefault: isDefault, predicted: nil, crossed: nil, from: [], note: "unpredicted: no check predicts \(t.metric)"))
            }
        }
        return Prediction(thresholds: lines, httpReqFailed: all, basis: basis, from: from)
    }

    /// Several findings at once: at least the largest share, at most their sum (they may hit different requests).
    /// An unknown share may be anything: the range then reaches 100 %, and its low end is what the others guarantee.
    static func combine(_ effects: [Effect]) -> ShareRange? {
        var low = 0.0, high = 0.0
        for e in effects {
            guard let s = e.share else { high = 1; continue }
            low = max(low, s.low)
            high = min(1, high + s.high)
        }
        return ShareRange(low: low, high: high)
    }

    /// The least share the known effects guarantee, even when another's is unknown.
    static func lowBound(_ effects: [Effect]) -> Double { effects.compactMap(\.share?.low).max() ?? 0 }

    static func crossedRange(_ e: ThresholdExpression, _ r: ShareRange) -> Bool? {
        let holdsLow = e.holds(for: r.low), holdsHigh = e.holds(for: r.high)
        if holdsLow && holdsHigh { return false }
        if !holdsLow && !holdsHigh { return true }
        return nil
    }

    static func crosses(_ e: ThresholdExpression, range: ShareRange?, low: Double) -> Bool? {
        if let range { return crossedRange(e, range) }
        // Unknown share: it crosses if what is known already crosses; else it cannot be said.
        return low > 0 && !e.holds(for: low) ? true : nil
    }
}
