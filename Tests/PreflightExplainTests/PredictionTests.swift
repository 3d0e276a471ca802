import Foundation
import PreflightCore
import Testing
@testable import PreflightExplain

/// `explain RUN --preflight REPORT.json`: what the report predicted (issue 29's contract, hand-written reports)
/// beside what the recorded k6 1.1.0 run did.
@Suite struct PredictionTests {
    static func explained(_ run: String, _ report: String) throws -> Explanation {
        var e = try Fixture.explain(run)
        let path = Fixture.path("reports/\(report)")
        e.compare(with: try Prediction.read(path: path), report: path)
        return e
    }

    @Test func readsTheContract() throws {
        let p = try Prediction.read(path: Fixture.path("reports/predicted-pool.json"))
        #expect(p.thresholds.map { "\($0.metric) \($0.expression)" } == ["http_req_failed rate<0.01", "http_req_duration p(95)<250"])
        #expect(p.thresholds[0].predicted == PredictedRange(low: 0.05, high: 0.1) && p.thresholds[0].crossed == true)
        #expect(p.thresholds[0].from == ["pool-traffic"])
        #expect(p.thresholds[1].predicted == nil && p.thresholds[1].crossed == nil)
        #expect(p.httpReqFailed == PredictedRange(low: 0.05, high: 0.1))
        #expect(p.effects.map(\.check) == ["rate-limit", "pool-traffic"])  // the port's finding has no effect
        #expect(p.effects.map(\.kind) == [.rateLimited, .serverError])
        #expect(p.effects[1].requests == ["orders"] && p.effects[1].from == "peak" && p.effects[0].share == nil)
    }

    @Test func poolPredictionBesideServerErrors() throws {
        let e = try Self.explained("servererror.out.json", "predicted-pool.json")
        let c = try #require(e.comparison)
        let failed = try #require(c.thresholds.first { $0.metric == "http_req_failed" })
        #expect(failed.agrees == true && failed.happened?.observed == 0.5)
        #expect(c.lines == [
            "http_req_failed rate<0.01: predicted 5%-10%, crosses (from pool-traffic); happened 50%, crossed: agrees",
            "http_req_duration p(95)<250: unpredicted (nothing preflight measures bears on it); happened 45.874, held",
            "http_req_failed: predicted 5%-10%; happened 50% (20 of 40 requests): above the prediction",
            "rate-limited (429): predicted unknown share of requests from the start (from rate-limit); happened 0 of 40 requests (0%): did not happen",
            "server-error (500): predicted 5%-10% of requests at the peak (from pool-traffic); happened 20 of 40 requests (50%): above the prediction",
            "basis: pool api: Little's law with the ramp's 40 ms per query against a 1 s pool timeout",
        ])
        let text = ExplanationRenderer.text(e, color: false)
        #expect(text.contains("\n\npredicted vs happened\n  http_req_failed rate<0.01: predicted 5%-10%"))
        #expect(e.verdict == .fail && e.exitCode == 1)  // the verdict is the run's, not the prediction's
    }

    @Test func aHealthyPredictionAgreesWithAPassingRun() throws {
        let e = try Self.explained("pass.out.json", "predicted-healthy.json")
        let c = try #require(e.comparison)
        #expect(c.thresholds.map(\.agrees) == [true, true])  // "p(95) < 250" matches k6's "p(95)<250"
        #expect(c.kinds.isEmpty)
        #expect(c.lines[2] == "http_req_failed: predicted 0%; happened 0% (0 of 30 requests): inside the prediction")
        #expect(e.verdict == .pass)
    }

    @Test func aWrongPredictionSaysSo() throws {
        let c = try #require(try Self.explained("pass.out.json", "predicted-pool.json").comparison)
        #expect(c.thresholds.first?.agrees == false)
        #expect(c.lines[0].hasSuffix("happened 0%, held: disagrees"))
        // A kind that happened without a prediction is named too.
        let r = try #require(try Self.explained("ratelimit.out.json.gz", "predicted-refused.json").comparison)
        #expect(r.kinds.map { $0.kind?.id } == ["connection-refused", "rate-limited"])
        #expect(r.lines.contains("rate-limited (429): not predicted; happened 25 of 30 requests (83.3%)"))
        #expect(r.kinds[0].failed == 0)
    }

    @Test func aSummaryHasNoKindsToCompare() throws {
        let c = try #require(try Self.explained("refused.summary-export.json", "predicted-refused.json").comparison)
        #expect(c.thresholds.first?.agrees == true)
        #expect(c.kinds.first?.failed == nil)
        #expect(c.lines.contains { $0.hasPrefix("connection-refused (1212 dial: connection refused): predicted 100% of requests from the start (from port); happened: unknown") })
    }

    @Test func jsonCarriesThePredictionOnlyWhenAsked() throws {
        let e = try Self.explained("servererror.out.json", "predicted-pool.json")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(ExplanationRenderer.json(e).utf8)) as? [String: Any])
        #expect(Set(obj.keys) == ["schema", "verdict", "diagnosis", "prediction"])
        let p = try #require(obj["prediction"] as? [String: Any])
        let rows = try #require(p["thresholds"] as? [[String: Any]])
        #expect(rows.first?["agrees"] as? Bool == true && rows.first?["crossed"] as? Bool == true)
        let kinds = try #require(p["kinds"] as? [[String: Any]])
        #expect(kinds.map { $0["kind"] as? String } == ["rate-limited", "server-error"])
        #expect(kinds.map { $0["failed"] as? Int } == [0, 20])
    }

    /// A report from before predictions: explain's output stays byte for byte what it was, with a warning.
    @Test(arguments: ["servererror.out.json", "pass.out.json", "refused.summary-export.json"])
    func anOldReportChangesNothing(run: String) throws {
        let plain = try Fixture.explain(run)
        let e = try Self.explained(run, "old-report.json")
        #expect(e.comparison == nil)
        #expect(ExplanationRenderer.text(e, color: false) == ExplanationRenderer.text(plain, color: false))
        #expect(ExplanationRenderer.json(e) == ExplanationRenderer.json(plain))
        #expect(e.warnings.last?.hasSuffix("has no prediction (a report from before preflight predicted runs): nothing to compare") == true)
    }

    @Test func notAReport() throws {
        #expect(throws: ExplainError.self) { try Prediction.read(path: Fixture.path("pass.out.json")) }
        do {
            _ = try Prediction.read(path: Fixture.path("pass.summary-export.json"))
            Issue.record("a k6 summary is not a preflight report")
        } catch {
            #expect(error.description.hasSuffix("is not a preflight JSON report: no \"checks\" list: expected the JSON report of `preflight --format json`"))
        }
    }
}
