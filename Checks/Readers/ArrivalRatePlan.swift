import Foundation
import PreflightCore

/// An arrival-rate scenario's need for VUs (issue 31). k6 starts `rate` iterations per `timeUnit` whatever the
/// service does; an iteration that finds no free VU is dropped (`dropped_iterations`, "Insufficient VUs, reached N
/// active VUs and cannot initialize more"). By Little's law a rate of r iterations a second that each take D s keeps
/// r × D VUs busy (k6's sizing rule: "preAllocatedVUs = median iteration duration × rate"); with at most `cap` VUs
/// at most cap / D iterations a second start, and the rest are dropped.
public struct ArrivalRatePlan: Sendable, Equatable {
    /// A stretch of the scenario over which the rate moves linearly (a constant rate is one stage from r to r).
    public struct Stage: Sendable, Equatable {
        /// "stage 3 (2m to 300/s)", or "duration 10s" for constant-arrival-rate.
        public var label: String
        /// Iterations a second at its start and at its end.
        public var from: Double
        public var to: Double
        public var seconds: Double
    }

    /// What the plan will drop when an iteration takes `iterationSeconds`.
    public struct Drops: Sendable, Equatable {
        public var total: Double
        /// At the scenario's peak rate.
        public var peakPerSecond: Double
        /// The first stage that drops, nil when none does, and the seconds into the run where it begins (startTime counted).
        public var firstStage: String?
        public var firstStageStart: Double?
        /// VUs busy at the peak rate: peak rate × iteration duration, rounded up.
        public var vusNeeded: Int
    }

    public var scenario: String
    public var executor: String
    public var stages: [Stage]
    /// Seconds into the run where it starts (`startTime`).
    public var startTime: Double = 0
    /// The most VUs k6 may use: maxVUs, or preAllocatedVUs when maxVUs is unset (k6 then allocates no more).
    public var vuCap: Int
    /// "maxVUs 1,150" or "preAllocatedVUs 4 (no maxVUs)".
    public var capSource: String
    public var preAllocatedVUs: Int?
    /// "500/1s" as written, for sentences.
    public var rateText: String

    public var seconds: Double { stages.map(\.seconds).reduce(0, +) }
    public var plannedIterations: Double { stages.map { ($0.from + $0.to) / 2 * $0.seconds }.reduce(0, +) }
    public var peakRate: Double { stages.map { max($0.from, $0.to) }.max() ?? 0 }

    /// The options' arrival-rate scenarios; `unread` names each that cannot be sized, with why.
    public static func read(_ options: K6Options) -> (plans: [ArrivalRatePlan], unread: [String]) {
        var plans: [ArrivalRatePlan] = [], unread: [String] = []
        for s in options.scenarios where s.executor == "constant-arrival-rate" || s.executor == "ramping-arrival-rate" {
            switch plan(s) {
            case .success(let p): plans.append(p)
            case .failure(let why): unread.append("\(s.name): \(why.text)")
            }
        }
        return (plans, unread)
    }

    struct Unread: Error { var text: String }

    static func plan(_ s: K6Options.Scenario) -> Result<ArrivalRatePlan, Unread> {
        let executor = s.executor ?? ""
        // k6's duration rules: "1m", "500ms"; a bare number is milliseconds. The default timeUnit is 1s.
        let unitRead: Double? = s.timeUnit == nil ? 1 : K6Options.seconds(s.timeUnit!)
        guard let unit = unitRead, unit > 0 else { return .failure(Unread(text: "timeUnit \(s.timeUnit ?? "") not read")) }
        let unitText = s.timeUnit ?? "1s"
        let cap: Int, capSource: String
        if let m = s.maxVUs {
            (cap, capSource) = (max(m, s.preAllocatedVUs ?? 0), "maxVUs \(formatCount(m))")
        } else if let p = s.preAllocatedVUs {
            (cap, capSource) = (p, "preAllocatedVUs \(formatCount(p)) (no maxVUs)")
        } else {
            return .failure(Unread(text: "no preAllocatedVUs or maxVUs read"))
        }
        var stages: [Stage] = []
        let rateText: String
        if executor == "constant-arrival-rate" {
            guard let rate = s.rate else { return .failure(Unread(text: "no rate read")) }
            guard let d = s.duration, let seconds = K6Options.seconds(d) else { return .failure(Unread(text: "no duration read")) }
            let r = Double(rate) / unit
            stages = [Stage(label: "duration \(d)", from: r, to: r, seconds: seconds)]
            rateText = "\(formatCount(rate))/\(unitText)"
        } else {
            guard !s.stages.isEmpty else { return .failure(Unread(text: "no stages read")) }
            var previous = Double(s.startRate ?? 0) / unit
            for (i, st) in s.stages.enumerated() {
                guard let target = st.target, let d = st.duration, let seconds = K6Options.seconds(d) else {
                    return .failure(Unread(text: "stage \(i + 1) not read"))
                }
                let to = Double(target) / unit
                stages.append(Stage(label: "stage \(i + 1) (\(d) to \(formatCount(target))/\(unitText))", from: previous, to: to, seconds: seconds))
                previous = to
            }
            rateText = "up to \(formatCount(s.stages.compactMap(\.target).max() ?? 0))/\(unitText)"
        }
        return .success(ArrivalRatePlan(scenario: s.name, executor: executor, stages: stages, startTime: s.window.start, vuCap: cap,
                                         capSource: capSource, preAllocatedVUs: s.preAllocatedVUs, rateText: rateText))
    }

    /// VUs busy at `rate` iterations a second when each takes `iterationSeconds` (Little's law).
    public static func vusNeeded(rate: Double, iterationSeconds: Double) -> Int {
        Int((rate * iterationSeconds - 1e-9).rounded(.up))
    }

    public func drops(iterationSeconds d: Double) -> Drops {
        let needed = Self.vusNeeded(rate: peakRate, iterationSeconds: d)
        guard d > 0 else { return Drops(total: 0, peakPerSecond: 0, firstStage: nil, firstStageStart: nil, vusNeeded: needed) }
        let capacity = Double(vuCap) / d
        var total = 0.0, first: String?, firstStart: Double?, at = startTime
        for s in stages {
            let lost = Self.above(s.from, s.to, capacity, s.seconds)
            if lost > 0, first == nil { (first, firstStart) = (s.label, at) }
            total += lost
            at += s.seconds
        }
        return Drops(total: total, peakPerSecond: max(0, peakRate - capacity), firstStage: first, firstStageStart: firstStart, vusNeeded: needed)
    }

    /// Iterations above `capacity` a second while the rate moves linearly from a to b over t s: the area between
    /// the ramp and the capacity where the ramp is above it.
    static func above(_ a: Double, _ b: Double, _ capacity: Double, _ t: Double) -> Double {
        let lo = min(a, b), hi = max(a, b)
        guard t > 0, hi > capacity else { return 0 }
        if lo >= capacity { return ((a + b) / 2 - capacity) * t }
        let over = hi - capacity
        return 0.5 * over * t * over / (hi - lo)
    }
}
