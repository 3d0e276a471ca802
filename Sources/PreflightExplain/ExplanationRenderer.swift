import Foundation

/// Text for a person (verdict first) and the stable JSON shape for machines.
public enum ExplanationRenderer {
    public static func json(_ e: Explanation) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? enc.encode(e) else { return "{\"schema\":1}" }
        return String(decoding: data, as: UTF8.self)
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
            let share = d.share > 0 ? " \(formatPercent(d.share)) of failed requests" : ""
            lines.append("\(paint(d.signature.rawValue, "1"))\(share)")
            lines.append("  \(d.summary)")
            for (k, v) in d.evidence.entries { lines.append(paint("    \(k): \(evidenceText(v))", "2")) }
            lines.append("  fix: \(d.fix)")
        }
        return lines.joined(separator: "\n")
    }
}
