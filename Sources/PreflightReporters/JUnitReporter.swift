import Foundation
import PreflightCore

/// `--format junit`: one testsuite, one testcase per check named by its title; failures carry the
/// summary and evidence, blocked checks are skipped with their root cause.
public struct JUnitReporter {
    public init() {}

    public func render(_ report: Report) -> String {
        let failures = report.results.filter { $0.status == .fail }.count
        let skipped = report.results.filter { $0.status == .blocked || $0.status == .skipped }.count
        let errors = report.crashes.count
        var out = [#"<?xml version="1.0" encoding="UTF-8"?>"#]
        out.append(#"<testsuite name="preflight" tests="\#(report.results.count)" failures="\#(failures)" errors="\#(errors)" skipped="\#(skipped)" time="\#(seconds(report.duration.milliseconds))">"#)
        out.append(#"  <properties><property name="verdict" value="\#(report.verdict.rawValue)"/><property name="rootCauses" value="\#(xml(report.rootCauses.joined(separator: ",")))"/></properties>"#)
        for r in report.results {
            let open = #"  <testcase classname="preflight.\#(xml(r.id))" name="\#(xml(r.title))" time="\#(seconds(Double(r.durationMs)))""#
            switch r.status {
            case .pass:
                out.append(open + "/>")
            case .warn:
                out.append(open + ">")
                let text = ["warning: " + headline(r)] + (r.outcome.fix.map { ["fix: \($0)"] } ?? []) + further(r)
                out.append("    <system-out>\(xml(text.joined(separator: "\n")))</system-out>")
                out.append("  </testcase>")
            case .fail:
                var body = r.outcome.evidence.entries.map { "\($0.key): \($0.value.display)" }
                if let cause = r.consequenceOf { body.insert("consequence of: \(cause)", at: 0) }
                if let fix = r.outcome.fix { body.append("fix: \(fix)") }
                body += further(r)
                out.append(open + ">")
                out.append(#"    <failure message="\#(xml(headline(r)))" type="\#(r.consequenceOf == nil ? "root-cause" : "consequence")">\#(xml(body.joined(separator: "\n")))</failure>"#)
                out.append("  </testcase>")
            case .blocked:
                out.append(open + ">")
                out.append(#"    <skipped message="\#(xml("blocked by \(r.blockedBy.joined(separator: ", ")) (root cause: \(rootCause(of: r, in: report)))"))"/>"#)
                out.append("  </testcase>")
            case .skipped:
                out.append(open + ">")
                out.append(#"    <skipped message="\#(xml(r.outcome.summary))"/>"#)
                out.append("  </testcase>")
            case .crash:
                // JUnit's <error> is "the test itself broke", as distinct from <failure>: preflight's fault.
                out.append(open + ">")
                out.append(#"    <error message="\#(xml(r.outcome.summary))" type="preflight-crash">\#(xml(CheckOutcome.crashFix))</error>"#)
                out.append("  </testcase>")
            }
        }
        out.append("</testsuite>")
        return out.joined(separator: "\n") + "\n"
    }

    func headline(_ r: CheckResult) -> String { r.outcome.summary }

    /// The findings after the headline: "also (warn): sentence (file:line)", then "  fix: …".
    func further(_ r: CheckResult) -> [String] {
        r.furtherFindings.flatMap { f in ["also (\(f.severity.rawValue)): \(f.sentence)"] + (f.fix.map { ["  fix: \($0)"] } ?? []) }
    }

    func rootCause(of r: CheckResult, in report: Report) -> String {
        r.blockedBy.map { report.result($0)?.consequenceOf ?? $0 }.joined(separator: ", ")
    }

    func seconds(_ ms: Double) -> String { String(format: "%.3f", ms / 1000) }

    func xml(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(u)
            case _ where u.value < 0x20 || (0xFFFE...0xFFFF).contains(u.value): out += "?"  // not allowed in XML 1.0
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
