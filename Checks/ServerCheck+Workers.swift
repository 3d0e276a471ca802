import Foundation
import PreflightCore
import PreflightProbes

/// The workers: every process that holds the listening socket (or a SO_REUSEPORT sibling), their master, and a
/// sync worker count below the peak's VUs, which the ramp's latency curve confirms or clears.
extension ServerCheck {
    /// What `workers` found, for the ramp to confirm.
    struct Workers {
        var count: Int
        /// Requests served at once when known (sync Gunicorn workers: one each).
        var concurrency: Int?
        var vus: Int
        /// Index of the warning in the reading's findings.
        var finding: Int
    }

    func workers(_ listener: ServiceListener, vus: Int?, into r: inout Reading) -> Workers? {
        let holders = probes.sockets.holders(of: Set(listener.sockets.map(\.inode)))
        guard !holders.isEmpty else { return nil }
        let procs = holders.map { h in
            ServerWorkers.Process(pid: h.pid, name: h.process,
                                  parent: probes.host.readFile("/proc/\(h.pid)/stat").flatMap(ServerWorkers.parent(stat:)))
        }
        let w = ServerWorkers(holders: procs)
        let threads = w.workers.compactMap { probes.host.entryCount("/proc/\($0.pid)/task") }
        let master = w.masters.first
        let head = master.map { "\($0.name) (pid \($0.pid))" } ?? listener.socket.owner
        let pids = w.workers.map { String($0.pid) }.joined(separator: ", ")
        let reuse = listener.sockets.count > 1 ? " on \(listener.sockets.count) SO_REUSEPORT sockets" : ""
        let threadCount = threads.reduce(0, +)
        let threadNote = threads.count == w.workers.count && !threads.isEmpty ? ", \(threadCount) thread\(threadCount == 1 ? "" : "s")" : ""
        let count = w.workers.count
        var e = Evidence(["count": .int(count), "pids": .string(pids)])
        if let master { e["master"] = .string("\(master.name) (pid \(master.pid))") }
        if !threads.isEmpty { e["threads"] = .int(threads.reduce(0, +)) }
        r.evidence["workers"] = .object(e)
        let named = master == nil
            ? (count == 1 ? "\(head) accepts alone\(threadNote)" : "\(count) processes accept\(reuse) (pids \(pids)\(threadNote))")
            : "\(head) runs \(count) worker\(count == 1 ? "" : "s")\(reuse) (pids \(pids)\(threadNote))"
        let cmdline = probes.host.readFile("/proc/\((master ?? w.workers.first ?? procs[0]).pid)/cmdline").map(ServerWorkers.arguments(cmdline:))
        guard let vus, let perWorker = cmdline.flatMap(ServerWorkers.gunicornSyncConcurrency(arguments:)) else {
            r.findings.append(Finding(.pass, named))
            return nil
        }
        let serves = count * perWorker
        guard serves < vus else {
            r.findings.append(Finding(.pass, "\(named): sync workers serve \(serves) requests at once for \(grouped(vus)) VUs"))
            return nil
        }
        r.findings.append(Finding(.warn, "\(named), sync: \(serves) request\(serves == 1 ? "" : "s") at a time for \(grouped(vus)) VUs; the others wait in its accept queue",
            fix: "run more workers (gunicorn -w \(min(vus, 2 * probes.host.cores() + 1)), the usual 2 × cores + 1) or an async or threaded worker class (-k uvicorn.workers.UvicornWorker, -k gthread --threads N)",
            effect: Effect(share: .exactly(0), from: "start", k6: "http_req_duration (each request waits for a free worker)",
                           basis: "\(grouped(vus)) VUs share \(serves) request slot\(serves == 1 ? "" : "s"): latency grows ~\(grouped(vus / max(1, serves)))× the service time; a request fails only once its wait passes k6's 60 s timeout")))
        return Workers(count: count, concurrency: serves, vus: vus, finding: r.findings.count - 1)
    }

    /// The ramp's latency curve: a p50 that grows with concurrency past the workers confirms the warning; a flat one clears it.
    func confirm(_ w: Workers, sample: TrafficSample, into r: inout Reading) {
        let stats = sample.steps.map(StepStats.init)
        guard let first = stats.first, let last = stats.last, last.concurrency > (w.concurrency ?? 1),
              let p1 = first.p50, let pN = last.p50, p1 > 0 else { return }
        let curve = "p50 \(Int((p1 * 1000).rounded())) ms at \(first.concurrency) concurrent → \(Int((pN * 1000).rounded())) ms at \(last.concurrency)"
        // Queueing behind `slots` workers: the wait grows ~ concurrency / slots; half of that is a confirmation.
        let expected = Double(last.concurrency) / Double(max(1, w.concurrency ?? 1))
        if pN / p1 >= expected * 0.5 {
            r.findings[w.finding].sentence += " (the ramp confirms: \(curve))"
        } else {
            r.findings[w.finding].severity = .pass
            r.findings[w.finding].sentence += " (the ramp clears it: \(curve))"
            r.findings[w.finding].effect = nil
        }
    }
}
