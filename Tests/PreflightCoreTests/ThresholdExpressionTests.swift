import Testing
import PreflightCore

@Suite struct ThresholdExpressionTests {
    @Test func parsesEveryAggregation() throws {
        let cases: [(String, ThresholdExpression.Aggregation, ThresholdExpression.Comparison, Double)] = [
            ("rate<0.01", .rate, .lt, 0.01), ("p(95) <= 250", .percentile(95), .le, 250), ("p(99.9)<1500", .percentile(99.9), .lt, 1500),
            ("avg<200", .avg, .lt, 200), ("min>0", .min, .gt, 0), ("max<=3000", .max, .le, 3000), ("med<100", .med, .lt, 100),
            ("count>=100", .count, .ge, 100), ("value==1", .value, .eq, 1), ("rate!=0", .rate, .ne, 0), ("count===5", .count, .seq, 5),
        ]
        for (text, a, c, v) in cases {
            let e = try #require(ThresholdExpression(text), "\(text)")
            #expect(e.aggregation == a && e.comparison == c && e.limit == v, "\(text)")
        }
        #expect(ThresholdExpression("p(95)<500")?.description == "p(95)<500")
        #expect(ThresholdExpression("p(99.9) < 1500")?.description == "p(99.9)<1500")
        #expect(ThresholdExpression("rate < 0.01")?.description == "rate<0.01")
        for bad in ["nonsense", "rate<", "avgg<1", "p(101)<1", "p(x)<1", "<1", "rate<abc"] {
            #expect(ThresholdExpression(bad) == nil, "\(bad)")
        }
    }

    @Test func judgesAndKnowsWhatCannotFail() throws {
        let e = try #require(ThresholdExpression("rate<0.01"))
        #expect(e.holds(for: 0.009) && !e.holds(for: 0.0707))
        #expect(ThresholdExpression("rate<=1")!.cannotFail)
        #expect(ThresholdExpression("count>=0")!.cannotFail)
        #expect(!ThresholdExpression("rate<1")!.cannotFail)
        #expect(!ThresholdExpression("p(95)<500")!.cannotFail)
    }

    @Test func selectorsReadTagFilters() throws {
        let s = try #require(MetricSelector("http_req_failed{name:send}"))
        #expect(s.metric == "http_req_failed" && s.tags == [MetricSelector.Tag("name", "send")])
        let t = try #require(MetricSelector(#"http_req_duration{ method : "POST", scenario:'api' }"#))
        #expect(t.tags == [MetricSelector.Tag("method", "POST"), MetricSelector.Tag("scenario", "api")])
        #expect(t.description == "http_req_duration{method:POST,scenario:api}")
        #expect(MetricSelector("checks")?.tags == [])
        #expect(MetricSelector("x{novalue}") == nil)
        #expect(MetricSelector("{name:send}") == nil)
    }

    @Test func scriptThresholdKeepsItsObjectForm() {
        let t = ScriptThreshold(key: "http_req_failed{name:send}", source: "rate<0.05", abortOnFail: true, delayAbortEval: "10s", line: 4)
        #expect(t.metric == "http_req_failed" && t.selector?.tag("name") == "send")
        #expect(t.expression == ThresholdExpression(.rate, .lt, 0.05))
        #expect(t.abortOnFail && t.delayAbortEval == "10s")
        #expect(ScriptThreshold.defaultFailedRequests.expression?.description == "rate<0.01")
    }
}
