import PreflightCore

/// `--format text`: a person's view. Root causes first with evidence and fix, their consequences
/// under them; then blocked checks; then warnings; passes one line each.
public struct TextReporter {
    public var color: Bool
    public var verbose: Bool

    public init(color: Bool, verbose: Bool = false) {
        self.color = color
        self.verbose = verbose
    }

    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { paint(s, "1") }

    public func render(_ report: Report) -> String {
        var out: [String] = []
        let failed = report.results.filter { $0.status == .fail }
        let blocked = report.results.filter { $0.status == .blocked }
        let warned = report.results.filter { $0.status == .warn }
        let passed = report.results.filter { $0.status == .pass }
        let skipped = report.results.filter { $0.status == .skipped }
        let crashed = report.results.filter { $0.status == .crash }

        switch report.verdict {
        case .go:
            let note = warned.isEmpty ? "" : " with \(warned.count) warning\(warned.count == 1 ? "" : "s")"
            out.append(paint(bold("GO"), "32") + "  ready for the load test\(note) (\(report.results.count - skipped.count) checks, \(format(report.duration)))")
        case .noGo:
            var parts = report.rootCauses.isEmpty ? [] : ["\(report.rootCauses.count) root cause\(report.rootCauses.count == 1 ? "" : "s")"]
            let consequences = failed.count - report.rootCauses.count
            if consequences > 0 { parts.append("\(consequences) consequence\(consequences == 1 ? "" : "s")") }
            if !blocked.isEmpty { parts.append("\(blocked.count) blocked") }
            if !crashed.isEmpty { parts.append("\(crashed.count) check\(crashed.count == 1 ? "" : "s") crashed") }
            let lead = report.rootCauses.isEmpty ? "incomplete, preflight itself failed" : "fix in this order"
            out.append(paint(bold("NO-GO"), "31") + "  \(lead): \(parts.joined(separator: ", ")) (\(format(report.duration)))")
        }
        if let p = report.prediction { out += PredictionRendering.lines(p).map { "  " + $0 } }

        for (i, id) in report.rootCauses.enumerated() {
            guard let r = report.result(id) else { continue }
            out.append("")
            out.append(paint("✗", "31") + " \(i + 1). " + bold("\(r.title) [\(r.id)]") + "  \(headline(r))")
            out += evidenceLines(r.outcome.evidence, indent: "     ")
            if let fix = r.outcome.fix { out.append("     " + paint("fix:", "1;36") + " \(fix)") }
            out += effectLines(r.outcome.findings.first?.effect, indent: "     ")
            out += findingLines(r, indent: "     ", evidence: true)
            for c in report.consequences(of: id) {
                out.append("     " + paint("↳ consequence:", "33") + " \(c.title) [\(c.id)]  \(c.outcome.summary)")
            }
        }
        if !crashed.isEmpty {
            // Apart from the root causes: these say nothing about the stack.
            out.append("")
            out.append(bold("preflight's own errors (not your stack's)"))
            for r in crashed {
                out.append("  " + paint("💥", "35") + " \(r.title) [\(r.id)]  \(r.outcome.summary)")
                out += evidenceLines(r.outcome.evidence, indent: "      ")
            }
            out.append("      " + paint("fix:", "1;36") + " \(CheckOutcome.crashFix)")
        }
        if !blocked.isEmpty {
            out.append("")
            out.append(bold("Not run (blocked)"))
            for r in blocked { out.append("  " + paint("-", "90") + " \(r.title) [\(r.id)]  blocked by \(r.blockedBy.joined(separator: ", "))") }
        }
        if !warned.isEmpty {
            out.append("")
            out.append(bold("Warnings"))
            for r in warned {
                out.append("  " + paint("!", "33") + " \(r.title) [\(r.id)]  \(headline(r))")
                if verbose { out += evidenceLines(r.outcome.evidence, indent: "      ") }
                if let fix = r.outcome.fix { out.append("      " + paint("fix:", "1;36") + " \(fix)") }
                if verbose { out += effectLines(r.outcome.findings.first?.effect, indent: "      ") }
                out += findingLines(r, indent: "      ", evidence: verbose)
            }
        }
        if !passed.isEmpty {
            out.append("")
            for r in passed {
                out.append("  " + paint("✓", "32") + " \(r.title) [\(r.id)]  \(headline(r))")
                if verbose { out += evidenceLines(r.outcome.evidence, indent: "      ") }
                out += findingLines(r, indent: "      ", evidence: verbose)
            }
        }
        if !skipped.isEmpty {
            if passed.isEmpty { out.append("") }
            for r in skipped { out.append("  " + paint("○", "90") + " \(r.title) [\(r.id)]  skipped: \(r.outcome.summary)") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The first finding's sentence, with its place when it has one.
    func headline(_ r: CheckResult) -> String { r.outcome.summary }

    /// The findings after the headline, one line each with its mark and place, then its evidence and its fix.
    func findingLines(_ r: CheckResult, indent: String, evidence: Bool) -> [String] {
        var out: [String] = []
        for f in r.furtherFindings {
            let color = f.severity == .fail ? "31" : f.severity == .warn ? "33" : "90"
            out.append(indent + paint(f.mark, color) + " \(f.sentence)")
            if evidence { out += evidenceLines(f.evidence, indent: indent + "  ") }
            if let fix = f.fix { out.append(indent + "  " + paint("fix:", "1;36") + " \(fix)") }
            if evidence, f.severity != .pass { out += effectLines(f.effect, indent: indent + "  ") }
        }
        return out
    }

    /// A finding's predicted effect on the run (issue 29), under its fix: with the root causes, and with every
    /// warning in --verbose.
    func effectLines(_ e: Effect?, indent: String) -> [String] {
        guard let e else { return [] }
        return [indent + paint("effect:", "1;35") + " " + PredictionRendering.effect(e)]
    }

    func evidenceLines(_ e: Evidence, indent: String) -> [String] {
        e.entries.map { indent + paint("\($0.key):", "90") + " \($0.value.display)" }
    }
}
