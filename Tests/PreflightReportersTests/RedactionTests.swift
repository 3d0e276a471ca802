import Foundation
import Testing
@testable import PreflightCore
@testable import PreflightReporters

/// Secrets leave the `Report` once, before any reporter runs (`Report.redacted(using:)`): whatever a format
/// escapes, it never sees a secret, so a new reporter with new escaping cannot leak one.
@Suite struct RedactionTests {
    /// Five-character runs a format's escaping keeps as they are, joined by what each format escapes: JSON's quote
    /// and backslash, XML's < & ', GitHub's % and newline (and : , in properties), Markdown's | and backtick.
    static let runs = ["Qx7vA", "Km2pB", "Lp9sC", "Rt4wD", "Ny5kE", "Hb6mF", "Jd3tG", "Wc8rH", "Zf1yJ", "Sg7nK"]
    static let secret = "Qx7vA\"Km2pB%Lp9sC<Rt4wD\nNy5kE:Hb6mF,Jd3tG|Wc8rH`Zf1yJ&Sg7nK\\'"

    /// The secret in every string a reporter prints: titles, headlines, further findings, fixes, evidence keys and
    /// nested values, places in files and effects; in a failure, a warning, a pass, a crash and a consequence.
    static func report() -> Report {
        let s = secret
        let here = SourceLocation(file: "k6/\(s).js", line: 3)
        return Report(results: [
            CheckResult(id: "custom", title: "Echo \(s)", layer: .service, outcome: CheckOutcome(findings: [
                Finding(.fail, "header is \"\(s)\"", fix: "not \(s)", evidence: Evidence(["got": .string(s)]), location: here),
                Finding(.warn, "also \(s)", fix: "rotate \(s)", location: SourceLocation(file: "src/\(s).ts", line: 9),
                        effect: Effect(requests: ["GET /x?token=\(s)"], share: .exactly(1), from: "start", k6: "401 \(s)", basis: "every request carries \(s)")),
            ], evidence: Evidence(["nested": .object(Evidence([(s, .array([.string("a \(s) b")]))]))]))),
            CheckResult(id: "health", title: "Health", layer: .service,
                        outcome: .fail("401 for \(s)", evidence: Evidence(["body": .string(s)]), fix: "send \(s)", suspects: ["custom"])),
            CheckResult(id: "script", title: "Script", layer: .script,
                        outcome: CheckOutcome(findings: [Finding(.warn, "\(s) in the script", fix: "use __ENV", location: here)])),
            CheckResult(id: "port", title: "Port", layer: .network, outcome: CheckOutcome(findings: [
                Finding(.pass, "open"), Finding(.pass, "note \(s)", evidence: Evidence(["x": .string(s)])),
            ])),
            CheckResult(id: "database", title: "Database", layer: .database, outcome: .crash("threw \(s)", evidence: Evidence(["e": .string(s)]))),
        ], duration: .milliseconds(3))
    }

    static func rendered(_ report: Report) -> [(String, String)] {
        ReportFormat.allCases.flatMap { f in
            [(f.rawValue, f.render(report, ReportFormat.Options(workspace: "/repo"))),
             (f.rawValue + " (colour, verbose)", f.render(report, ReportFormat.Options(color: true, verbose: true, workspace: "/repo")))]
        }
    }

    @Test func noFormatShowsASecretOrAnyEscapingOfIt() {
        let secrets = Secrets()
        secrets.register(Self.secret)
        let raw = Self.report()
        // The test can fail: unredacted, every format shows the secret in some spelling.
        for (format, out) in Self.rendered(raw) {
            #expect(Self.runs.contains { out.contains($0) }, "\(format) does not show the unredacted secret: the test would prove nothing")
        }
        let clean = raw.redacted(using: secrets)
        for (format, out) in Self.rendered(clean) {
            let seen = Self.runs.filter { out.contains($0) }
            #expect(seen.isEmpty, "\(format) shows \(seen) of the secret:\n\(out)")
            #expect(out.contains("***"), "\(format)")
        }
        // Redaction keeps the shape: ids, statuses, root causes, consequences, findings and places.
        #expect(clean.rootCauses == raw.rootCauses)
        #expect(clean.results.map(\.status) == raw.results.map(\.status))
        #expect(clean.result("health")?.consequenceOf == "custom")
        #expect(clean.result("custom")?.outcome.findings.count == 2)
        #expect(clean.result("custom")?.outcome.findings[0].location?.line == 3)
    }

    /// No reporter's escaping lives in Core: the registry knows the secret as written, in a URL and in Core's own
    /// JSON and XML text, not in a GitHub command's or a Markdown cell's spelling.
    @Test func theRegistryHoldsNoReporterEscaping() {
        let forms = Secrets.forms(of: "p%w|x:y,z")
        #expect(!forms.contains("p%25w|x:y,z"))
        #expect(!forms.contains("p%25w|x%3Ay%2Cz"))
        #expect(!forms.contains("p%w\\|x:y,z"))
        #expect(forms.contains("p%w|x:y,z"))
    }
}
