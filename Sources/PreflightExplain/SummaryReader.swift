import Foundation
import PreflightCore

/// Reads the two end-of-test summary shapes: `--summary-export` (legacy) and a `handleSummary` data dump.
enum SummaryReader {
    /// Which shape a parsed JSON object has, or nil when it is not a k6 summary.
    static func kind(of object: [String: Any]) -> RunFacts.Source? {
        guard let metrics = object["metrics"] as? [String: Any], !metrics.isEmpty else { return nil }
        let looksK6 = metrics.keys.contains { $0.hasPrefix("http_") || $0 == "iterations" || $0 == "checks" || $0 == "vus" || $0 == "data_sent" }
            || object["root_group"] != nil
        guard looksK6 else { return nil }
        let nested = metrics.values.contains { ($0 as? [String: Any])?["values"] is [String: Any] }
        return nested ? .handleSummary : .summaryExport
    }

    static func read(_ object: [String: Any], as source: RunFacts.Source) -> RunFacts {
        var facts = RunFacts(source: source)
        let metrics = object["metrics"] as? [String: Any] ?? [:]
        func values(_ name: String) -> [String: Any]? {
            guard let m = metrics[name] as? [String: Any] else { return nil }
            return source == .handleSummary ? m["values"] as? [String: Any] : m
        }
        func number(_ v: Any?) -> Double? { (v as? NSNumber).map { $0.doubleValue } }

        facts.requests = Int(number(values("http_reqs")?["count"]) ?? 0)
        // For a rate metric k6 counts non-zero samples as passes: for http_req_failed a pass is a failed request.
        facts.failedRequests = Int(number(values("http_req_failed")?["passes"]) ?? 0)
        if let c = values("checks") {
            facts.checkPasses = Int(number(c["passes"]) ?? 0)
            facts.checkFails = Int(number(c["fails"]) ?? 0)
        } else if let root = object["root_group"] as? [String: Any] {
            var passes = 0, fails = 0
            sumChecks(root, &passes, &fails)
            facts.checkPasses = passes
            facts.checkFails = fails
        }
        facts.iterations = Int(number(values("iterations")?["count"]) ?? 0)
        facts.droppedIterations = Int(number(values("dropped_iterations")?["count"]) ?? 0)
        facts.dataReceivedBytes = number(values("data_received")?["count"])
        facts.durationAvgMs = number(values("http_req_duration")?["avg"])

        for name in metrics.keys.sorted() {
            guard let m = metrics[name] as? [String: Any], let th = m["thresholds"] as? [String: Any] else { continue }
            let vals = values(name) ?? [:]
            for expr in th.keys.sorted() {
                let failed: Bool
                if source == .handleSummary {
                    // handleSummary: {"ok": false} is a crossed threshold
                    failed = ((th[expr] as? [String: Any])?["ok"] as? Bool).map { !$0 } ?? false
                } else {
                    // --summary-export: true means the threshold failed
                    failed = th[expr] as? Bool ?? false
                }
                facts.thresholds.append(ThresholdResult(metric: name, expression: expr, failed: failed,
                                                        observed: observed(expr, in: vals, source: source)))
            }
        }
        return facts
    }

    /// The value a threshold judged, looked up under its aggregation's key.
    static func observed(_ expression: String, in values: [String: Any], source: RunFacts.Source) -> Double? {
        guard let e = ThresholdExpression(expression) else { return nil }
        var key = e.aggregation.name
        if key == "rate" && source == .summaryExport && values["rate"] == nil { key = "value" }
        if key == "value" && values["value"] == nil { key = "rate" }
        return (values[key] as? NSNumber)?.doubleValue
    }

    private static func sumChecks(_ group: [String: Any], _ passes: inout Int, _ fails: inout Int) {
        var checks: [[String: Any]] = []
        if let dict = group["checks"] as? [String: Any] { checks = dict.values.compactMap { $0 as? [String: Any] } }
        if let arr = group["checks"] as? [[String: Any]] { checks = arr }
        for c in checks {
            passes += (c["passes"] as? NSNumber)?.intValue ?? 0
            fails += (c["fails"] as? NSNumber)?.intValue ?? 0
        }
        var groups: [[String: Any]] = []
        if let dict = group["groups"] as? [String: Any] { groups = dict.values.compactMap { $0 as? [String: Any] } }
        if let arr = group["groups"] as? [[String: Any]] { groups = arr }
        for g in groups { sumChecks(g, &passes, &fails) }
    }
}
