import Testing
@testable import PreflightExplain

/// The numbers of the two seed reports, as hand-made summaries.
@Suite struct SeedTests {
    /// Seed 002: 56,250 requests, all failed, 0 ms average: connection refused.
    @Test func seed002AllRefused() throws {
        var f = RunFacts(source: .summaryExport)
        f.requests = 56_250
        f.failedRequests = 56_250
        f.durationAvgMs = 0
        f.dataReceivedBytes = 0
        f.checkFails = 56_250
        f.thresholds = [ThresholdResult(metric: "send_error_rate", expression: "rate<0.01", failed: true, observed: 1)]
        let e = Explainer.explanation(f)
        let d = try #require(e.first(.connectionRefused))
        #expect(e.signatures == [.connectionRefused, .thresholds])
        #expect(d.share == 1.0)
        #expect(d.summary == "56,250 of 56,250 requests (100%) failed in 0 ms with no data received: inferred connection refused")
    }

    /// Seed 004: 3,180 failed of 44,960, 116 failed checks, 7,481 dropped iterations.
    @Test func seed004UncheckedAndDropped() throws {
        var f = RunFacts(source: .handleSummary)
        f.requests = 44_960
        f.failedRequests = 3_180
        f.checkFails = 116
        f.checkPasses = 600_000
        f.durationAvgMs = 5.42
        f.dataReceivedBytes = 9.3e9
        f.iterations = 910_519
        f.droppedIterations = 7_481
        f.thresholds = [ThresholdResult(metric: "http_req_failed", expression: "rate<0.01", failed: true, observed: 0.0707)]
        let e = Explainer.explanation(f)
        #expect(e.signatures == [.uncheckedFailures, .droppedIterations, .thresholds])
        let u = try #require(e.first(.uncheckedFailures))
        #expect(u.summary == "3,064 of 3,180 failed requests were not covered by any check")
        #expect(abs(u.share - 3064.0 / 3180.0) < 1e-9)
        let d = try #require(e.first(.droppedIterations))
        #expect(d.evidence["dropped_iterations"] == .int(7_481))
        let t = try #require(e.first(.thresholds))
        #expect(t.summary.contains("7.07x the limit"))
        #expect(e.first(.connectionRefused) == nil)  // 7% failed in 5 ms is not a refusal
    }
}
