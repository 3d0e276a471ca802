import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import PreflightCore
@testable import PreflightReporters

/// Reporters compared byte for byte with Tests/PreflightReportersTests/Golden (UPDATE_GOLDEN=1 rewrites them):
/// each report redacted once, as the CLI does before any reporter runs, then rendered and passed through the
/// output sink's last-line scrub.
@Suite struct ReporterGoldenTests {
    static let sample = sampleWithSecrets.redacted(using: .shared)

    static let sampleWithSecrets: Report = {
        Secrets.shared.register("golden-secret-pw")
        return Report(results: [
            CheckResult(id: "port", title: "Service port", layer: .network,
                        outcome: .pass("127.0.0.1:3001 accepts TCP connections (0.12 ms)",
                                       evidence: Evidence(["target": "127.0.0.1:3001", "latencyMs": .double(0.12)])), durationMs: 1),
            CheckResult(id: "health", title: "Health endpoint", layer: .service,
                        outcome: .fail("http://127.0.0.1:3001/api/v1/health answers 503: database disconnected: the service cannot reach its database",
                                       evidence: Evidence(["status": 503, "components": .object(Evidence(["database": "disconnected"]))]),
                                       fix: "fix the database first (see the database check)", suspects: ["database"]), durationMs: 4),
            CheckResult(id: "database", title: "Database login", layer: .database,
                        outcome: .fail("connection refused on 127.0.0.1:5433: PostgreSQL is not running there",
                                       evidence: Evidence(["server": "127.0.0.1:5433", "url": .string(redactURL("postgresql://chat:golden-secret-pw@127.0.0.1:5433/chat")),
                                                           "error": "connection to server failed: Connection refused (golden-secret-pw)"]),
                                       fix: "start PostgreSQL, or correct host and port in database.url"), durationMs: 2),
            CheckResult(id: "rate-limit", title: "Rate limiter", layer: .limits,
                        outcome: CheckOutcome(.blocked, "not run: health failed"), blockedBy: ["health"]),
            CheckResult(id: "script", title: "Load script", layer: .script,
                        outcome: CheckOutcome(findings: [Finding(.warn, "k6/chat.js:12: threshold on latency_sendd, no such metric", fix: "remove or rename the threshold",
                                                                 location: SourceLocation(file: "k6/chat.js", line: 12))])),
            CheckResult(id: "schema", title: "Schema", layer: .schema, outcome: .skipped("no schema section")),
        ], duration: .milliseconds(12))
    }()

    /// A check's several findings as data: failures with their own fixes, one at a line of a file (one under the
    /// workspace, one outside it), a warning without a place, and a warning with its predicted effect on the run.
    static let findings = Report(results: [
        CheckResult(id: "port", title: "Service port", layer: .network,
                    outcome: .pass("127.0.0.1:3001 accepts TCP connections (0.12 ms)"), durationMs: 1),
        CheckResult(id: "schema", title: "Schema", layer: .schema, outcome: CheckOutcome(findings: [
            Finding(.fail, "prisma/schema.prisma:46: `messages.type` is missing; the table has `message_type`",
                    fix: "add @map(\"message_type\") to Message.type, or rename the column",
                    evidence: Evidence(["kind": "column"]), location: SourceLocation(file: "/repo/prisma/schema.prisma", line: 46)),
            Finding(.fail, "/elsewhere/src/chat.ts:13: `messageType` is not a field of Message (data in this.db.message.create)",
                    fix: "use the field names of schema.prisma in the code, then rebuild",
                    evidence: Evidence(["kind": "code"]), location: SourceLocation(file: "/elsewhere/src/chat.ts", line: 13)),
            Finding(.warn, "dist is older than the sources (src/chat.ts changed after the last build)",
                    fix: "rebuild (npm run build) and restart the service before the load test"),
        ], evidence: Evidence(["tables": 5])), durationMs: 6),
        CheckResult(id: "pool", title: "Connection capacity", layer: .capacity, outcome: CheckOutcome(findings: [
            Finding(.warn, "pools need 90 (api 90) of the 97 the server allows (100 - 3 superuser_reserved_connections): 93% (warn above 80%)",
                    fix: "leave headroom for restarts (old and new replicas overlap), migrations and psql: lower the pools or raise max_connections",
                    effect: Effect(requests: ["POST /api/v1/messages"], share: ShareRange(low: 0.05, high: 0.2), from: "peak",
                                   k6: "500", basis: "a rollout's second replica opens 90 more connections than the 7 left")),
            Finding(.warn, "migrations hold 3 connections while they run", effect: Effect(share: nil, k6: "1211 request timeout", basis: "unknown share: depends on when they run")),
            Finding(.pass, "probe: the server accepted all 90 connections (all closed again)"),
        ], evidence: Evidence(["maxConnections": 100])), durationMs: 9),
    ], duration: .milliseconds(15))

