import Foundation
import PreflightCore
import PreflightProbes

/// Can the plan's executors produce the load they plan (issue 31)? Arrival-rate scenarios against their VU cap
/// (dropped iterations), and the request rate a closed model's VUs can make: the generator check's second half,
/// beside the machine's limits in GeneratorCheck.swift.
extension GeneratorCheck {
    /// More than this share of a scenario's planned iterations dropped: the run tests less than it claims.
    static let droppedShareFail = 0.01

    /// Each arrival-rate scenario against its VU cap (Checks/Readers/ArrivalRatePlan.swift). An iteration takes
    /// requests × `latency` + the script's mean sleep; without a latency only the sleep is known, so the drops
    /// found are a lower bound and their upper end is every planned iteration.
    static func arrivalRates(_ plan: LoadPlan, latency: Double?, perIteration: Int? = nil, _ f: inout Findings, _ e: inout Evidence) {
        guard plan.settings.vus == nil, let options = plan.options else { return }
        // Options imported from another module are not read here (k6 inspect reads them for the script check): said,
        // so that a script whose scenarios live in a config module is not sized in silence (issue 31).
        if let why = options.peakUnknown {
            f.items.append(Finding(.pass, "the script's options are not read here (it \(why)): its scenarios, VUs and arrival rates are not sized; set load.vus (and generator.requests_per_second) to size them"))
        }
        let read = ArrivalRatePlan.read(options)
        if !read.unread.isEmpty { e["arrivalRateUnread"] = .string(read.unread.joined(separator: "; ")) }
        guard !read.plans.isEmpty else { return }
        let requests = Self.requestsPerIteration(plan, perIteration)
        guard let sleep = options.iterationSleep else {
            e["iterationTime"] = .string("unknown: a sleep() argument in the script cannot be read")
            return
        }
        let iteration = sleep + (latency.map { Double(requests) * $0 } ?? 0)
        let how = latency.map { "\(requests) request\(requests == 1 ? "" : "s") × \(Self.seconds($0)) s measured + \(Self.seconds(sleep)) s of sleep()" }
            ?? "at least \(Self.seconds(sleep)) s of sleep(); request latency not measured (a guess of 0)"
        e["iterationTime"] = .string("\(Self.seconds(iteration)) s = \(how)")
        let runSeconds = plan.plannedSeconds ?? read.plans.map(\.seconds).max() ?? 1
        for p in read.plans {
            let holds = Double(p.vuCap) / max(p.peakRate, 1e-9)
            e["arrivalRate.\(p.scenario)"] = .string("\(p.executor) \(p.rateText), \(formatCount(Int(p.plannedIterations.rounded()))) iterations planned: "
                + "each second of iteration time needs \(formatCount(Int(p.peakRate.rounded(.up)))) VUs at the peak; \(p.capSource) holds iterations up to \(Self.seconds(holds)) s")
            guard iteration > 0 else { continue }
            let d = p.drops(iterationSeconds: iteration)
            guard d.total >= 1 else { continue }
            let share = d.total / max(1, p.plannedIterations)
            let least = latency == nil ? "at least " : "~"
            let upper = latency == nil ? p.plannedIterations : d.total * 2
            let lower = latency == nil ? d.total : d.total / 2
            let fixVUs = Int((Double(d.vusNeeded) * 1.1).rounded(.up))
            let guess = latency == nil ? " (its sleep(); request latency not measured)" : ""
            let sentence = "scenario \(p.scenario): at \(Self.rate(p.peakRate))/s an iteration takes \(least)\(Self.seconds(iteration)) s\(guess): \(formatCount(d.vusNeeded)) VUs needed, "
                + "\(p.capSource): ~\(Self.rate(d.peakPerSecond)) iterations/s will be dropped, ~\(formatCount(Int(d.total.rounded()))) over the test "
                + "(\(Self.percent(share)) of \(formatCount(Int(p.plannedIterations.rounded()))) planned, dropped_iterations), from \(d.firstStage ?? "the start")"
            let fix = "set maxVUs to \(formatCount(fixVUs)) in scenario \(p.scenario) (peak rate × iteration time + 10 %), or make the iteration shorter"
            let effect = Effect(share: nil, from: d.firstStageStart.map { $0 == 0 ? "start" : String(Int($0)) } ?? "peak",
                                k6: "dropped_iterations (\"Insufficient VUs, reached \(p.vuCap) active VUs and cannot initialize more\")",
                                basis: "\(p.capSource) ÷ \(Self.seconds(iteration)) s per iteration = \(Self.rate(Double(p.vuCap) / iteration)) iterations/s started of \(Self.rate(p.peakRate))/s planned (Little's law)",
                                droppedIterations: IterationDrops(count: lower...upper, perSecond: (lower / runSeconds)...(upper / runSeconds)))
            f.add(share > droppedShareFail ? .fail : .warn, sentence, fix: fix, effect: effect)
        }
        preallocated(read.plans, iteration: iteration, measured: latency != nil, &f, &e)
    }

