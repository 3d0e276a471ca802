import Foundation
import PreflightCore

/// Why a set of JSON reports cannot be merged: one sentence naming the input (exit 2).
public struct MergeError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One runner's JSON report, as `preflight merge` reads it back.
public struct RunnerReport: Sendable {
    public let source: String
    public let runner: Runner
    public let results: [CheckResult]
    public let durationMs: Int
    public let target: String?
}

/// `preflight merge`: the JSON reports of one config run on several machines become one verdict. A check
/// that fails from some runners and passes from others says which (the allowlist, NetworkPolicy or NAT
/// difference); root causes are ordered as in one run; the exit code follows the merged verdict.
public enum ReportMerger {
    /// A report is one run's JSON (a few hundred kB at most); more than this is not a preflight report.
    public static let maxReportBytes = 8 << 20
    public static let maxReports = 1_000

    /// Parses one JSON report (`--format json`, schema 1) named `source` in messages.
    public static func parse(_ data: Data, source: String) throws(MergeError) -> RunnerReport {
        guard data.count <= maxReportBytes else { throw MergeError("\(source): \(data.count) bytes; a preflight JSON report is at most \(maxReportBytes >> 20) MiB") }
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch {
            throw MergeError("\(source): not JSON (\(error.localizedDescription)); expected the output of preflight --format json")
        }
        guard let root = any as? [String: Any] else { throw MergeError("\(source): a JSON \(kind(any)), expected preflight's JSON report (an object)") }
        guard let schema = root["schema"] as? Int, schema == 1 else {
            throw MergeError("\(source): not a preflight JSON report of schema 1 (schema is \(root["schema"].map { "\($0)" } ?? "missing"))")
        }
        guard let checks = root["checks"] as? [[String: Any]] else { throw MergeError("\(source): checks is missing or not a list of objects") }
        var runner = Runner(hostname: "unknown", addresses: [])
        if let r = root["runner"] as? [String: Any] {
            runner = Runner(hostname: r["hostname"] as? String ?? "unknown", addresses: (r["addresses"] as? [Any] ?? []).compactMap { $0 as? String })
        } else if root["runners"] != nil {
            throw MergeError("\(source): already a merged report; merge the runners' own reports")
        }
        var results: [CheckResult] = []
        for (i, c) in checks.enumerated() {
            guard let id = c["id"] as? String, let title = c["title"] as? String, let statusText = c["status"] as? String,
                  let summary = c["summary"] as? String else {
                throw MergeError("\(source): checks[\(i)] lacks id, title, status or summary")
            }
            guard let status = Status(rawValue: statusText) else { throw MergeError("\(source): checks[\(i)] (\(id)) has status \"\(statusText)\"") }
            guard let layerName = c["layer"] as? String, let layer = Layer(name: layerName) else {
                throw MergeError("\(source): checks[\(i)] (\(id)) has no known layer: a report from an older preflight? Rerun with this version")
            }
            var evidence = Evidence()
            if case .object(let e) = json(c["evidence"] ?? [String: Any]()) { evidence = e }
            let explainedBy = evidence["explainedBy"].flatMap { if case .string(let s) = $0 { return s } else { return nil } }
            evidence["explainedBy"] = nil
            var outcome = CheckOutcome(status, summary, evidence: evidence, fix: c["fix"] as? String,
                                       suspects: explainedBy.map { [$0] } ?? [])
            // Reports before findings (summary and fix only) read as one finding.
            if let list = c["findings"] as? [Any], !list.isEmpty {
                var findings: [Finding] = []
                for (j, f) in list.enumerated() { findings.append(try finding(f, at: "\(source): checks[\(i)] (\(id)) findings[\(j)]")) }
                outcome.findings = findings
            }
            results.append(CheckResult(id: id, title: title, layer: layer, outcome: outcome,
                                       blockedBy: (c["blockedBy"] as? [Any] ?? []).compactMap { $0 as? String },
                                       durationMs: c["durationMs"] as? Int ?? 0))
        }
        if results.isEmpty { throw MergeError("\(source): the report has no checks") }
        return RunnerReport(source: source, runner: runner, results: results, durationMs: root["durationMs"] as? Int ?? 0,
                            target: root["target"] as? String)
    }

