import PreflightCore

/// What preflight predicted beside what the run did: per threshold, for http_req_failed, and per failure kind
/// (Core's `FailureKind`, the vocabulary both sides speak).
public struct PredictionComparison: Sendable, Equatable {
    public struct ThresholdRow: Sendable, Equatable {
        public var metric: String
        public var expression: String
        /// nil when the report has no prediction for this threshold.
        public var predicted: Prediction.Threshold?
        /// nil when the run has no such threshold (or k6 did not say).
        public var happened: ThresholdResult?

        /// Whether the predicted crossing matched k6's verdict; nil when either side is unknown.
        public var agrees: Bool? {
            guard let c = predicted?.crossed, let h = happened else { return nil }
            return c == h.failed
        }
    }

    public struct KindRow: Sendable, Equatable {
        public var kind: FailureKind?
        /// As the report wrote it, or the kind's k6 form when only the run saw it.
        public var k6: String
        public var predicted: [Prediction.Effect]
        /// Failed requests of this kind; nil when the output has no error codes (a summary).
        public var failed: Int?
    }

    public var thresholds: [ThresholdRow]
    public var httpReqFailed: PredictedRange?
    public var basis: String?
    public var kinds: [KindRow]
    /// The run's requests and failed requests, for the shares that happened.
    public var requests: Int
    public var failedRequests: Int
    /// Whether the run's output names failure kinds (only `--out json` does).
    public var knowsKinds: Bool

