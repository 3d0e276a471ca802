import PreflightCore

/// The prediction as the reporters show it: text lines under the verdict, and the JSON contract of issue 29.
enum PredictionRendering {
    static func percent(_ v: Double) -> String {
        let p = v * 100
        if p == 0 { return "0" }
        if p < 1 { return p < 0.1 ? "<0.1" : String(format: "%.1f", p) }
        return String(Int(p.rounded()))
    }

    static func range(_ r: ShareRange) -> String {
        let (a, b) = (percent(r.low), percent(r.high))
        return a == b ? "\(a) %" : "\(a)–\(b) %"
    }

    /// "predicted: http_req_failed 77–80 % (…) → crosses http_req_failed rate<0.01"; then one line naming what
    /// cannot be predicted. A threshold put in place of a script without any says so.
    static func lines(_ p: Prediction) -> [String] {
        var out: [String] = []
        for l in p.thresholds where l.predicted != nil || l.crossed != nil {
            let t = l.threshold
            let value = l.predicted.map { t.metric == "checks" ? range($0).replacingOccurrences(of: " %", with: " % pass")
                : t.metric == "dropped_iterations" ? iterations($0, perSecond: l.threshold.expression?.aggregation == .rate) : range($0) } ?? "unknown share"
            let verdict: String
            switch l.crossed {
            case true?: verdict = "crosses"
            case false?: verdict = "holds"
            case nil: verdict = "may cross"
            }
            let why = t.metric == "dropped_iterations" ? (l.note ?? "") : l.from.isEmpty ? (t.metric == "http_req_failed" ? p.basis : (l.note ?? "")) : p.basis
            let dflt = l.isDefault ? " (the script declares no threshold: judged against the default)" : ""
            out.append("predicted: \(t.metric) \(value)\(why.isEmpty ? "" : " (\(why))") → \(verdict) \(t.key) \(t.source)\(dflt)")
        }
        let unpredicted = p.thresholds.filter { $0.predicted == nil && $0.crossed == nil }
        if !unpredicted.isEmpty {
            out.append("unpredicted: " + unpredicted.map { "\($0.threshold.key) \($0.threshold.source)" }.joined(separator: ", "))
        }
        return out
    }

    /// One finding's predicted effect, one line: "58–100 % of the requests fail at the peak; k6: 503; <basis>".
    static func effect(_ e: Effect) -> String {
        let from = e.from == "start" ? "from the start" : e.from == "peak" ? "at the peak" : "from \(e.from) s in"
        let named = e.requests.isEmpty ? "" : " (\(e.requests.prefix(3).joined(separator: ", "))\(e.requests.count > 3 ? ", …" : ""))"
        let head: String
        if let s = e.share {
            head = "\(range(s)) of the \(e.grpc ? "checks on gRPC calls" : "requests")\(named) fail \(from)"
        } else if let d = e.droppedIterations {
            head = "\(iterations(ShareRange(low: d.count.lowerBound, high: d.count.upperBound), perSecond: false)) dropped \(from)"
        } else if e.addsLatency {
            head = "slower \(e.grpc ? "gRPC calls" : "requests")\(named) \(from), none failed for it"
        } else if e.cutsIterations {
            head = "iterations not run (the scenario ends first)"
        } else {
            head = "an unknown share of the \(e.grpc ? "checks on gRPC calls" : "requests")\(named) fails \(from)"
        }
        return head + (e.k6.isEmpty ? "" : "; k6: \(e.k6)") + "; \(e.basis)"
    }

    /// A `dropped_iterations` prediction: "~2,500 iterations" or "~83/s" (a count, not a share).
    static func iterations(_ r: ShareRange, perSecond: Bool) -> String {
        func one(_ v: Double) -> String { perSecond ? (v < 10 ? String(format: "%.1f", v) : formatCount(Int(v.rounded()))) : formatCount(Int(v.rounded())) }
        let (a, b) = (one(r.low), one(r.high))
        return (a == b ? "~\(a)" : "\(a)–\(b)") + (perSecond ? " iterations/s" : " iterations")
    }

    static func json(_ r: ShareRange?) -> JSONValue {
        guard let r else { return .null }
        return .object(Evidence(["low": .double(rounded(r.low)), "high": .double(rounded(r.high))]))
    }

    static func rounded(_ v: Double) -> Double { (v * 10_000).rounded() / 10_000 }

    /// `prediction` of the JSON report (README, "JSON report").
    static func json(_ p: Prediction) -> JSONValue {
        .object(Evidence([
            "thresholds": .array(p.thresholds.map { l in
                var e = Evidence([
                    "metric": .string(l.threshold.key), "expression": .string(l.threshold.source),
                    "predicted": json(l.predicted), "crossed": l.crossed.map { .bool($0) } ?? .null,
                    "from": .array(l.from.map { .string($0) }), "default": .bool(l.isDefault),
                ])
                if let n = l.note { e["note"] = .string(n) }
                return .object(e)
            }),
            "httpReqFailed": json(p.httpReqFailed),
            "basis": .string(p.basis),
        ]))
    }
}