    /// A healthy stack: exit 0.
    static let go = Report(results: [
        CheckResult(id: "port", title: "Service port", layer: .network,
                    outcome: .pass("127.0.0.1:3001 accepts TCP connections (0.12 ms)"), durationMs: 1),
        CheckResult(id: "health", title: "Health endpoint", layer: .service,
                    outcome: .pass("GET http://127.0.0.1:3001/health answered 200 in 3 ms"), durationMs: 3),
        CheckResult(id: "script", title: "Load script", layer: .script,
                    outcome: .warn("threshold http_req_failed<1 can never fail", fix: "write rate<0.01")),
    ], duration: .milliseconds(9))

    /// preflight's own failure beside a healthy port: exit 3, no root cause, the dependant blocked.
    static let crash = Report(results: [
        CheckResult(id: "port", title: "Service port", layer: .network,
                    outcome: .pass("127.0.0.1:3001 accepts TCP connections (0.12 ms)"), durationMs: 1),
        CheckResult(id: "database", title: "Database login", layer: .database,
                    outcome: .crash("the database check threw an error: index out of range")),
        CheckResult(id: "pool", title: "Connection capacity", layer: .capacity,
                    outcome: CheckOutcome(.blocked, "not run: database crashed or failed"), blockedBy: ["database"]),
    ], duration: .milliseconds(5))

    static func render(_ report: Report, _ format: String) -> String {
        switch format {
        case "text": return TextReporter(color: false).render(report)
        case "json": return JSONReporter().render(report)
        case "junit.xml": return JUnitReporter().render(report)
        case "github": return GitHubReporter(workspace: "/repo").render(report)
        case "sarif": return SARIFReporter(workspace: "/repo", toolVersion: "0.1.0").render(report)
        default: return MarkdownReporter().render(report)
        }
    }

    /// goss's out_<spec>.<exit>.<format>: every scenario in every format, its exit code in the name.
    @Test(arguments: ["text", "json", "junit.xml", "github", "md", "sarif"])
    func scenarios(format: String) throws {
        #expect(Self.go.exitCode == 0)
        #expect(Self.crash.exitCode == 3)
        #expect(Self.crash.rootCauses.isEmpty)
        #expect(Self.findings.exitCode == 1)
        try compare(Self.render(Self.go, format), "go.0.\(format)")
        try compare(Self.render(Self.crash, format), "crash.3.\(format)")
        try compare(Self.render(Self.findings, format), "findings.1.\(format)")
    }

    /// The verbose text shows each further finding's evidence.
    @Test func findingsVerbose() throws {
        try compare(TextReporter(color: false, verbose: true).render(Self.findings), "findings.1.verbose.text")
    }

