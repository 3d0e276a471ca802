import Foundation
import Testing
@testable import PreflightCore
@testable import PreflightReporters

/// `preflight merge`'s core: JSON reports of one config from several runners become one verdict.
@Suite struct ReportMergerTests {
    static func runnerReport(_ i: Int, refused: Bool, databaseDown: Bool = true) -> RunnerReport {
        let port = refused
            ? CheckResult(id: "port", title: "Service port", layer: .network,
                          outcome: .fail("connection refused on 10.0.0.5:3001", evidence: Evidence(["target": "10.0.0.5:3001"]),
                                         fix: "open 3001 to the load generators"))
            : CheckResult(id: "port", title: "Service port", layer: .network,
                          outcome: .pass("10.0.0.5:3001 accepts TCP connections (0.4 ms)"))
        let health = refused
            ? CheckResult(id: "health", title: "Health endpoint", layer: .service, outcome: CheckOutcome(.blocked, "not run: port failed"), blockedBy: ["port"])
            : CheckResult(id: "health", title: "Health endpoint", layer: .service,
                          outcome: databaseDown ? .fail("health answers 503: database disconnected", suspects: ["database"]) : .pass("health answered 200"))
        let database = CheckResult(id: "database", title: "Database login", layer: .database,
                                   outcome: databaseDown ? .fail("connection refused on 10.0.0.9:5432") : .pass("logged in"))
        // Rendered as a runner renders it, then read back: the merge sees exactly what a runner's file holds.
        let report = Report(results: [health, database, port], duration: .milliseconds(10 + i))
        let json = JSONReporter(runner: Runner(hostname: "runner-\(i)", addresses: ["10.0.3.\(i)"])).render(report)
        return try! ReportMerger.parse(Data(json.utf8), source: "runner-\(i).json")
    }

