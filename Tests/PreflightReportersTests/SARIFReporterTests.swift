import Foundation
import Testing
import TestSupport
@testable import PreflightCore
@testable import PreflightReporters

/// `--format sarif`: golden files, and every rendering validated against the SARIF 2.1.0 schema's constraints
/// (Tests/Fixtures/sarif) by Debian's python3-jsonschema.
@Suite struct SARIFReporterTests {
    /// Findings in files, as the script, schema and migrations checks write them, beside findings that have none.
    static let located = Report(results: [
        CheckResult(id: "port", title: "Service port", layer: .network,
                    outcome: .fail("connection refused on 127.0.0.1:3001: nothing is listening")),
        CheckResult(id: "schema", title: "Schema", layer: .schema, outcome: CheckOutcome(findings: [
            Finding(.fail, "column messages.room_id does not exist", fix: "run the migrations (prisma migrate deploy)",
                    location: SourceLocation(file: "/repo/prisma/schema.prisma", line: 48)),
            Finding(.fail, "table rooms does not exist", fix: "run the migrations (prisma migrate deploy)",
                    location: SourceLocation(file: "/repo/prisma/schema.prisma", line: 61)),
        ])),
        CheckResult(id: "migrations", title: "Migrations", layer: .schema, outcome: CheckOutcome(findings: [
            Finding(.warn, "1 migration not applied", location: SourceLocation(file: "/elsewhere/migrations/0002_rooms.sql")),
        ])),
        CheckResult(id: "script", title: "Load script", layer: .script, outcome: CheckOutcome(findings: [
            Finding(.warn, "threshold on latency_sendd, no such metric", location: SourceLocation(file: "k6/chat.js", line: 12)),
            Finding(.warn, "thresholds reference a metric that does not exist", location: SourceLocation(file: "k6/chat.js", line: 0)),
            // Information is not a result.
            Finding(.pass, "3 thresholds read", location: SourceLocation(file: "k6/chat.js", line: 1)),
        ])),
    ], duration: .milliseconds(7))

    @Test func locatedGolden() throws {
        try ReporterGoldenTests().compare(SARIFReporter(workspace: "/repo", toolVersion: "0.1.0").render(Self.located), "located.1.sarif")
    }

    @Test func onlyFindingsWithAFileAreResults() throws {
        let sarif = try JSONSerialization.jsonObject(with: Data(SARIFReporter(workspace: "/repo").render(Self.located).utf8)) as! [String: Any]
        let run = (sarif["runs"] as! [[String: Any]])[0]
        let results = run["results"] as! [[String: Any]]
        #expect(results.count == 5)  // 2 schema findings, 1 migration, 2 script warnings; the port has no file, the script's note is information
        #expect(!results.contains { $0["ruleId"] as? String == "port" })
        let uris = results.map { (((($0["locations"] as! [[String: Any]])[0]["physicalLocation"] as! [String: Any])["artifactLocation"] as! [String: Any])["uri"] as! String) }
        #expect(uris == ["prisma/schema.prisma", "prisma/schema.prisma", "file:///elsewhere/migrations/0002_rooms.sql", "k6/chat.js", "k6/chat.js"])
        let rules = ((run["tool"] as! [String: Any])["driver"] as! [String: Any])["rules"] as! [[String: Any]]
        #expect(rules.map { $0["id"] as! String } == ["schema", "migrations", "script"])
    }

    @Test func everyRenderingIsValidSARIF() throws {
        let reports = [Self.located, ReporterGoldenTests.sample, ReporterGoldenTests.go, ReporterGoldenTests.crash]
        var files: [String] = []
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-sarif-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, r) in reports.enumerated() {
            let f = dir.appendingPathComponent("\(i).sarif.json")
            try SARIFReporter(workspace: "/repo dir").render(r).write(to: f, atomically: true, encoding: .utf8)
            files.append(f.path)
        }
        let (status, output) = try SchemaValidation.run(schema: "Tests/Fixtures/sarif/sarif-2.1.0-required.schema.json", files: files)
        #expect(status == 0, "\(output)")
        // The validator does reject what breaks the schema (it is not vacuous).
        let broken = dir.appendingPathComponent("broken.sarif.json")
        try #"{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[{"level":"fatal","message":{}}]}]}"#.write(to: broken, atomically: true, encoding: .utf8)
        let (bad, why) = try SchemaValidation.run(schema: "Tests/Fixtures/sarif/sarif-2.1.0-required.schema.json", files: [broken.path])
        #expect(bad == 1)
        #expect(why.contains("'name' is a required property"))
        #expect(why.contains("'fatal' is not one of"))
    }
}

/// Runs Tests/Fixtures/validate-json.py (Debian's /usr/bin/python3 with python3-jsonschema), through TestSupport's
/// posix_spawn runner with a time limit: Foundation's `Process.waitUntilExit` once spun for ever here when the
/// suites ran together (MACHINE-NOTES).
enum SchemaValidation {
    static func run(schema: String, files: [String]) throws -> (Int32, String) {
        let root = ReporterGoldenTests.packageRoot
        let out = try runProcess("/usr/bin/python3", [root.appendingPathComponent("Tests/Fixtures/validate-json.py").path,
                                                      schema.hasPrefix("/") ? schema : root.appendingPathComponent(schema).path] + files,
                                 limit: 60)
        return (out.status, out.stdout + out.stderr)
    }
}
