import Testing
@testable import PreflightChecks
@testable import PreflightCore

/// Little's law for arrival-rate scenarios (Checks/Readers/ArrivalRatePlan.swift): VUs needed = rate × iteration
/// duration; past the VU cap the rest are dropped.
@Suite struct ArrivalRatePlanTests {
    func plan(_ s: K6Options.Scenario) throws -> ArrivalRatePlan {
        var o = K6Options()
        o.scenarios = [s]
        let read = ArrivalRatePlan.read(o)
        #expect(read.unread.isEmpty, "\(read.unread)")
        return try #require(read.plans.first)
    }

    @Test func aConstantRateShortOfVUsDropsWhatTheCapCannotStart() throws {
        // 50/s of 0.2 s iterations keep 10 VUs busy; 4 VUs start 20/s; 30/s dropped for 10 s.
        let p = try plan(.init(name: "events", executor: "constant-arrival-rate", maxVUs: 4, preAllocatedVUs: 2, rate: 50, timeUnit: "1s", duration: "10s"))
        #expect(p.vuCap == 4 && p.capSource == "maxVUs 4")
        #expect(p.plannedIterations == 500)
        let d = p.drops(iterationSeconds: 0.2)
        #expect(d.vusNeeded == 10)
        #expect(abs(d.peakPerSecond - 30) < 1e-9)
        #expect(abs(d.total - 300) < 1e-9)
        #expect(d.firstStage == "duration 10s" && d.firstStageStart == 0)
        // Provisioned: 10 VUs start all 50/s.
        #expect(p.drops(iterationSeconds: 0.08).total == 0)
    }

    @Test func theSeed004FiguresGiveItsDropRate() throws {
        // Seed 004: 500 events/s for 30 min, maxVUs 1,150; k6 dropped 7,481 iterations (4.09/s over 30m29s).
        // 1,150 VUs starting 500 − 4.09 = 495.91/s is, by Little's law, an iteration of 1,150 ÷ 495.91 = 2.32 s.
        let p = try plan(.init(name: "events", executor: "constant-arrival-rate", maxVUs: 1150, preAllocatedVUs: 150, rate: 500, timeUnit: "1s", duration: "30m"))
        let d = p.drops(iterationSeconds: 2.32)
        #expect(d.vusNeeded == 1160)
        #expect(abs(d.peakPerSecond - 4.09) < 0.25, "\(d.peakPerSecond)")
        #expect(abs(d.total - 7481) / 7481 < 0.05, "\(d.total)")
        #expect(d.total / p.plannedIterations < 0.01)
    }

    @Test func aRampingRateDropsOnlyInTheStageThatPassesTheCap() throws {
        // 10/s, 10/s, then up to 40/s; 4 VUs of 0.2 s start 20/s: only stage 3 drops, from 20/s to 40/s over its
        // last two thirds: ½ × 20/s × 6.67 s = 66.7.
        let p = try plan(.init(name: "ramp", executor: "ramping-arrival-rate", maxVUs: 4,
                               stages: [.init(duration: "10s", target: 10), .init(duration: "10s", target: 10), .init(duration: "10s", target: 40)],
                               timeUnit: "1s", startRate: 10))
        let d = p.drops(iterationSeconds: 0.2)
        #expect(d.firstStage == "stage 3 (10s to 40/1s)")
        #expect(d.firstStageStart == 20)
        #expect(abs(d.total - 200.0 / 3) < 1e-6)
        #expect(abs(d.peakPerSecond - 20) < 1e-9)
        // Seconds into the run: a scenario that starts at 30 s drops from 50 s.
        let later = try plan(.init(name: "ramp", executor: "ramping-arrival-rate", maxVUs: 4,
                                   stages: [.init(duration: "10s", target: 10), .init(duration: "10s", target: 10), .init(duration: "10s", target: 40)],
                                   timeUnit: "1s", startTime: "30s", startRate: 10))
        #expect(later.drops(iterationSeconds: 0.2).firstStageStart == 50)
    }

    @Test func aBareTimeUnitIsMillisecondsAndPreAllocatedIsTheCapWithoutMaxVUs() throws {
        let p = try plan(.init(name: "e", executor: "constant-arrival-rate", preAllocatedVUs: 5, rate: 10, timeUnit: "500", duration: "1m"))
        #expect(p.peakRate == 20)
        #expect(p.vuCap == 5 && p.capSource == "preAllocatedVUs 5 (no maxVUs)")
        #expect(ArrivalRatePlan.vusNeeded(rate: 20, iterationSeconds: 0.25) == 5)
        #expect(p.drops(iterationSeconds: 0.25).total == 0)
    }

    @Test func whatCannotBeSizedIsNamed() {
        var o = K6Options()
        o.scenarios = [.init(name: "a", executor: "constant-arrival-rate", rate: 10, duration: "1m"),
                       .init(name: "b", executor: "ramping-arrival-rate", maxVUs: 3),
                       .init(name: "c", executor: "constant-vus", vus: 3, duration: "1m")]
        let read = ArrivalRatePlan.read(o)
        #expect(read.plans.isEmpty)
        #expect(read.unread == ["a: no preAllocatedVUs or maxVUs read", "b: no stages read"])
    }
}
