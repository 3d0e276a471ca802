import Foundation
import PreflightCore
import PreflightProbes

/// The container's limits: the listener's cgroup (v2 or v1), its CPU quota and the throttling the ramp measured,
/// its memory limit against current usage, its pids limit.
extension ServerCheck {
    /// What `cgroup` read, for the ramp's throttling finding.
    struct CgroupLimits {
        var path: String
        var quota: (quota: Int, period: Int)?
        var quotaSource: String?
    }

    /// The first readable of a controller file's candidate paths.
    func cgroupFile(_ cg: ProcessCgroup, _ file: String, controller: String) -> (path: String, text: String)? {
        for p in cg.candidates(file, controller: controller) {
            if let t = probes.host.readFile(p) { return (p, t) }
        }
        return nil
    }

    func cgroup(_ listener: ServiceListener, into r: inout Reading) -> CgroupLimits? {
        let file = "/proc/\(listener.pid)/cgroup"
        guard let text = probes.host.readFile(file) else {
            r.unread.append(file)
            return nil
        }
        let cg = ProcessCgroup(parsing: text)
        let owner = listener.socket.owner
        var e = Evidence()
        let cpuPath = cg.path(of: "cpu") ?? "/"
        e["cgroup"] = .string(cpuPath)
        // CPU: v2 cpu.max, else v1 cfs_quota_us over cfs_period_us.
        var limits = CgroupLimits(path: cpuPath)
        if let max = cgroupFile(cg, "cpu.max", controller: "cpu") {
            limits.quota = CPUQuota.cores(cpuMax: max.text)
            limits.quotaSource = "\(max.path): \(max.text.trimmingCharacters(in: .whitespacesAndNewlines))"
        } else if let q = cgroupFile(cg, "cpu.cfs_quota_us", controller: "cpu"), let p = cgroupFile(cg, "cpu.cfs_period_us", controller: "cpu") {
            limits.quota = CPUQuota.cores(quota: q.text, period: p.text)
            limits.quotaSource = "\(q.path): \(q.text.trimmingCharacters(in: .whitespacesAndNewlines)) / \(p.text.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        if let source = limits.quotaSource { e["cpuQuota"] = .string(source) }
        var parts: [String] = []
        if let q = limits.quota { parts.append("CPU quota \(Self.cores(q)) cores") }

        // Memory: v2 memory.max/memory.current, v1 memory.limit_in_bytes/memory.usage_in_bytes.
        let max = cgroupFile(cg, "memory.max", controller: "memory") ?? cgroupFile(cg, "memory.limit_in_bytes", controller: "memory")
        let current = cgroupFile(cg, "memory.current", controller: "memory") ?? cgroupFile(cg, "memory.usage_in_bytes", controller: "memory")
        let memMax = max.flatMap { CgroupLimit.value($0.text) }, memNow = current.flatMap { CgroupLimit.value($0.text) }
        if let m = max { e["memoryLimit"] = .string("\(m.path): \(m.text.trimmingCharacters(in: .whitespacesAndNewlines))") }
        if let c = memNow { e["memoryCurrent"] = .int(c) }
        // Pids: pids.max/pids.current (v1 and v2 alike).
        let pidsMax = cgroupFile(cg, "pids.max", controller: "pids").flatMap { CgroupLimit.value($0.text) }
        let pidsNow = cgroupFile(cg, "pids.current", controller: "pids").flatMap { CgroupLimit.value($0.text) }
        if let p = pidsMax { e["pidsMax"] = .int(p) }
        if let p = pidsNow { e["pidsCurrent"] = .int(p) }
        r.evidence["cgroup"] = .object(e)

        if let m = memMax, let c = memNow, m > 0 {
            let used = Double(c) / Double(m)
            if used >= 0.9 {
                r.findings.append(Finding(.warn, "\(owner)'s cgroup \(cg.path(of: "memory") ?? "/") uses \(Self.mib(c)) of its \(Self.mib(m)) memory limit (\(Int((used * 100).rounded())) %): the load's buffers and connections may reach it, and the OOM killer ends the service",
                    fix: "raise the container's memory limit (docker --memory, resources.limits.memory in Kubernetes) or find what holds the memory before the test",
                    effect: Effect(share: nil, from: "peak", k6: FailureKind.connectionReset.k6,
                                   basis: "a service killed at its memory limit resets its open connections and refuses new ones until it restarts; unknown share (when it is killed)")))
            } else {
                parts.append("memory \(Self.mib(c)) of \(Self.mib(m))")
            }
        }
        if let m = pidsMax, let c = pidsNow, m > 0 {
            if Double(c) >= Double(m) * 0.9 {
                r.findings.append(Finding(.warn, "\(owner)'s cgroup runs \(c) of its \(m) pids (pids.max): a service that starts a thread or process per connection cannot start more",
                    fix: "raise pids.max (docker --pids-limit, the pod's pid limit)",
                    effect: Effect(share: nil, from: "peak", k6: FailureKind.serverError.k6Text.map { "500 (\($0))" } ?? "500",
                                   basis: "thread or process creation fails with EAGAIN once the cgroup holds pids.max tasks; unknown share")))
            } else {
                parts.append("pids \(c) of \(m)")
            }
        }
        if !parts.isEmpty { r.findings.append(Finding(.pass, "\(owner)'s cgroup \(cpuPath): " + parts.joined(separator: ", "))) }
        return limits
    }

    /// The throttling counters of the listener's CPU cgroup, before and after the ramp: throttled = fail with the time.
    func throttling(_ sample: TrafficSample, listener: ServiceListener, cgroup: CgroupLimits?, into r: inout Reading) {
        guard let before = sample.serviceBefore?.cpu, let after = sample.serviceAfter?.cpu else { return }
        let d = after.since(before)
        let file = sample.serviceAfter?.cpuStat ?? "cpu.stat"
        r.evidence["throttledDuringRamp"] = .string("\(d.throttledPeriods) of \(d.periods) periods, \(Self.milliseconds(d.throttledMicroseconds)) (\(file))")
        guard d.throttledPeriods > 0 else {
            if cgroup?.quota != nil { r.findings.append(Finding(.pass, "not throttled during preflight's ramp (\(d.periods) CPU periods)")) }
            return
        }
        let quota = cgroup?.quota.map { "quota \(Self.cores($0)) cores" } ?? "its CPU quota"
        r.findings.append(Finding(.fail, "\(listener.socket.owner)'s cgroup \(cgroup?.path ?? "") was CPU-throttled in \(d.throttledPeriods) of \(d.periods) periods during preflight's ramp (\(Self.milliseconds(d.throttledMicroseconds)) throttled, \(quota)): the test measures the quota, not the service",
            fix: "raise or remove the container's CPU limit (docker --cpus, resources.limits.cpu in Kubernetes, CPUQuota= in systemd) for the test, or plan the load for the quota",
            effect: Effect(share: nil, from: "peak", k6: "http_req_duration (requests stall while the cgroup is throttled)",
                           basis: "throttled \(Self.milliseconds(d.throttledMicroseconds)) in \(grouped(sample.sent)) ramp requests: latency grows at the peak; requests fail only past k6's timeout (unknown share)")))
    }

    static func cores(_ q: (quota: Int, period: Int)) -> String {
        String(format: "%g", (Double(q.quota) / Double(q.period) * 100).rounded() / 100)
    }

    static func mib(_ bytes: Int) -> String { "\(formatCount(bytes >> 20)) MiB" }

    static func milliseconds(_ us: Int) -> String { us >= 10_000 ? String(format: "%.1f s", Double(us) / 1e6) : "\(us / 1000) ms" }
}
