import Testing
@testable import PreflightExplain

@Suite struct KindDetectionTests {
    @Test(arguments: ["refused", "ratelimit", "servererror", "slow", "cursor", "pass", "reset", "tls"])
    func detectsEachKindByContent(run: String) throws {
        #expect(try Explainer.detect(path: Fixture.path("\(run).summary-export.json")) == .summaryExport)
        #expect(try Explainer.detect(path: Fixture.path("\(run).handle-summary.json")) == .handleSummary)
        let lines = run == "ratelimit" ? "\(run).out.json.gz" : "\(run).out.json"
        #expect(try Explainer.detect(path: Fixture.path(lines)) == .outJSON)
    }

    @Test func gzippedOutJSONReadsLikeThePlainOne() throws {
        let e = try Fixture.explain("ratelimit.out.json.gz")
        #expect(e.source.contains("--out json"))
        #expect(e.source.contains("30 requests, 25 failed"))
    }

    @Test func allThreeKindsAgreeOnCounts() throws {
        for kind in ["summary-export.json", "handle-summary.json", "out.json"] {
            let e = try Fixture.explain("cursor.\(kind)")
            #expect(e.source.hasSuffix("60 requests, 15 failed"), "\(kind): \(e.source)")
        }
    }
}
