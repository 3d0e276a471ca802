import Foundation
import PreflightCore

/// Text for a person (verdict first) and the stable JSON shape for machines.
public enum ExplanationRenderer {
    /// `{"diagnosis":[{"evidence":{…},"fix":…,"share":…,"signature":…,"summary":…}],"schema":1,"verdict":…}`, keys
    /// sorted (`JSONValue.serialised`, the reports' writer).
    public static func json(_ e: Explanation) -> String {
        let diagnosis: [JSONValue] = e.diagnosis.map { d in
            .object(Evidence([("signature", .string(d.signature.rawValue)), ("share", .double(d.share)),
                              ("summary", .string(d.summary)), ("evidence", .object(d.evidence)), ("fix", .string(d.fix))]))
        }
        var root = Evidence([("schema", .int(e.schema)), ("verdict", .string(e.verdict.rawValue)), ("diagnosis", .array(diagnosis))])
        if let c = e.comparison { root["prediction"] = c.json }
        return JSONValue.object(root).serialised
    }

    public static func text(_ e: Explanation, color: Bool) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        var lines: [String] = []
        if e.verdict == .pass {
            lines.append("\(paint("PASS", "32")): thresholds held and no failure signature was found")
        } else {
            let names = e.diagnosis.map(\.signature.rawValue).joined(separator: ", ")
            lines.append("\(paint("FAIL", "31")): \(e.diagnosis.count) signature\(e.diagnosis.count == 1 ? "" : "s"): \(names)")
        }
        if !e.source.isEmpty { lines.append(paint(e.source, "2")) }
        for d in e.diagnosis {
            lines.append("")
            let share = d.share > 0 ? " \(formatPercent(d.share)) of \(d.signature == .grpcErrors ? "gRPC calls" : "failed requests")" : ""
            lines.append("\(paint(d.signature.rawValue, "1"))\(share)")
            lines.append("  \(d.summary)")
            for (k, v) in d.evidence.entries { lines.append(paint("    \(k): \(evidenceText(v))", "2")) }
            lines.append("  fix: \(d.fix)")
        }
        if let c = e.comparison {
            lines.append("")
            lines.append(paint("predicted vs happened", "1"))
            for l in c.lines { lines.append("  \(l)") }
        }
        return lines.joined(separator: "\n")
    }
}
