import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import PreflightCore
@testable import PreflightReporters

/// Reporters compared byte for byte with Tests/PreflightCoreTests/Golden (UPDATE_GOLDEN=1 rewrites them),
/// after the output sink's scrub.
@Suite struct ReporterGoldenTests {
    static let sample: Report = {
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
                        outcome: .warn("thresholds reference a metric that does not exist", evidence: Evidence(["location": "k6/chat.js:12: threshold on latency_sendd, no such metric"]),
                                       fix: "remove or rename the threshold")),
            CheckResult(id: "schema", title: "Schema", layer: .schema, outcome: .skipped("no schema section")),
        ], duration: .milliseconds(12))
    }()

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
        try compare(Self.render(Self.go, format), "go.0.\(format)")
        try compare(Self.render(Self.crash, format), "crash.3.\(format)")
    }

    /// `rendered` as it leaves the process: through the output sink's scrub (the reporters only render).
    func compare(_ rendered: String, _ name: String) throws {
        let actual = Secrets.shared.scrub(rendered)
        let golden = packageRoot.appendingPathComponent("Tests/PreflightCoreTests/Golden/\(name)")
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
                                             outcome: .fail("missing column", evidence: Evidence(["location": "/repo/prisma/schema.prisma:48"])))],
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
                                             outcome: .fail("100% broken\nsecond line", evidence: Evidence(["location": "src/a,b.ts:7"])))],
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
        for c in checks { #expect(Set(c.keys) == ["id", "title", "status", "layer", "summary", "blockedBy", "evidence", "fix"]) }
        // A run's report says where it ran.
        let located = try #require(try JSONSerialization.jsonObject(with: Data(JSONReporter(runner: Runner(hostname: "gen-1", addresses: ["10.0.3.7"])).render(Self.sample).utf8)) as? [String: Any])
        let runner = try #require(located["runner"] as? [String: Any])
        #expect(runner["hostname"] as? String == "gen-1")
        #expect(runner["addresses"] as? [String] == ["10.0.3.7"])
    }

    static func everyFormat(_ report: Report) -> [String] {
        [TextReporter(color: false).render(report), TextReporter(color: true, verbose: true).render(report),
         JSONReporter().render(report), JUnitReporter().render(report), GitHubReporter().render(report),
         MarkdownReporter().render(report), SARIFReporter().render(report)]
    }

    /// The reporters only render; the output sink scrubs what they rendered.
    @Test func noPasswordInAnyFormat() {
        for out in Self.everyFormat(Self.sample) {
            #expect(!Secrets.shared.scrub(out).contains("golden-secret-pw"))
        }
    }

    /// A secret with every character some format escapes (JSON's quote and backslash, XML's entities, GitHub's
    /// %, : and , in properties, Markdown's pipe): each format's escaped spelling is scrubbed as well.
    @Test func noEscapedSecretInAnyFormat() throws {
        let secret = #"Odd"Pw&<|%:,\9"#
        Secrets.shared.register(secret)
        let r = Report(results: [
            CheckResult(id: "custom", title: "Echo \(secret)", layer: .service,
                        outcome: .fail("header is \"\(secret)\"", evidence: Evidence(["got": .string(secret), "location": .string("src/a.ts:3: \(secret)")]),
                                       fix: "not \(secret)")),
        ], duration: .zero)
        for out in Self.everyFormat(r) {
            let scrubbed = Secrets.shared.scrub(out)
            // Undo each format's escaping, then look for the secret.
            let plain = scrubbed.replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&amp;", with: "&")
                .replacingOccurrences(of: "%3A", with: ":").replacingOccurrences(of: "%2C", with: ",").replacingOccurrences(of: "%0A", with: "\n")
                .replacingOccurrences(of: "%25", with: "%").replacingOccurrences(of: "\\|", with: "|")
            #expect(!plain.contains(secret), "\(scrubbed)")
            #expect(scrubbed.contains("***"))
        }
    }

    @Test func colourOnlyWhenAsked() {
        #expect(!TextReporter(color: false).render(Self.sample).contains("\u{1B}["))
        #expect(TextReporter(color: true).render(Self.sample).contains("\u{1B}["))
    }
}