    /// The requests of one iteration: as the smoke check's real iteration counted them, else the script's distinct
    /// requests (every branch and setup()'s counted once each: an estimate).
    static func requestsPerIteration(_ plan: LoadPlan, _ perIteration: Int?) -> Int { max(1, perIteration ?? plan.requests.count) }

    /// preAllocatedVUs far past what the rate needs: k6 initializes every one at the start (memory, a connection
    /// and descriptor each once they run). Judged only with a measured iteration time (a sleep alone understates it).
    static let preallocatedExcess = 500
    static func preallocated(_ plans: [ArrivalRatePlan], iteration: Double, measured: Bool, _ f: inout Findings, _ e: inout Evidence) {
        guard measured, iteration > 0 else { return }
        for p in plans {
            guard let pre = p.preAllocatedVUs else { continue }
            let needed = max(1, ArrivalRatePlan.vusNeeded(rate: p.peakRate, iterationSeconds: iteration))
            guard pre >= 4 * needed, pre - needed >= preallocatedExcess else { continue }
            let mb = pre * megabytesPerVU
            f.add(.warn, "scenario \(p.scenario): preAllocatedVUs \(formatCount(pre)) for \(Self.rate(p.peakRate))/s of ~\(Self.seconds(iteration)) s iterations, which need \(formatCount(needed)): "
                  + "k6 initializes all \(formatCount(pre)) at the start (~\(formatCount(mb)) MB at \(megabytesPerVU) MB each, grafana/k6#1543)",
                  fix: "set preAllocatedVUs to \(formatCount(Int((Double(needed) * 1.2).rounded(.up)))) (the rate × iteration time + 20 %) and keep maxVUs for the peaks")
        }
    }

    /// k6's default maxDuration of the iteration-based executors.
    static let defaultMaxDuration = 600.0

