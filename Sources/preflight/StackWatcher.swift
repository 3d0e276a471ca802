import Foundation
import PreflightChecks
import PreflightCore
import PreflightExplain
import PreflightProbes
import Synchronization

/// Samples the stack while the load test runs: the target port, the health endpoint, one read-only database
/// session, the listener on the target port (local targets) and k6's streamed output. Every probe goes through
/// `Probes`; each kind has at most one probe in flight (a slow one shows as `busy` in the next samples, it is
/// never doubled); the loop ends when `stop()` is called and is bounded by `maxSamples`.
final class StackWatcher: Sendable {
    struct Plan: Sendable {
        var interval: Duration
        var target: ServiceURL?
        var healthURL: String?
        /// The health GET as k6 makes it (`TargetReach`: TLS options, trust, redirects).
        var healthOptions = HTTPRequestOptions()
        var database: DatabaseURL?
        var outJSON: String?
        /// The script's gRPC server (http:// plaintext, https:// TLS), when it uses k6/net/grpc.
        var grpcURL: String? = nil
    }

    /// What the watcher sent, for the closing line (traffic preflight sends is reported).
    struct Traffic: Sendable { var connects = 0, healthGets = 0, dbQueries = 0, grpcChecks = 0, samples = 0 }

    enum Kind: CaseIterable { case port, health, listener, db, grpc }

    let plan: Plan
    let probes: Probes
    let sink: @Sendable (String) -> Void
    private let stopped = Mutex(false)
    private let traffic = Mutex(Traffic())
    /// The last finished result of each kind, taken by the next sample; the kinds still running.
    private let results = Mutex<[Kind: Result]>([:])
    private let inFlight = Mutex<Set<Kind>>([])

    enum Result: Sendable {
        case port(PortSample), health(HealthSample), listener(ListenerSample), db(DatabaseSample), grpc(GRPCHealthSample)
    }

    init(plan: Plan, probes: Probes, sink: @escaping @Sendable (String) -> Void) {
        self.plan = plan
        self.probes = probes
        self.sink = sink
    }

    func stop() { stopped.withLock { $0 = true } }
    var sent: Traffic { traffic.withLock { $0 } }