    /// One finding of a JSON report, as `JSONReporter.json(_: Finding)` wrote it.
    static func finding(_ any: Any, at place: String) throws(MergeError) -> Finding {
        guard let f = any as? [String: Any], let severity = (f["severity"] as? String).flatMap(Status.init(rawValue:)),
              let sentence = f["sentence"] as? String else {
            throw MergeError("\(place) lacks a known severity or a sentence")
        }
        var evidence = Evidence()
        if case .object(let e)? = f["evidence"].map(json) { evidence = e }
        var location: SourceLocation?
        if let l = f["location"] as? [String: Any], let file = l["file"] as? String {
            location = SourceLocation(file: file, line: l["line"] as? Int)
        }
        var effect: Effect?
        if let e = f["effect"] as? [String: Any] {
            var share: ShareRange?
            if let s = e["share"] as? [String: Any], let low = (s["low"] as? NSNumber)?.doubleValue,
               let high = (s["high"] as? NSNumber)?.doubleValue {
                share = ShareRange(low: low, high: high)
            }
            func range(_ o: Any?) -> ClosedRange<Double>? {
                guard let o = o as? [String: Any], let low = (o["low"] as? NSNumber)?.doubleValue,
                      let high = (o["high"] as? NSNumber)?.doubleValue, low <= high else { return nil }
                return low...high
            }
            var drops: IterationDrops?
            if let d = e["droppedIterations"] as? [String: Any], let count = range(d["count"]), let perSecond = range(d["perSecond"]) {
                drops = IterationDrops(count: count, perSecond: perSecond)
            }
            effect = Effect(requests: (e["requests"] as? [Any] ?? []).compactMap { $0 as? String }, share: share,
                            from: e["from"] as? String ?? "start", k6: e["k6"] as? String ?? "", basis: e["basis"] as? String ?? "",
                            droppedIterations: drops, addsLatency: e["addsLatency"] as? Bool ?? false,
                            cutsIterations: e["cutsIterations"] as? Bool ?? false,
                            grpc: e["grpc"] as? Bool ?? false)
        }
        return Finding(severity, sentence, fix: f["fix"] as? String, evidence: evidence, location: location, effect: effect)
    }

    /// The merged report, and every runner in input order.
    public static func merge(_ reports: [RunnerReport]) throws(MergeError) -> (Report, [Runner]) {
        guard let first = reports.first else { throw MergeError("no reports to merge") }
        guard reports.count <= maxReports else { throw MergeError("\(reports.count) reports; at most \(maxReports) can be merged") }
        let ids = first.results.map(\.id)
        for r in reports.dropFirst() where Set(r.results.map(\.id)) != Set(ids) {
            let a = Set(ids), b = Set(r.results.map(\.id))
            let onlyA = a.subtracting(b).sorted(), onlyB = b.subtracting(a).sorted()
            var differ: [String] = []
            if !onlyA.isEmpty { differ.append("\(first.source) has \(onlyA.joined(separator: ", "))") }
            if !onlyB.isEmpty { differ.append("\(r.source) has \(onlyB.joined(separator: ", "))") }
            throw MergeError("the reports are not of one config and check list: \(differ.joined(separator: "; ")) (merge the runners of one --only/--skip)")
        }
        for r in reports.dropFirst() where r.target != first.target {
            throw MergeError("the reports are not of one config: \(first.source) checked \(first.target ?? "no target"), \(r.source) \(r.target ?? "no target")")
        }
        let runners = reports.map(\.runner)
        let labels = uniqueLabels(runners)
        var merged: [CheckResult] = []
        for id in ids {
            let each = reports.map { $0.results.first { $0.id == id }! }
            merged.append(mergeOne(each, labels: labels))
        }
        // The runners ran at once: the merged run took as long as the slowest.
        let duration = Duration.milliseconds(reports.map(\.durationMs).max() ?? 0)
        return (Report(results: merged, duration: duration), runners)
    }

    /// The target the merged reports checked (they all name the same one).
    public static func target(of reports: [RunnerReport]) -> String? { reports.first?.target
    }

    /// Worst first: what the merged status is when runners disagree.
    static let severity: [Status] = [.fail, .crash, .blocked, .warn, .pass, .skipped]

