import Foundation
import PreflightCore
import PreflightProbes

/// The accept backlog: the listening socket's queue limit and length (sock_diag), the kernel's caps on it, and the
/// listen drops the kernel counted while the run's one ramp ran.
extension ServerCheck {
    /// `net.core.somaxconn` caps every listen() backlog; `tcp_max_syn_backlog` bounds half-open connections;
    /// `tcp_abort_on_overflow` decides whether a full queue resets the client (1) or ignores it (0, SYN retried).
    struct KernelListen {
        var somaxconn: Int?
        var synBacklog: Int?
        var abortOnOverflow: Bool?
    }

    func kernelListen() -> KernelListen {
        func int(_ path: String) -> Int? { probes.host.readFile(path).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        return KernelListen(somaxconn: int("/proc/sys/net/core/somaxconn"), synBacklog: int("/proc/sys/net/ipv4/tcp_max_syn_backlog"),
                            abortOnOverflow: int("/proc/sys/net/ipv4/tcp_abort_on_overflow").map { $0 != 0 })
    }

    /// How k6 sees a connection the full queue turned away.
    static func overflowKind(_ k: KernelListen) -> String {
        k.abortOnOverflow == true ? FailureKind.connectionReset.k6 : FailureKind.requestTimeout.k6
    }

    func backlog(_ listener: ServiceListener, arrivals: (count: Int, why: String)?, into r: inout Reading) {
        let k = kernelListen()
        if let s = k.somaxconn { r.evidence["somaxconn"] = .int(s) }
        if let s = k.synBacklog { r.evidence["tcpMaxSynBacklog"] = .int(s) }
        if let a = k.abortOnOverflow { r.evidence["tcpAbortOnOverflow"] = .int(a ? 1 : 0) }
        // sock_diag's backlog is already listen()'s argument capped by somaxconn; the smallest of the siblings binds.
        let backlogs = listener.sockets.compactMap(\.backlog)
        guard let backlog = backlogs.min() else { return }
        let queued = listener.sockets.compactMap(\.acceptQueue).reduce(0, +)
        r.evidence["backlog"] = .int(backlog)
        r.evidence["acceptQueue"] = .int(queued)
        let capped = k.somaxconn.map { $0 <= backlog ? " (net.core.somaxconn \(grouped($0)) caps it)" : " (net.core.somaxconn \(grouped($0)))" } ?? ""
        let has = "\(listener.socket.owner)'s accept backlog is \(grouped(backlog))\(capped), \(queued) waiting now"
        guard let arrivals, arrivals.count > backlog * max(1, listener.sockets.count) else {
            r.findings.append(Finding(.pass, has))
            return
        }
        let fix = k.somaxconn.map { $0 <= backlog
            ? "raise net.core.somaxconn (`sysctl -w net.core.somaxconn=\(Self.suggested(arrivals.count))`) and the service's own backlog (uvicorn --backlog, gunicorn --backlog, nginx listen … backlog=, Node server.listen(port, host, backlog))"
            : "raise the service's backlog to \(Self.suggested(arrivals.count)) (uvicorn --backlog, gunicorn --backlog, nginx listen … backlog=, Node server.listen(port, host, backlog))" }
            ?? "raise the service's backlog (and net.core.somaxconn)"
        r.findings.append(Finding(.warn, "\(has); \(arrivals.why) overflow it: the kernel drops the connections past \(grouped(backlog)) until the service accepts",
            fix: fix,
            effect: k.abortOnOverflow == true
                ? Effect(share: nil, from: "start", k6: FailureKind.connectionReset.k6,
                         basis: "connections past the backlog are reset (tcp_abort_on_overflow 1): those VUs' requests fail; unknown share (how fast the service accepts)")
                // A dropped SYN is sent again after 1 s, 3 s, 7 s, 15 s, 31 s: six drops of one connection to pass k6's 60 s.
                : Effect(share: .exactly(0), from: "start", k6: "http_req_connecting (+1 s, +3 s… for a connection whose SYN was dropped)",
                         basis: "SYNs past the backlog are dropped and sent again after 1 s, 3 s, 7 s…: slow connects at the start, no failed request unless one connection is dropped six times (past k6's 60 s timeout)")))
    }

    /// ListenOverflows/ListenDrops before and after the ramp: drops counted while preflight's own traffic ran.
    func drops(_ sample: TrafficSample, listener: ServiceListener, into r: inout Reading) {
        guard let before = sample.serviceBefore?.listen, let after = sample.serviceAfter?.listen else {
            r.unread.append("/proc/net/netstat")
            return
        }
        let overflows = max(0, after.overflows - before.overflows), drops = max(0, after.drops - before.drops)
        r.evidence["listenDropsDuringRamp"] = .string("ListenOverflows +\(overflows), ListenDrops +\(drops) (/proc/net/netstat, \(sample.sent) requests)")
        let during = "during preflight's ramp (\(grouped(sample.sent)) requests, up to \(sample.steps.map(\.concurrency).max() ?? 0) concurrent)"
        guard overflows + drops > 0 else {
            r.findings.append(Finding(.pass, "no listen drops \(during)"))
            return
        }
        let k = kernelListen()
        let top = sample.steps.map(\.concurrency).max() ?? 0
        let backlog = listener.sockets.compactMap(\.backlog).min()
        let figure = "the kernel counted \(grouped(overflows)) listen overflows and \(grouped(drops)) drops \(during)"
        let effect = Effect(share: nil, from: "peak", k6: Self.overflowKind(k),
                            basis: "\(grouped(drops)) connection attempts dropped in \(grouped(sample.sent)) requests of the ramp; at the peak's \(grouped(sample.plan.peakVUs ?? top)) VUs more"
                                + (k.abortOnOverflow == true ? " are reset" : " wait for SYN retries (1 s, 3 s…) and time out") + "; unknown share")
        // The counters are the network namespace's: a backlog larger than the ramp ever filled points elsewhere.
        if let backlog, top <= backlog {
            r.findings.append(Finding(.warn, "\(figure), but \(listener.socket.owner)'s backlog (\(grouped(backlog))) exceeds the ramp's \(top) concurrent: another listener on this machine may have overflowed",
                fix: "see `nstat -az TcpExtListenOverflows` while the load runs, and `ss -lnt` for a listener whose Recv-Q reaches its Send-Q",
                effect: effect))
            return
        }
        r.findings.append(Finding(.fail, "\(figure): \(listener.socket.owner)'s accept queue" + (backlog.map { " (backlog \(grouped($0)))" } ?? "") + " overflowed",
            fix: "raise the service's backlog and net.core.somaxconn (uvicorn --backlog, gunicorn --backlog, nginx listen … backlog=), or give it more workers that accept sooner",
            effect: effect))
    }
}
