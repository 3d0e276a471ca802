import Testing
@testable import PreflightCore

/// The verdict is the thresholds' (issue 29): effects become a predicted range per threshold, and that range
/// decides between fail and warn.
@Suite struct ThresholdVerdictTests {
    func result(_ id: String, _ status: Status, share: ShareRange?, layer: Layer = .capacity) -> CheckResult {
        let effect = Effect(share: share, k6: "status 503", basis: "\(id)'s model")
        return CheckResult(id: id, title: id, layer: layer,
                           outcome: CheckOutcome(findings: [Finding(status, "\(id) finding", fix: "fix it", effect: effect)]))
    }

    @Test func aWarningThatCrossesTheThresholdFails() {
        let report = Report(results: [result("pool-traffic", .warn, share: ShareRange(low: 0.05, high: 0.10))],
                            duration: .zero, thresholds: [ScriptThreshold(key: "http_req_failed", source: "rate<0.01")])
        #expect(report.verdict == .noGo)
        #expect(report.rootCauses == ["pool-traffic"])
        let line = report.prediction?.thresholds.first
        #expect(line?.crossed == true)
        #expect(line?.predicted == ShareRange(low: 0.05, high: 0.10))
        #expect(line?.from == ["pool-traffic"])
    }

    @Test func aFailureInsideTheThresholdsIsAWarning() {
        let report = Report(results: [result("rate-limit", .fail, share: ShareRange(low: 0.001, high: 0.004))],
                            duration: .zero, thresholds: [ScriptThreshold(key: "http_req_failed", source: "rate<0.05")])
        #expect(report.verdict == .go)
        #expect(report.result("rate-limit")?.status == .warn)
        #expect(report.prediction?.thresholds.first?.crossed == false)
    }

    /// A script that judges latency alone (k6's http_req_duration passes on refused requests, which take no time):
    /// a run whose every request fails still cannot start as planned, so it stays NO-GO; a partial failure the
    /// thresholds do not judge is a warning.
    @Test func aRunThatCannotStartIsNoGoWhateverTheThresholds() {
        let latencyOnly = [ScriptThreshold(key: "http_req_duration", source: "p(95)<500")]
        let dead = Report(results: [result("port", .fail, share: .exactly(1), layer: .network)], duration: .zero, thresholds: latencyOnly)
        #expect(dead.verdict == .noGo)
        #expect(dead.result("port")?.status == .fail)
        #expect(dead.rootCauses == ["port"])
        let partial = Report(results: [result("pool-traffic", .fail, share: ShareRange(low: 0.05, high: 0.1))], duration: .zero, thresholds: latencyOnly)
        #expect(partial.verdict == .go)
        #expect(partial.result("pool-traffic")?.status == .warn)
    }

    @Test func strictStillFailsOnTheWarningLeft() {
        let report = Report(results: [result("rate-limit", .fail, share: ShareRange(low: 0.001, high: 0.004))],
                            duration: .zero, strict: true, thresholds: [ScriptThreshold(key: "http_req_failed", source: "rate<0.05")])
        #expect(report.verdict == .noGo)
    }

    @Test func anUnknownShareNeverDowngradesAndReachesAHundredPercent() {
        let report = Report(results: [result("database", .fail, share: nil, layer: .database)],
                            duration: .zero, thresholds: [])
        #expect(report.verdict == .noGo)
        let line = report.prediction?.thresholds.first
        #expect(line?.isDefault == true)
        #expect(line?.crossed == nil)
        #expect(line?.predicted == ShareRange(low: 0, high: 1))
    }

    @Test func aKnownShareCrossesEvenBesideAnUnknownOne() {
        let report = Report(results: [result("port", .fail, share: .exactly(1), layer: .network),
                                      result("database", .fail, share: nil, layer: .database)],
                            duration: .zero, thresholds: [])
        #expect(report.prediction?.thresholds.first?.crossed == true)
        #expect(report.prediction?.httpReqFailed == ShareRange(low: 1, high: 1))
    }

    @Test func aHealthyRunPredictsNothingAndGoes() {
        let ok = CheckResult(id: "port", title: "port", layer: .network, outcome: .pass("accepts"))
        let report = Report(results: [ok], duration: .zero,
                            thresholds: [ScriptThreshold(key: "http_req_failed", source: "rate<0.01"),
                                         ScriptThreshold(key: "send_errors", source: "rate<0.01")])
        #expect(report.verdict == .go)
        #expect(report.prediction?.thresholds[0].crossed == false)
        #expect(report.prediction?.thresholds[0].predicted == .exactly(0))
        // A custom metric is named as unpredicted, never guessed.
        #expect(report.prediction?.thresholds[1].predicted == nil)
        #expect(report.prediction?.thresholds[1].crossed == nil)
    }

    @Test func aConsequenceIsNotCountedTwice() {
        var health = result("health", .fail, share: .exactly(1), layer: .service)
        health.outcome.suspects = ["database"]
        let report = Report(results: [result("database", .fail, share: .exactly(0.5), layer: .database), health],
                            duration: .zero, thresholds: [])
        #expect(report.prediction?.from == ["database"])
    }

    @Test func aTagFilteredThresholdCountsTheRequestsItNames() {
        var r = result("migrations", .fail, share: ShareRange(low: 0.3, high: 0.5), layer: .schema)
        r.outcome.findings[0].effect?.requests = ["send"]
        let p = Prediction.make(results: [r], thresholds: [
            ScriptThreshold(key: "http_req_failed{name:send}", source: "rate<0.01"),
            ScriptThreshold(key: "http_req_failed{name:history}", source: "rate<0.01"),
        ])
        #expect(p.thresholds[0].crossed == true)
        #expect(p.thresholds[0].predicted == ShareRange(low: 0.3, high: 1))
        #expect(p.thresholds[1].crossed == false)
    }
}

@Suite struct UnpredictedFailures {
    @Test func aFailureWithoutAnEffectIsAnUnknownShareNotAHold() {
        let down = CheckResult(id: "database", title: "database", layer: .database, outcome: .fail("connection refused"))
        let report = Report(results: [down], duration: .zero, thresholds: [])
        #expect(report.verdict == .noGo)
        #expect(report.prediction?.thresholds.first?.crossed == nil)
        #expect(report.prediction?.httpReqFailed == ShareRange(low: 0, high: 1))
        #expect(report.prediction?.basis.contains("connection refused (unknown share)") == true)
    }
}

@Suite struct TaggedThresholds {
    /// An effect that names its requests by method and URL cannot say whether they carry the name tag: unknown.
    @Test func requestsNamedByURLAreAnUnknownShareOfATaggedThreshold() {
        let effect = Effect(requests: ["POST ${BASE_URL}/messages"], share: .exactly(0.5), k6: "500", basis: "x")
        let r = CheckResult(id: "schema", title: "schema", layer: .schema,
                            outcome: CheckOutcome(findings: [Finding(.fail, "messages.type is missing", effect: effect)]))
        let p = Prediction.make(results: [r], thresholds: [ScriptThreshold(key: "http_req_failed{name:history}", source: "rate<0.01")])
        #expect(p.thresholds[0].predicted == ShareRange(low: 0, high: 1))
        #expect(p.thresholds[0].crossed == nil)
    }
}
