import Testing
@testable import PreflightCore
@testable import PreflightReporters

/// Dropped iterations (issue 31): an effect may carry k6's `dropped_iterations`, which the prediction judges
/// against a `dropped_iterations` threshold (`count`, `rate` per second), and which fails no request.
@Suite struct DroppedIterationsPredictionTests {
    func dropping(_ status: Status, count: ClosedRange<Double>, perSecond: ClosedRange<Double>) -> CheckResult {
        let effect = Effect(share: nil, k6: "dropped_iterations", basis: "maxVUs 4 ÷ 0.2 s = 20/s of 50/s",
                            droppedIterations: IterationDrops(count: count, perSecond: perSecond))
        return CheckResult(id: "generator", title: "generator", layer: .generator,
                           outcome: CheckOutcome(findings: [Finding(status, "300 iterations dropped", fix: "set maxVUs", effect: effect)]))
    }

    @Test func aCountThresholdIsCrossedByThePredictedDrops() throws {
        let report = Report(results: [dropping(.warn, count: 150...600, perSecond: 15...60)], duration: .zero,
                            thresholds: [ScriptThreshold(key: "dropped_iterations", source: "count<100"),
                                         ScriptThreshold(key: "http_req_failed", source: "rate<0.01")])
        let lines = report.prediction?.thresholds ?? []
        #expect(lines.count == 2)
        #expect(lines.first?.predicted == ShareRange(low: 150, high: 600))
        #expect(lines.first?.crossed == true)
        #expect(lines.first?.from == ["generator"])
        // No request fails for a dropped iteration: http_req_failed is not an unknown share reaching 100 %.
        #expect(lines.last?.predicted == ShareRange(low: 0, high: 0))
        #expect(lines.last?.crossed == false)
        // Shown as iterations, not as a share of requests.
        let shown = PredictionRendering.lines(try #require(report.prediction))
        #expect(shown.first == "predicted: dropped_iterations 150–600 iterations (generator: maxVUs 4 ÷ 0.2 s = 20/s of 50/s) → crosses dropped_iterations count<100", "\(shown)")
        // The warning crosses a threshold: it fails the gate.
        #expect(report.verdict == .noGo)
        #expect(report.result("generator")?.status == .fail)
    }

    @Test func aRateThresholdReadsDropsPerSecondAndMayHold() {
        let holds = Report(results: [dropping(.warn, count: 10...40, perSecond: 1...4)], duration: .zero,
                           thresholds: [ScriptThreshold(key: "dropped_iterations", source: "rate<5")])
        #expect(holds.prediction?.thresholds.first?.predicted == ShareRange(low: 1, high: 4))
        #expect(holds.prediction?.thresholds.first?.crossed == false)
        #expect(holds.verdict == .go)
        let straddles = Report(results: [dropping(.warn, count: 10...40, perSecond: 1...4)], duration: .zero,
                               thresholds: [ScriptThreshold(key: "dropped_iterations", source: "rate<2")])
        #expect(straddles.prediction?.thresholds.first?.crossed == nil)
    }

    @Test func aFailureForDroppedIterationsStaysAFailureInsideTheThresholds() {
        // More than 1 % of the planned iterations dropped: the run would pass while testing less than it claims.
        let report = Report(results: [dropping(.fail, count: 300...300, perSecond: 30...30)], duration: .zero, thresholds: [])
        #expect(report.prediction?.thresholds.first?.crossed == false)
        #expect(report.result("generator")?.status == .fail)
        #expect(report.verdict == .noGo)
    }

    @Test func withoutDropsTheThresholdIsUnpredicted() {
        let report = Report(results: [], duration: .zero, thresholds: [ScriptThreshold(key: "dropped_iterations", source: "count<1")])
        #expect(report.prediction?.thresholds.first?.predicted == nil)
        #expect(report.prediction?.thresholds.first?.crossed == nil)
    }
}
