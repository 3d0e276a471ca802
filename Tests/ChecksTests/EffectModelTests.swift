import Testing
@testable import PreflightChecks
import PreflightCore

/// The effect models' arithmetic; Tests/SampleStack/predict-vs-k6.sh holds them against real k6 runs.
@Suite struct EffectModelTests {
    @Test func poolTimeoutsFollowTheClosedModel() {
        // The sample stack's pool-too-small: 120 VUs sleeping 1 s, 2 connections held 90–180 ms, 1 s pool timeout.
        // Real k6 1.1.0 failed 77–79 % of its requests there.
        let s = EffectModel.poolTimeouts(vus: 120, think: 1, pool: 2, service: 0.09...0.18, timeout: 1)
        #expect(s.low > 0.55 && s.low < 0.70)
        #expect(s.high > 0.75 && s.high < 0.90)
        // A pool that holds every VU's request within the timeout loses none.
        #expect(EffectModel.poolTimeouts(vus: 10, think: 1, pool: 10, service: 0.05...0.1, timeout: 1) == .exactly(0))
    }

    @Test func aLimiterRefusesWhatIsPastItsQuota() {
        // 20 per minute, ~4.5 requests/s for 15 s: 67 sent, 20 (or 40 across a window boundary) allowed.
        let s = EffectModel.rateLimited(quota: 20, window: 60, rate: 4.5, duration: 15)
        #expect(abs(s.high - (1 - 20.0 / 67.5)) < 0.001)
        #expect(abs(s.low - (1 - 40.0 / 67.5)) < 0.001)
        #expect(EffectModel.rateLimited(quota: 1000, window: 60, rate: 4.5, duration: 15) == .exactly(0))
    }

    @Test func connectionsPastTheDescriptorLimit() {
        let s = EffectModel.pastLimit(vus: 400, available: 250)
        #expect(s.low == 0.375 * 0.8)
        #expect(EffectModel.pastLimit(vus: 100, available: 250) == .exactly(0))
    }

    @Test func touchingNamesTheRequestsOfTheTable() {
        let requests = [RequestShape(method: "POST", url: "${BASE_URL}/conversations/${id}/messages"),
                        RequestShape(method: "GET", url: "${BASE_URL}/conversations/${id}/messages?limit=20"),
                        RequestShape(method: "GET", url: "${BASE_URL}/users/${id}")]
        let e = EffectModel.touching(tables: ["messages"], requests: requests, k6: "status 500", what: "x")
        #expect(e.requests.count == 2)
        #expect(e.share == ShareRange(low: 1.0 / 3, high: 2.0 / 3))
        // No path names the table: every write.
        let w = EffectModel.touching(tables: ["audit_log"], requests: requests, k6: "status 500", what: "x")
        #expect(w.share == .exactly(1.0 / 3))
        #expect(EffectModel.touching(tables: ["messages"], requests: [], k6: "500", what: "x").share == nil)
    }

    @Test(arguments: [
        ("sleep(1)", 1.0), ("sleep(0.5 + Math.random())", 1.0), ("sleep(randomIntBetween(1, 5))", 3.0),
        ("sleep(2 * Math.random())", 1.0), ("sleep((1 + 3) / 2)", 2.0),
    ])
    func sleepsAreReadAtTheirMean(_ call: String, _ mean: Double) {
        let script = K6Script(source: "import { sleep } from 'k6';\nexport default function () { \(call); }")
        #expect(script.options.iterationSleep == mean)
    }

    @Test func aSleepThatCannotBeReadIsUnknown() {
        let script = K6Script(source: "import { sleep } from 'k6';\nexport default function () { sleep(1); sleep(pause); }")
        #expect(script.options.iterationSleep == nil)
    }
}