    /// shared-iterations and per-vu-iterations end at maxDuration whatever is left: with the iteration's time
    /// (measured latency + sleeps), the iterations that will not run. More than 1 % of them fails (the run would
    /// test less than it claims), as for dropped iterations.
    static func iterationCuts(_ plan: LoadPlan, latency: Double?, perIteration: Int? = nil, _ f: inout Findings, _ e: inout Evidence) {
        guard plan.settings.vus == nil, let options = plan.options, let sleep = options.iterationSleep else { return }
        let requests = Self.requestsPerIteration(plan, perIteration)
        let iteration = sleep + Double(requests) * (latency ?? 0)
        guard iteration > 0 else { return }
        for s in options.scenarios where s.executor == "shared-iterations" || s.executor == "per-vu-iterations" {
            let vus = max(1, s.vus ?? 1), iterations = max(1, s.iterations ?? 1)
            let limit = s.maxDuration.flatMap(K6Options.seconds) ?? Self.defaultMaxDuration
            let limitText = s.maxDuration ?? "10m (k6's default)"
            let shared = s.executor == "shared-iterations"
            let planned = shared ? iterations : iterations * vus
            // Each VU runs one after another: shared ones split the total, per-VU ones each their own count.
            let perVU = shared ? (Double(iterations) / Double(vus)).rounded(.up) : Double(iterations)
            let needs = perVU * iteration
            guard needs > limit else { continue }
            let run = min(Double(planned), (limit / iteration).rounded(.down) * Double(vus))
            let cut = Double(planned) - run
            let share = cut / Double(planned)
            let least = latency == nil ? "at least " : "~"
            f.add(share > droppedShareFail ? .fail : .warn,
                  "scenario \(s.name): \(formatCount(planned)) iterations (\(s.executor!)) of \(least)\(seconds(iteration)) s on \(formatCount(vus)) VU\(vus == 1 ? "" : "s") need ~\(seconds(needs)) s; "
                  + "maxDuration \(limitText) ends the scenario with ~\(formatCount(Int(cut.rounded()))) (\(percent(share))) not run",
                  fix: "raise maxDuration in scenario \(s.name) to \(seconds((needs * 1.2).rounded(.up))) s, or run more VUs",
                  effect: Effect(share: nil, from: String(Int(limit)), k6: "fewer `iterations` than planned (k6 ends the scenario at maxDuration; they are not dropped_iterations)",
                                 basis: "\(formatCount(vus)) VUs × \(seconds(limit)) s ÷ \(seconds(iteration)) s per iteration = \(formatCount(Int(run))) of \(formatCount(planned)) iterations",
                                 cutsIterations: true))
        }
    }

    /// The closed models (VUs that loop): at most VUs × requests per iteration ÷ iteration time requests a second,
    /// against `generator.requests_per_second`. Without a latency the iteration is its sleep, so the rate is an
    /// upper bound: short of the asked rate even so, the VUs cannot send it.
    static func closedModelRate(_ plan: LoadPlan, settings: GeneratorSettings, latency: Double?, perIteration: Int? = nil, _ f: inout Findings, _ e: inout Evidence) {
        guard let asked = settings.requestsPerSecond, let vus = plan.peakVUs, vus > 0 else { return }
        let options = plan.options ?? K6Options()
        // A sleep() whose argument cannot be read: the iteration's length is unknown.
        guard let sleep = plan.options == nil ? 0 : options.iterationSleep else { return }
        // Arrival-rate scenarios set their own rate: their VUs are not a closed model.
        guard plan.settings.vus != nil || !options.scenarios.contains(where: { ($0.executor ?? "").hasSuffix("arrival-rate") }) else { return }
        let requests = Self.requestsPerIteration(plan, perIteration)
        let iteration = sleep + Double(requests) * (latency ?? 0)
        guard iteration > 0 else { return }
        let rate = Double(vus) * Double(requests) / iteration
        let least = latency == nil ? "at least " : "~"
        e["closedModelRate"] = .string("at most \(Self.rate(rate)) requests/s = \(formatCount(vus)) VUs × \(requests) request\(requests == 1 ? "" : "s") ÷ \(least)\(Self.seconds(iteration)) s per iteration\(latency == nil ? " (sleep() only; request latency not measured)" : "")")
        guard rate < Double(asked) else { return }
        let needed = Int((Double(asked) * iteration / Double(requests)).rounded(.up))
        f.add(.warn, "\(formatCount(vus)) VUs with iterations of \(least)\(Self.seconds(iteration)) s send at most \(Self.rate(rate)) requests/s; generator.requests_per_second is \(formatCount(asked))",
              fix: "run \(formatCount(needed)) VUs or more, or a constant-arrival-rate scenario of \(formatCount(asked)) iterations/s")
    }

    // MARK: k6's own speed

    /// The bench's length and its VU cap: ~2 s of k6 at most 200 VUs (memory and start-up stay small).
    static let benchSeconds = 2, benchVUCap = 200
    /// Planned above this share of what k6 sends here: close to the machine's limit (a warning).
    static let benchHeadroom = 0.7