    static func mergeOne(_ each: [CheckResult], labels: [String]) -> CheckResult {
        let statuses = each.map(\.status)
        let worst = severity.first { statuses.contains($0) }!
        let n = each.count
        let lead = each.first { $0.status == worst }!
        var evidence = lead.outcome.evidence
        var byStatus = Evidence()
        for s in severity {
            let who = each.indices.filter { each[$0].status == s }.map { JSONValue.string(labels[$0]) }
            if !who.isEmpty { byStatus[s.rawValue] = .array(who) }
        }
        evidence["runners"] = .object(byStatus)
        let summary: String
        var fix = lead.outcome.fix
        if Set(statuses).count == 1 {
            let distinct = Set(each.map(\.outcome.summary))
            let all = n == 1 ? "1 runner" : "all \(n) runners"
            summary = distinct.count == 1 ? "\(lead.outcome.summary) (\(all))"
                : "\(lead.outcome.summary) (\(all) \(verb(worst, n)); \(distinct.count) different summaries, see evidence.perRunner)"
            if distinct.count > 1 {
                evidence["perRunner"] = .object(Evidence(each.indices.map { (labels[$0], JSONValue.string(each[$0].outcome.summary)) }))
            }
        } else {
            let hit = each.indices.filter { each[$0].status == worst }
            let shown = hit.prefix(3).map { labels[$0] }.joined(separator: ", ") + (hit.count > 3 ? ", …" : "")
            let rest = each.indices.filter { each[$0].status != worst }
            let restStatuses = severity.filter { s in rest.contains { each[$0].status == s } }
            let others = restStatuses.count == 1
                ? "the other \(rest.count) \(verb(restStatuses[0], rest.count))"
                : "of the other \(rest.count), " + restStatuses.map { s in
                    let k = rest.filter { each[$0].status == s }.count
                    return "\(k) \(verb(s, k))"
                }.joined(separator: ", ")
            summary = "\(verb(worst, hit.count)) from \(hit.count) of \(n) runners (\(shown)): \(lead.outcome.summary); \(others)"
            if worst == .fail || worst == .warn {
                let hint = "only some runners see this: compare what differs on them (their source addresses in an allowlist, a NetworkPolicy, NAT, the node they run on)"
                fix = fix.map { "\($0); \(hint)" } ?? hint
            }
        }
        let blockedBy = each.filter { $0.status == .blocked }.flatMap(\.blockedBy).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let suspects = each.filter { $0.status == worst }.flatMap(\.outcome.suspects).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        // The leading runner's findings stand; the headline says how the runners agree.
        var outcome = lead.outcome
        outcome.status = worst
        outcome.summary = summary
        outcome.fix = fix
        outcome.evidence = evidence
        outcome.suspects = suspects
        return CheckResult(id: lead.id, title: lead.title, layer: lead.layer,
                           outcome: outcome,
                           blockedBy: worst == .blocked ? blockedBy : [], durationMs: each.map(\.durationMs).max() ?? 0)
    }

    /// What `count` runners did: "fails"/"fail", "is blocked"/"are blocked".
    static func verb(_ s: Status, _ count: Int) -> String {
        let one = count == 1
        switch s {
        case .pass: return one ? "passes" : "pass"
        case .warn: return one ? "warns" : "warn"
        case .fail: return one ? "fails" : "fail"
        case .blocked: return one ? "is blocked" : "are blocked"
        case .skipped: return one ? "skips it" : "skip it"
        case .crash: return "crashed"
        }
    }

    /// A runner's label, made unique when two share one (two pods behind one NAT address): "10.0.3.7 (runner-2)".
    static func uniqueLabels(_ runners: [Runner]) -> [String] {
        let plain = runners.map(\.label)
        return runners.indices.map { i in
            plain.filter { $0 == plain[i] }.count > 1 && runners[i].hostname != plain[i] ? "\(plain[i]) (\(runners[i].hostname))" : plain[i]
        }
    }

    static func kind(_ any: Any) -> String {
        switch any {
        case is [Any]: return "list"
        case is String: return "string"
        case is NSNumber: return "number"
        default: return "value"
        }
    }

    /// Foundation's parse as evidence values.
    static func json(_ any: Any) -> JSONValue {
        switch any {
        case let s as String: return .string(s)
        case let n as NSNumber:
            switch String(cString: n.objCType) {
            case "c", "B": return .bool(n.boolValue)   // JSON's true and false
            case "d", "f": return .double(n.doubleValue)
            default: return .int(n.intValue)
            }
        case let a as [Any]: return .array(a.map(json))
        case let o as [String: Any]: return .object(Evidence(o.keys.sorted().map { ($0, json(o[$0]!)) }))
        default: return .null
        }
    }
}