    @Test func someRunnersRefusedNamesThem() throws {
        let reports = (1...8).map { Self.runnerReport($0, refused: [3, 5, 7].contains($0)) }
        let (merged, runners) = try ReportMerger.merge(reports)
        #expect(runners.count == 8)
        let port = try #require(merged.result("port"))
        #expect(port.status == .fail)
        #expect(port.outcome.summary == "fail from 3 of 8 runners (10.0.3.3, 10.0.3.5, 10.0.3.7): connection refused on 10.0.0.5:3001; the other 5 pass")
        #expect(port.outcome.evidence["runners"] == .object(Evidence([
            "fail": .array(["10.0.3.3", "10.0.3.5", "10.0.3.7"]), "pass": .array(["10.0.3.1", "10.0.3.2", "10.0.3.4", "10.0.3.6", "10.0.3.8"]),
        ])))
        #expect(port.outcome.fix?.contains("allowlist") == true)
        // Causal order as in one run: the network before the database; health stays the database's consequence.
        #expect(merged.rootCauses == ["port", "database"])
        #expect(merged.result("health")?.consequenceOf == "database")
        #expect(merged.exitCode == 1)
    }

    @Test func agreeingRunnersKeepTheirSentence() throws {
        let (merged, _) = try ReportMerger.merge((1...3).map { Self.runnerReport($0, refused: false, databaseDown: false) })
        #expect(merged.verdict == .go)
        #expect(merged.exitCode == 0)
        #expect(merged.result("database")?.outcome.summary == "logged in (all 3 runners)")
        // Different numbers on each runner: the first one's sentence, and every runner's in the evidence.
        #expect(merged.result("port")?.outcome.summary == "10.0.0.5:3001 accepts TCP connections (0.4 ms) (all 3 runners)")
    }

    @Test func mergedGolden() throws {
        let reports = (1...8).map { Self.runnerReport($0, refused: [3, 5, 7].contains($0)) }
        let (merged, runners) = try ReportMerger.merge(reports)
        try ReporterGoldenTests().compare(JSONReporter(runners: runners).render(merged), "merged.1.json")
        try ReporterGoldenTests().compare(TextReporter(color: false).render(merged), "merged.1.text")
    }

    @Test func jsonRoundTripsThroughParse() throws {
        let json = JSONReporter(runner: Runner(hostname: "h", addresses: ["127.0.0.1"])).render(ReporterGoldenTests.sample)
        let back = try ReportMerger.parse(Data(json.utf8), source: "x")
        #expect(back.runner == Runner(hostname: "h", addresses: ["127.0.0.1"]))
        #expect(back.results.map(\.id) == ReporterGoldenTests.sample.results.map(\.id))
        #expect(back.results.map(\.layer) == ReporterGoldenTests.sample.results.map(\.layer))
        #expect(back.results.map(\.status) == ReporterGoldenTests.sample.results.map(\.status))
        let one = try ReportMerger.merge([back]).0
        #expect(one.rootCauses == ReporterGoldenTests.sample.rootCauses)
        #expect(one.exitCode == ReporterGoldenTests.sample.exitCode)
    }

    /// `findings` come back as they were written: severities, sentences, fixes, evidence, places and effects;
    /// a merge keeps the leading runner's findings under its headline.
    @Test func findingsRoundTripThroughParse() throws {
        let report = ReporterGoldenTests.findings
        let back = try ReportMerger.parse(Data(JSONReporter(runner: Runner(hostname: "h", addresses: [])).render(report).utf8), source: "x")
        #expect(back.results.map(\.outcome.findings) == report.results.map(\.outcome.findings))
        let merged = try ReportMerger.merge([back, back]).0
        let schema = try #require(merged.result("schema"))
        #expect(schema.outcome.findings.count == 3)
        #expect(schema.outcome.summary.hasSuffix("(all 2 runners)"), "\(schema.outcome.summary)")
        #expect(schema.outcome.findings.dropFirst() == report.result("schema")!.outcome.findings.dropFirst())
        // A report from before findings reads as one finding: its summary and fix.
        let old = try ReportMerger.parse(Data(#"{"schema":1,"checks":[{"id":"port","title":"P","status":"fail","summary":"refused","fix":"start it","layer":"network"}]}"#.utf8), source: "old.json")
        #expect(old.results[0].outcome.findings == [Finding(.fail, "refused", fix: "start it")])
    }

    @Test func crashOnlyIsExitThree() throws {
        let json = JSONReporter(runner: Runner(hostname: "h", addresses: [])).render(ReporterGoldenTests.crash)
        let r = try ReportMerger.parse(Data(json.utf8), source: "a")
        #expect(try ReportMerger.merge([r, r]).0.exitCode == 3)
    }

    @Test(arguments: [
        ("not json", "a.json: not JSON"),
        ("[1,2]", "a.json: a JSON list, expected preflight's JSON report (an object)"),
        (#"{"schema":2,"checks":[]}"#, "a.json: not a preflight JSON report of schema 1 (schema is 2)"),
        (#"{"schema":1}"#, "a.json: checks is missing or not a list of objects"),
        (#"{"schema":1,"checks":[{"id":"port","title":"P","status":"pass","summary":"ok"}]}"#, "a.json: checks[0] (port) has no known layer"),
        (#"{"schema":1,"checks":[{"id":"port","title":"P","status":"great","summary":"ok","layer":"network"}]}"#, #"a.json: checks[0] (port) has status "great""#),
        (#"{"schema":1,"runners":[],"checks":[{"id":"port","title":"P","status":"pass","summary":"ok","layer":"network"}]}"#, "a.json: already a merged report"),
        (#"{"schema":1,"checks":[]}"#, "a.json: the report has no checks"),
        (#"{"schema":1,"checks":[{"id":"port","title":"P","status":"pass","summary":"ok","layer":"network","findings":[{"sentence":"ok"}]}]}"#,
         "a.json: checks[0] (port) findings[0] lacks a known severity or a sentence"),
    ])
    func malformedInputIsOneSentence(input: String, message: String) {
        #expect(throws: MergeError.self) { try ReportMerger.parse(Data(input.utf8), source: "a.json") }
        do { _ = try ReportMerger.parse(Data(input.utf8), source: "a.json") } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }

    @Test func differentCheckListsAreRefused() throws {
        let a = Self.runnerReport(1, refused: false)
        let b = try ReportMerger.parse(Data(JSONReporter(runner: Runner(hostname: "b", addresses: [])).render(ReporterGoldenTests.go).utf8), source: "b.json")
        do {
            _ = try ReportMerger.merge([a, b])
            Issue.record("merged reports of different check lists")
        } catch {
            #expect(error.description == "the reports are not of one config and check list: runner-1.json has database; b.json has script (merge the runners of one --only/--skip)")
        }
        #expect(throws: MergeError("no reports to merge")) { try ReportMerger.merge([]) }
    }

    @Test func sharedAddressesAreToldApartByHostname() {
        #expect(ReportMerger.uniqueLabels([Runner(hostname: "a", addresses: ["10.0.0.1"]), Runner(hostname: "b", addresses: ["10.0.0.1"]),
                                           Runner(hostname: "c", addresses: [])]) == ["10.0.0.1 (a)", "10.0.0.1 (b)", "c"])
    }
}