    init(_ p: Prediction, facts f: RunFacts) {
        basis = p.basis
        httpReqFailed = p.httpReqFailed
        requests = f.requests
        failedRequests = f.failedRequests
        knowsKinds = f.requestsByEndpoint != nil

        func key(_ metric: String, _ expression: String) -> String {
            (MetricSelector(metric)?.description ?? metric) + " " + (ThresholdExpression(expression)?.description ?? expression)
        }
        var rows: [ThresholdRow] = p.thresholds.map { ThresholdRow(metric: $0.metric, expression: $0.expression, predicted: $0) }
        for t in f.thresholds {
            if let i = rows.firstIndex(where: { key($0.metric, $0.expression) == key(t.metric, t.expression) && $0.happened == nil }) {
                rows[i].happened = t
            } else {
                rows.append(ThresholdRow(metric: t.metric, expression: t.expression, happened: t))
            }
        }
        thresholds = rows

        var kinds: [KindRow] = []
        for e in p.effects {
            if let i = kinds.firstIndex(where: { $0.kind != nil && $0.kind == e.kind }) { kinds[i].predicted.append(e) }
            else { kinds.append(KindRow(kind: e.kind, k6: e.k6, predicted: [e], failed: nil)) }
        }
        var seen: [FailureKind: Int] = [:]
        for c in f.codeStats { seen[c.kind, default: 0] += c.count }
        for i in kinds.indices {
            guard let k = kinds[i].kind else { continue }
            kinds[i].failed = knowsKinds ? (seen.removeValue(forKey: k) ?? 0) : (f.failedRequests == 0 ? 0 : nil)
        }
        for (k, n) in seen.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key.id < $1.key.id }) {
            kinds.append(KindRow(kind: k, k6: k.k6, predicted: [], failed: n))
        }
        self.kinds = kinds
    }

    /// Lines for the text view: one per threshold, http_req_failed, one per failure kind, then the basis.
    public var lines: [String] {
        var out: [String] = []
        for r in thresholds {
            var s = "\(r.metric) \(r.expression): "
            if let p = r.predicted, p.predicted != nil || p.crossed != nil {
                s += "predicted " + (p.predicted.map { Self.shown($0, expression: r.expression) } ?? "no value")
                s += p.crossed.map { $0 ? ", crosses" : ", holds" } ?? ", crossing unknown"
                if !p.from.isEmpty { s += " (from \(p.from.joined(separator: ", ")))" }
            } else if r.predicted != nil {
                s += "unpredicted (nothing preflight measures bears on it)"
            } else {
                s += "not predicted"
            }
            if let h = r.happened {
                s += "; happened " + (h.observed.map { Self.shown($0, expression: r.expression) } ?? "(no value)")
                s += h.failed ? ", crossed" : ", held"
            } else {
                s += "; not in the run"
            }
            if let a = r.agrees { s += a ? ": agrees" : ": disagrees" }
            out.append(s)
        }
        let rate = requests > 0 ? Double(failedRequests) / Double(requests) : 0
        var failed = "http_req_failed: predicted " + (httpReqFailed.map { Self.percentRange($0) } ?? "nothing")
        failed += "; happened \(formatPercent(rate)) (\(formatCount(failedRequests)) of \(formatCount(requests)) requests)"
        if let p = httpReqFailed, requests > 0 { failed += Self.within(rate, p) }
        out.append(failed)
        for k in kinds {
            var s = (k.kind?.id ?? "unknown kind") + " (\(k.k6)): "
            if k.predicted.isEmpty {
                s += "not predicted"
            } else {
                let shares = k.predicted.compactMap(\.share)
                let share = shares.isEmpty ? "unknown share"
                    : Self.percentRange(PredictedRange(low: shares.map(\.low).max()!, high: min(1, shares.map(\.high).reduce(0, +))))
                let from = k.predicted.compactMap(\.from).first.map(Self.when) ?? ""
                s += "predicted \(share) of requests\(from) (from \(k.predicted.map(\.check).joined(separator: ", ")))"
            }
            if let n = k.failed {
                let r = requests > 0 ? Double(n) / Double(requests) : 0
                s += "; happened \(formatCount(n)) of \(formatCount(requests)) requests (\(formatPercent(r)))"
                if n == 0 && !k.predicted.isEmpty { s += ": did not happen" }
                else if let first = k.predicted.compactMap(\.share).first, k.predicted.count == 1, requests > 0 { s += Self.within(r, first) }
            } else {
                s += "; happened: unknown (this output has no error codes: explain k6's --out json for them)"
            }
            out.append(s)
        }
        if let basis { out.append("basis: \(basis)") }
        return out
    }

    /// The comparison as JSON, for `explain --format json` (`prediction`, only with --preflight).
    public var json: JSONValue {
        func range(_ r: PredictedRange?) -> JSONValue {
            r.map { .object(Evidence([("low", .double($0.low)), ("high", .double($0.high))])) } ?? .null
        }
        let rows: [JSONValue] = thresholds.map { r in
            .object(Evidence([
                ("metric", .string(r.metric)), ("expression", .string(r.expression)),
                ("predicted", range(r.predicted?.predicted)), ("predictedCrossed", r.predicted?.crossed.map(JSONValue.bool) ?? .null),
                ("from", .array((r.predicted?.from ?? []).map(JSONValue.string))),
                ("observed", r.happened?.observed.map(JSONValue.double) ?? .null), ("crossed", r.happened.map { .bool($0.failed) } ?? .null),
                ("agrees", r.agrees.map(JSONValue.bool) ?? .null),
            ]))
        }
        let kindRows: [JSONValue] = kinds.map { k in
            .object(Evidence([
                ("kind", k.kind.map { .string($0.id) } ?? .null), ("k6", .string(k.k6)),
                ("predicted", .array(k.predicted.map { e in
                    .object(Evidence([("check", .string(e.check)), ("share", range(e.share)), ("from", e.from.map(JSONValue.string) ?? .null),
                                      ("requests", .array(e.requests.map(JSONValue.string)))]))
                })),
                ("failed", k.failed.map(JSONValue.int) ?? .null),
            ]))
        }
        return .object(Evidence([
            ("thresholds", .array(rows)),
            ("httpReqFailed", .object(Evidence([("predicted", range(httpReqFailed)), ("requests", .int(requests)),
                                                ("failed", .int(failedRequests))]))),
            ("kinds", .array(kindRows)), ("basis", basis.map(JSONValue.string) ?? .null),
        ]))
    }

    private static func shown(_ v: Double, expression: String) -> String {
        ThresholdExpression(expression)?.aggregation == .rate ? formatPercent(v) : formatNumber(v)
    }

    private static func shown(_ r: PredictedRange, expression: String) -> String {
        ThresholdExpression(expression)?.aggregation == .rate ? percentRange(r)
            : r.low == r.high ? formatNumber(r.low) : "\(formatNumber(r.low))-\(formatNumber(r.high))"
    }

    private static func percentRange(_ r: PredictedRange) -> String {
        r.low == r.high ? formatPercent(r.low) : "\(formatPercent(r.low))-\(formatPercent(r.high))"
    }

    /// ": inside the range", or how far outside it.
    private static func within(_ v: Double, _ r: PredictedRange) -> String {
        if v >= r.low - 1e-9 && v <= r.high + 1e-9 { return ": inside the prediction" }
        return v < r.low ? ": below the prediction" : ": above the prediction"
    }

    private static func when(_ from: String) -> String {
        switch from {
        case "start": return " from the start"
        case "peak": return " at the peak"
        default: return " from +\(from) s"
        }
    }
}
