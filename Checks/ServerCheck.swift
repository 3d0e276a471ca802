import Foundation
import PreflightCore
import PreflightProbes

/// The service's own limits, for a target on this machine (the process the port check names as the listener): its
/// descriptors against the peak's connections, its accept backlog and the kernel's listen drops during the run's one
/// ramp, the workers sharing its socket, and its cgroup's CPU quota (throttled during the ramp), memory and pids.
/// Another user's /proc files may be refused: each one not read is said, never a failure.
public struct ServerCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "server", title: "Service limits", layer: .limits, prerequisites: ["port"], after: ["health"],
        examples: ServerExamples.all,
        // The run's one ramp, when the config plans one (at most 4 × --timeout), plus reading /proc.
        timeoutBudget: 6)

    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetURL.self, LoadPlan.self, TargetReach.self, PlannedTraffic.self, DatabaseSettings.self]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    /// What one run of the check gathers: findings by facet, evidence, and the files it could not read.
    struct Reading {
        var findings: [Finding] = []
        var evidence = Evidence()
        var unread: [String] = []
    }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard let target = context.fact(TargetURL.self).url else { return .skipped("no target configured") }
        let plan = context.fact(LoadPlan.self)
        let listener: ServiceListener
        switch await TargetListener.locate(context, target: target, probes: probes) {
        case .unresolved(let host): return .skipped("\(host) does not resolve: the port check says why")
        case .remote(let host):
            return .skipped("\(host) is not this machine: run `preflight --only server` on the service's host (same config) to read its limits (with this run's check list there, its JSON report merges with this one: `preflight merge`)")
        case .nothing(let hostPort): return .skipped("nothing listens on \(hostPort) now")
        case .hidden(let hostPort, let owner): return .skipped("the process listening on \(hostPort) is not visible: \(owner)")
        case .found(let l): listener = l
        }
        let socket = listener.socket
        var r = Reading()
        r.evidence["listener"] = .string("\(socket.address.description) (\(socket.owner))")
        let vus = plan.peakVUs.flatMap { $0 > 0 ? $0 : nil }
        if vus == nil { r.evidence["plan"] = "no VU count in load.script or load.vus" }

        // Connections per VU as the generator check counts them: one with keep-alive, more with http.batch.
        let demand = Demand(plan: plan, settings: GeneratorSettings())
        let perVU = demand.map { ($0.perVU, $0.perVUSource) } ?? (1, "HTTP/1.1 keep-alive")
        descriptors(listener, vus: vus, perVU: perVU, think: plan.options?.iterationSleep, database: context.fact(DatabaseSettings.self).url != nil, into: &r)
        let workers = self.workers(listener, vus: vus, into: &r)
        backlog(listener, arrivals: Self.arrivals(plan, reach: context.fact(TargetReach.self), vus: vus), into: &r)
        let cgroup = self.cgroup(listener, into: &r)

        // The run's one ramp (shared with the pool-traffic and rate-limit checks), never a second one: it reads the
        // listen-queue and throttling counters just before and after it.
        // Only to a target whose health check passed (as for the checks that share the ramp): a failing one gets
        // no traffic from this check (a run outside the engine, with no health result, sends it).
        let health = context.prerequisites["health"]?.status
        let healthy = health == nil || health == .pass || health == .warn
        if let health, !healthy {
            let how = switch health { case .fail: "failed"; case .blocked: "was blocked"; case .skipped: "was skipped"; default: "crashed" }
            r.evidence["traffic"] = .string("not sent: the health check \(how)")
        }
        let ramp = TrafficPlan.planned(context, environment: probes.host.environment)?.isRamp == true
        if healthy, !ramp {
            // Said, not silent (issue 32): these two are read only around the ramp.
            r.evidence["traffic"] = "no ramp (it needs load.request or rate_limit.request, and a peak): listen drops and CPU throttling under load were not measured"
        }
        if healthy, ramp, let sample = await TrafficSample.measure(context, probes: probes) {
            r.evidence["traffic"] = sample.evidenceSummary
            drops(sample, listener: listener, into: &r)
            throttling(sample, listener: listener, cgroup: cgroup, into: &r)
            if let workers { confirm(workers, sample: sample, into: &r) }
        }

        if !r.unread.isEmpty { r.evidence["notRead"] = .array(r.unread.map { .string($0) }) }
        // Fails first, then warnings, then what passed; what could not be read comes last.
        let order: [Status] = [.fail, .warn, .pass]
        let findings = order.flatMap { s in r.findings.filter { $0.severity == s } }
        guard !findings.isEmpty else {
            return .skipped(r.unread.first.map { "cannot read \($0)" } ?? "nothing to read")
        }
        let notRead = r.unread.isEmpty ? [] : [Finding(.pass, "cannot read \(r.unread.joined(separator: ", ")) (\(socket.owner)): run preflight as the service's user or root to see them")]
        return CheckOutcome(findings: findings + notRead, evidence: r.evidence)
    }

    /// Descriptors: `Max open files` and the open count against one keep-alive connection per VU at the peak.
    /// With a database, the service needs descriptors of its own for the pool connections it has not opened yet:
    /// once the VUs' connections take the last ones, those fail too (the sample stack's app, whose pool opens
    /// lazily: 97.8 % of k6's requests failed, against 3-5 % for the VUs left in the accept queue alone).
    func descriptors(_ listener: ServiceListener, vus: Int?, perVU: (count: Int, source: String) = (1, "HTTP/1.1 keep-alive"),
                     think: Double?, database: Bool, into r: inout Reading) {
        let pid = listener.pid, owner = listener.socket.owner
        let limitsPath = "/proc/\(pid)/limits", fdPath = "/proc/\(pid)/fd"
        guard let limit = probes.host.readFile(limitsPath).map(ProcessLimits.init(parsing:))?.openFiles else {
            r.unread.append(limitsPath)
            return
        }
        guard let open = probes.host.entryCount(fdPath) else {
            r.unread.append(fdPath)
            return
        }
        r.evidence["maxOpenFiles"] = .string("soft \(grouped(limit.soft)), hard \(grouped(limit.hard)) (\(limitsPath))")
        r.evidence["openFiles"] = .int(open)
        let has = "\(owner) may open \(grouped(limit.soft)) files and has \(open) open"
        guard let vus else {
            r.findings.append(Finding(.pass, has))
            return
        }
        let connections = vus * max(1, perVU.count)
        let d = ServerDescriptors(limit: limit.soft, open: open, vus: connections)
        let need = "\(grouped(vus)) VUs need ~\(grouped(connections)) connections"
        r.evidence["connectionsNeeded"] = .string("\(grouped(connections)) = \(grouped(vus)) VUs × \(perVU.count) connection\(perVU.count == 1 ? "" : "s") (\(perVU.count == 1 ? "keep-alive" : perVU.source), peak)")
        let want = Self.suggested(open + connections)
        let raise = limit.hard >= want
            ? "raise the service's limit: `ulimit -n \(want)` before starting it, LimitNOFILE=\(want) in its systemd unit, or `--ulimit nofile=\(want)` for docker"
            : "raise the service's soft and hard limit (hard \(grouped(limit.hard))): LimitNOFILE=\(want) in its systemd unit, `--ulimit nofile=\(want)` for docker, or /etc/security/limits.conf"
        if d.exhausted {
            // The VUs whose connections all fit; the others wait (a batch's extra connections count per VU).
            let fitting = d.free / max(1, perVU.count)
            let stuck = EffectModel.unaccepted(vus: vus, free: fitting, think: think ?? 0)
            let share = database ? ShareRange(low: stuck.low, high: 1) : stuck
            let basis = "\(grouped(vus - fitting)) of \(grouped(vus)) VUs wait in the accept queue for a descriptor, each failing one request per k6 timeout (60 s)"
                + (database ? "; the service's own database connections not open yet find no descriptor either, and the requests that need one fail (up to every request)" : "")
            r.findings.append(Finding(.fail, "\(has); \(need): accept() will fail with EMFILE from ~\(grouped(fitting)) VUs on", fix: raise,
                effect: Effect(share: share, from: "peak", k6: FailureKind.requestTimeout.k6, basis: basis)))
        } else if d.tight {
            r.findings.append(Finding(.warn, "\(has); \(need): little room left for its own pool connections and files", fix: raise,
                effect: Effect(share: .exactly(0), from: "peak", k6: FailureKind.requestTimeout.k6,
                               basis: "the peak fits in the descriptors left (\(grouped(d.free))) unless the service opens more of its own (pool connections, files): then accept() fails with EMFILE and those VUs time out")))
        } else {
            r.findings.append(Finding(.pass, "\(has): room for \(grouped(vus)) VUs (~\(grouped(connections)) connections)"))
        }
    }

    /// The next power of two at or above 1.25 × the need, at least 1,024.
    static func suggested(_ need: Int) -> Int {
        var v = 1024
        while Double(v) < Double(need) * 1.25 && v < 1 << 30 { v *= 2 }
        return v
    }

    /// The connections that arrive at the listener at once: every VU's when they all start together (a `vus`
    /// plan with no stages) or when k6 opens a new connection for every request (`noConnectionReuse`); nil when
    /// stages bring the VUs in a few at a time.
    static func arrivals(_ plan: LoadPlan, reach: TargetReach, vus: Int?) -> (count: Int, why: String)? {
        guard let vus else { return nil }
        if !reach.keepAlive.reusesConnections { return (vus, "\(grouped(vus)) VUs opening a new connection for every request") }
        let o = plan.options
        let staged = !(o?.stages.isEmpty ?? true) || (o?.scenarios.contains { !$0.stages.isEmpty } ?? false)
        return staged ? nil : (vus, "\(grouped(vus)) VUs starting together")
    }
}