    /// The request rate the plan asks k6 for: `generator.requests_per_second`, else the arrival-rate scenarios' peak
    /// rates × the requests of an iteration. A closed model asks no rate (its VUs slow down with k6, nothing is
    /// dropped), so nil: nothing to compare k6's speed with, and no bench.
    static func plannedRate(_ plan: LoadPlan, settings: GeneratorSettings, perIteration: Int? = nil) -> (value: Double, source: String)? {
        if let asked = settings.requestsPerSecond { return (Double(asked), "generator.requests_per_second") }
        let requests = Self.requestsPerIteration(plan, perIteration)
        if plan.settings.vus == nil, let options = plan.options {
            let rates = ArrivalRatePlan.read(options).plans
            if !rates.isEmpty {
                let peak = rates.map(\.peakRate).reduce(0, +)
                return (peak * Double(requests), "the arrival-rate scenarios' \(rate(peak)) iterations/s × \(requests) request\(requests == 1 ? "" : "s")")
            }
        }
        return nil
    }

    /// How many requests a second k6 sends on this machine, measured with the real k6 for ~2 s against a loopback
    /// sink of preflight's own (no traffic to the target), against the planned rate.
    func k6Speed(_ k6: (path: String, version: String), planned: (value: Double, source: String), vus: Int, cores: Int?,
                 timeout: Duration, _ f: inout Findings, _ e: inout Evidence) async {
        let benchVUs = max(1, min(vus, Self.benchVUCap))
        let limit = max(timeout * 2, .seconds(Self.benchSeconds + 4))
        switch await probes.bench.measure(k6: k6.path, vus: benchVUs, seconds: Self.benchSeconds, timeout: limit) {
        case .failure(let why):
            e["k6Speed"] = .string("not measured: \(why.description)")
        case .success(let b):
            let machine = "\(cores.map { "\($0) core\($0 == 1 ? "" : "s")" } ?? "cores unknown"), k6 \(k6.version)"
            let r = b.rate
            e["k6Speed"] = .string("~\(Self.rate(r)) requests/s at \(formatCount(b.vus)) VUs: \(formatCount(b.requests)) requests in \(Self.seconds(b.seconds)) s "
                + "against preflight's loopback sink (\(formatCount(b.answered)) answered; nothing sent to the target; the sink shares the CPU, so k6 alone sends somewhat more; \(machine))")
            e["plannedRate"] = .string("\(Self.rate(planned.value)) requests/s: \(planned.source)")
            guard r > 0, b.failedShare < 0.5 else { return }
            if planned.value > r {
                let machines = Int((planned.value / r).rounded(.up))
                f.add(.fail, "k6 here sends ~\(Self.rate(r)) requests/s at \(formatCount(b.vus)) VUs (\(machine)); the plan needs \(Self.rate(planned.value)): the generator will be CPU-bound, and latencies will include k6's own queueing",
                      fix: "run k6 on a machine with more cores, or split the load over \(machines) machines (k6 --execution-segment, or the k6-operator's parallelism)",
                      effect: Effect(share: nil, from: "start", k6: "http_req_duration (k6's own queueing in every latency); iterations an arrival rate cannot start are dropped_iterations",
                                     basis: "k6 sent \(Self.rate(r)) requests/s to a loopback sink that answers at once; the plan asks \(Self.rate(planned.value))/s (\(planned.source))",
                                     addsLatency: true))
            } else if planned.value > r * Self.benchHeadroom {
                f.add(.warn, "the plan needs \(Self.rate(planned.value)) requests/s, \(Self.percent(planned.value / r)) of the ~\(Self.rate(r)) k6 sends here at \(formatCount(b.vus)) VUs (\(machine)): k6's own CPU will add to the latencies it measures",
                      fix: "watch the generator's CPU during the test (k6's docs: stay below 80 %), or split the load over more machines")
            }
        }
    }

    /// 2.3199 → "2.32"; 0.2 → "0.2".
    static func seconds(_ v: Double) -> String {
        var t = String(format: "%.2f", v)
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    static func rate(_ v: Double) -> String { v >= 10 ? formatCount(Int(v.rounded())) : seconds(v) }
    static func percent(_ v: Double) -> String { v >= 0.1 ? "\(Int((v * 100).rounded())) %" : String(format: "%.2f %%", v * 100) }
}