    /// `rendered` as it leaves the process: through the output sink's scrub (the reporters only render).
    func compare(_ rendered: String, _ name: String) throws {
        let actual = Secrets.shared.scrub(rendered)
        let golden = packageRoot.appendingPathComponent("Tests/PreflightReportersTests/Golden/\(name)")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try actual.write(to: golden, atomically: true, encoding: .utf8)
            return
        }
        let url = try #require(Bundle.module.url(forResource: "Golden/\(name)", withExtension: nil), "no golden file \(name): run with UPDATE_GOLDEN=1")
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected, "\(name) differs from its golden file; rerun with UPDATE_GOLDEN=1 after checking the change")
    }

    static var packageRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
    var packageRoot: URL { Self.packageRoot }

    @Test func text() throws {
        try compare(TextReporter(color: false).render(Self.sample), "sample.1.text")
    }

    @Test func textVerbose() throws {
        try compare(TextReporter(color: false, verbose: true).render(Self.sample), "sample.1.verbose.text")
    }

    @Test func json() throws {
        try compare(JSONReporter().render(Self.sample), "sample.1.json")
    }

    @Test func junit() throws {
        try compare(JUnitReporter().render(Self.sample), "sample.1.junit.xml")
    }

    @Test func junitIsWellFormedXML() throws {
        let doc = try XMLDocument(data: Data(JUnitReporter().render(Self.sample).utf8))
        let cases = try doc.nodes(forXPath: "/testsuite/testcase")
        #expect(cases.count == Self.sample.results.count)
        #expect(try doc.nodes(forXPath: "/testsuite/testcase/failure").count == 2)
        #expect(try doc.nodes(forXPath: "/testsuite/testcase/skipped").count == 2)
        let blocked = try doc.nodes(forXPath: "/testsuite/testcase[@classname='preflight.rate-limit']/skipped/@message").first?.stringValue
        #expect(blocked == "blocked by health (root cause: database)")
    }

    @Test func github() throws {
        try compare(GitHubReporter(workspace: "/repo").render(Self.sample), "sample.1.github")
    }

    @Test func githubPathsAreRelativeToTheWorkspace() {
        let r = Report(results: [CheckResult(id: "schema", title: "Schema", layer: .schema,
                                             outcome: CheckOutcome(findings: [Finding(.fail, "missing column", location: SourceLocation(file: "/repo/prisma/schema.prisma", line: 48))]))],
                       duration: .zero)
        #expect(GitHubReporter(workspace: "/repo").render(r).hasPrefix("::error file=prisma/schema.prisma,line=48,"))
        #expect(GitHubReporter(workspace: "/elsewhere").render(r).hasPrefix("::error file=/repo/prisma/schema.prisma,line=48,"))
    }

    @Test func markdown() throws {
        try compare(MarkdownReporter().render(Self.sample), "sample.1.md")
    }

    @Test func strictTurnsWarningsIntoFailures() {
        let strict = Report(results: Self.sample.results, duration: .zero, strict: true)
        #expect(strict.result("script")?.status == .fail)
        #expect(strict.rootCauses == ["database", "script"])
        let lenient = Report(results: [Self.sample.results[0], Self.sample.results[4]], duration: .zero)
        #expect(lenient.verdict == .go)
        #expect(Report(results: lenient.results, duration: .zero, strict: true).verdict == .noGo)
    }

    @Test func githubEscapesCommandSyntax() {
        let r = Report(results: [CheckResult(id: "x", title: "A: b, c", layer: .service,
                                             outcome: CheckOutcome(findings: [Finding(.fail, "100% broken\nsecond line", location: SourceLocation(file: "src/a,b.ts", line: 7))]))],
                       duration: .zero)
        let out = GitHubReporter(workspace: "/repo").render(r)
        #expect(out.hasPrefix("::error file=src/a%2Cb.ts,line=7,title=A%3A b%2C c [x]::100%25 broken%0Asecond line\n"))
    }

    @Test func jsonHasTheDocumentedShape() throws {
        let data = Data(JSONReporter().render(Self.sample).utf8)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(root.keys) == ["schema", "verdict", "exitCode", "durationMs", "rootCauses", "crashes", "checks"])
        #expect(root["verdict"] as? String == "no-go")
        #expect(root["rootCauses"] as? [String] == ["database"])
        let checks = try #require(root["checks"] as? [[String: Any]])
        for c in checks {
            #expect(Set(c.keys) == ["id", "title", "status", "layer", "summary", "blockedBy", "evidence", "fix", "findings"])
            // summary and fix stay the first finding's, for consumers from before findings.
            let first = try #require((c["findings"] as? [[String: Any]])?.first)
            #expect(Set(first.keys) == ["severity", "sentence", "fix", "evidence", "location", "effect"])
            #expect(first["sentence"] as? String == c["summary"] as? String)
            #expect(first["fix"] as? String == c["fix"] as? String)
        }
        let several = try #require(try JSONSerialization.jsonObject(with: Data(JSONReporter().render(Self.findings).utf8)) as? [String: Any])
        let schema = try #require((several["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "schema" })
        let list = try #require(schema["findings"] as? [[String: Any]])
        #expect(list.map { $0["severity"] as? String } == ["fail", "fail", "warn"])
        #expect((list[0]["location"] as? [String: Any])?["line"] as? Int == 46)
        #expect(list[2]["location"] is NSNull)
        let pool = try #require((several["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "pool" })
        let effect = try #require(((pool["findings"] as? [[String: Any]])?.first)?["effect"] as? [String: Any])
        #expect(Set(effect.keys) == ["requests", "share", "from", "k6", "basis"])
        #expect((effect["share"] as? [String: Any])?["high"] as? Double == 0.2)
        // A run's report says where it ran.
        let located = try #require(try JSONSerialization.jsonObject(with: Data(JSONReporter(runner: Runner(hostname: "gen-1", addresses: ["10.0.3.7"])).render(Self.sample).utf8)) as? [String: Any])
        let runner = try #require(located["runner"] as? [String: Any])
        #expect(runner["hostname"] as? String == "gen-1")
        #expect(runner["addresses"] as? [String] == ["10.0.3.7"])
    }

    static func everyFormat(_ report: Report) -> [String] {
        [TextReporter(color: false).render(report), TextReporter(color: true, verbose: true).render(report)]
            + ReportFormat.allCases.map { $0.render(report, ReportFormat.Options(verbose: true, workspace: "/repo")) }
    }

    /// The report is redacted once, before any reporter: no format needs the output sink's scrub to hide the password.
    @Test func noPasswordInAnyFormat() {
        for out in Self.everyFormat(Self.sampleWithSecrets.redacted(using: .shared)) {
            #expect(!out.contains("golden-secret-pw"))
        }
        // Without the redaction the password is there: the test can fail.
        #expect(Self.everyFormat(Self.sampleWithSecrets).contains { $0.contains("golden-secret-pw") })
    }

    @Test func colourOnlyWhenAsked() {
        #expect(!TextReporter(color: false).render(Self.sample).contains("\u{1B}["))
        #expect(TextReporter(color: true).render(Self.sample).contains("\u{1B}["))
    }

    /// The prediction under the verdict in the Markdown report (PR comments, step summaries) and as one notice in
    /// the GitHub annotations, as in the text report.
    @Test func markdownAndGitHubShowThePrediction() {
        let port = CheckResult(id: "port", title: "Service port", layer: .network,
                               outcome: CheckOutcome(findings: [Finding(.fail, "connection refused on 127.0.0.1:3001",
                                                                        effect: Effect(share: .exactly(1), k6: "1212 connection refused", basis: "every request is refused"))]))
        let report = Report(results: [port], duration: .milliseconds(3),
                            thresholds: [ScriptThreshold(key: "http_req_failed", source: "rate<0.01")])
        let md = MarkdownReporter().render(report)
        #expect(md.contains("## ❌ preflight: NO-GO\n\n- predicted: http_req_failed 100 % (port: every request is refused) → crosses http_req_failed rate<0.01\n"), "\(md)")
        let gh = GitHubReporter(workspace: "/w").render(report)
        #expect(gh.contains("::notice title=preflight%3A predicted k6 thresholds::predicted: http_req_failed 100 %"), "\(gh)")
        // Without thresholds (merge, tests) nothing is added.
        let plain = Report(results: [port], duration: .milliseconds(3))
        #expect(!MarkdownReporter().render(plain).contains("predicted:"))
        #expect(!GitHubReporter(workspace: "/w").render(plain).contains("::notice"))
    }
}