    /// Runs until `stop()`; writes the header line, then one line per interval.
    func run() async {
        let started = ContinuousClock.now
        let startedUnix = Date().timeIntervalSince1970
        let interval = plan.interval
        let probeTimeout = min(interval, .seconds(1))
        sink(WatchSamples.line(WatchHeader(
            intervalS: interval.seconds, target: plan.target?.hostPort, healthUrl: plan.healthURL.map(redactURL),
            database: plan.database.map { "\($0.hostPort)/\($0.database ?? "")" }, startedUnix: startedUnix)))

        // Resolved once: the same address for every connect and for the listener table.
        var address: SocketAddress?
        var local = false
        if let target = plan.target, case .success(let list) = await probes.resolver.resolve(host: target.host, port: target.port) {
            address = list.first
            let mine = probes.sockets.localAddresses()
            local = list.first.map { $0.isLoopback || mine.contains($0.ip) } ?? false
        }
        let session = DatabaseWatch(probes: probes, url: plan.database, timeout: probeTimeout)
        let tail = plan.outJSON.map(LiveOutTail.init)
        var firstListener: ListenerSample?

        var tick = 0
        while !stopped.withLock({ $0 }) && tick < WatchSamples.maxSamples {
            let tickStart = started + interval * tick
            if let address {
                launch(.port) { [probes] in
                    let o = await probes.tcp.connect(to: address, timeout: probeTimeout)
                    switch o {
                    case .connected(let ms): return .port(PortSample(state: "open", ms: (ms * 100).rounded() / 100))
                    case .refused: return .port(PortSample(state: "refused"))
                    case .timedOut: return .port(PortSample(state: "timeout"))
                    case .unreachable(let why), .failed(let why): return .port(PortSample(state: "error: \(why)"))
                    }
                }
                if local {
                    launch(.listener) { [probes] in
                        let l = await Blocking.run { probes.sockets.listeningSockets() }.first { $0.accepts(address) }
                        return .listener(l.map { ListenerSample(state: "present", pid: $0.pid, process: $0.process) } ?? ListenerSample(state: "gone"))
                    }
                }
            }
            if let health = plan.healthURL {
                launch(.health) { [probes, plan] in
                    let x = await probes.http.send("GET", url: health, headers: [:], body: nil, timeout: probeTimeout,
                                                   bodyCap: 64 << 10, options: plan.healthOptions)
                    let ms = (x.timings.totalMs * 10).rounded() / 10
                    if let f = x.failure { return .health(HealthSample(ms: ms, error: f.message)) }
                    return .health(HealthSample(status: x.status, ms: ms))
                }
            }
            if plan.database != nil {
                launch(.db) { await .db(session.sample()) }
            }
            if let grpc = plan.grpcURL {
                launch(.grpc) { [probes] in
                    let h = await GRPCCheck.health(probes.http, url: grpc, timeout: probeTimeout)
                    return .grpc(GRPCHealthSample(state: h.state, ms: h.ms, error: h.error))
                }
            }

            // Sleep to the end of this tick (in small steps, so stop() ends the watch promptly).
            let tickEnd = tickStart + interval
            while ContinuousClock.now < tickEnd && !stopped.withLock({ $0 }) {
                try? await Task.sleep(for: min(.milliseconds(50), ContinuousClock.now.duration(to: tickEnd)))
            }
            if stopped.withLock({ $0 }) && ContinuousClock.now < tickEnd { break }

            var s = WatchSample(t: round3(started.duration(to: tickStart).seconds), unix: round3(startedUnix + started.duration(to: tickStart).seconds))
            let (done, busy) = collect()
            for r in done {
                switch r {
                case .port(let p): s.port = p
                case .health(let h): s.health = h
                case .listener(let l):
                    // The pid at the start stays the one named: "pid 4242 exited" even after another took the port.
                    if firstListener == nil, l.state == "present" { firstListener = l }
                    s.listener = l
                case .db(let d): s.db = d
                case .grpc(let g): s.grpc = g
                }
            }
            if busy.contains(.port) { s.port = PortSample(state: "busy") }
            if busy.contains(.health) { s.health = HealthSample(busy: true) }
            if busy.contains(.db) { var d = DatabaseSample(); d.busy = true; s.db = d }
            if busy.contains(.grpc) { s.grpc = GRPCHealthSample(busy: true) }
            if let tail {
                tail.poll()
                s.k6 = K6LiveSample(requests: tail.requests, failed: tail.failed, status429: tail.status429)
            }
            sink(WatchSamples.line(s))
            traffic.withLock { $0.samples += 1 }
            tick += 1
        }
        // Probes still running end within their own deadline; wait for them so the session closes last.
        let limit = ContinuousClock.now + probeTimeout + .seconds(2)
        while !inFlight.withLock({ $0.isEmpty }) && ContinuousClock.now < limit { try? await Task.sleep(for: .milliseconds(20)) }
        await session.close()
    }

    /// Starts a probe of `kind` unless one is still running.
    private func launch(_ kind: Kind, _ probe: @escaping @Sendable () async -> Result) {
        let started = inFlight.withLock { set -> Bool in
            if set.contains(kind) { return false }
            set.insert(kind)
            return true
        }
        guard started else { return }
        traffic.withLock { t in
            switch kind {
            case .port: t.connects += 1
            case .health: t.healthGets += 1
            case .db: t.dbQueries += 1
            case .grpc: t.grpcChecks += 1
            case .listener: break
            }
        }
        Task {
            let r = await probe()
            results.withLock { $0[kind] = r }
            inFlight.withLock { _ = $0.remove(kind) }
        }
    }

    /// The results finished since the last sample, and the kinds still running.
    private func collect() -> ([Result], Set<Kind>) {
        let done = results.withLock { r -> [Result] in
            let out = Kind.allCases.compactMap { r[$0] }
            r.removeAll()
            return out
        }
        return (done, inFlight.withLock { $0 })
    }

    private func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}

/// The watcher's database samples: `DatabaseActivityWatch` (Checks/Readers) reads, this says it as a sample line.
final class DatabaseWatch: Sendable {
    let watch: DatabaseActivityWatch?

    init(probes: Probes, url: DatabaseURL?, timeout: Duration) {
        watch = url.map { DatabaseActivityWatch(probes: probes, url: $0, timeout: timeout) }
    }

    func sample() async -> DatabaseSample {
        var s = DatabaseSample()
        guard let watch else { return s }
        switch await watch.sample() {
        case .failure(let e):
            s.error = e.message
        case .success(let a):
            s.maxConnections = a.maxConnections
            s.waitingOnLocks = a.waitingOnLocks
            s.connections = a.connections.map { ConnectionCount(app: $0.application, state: $0.state, count: $0.count) }
            s.total = a.total
            if !a.lockWaits.isEmpty {
                s.lockWaits = a.lockWaits.map { LockWait(relation: $0.relation, application: $0.application, blockedBy: $0.blockedBy) }
            }
        }
        return s
    }

    func close() async { await watch?.close() }
}
