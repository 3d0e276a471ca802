import Testing
import PreflightCore
@testable import PreflightExplain

@Suite struct ThresholdTests {
    @Test func parsesExpressions() throws {
        let a = try #require(ThresholdExpression("rate<0.01"))
        #expect(a.aggregation == .rate && a.comparison == .lt && a.limit == 0.01)
        let b = try #require(ThresholdExpression("p(95) <= 250"))
        #expect(b.percentile == 95 && b.comparison == .le && b.limit == 250)
        let c = try #require(ThresholdExpression("count>=100"))
        #expect(c.comparison == .ge)
        #expect(ThresholdExpression("p(99.9)<1500")?.percentile == 99.9)
        #expect(ThresholdExpression("nonsense") == nil)
        #expect(ThresholdExpression("rate<") == nil)
        #expect(ThresholdExpression("nonsense<1") == nil)  // k6 refuses an unknown aggregation
    }

    @Test func comparesAndSaysByHowMuch() throws {
        let e = try #require(ThresholdExpression("rate<0.01"))
        #expect(!e.holds(for: 0.0707))
        #expect(e.holds(for: 0.009))
        #expect(e.overshoot(of: 0.0707) == "7.07x the limit")
        let t = ThresholdResult(metric: "http_req_failed", expression: "rate<0.01", failed: true, observed: 0.0707)
        #expect(t.line == "http_req_failed rate<0.01 crossed: rate was 0.0707 (7.07%), 7.07x the limit")
        let g = try #require(ThresholdExpression("rate>0.99"))
        #expect(g.overshoot(of: 0.5) == "50.5% of the minimum")
    }

    @Test func accumulatorJudgesLikeK6() {
        var acc = MetricAccumulator()
        for v in 1...100 { acc.add(Double(v)) }
        let p95 = acc.value(for: "p(95)<250", type: "trend", span: nil)!
        #expect(abs(p95 - 95) / 95 < 0.02)  // buckets are 1% wide
        #expect(acc.value(for: "avg<1", type: "trend", span: nil) == 50.5)
        #expect(acc.value(for: "max<1", type: "trend", span: nil) == 100)
        var rate = MetricAccumulator()
        for i in 0..<100 { rate.add(i < 7 ? 1 : 0) }
        #expect(rate.value(for: "rate<0.01", type: "rate", span: nil) == 0.07)
    }

    @Test func outJSONThresholdsMatchK6sOwnVerdict() throws {
        // k6 judged these in the summary; the stream must reach the same verdicts.
        for run in ["refused", "servererror", "slow", "cursor", "pass", "reset", "tls"] {
            let summary = try Fixture.explain("\(run).summary-export.json").first(.thresholds)
            let stream = try Fixture.explain("\(run).out.json").first(.thresholds)
            #expect(summary?.evidence.entries.map(\.key) == stream?.evidence.entries.map(\.key), "\(run)")
        }
    }
}
