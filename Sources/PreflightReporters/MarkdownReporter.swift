import PreflightCore

/// `--format markdown`: the verdict, the prediction against the script's thresholds, root causes with evidence and
/// fix, then a table of every check.
/// Also what goes to $GITHUB_STEP_SUMMARY.
public struct MarkdownReporter {
    public init() {}

    public func render(_ report: Report) -> String {
        var out: [String] = []
        let icon = report.verdict == .go ? "✅" : "❌"
        out.append("## \(icon) preflight: \(report.verdict == .go ? "GO" : "NO-GO")")
        out.append("")
        // The prediction against the script's thresholds (issue 29), right under the verdict.
        if let p = report.prediction {
            let lines = PredictionRendering.lines(p)
            if !lines.isEmpty {
                out += lines.map { "- \(cell($0))" }
                out.append("")
            }
        }
        if !report.rootCauses.isEmpty {
            out.append("### Fix in this order")
            out.append("")
            for (i, id) in report.rootCauses.enumerated() {
                guard let r = report.result(id) else { continue }
                out.append("\(i + 1). **\(cell(r.title))** (`\(r.id)`): \(headline(r))")
                for e in r.outcome.evidence.entries { out.append("   - \(cell(e.key)): `\(code(e.value.display))`") }
                if let fix = r.outcome.fix { out.append("   - **fix:** \(cell(fix))") }
                for f in r.furtherFindings {
                    out.append("   - \(f.mark) \(sentence(f))" + (f.fix.map { "; **fix:** \(cell($0))" } ?? ""))
                }
                for c in report.consequences(of: id) { out.append("   - consequence: **\(cell(c.title))** (`\(c.id)`): \(cell(c.outcome.summary))") }
            }
            out.append("")
        }
        out.append("| check | status | summary |")
        out.append("|---|---|---|")
        for r in report.results {
            let mark: String
            switch r.status {
            case .pass: mark = "✅ pass"
            case .warn: mark = "⚠️ warn"
            case .fail: mark = r.consequenceOf == nil ? "❌ fail" : "❌ fail (consequence of `\(r.consequenceOf!)`)"
            case .blocked: mark = "⛔ blocked by `\(r.blockedBy.joined(separator: "`, `"))`"
            case .skipped: mark = "➖ skipped"
            case .crash: mark = "💥 preflight crashed (not your stack)"
            }
            let further = r.furtherFindings.map { "<br>\($0.mark) \(sentence($0))" }.joined()
            out.append("| \(cell(r.title)) (`\(r.id)`) | \(mark) | \(headline(r))\(further) |")
        }
        out.append("")
        out.append("_\(report.results.count) checks in \(format(report.duration))_")
        return out.joined(separator: "\n") + "\n"
    }

    func headline(_ r: CheckResult) -> String { cell(r.outcome.summary) }

    func sentence(_ f: Finding) -> String { cell(f.sentence) }

    /// Table cells and list items: no line breaks, no unescaped pipes.
    func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    func code(_ s: String) -> String { cell(s).replacingOccurrences(of: "`", with: "'") }
}
