import Foundation
import PreflightCore

/// `--format github`: workflow commands, one per finding that is a failure or a warning (the headline at the
/// check's level). `::error file=…,line=…::` for findings that have a place (script, schema, migrations),
/// `::error::` otherwise; warnings as `::warning`.
public struct GitHubReporter {
    /// Paths under this folder are written relative to it, as GitHub expects ($GITHUB_WORKSPACE, else the current folder).
    let workspace: String

    public init(workspace: String? = nil) {
        let env = ProcessInfo.processInfo.environment["GITHUB_WORKSPACE"]
        self.workspace = workspace ?? env ?? FileManager.default.currentDirectoryPath
    }

    func relative(_ path: String) -> String {
        let base = workspace.hasSuffix("/") ? workspace : workspace + "/"
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    public func render(_ report: Report) -> String {
        var out: [String] = []
        for r in report.results where r.status == .fail || r.status == .warn {
            var title = "\(r.title) [\(r.id)]"
            if let cause = r.consequenceOf { title += " (consequence of \(cause))" }
            for (level, f) in r.annotated {
                var props = ""
                if let l = f.location {
                    props = "file=\(property(relative(l.file)))"
                    if let line = l.line { props += ",line=\(line)" }
                    props += ","
                }
                let fix = f.fix.map { "\nfix: \($0)" } ?? ""
                out.append("::\(level == .fail ? "error" : "warning") \(props)title=\(property(title))::\(message(f.sentence + fix))")
            }
        }
        for r in report.results where r.status == .crash {
            out.append("::error title=\(property("preflight crashed in \(r.id) (not your stack)"))::\(message(r.outcome.summary + "\nfix: " + CheckOutcome.crashFix))")
        }
        for r in report.results where r.status == .blocked {
            out.append("::notice title=\(property("\(r.title) [\(r.id)]"))::\(message("not run: blocked by \(r.blockedBy.joined(separator: ", "))"))")
        }
        // The prediction against the script's thresholds (issue 29), one notice: the verdict's reason in k6's terms.
        if let p = report.prediction {
            let lines = PredictionRendering.lines(p)
            if !lines.isEmpty { out.append("::notice title=\(property("preflight: predicted k6 thresholds"))::\(message(lines.joined(separator: "\n")))") }
        }
        let verdict = report.verdict == .go ? "GO" : "NO-GO"
        let causes = report.rootCauses.isEmpty ? "" : ": fix \(report.rootCauses.joined(separator: ", ")) first"
        let crashes = report.crashes.isEmpty ? "" : "; preflight itself crashed in \(report.crashes.joined(separator: ", "))"
        out.append("preflight: \(verdict)\(causes)\(crashes)")
        return out.joined(separator: "\n") + "\n"
    }

    /// Escaping as GitHub's runner expects it in a command's message and in its properties.
    func message(_ s: String) -> String {
        s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }

    func property(_ s: String) -> String {
        message(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
