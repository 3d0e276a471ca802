import Foundation
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
        var database: DatabaseURL?
        var outJSON: String?
    }

    /// What the watcher sent, for the closing line (traffic preflight sends is reported).
    struct Traffic: Sendable { var connects = 0, healthGets = 0, dbQueries = 0, samples = 0 }

    enum Kind: CaseIterable { case port, health, listener, db }

    let plan: Plan
    let probes: Probes
    let sink: @Sendable (String) -> Void
    private let stopped = Mutex(false)
    private let traffic = Mutex(Traffic())
    /// The last finished result of each kind, taken by the next sample; the kinds still running.
    private let results = Mutex<[Kind: Result]>([:])
    private let inFlight = Mutex<Set<Kind>>([])

    enum Result: Sendable {
        case port(PortSample), health(HealthSample), listener(ListenerSample), db(DatabaseSample)
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
                launch(.health) { [probes] in
                    let x = await probes.http.get(health, timeout: probeTimeout, bodyCap: 64 << 10)
                    let ms = (x.timings.totalMs * 10).rounded() / 10
                    if let f = x.failure { return .health(HealthSample(ms: ms, error: f.message)) }
                    return .health(HealthSample(status: x.status, ms: ms))
                }
            }
            if plan.database != nil {
                launch(.db) { await .db(session.sample()) }
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
                }
            }
            if busy.contains(.port) { s.port = PortSample(state: "busy") }
            if busy.contains(.health) { s.health = HealthSample(busy: true) }
            if busy.contains(.db) { var d = DatabaseSample(); d.busy = true; s.db = d }
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

/// The watcher's one database session: opened on first use, kept open, reopened after a failure; read-only
/// (`LibPQConnector`'s session) and asking only the statistics views.
final class DatabaseWatch: Sendable {
    let probes: Probes
    let url: DatabaseURL?
    let timeout: Duration
    private let session = Mutex<(any PostgresSession)?>(nil)

    init(probes: Probes, url: DatabaseURL?, timeout: Duration) {
        self.probes = probes
        self.url = url
        self.timeout = timeout
    }

    /// Client backends by application and state, lock waiters, max_connections: one statement.
    static let query = """
        SELECT current_setting('max_connections'),
          (SELECT coalesce(json_agg(json_build_array(a, s, n)), '[]') FROM (
             SELECT coalesce(application_name, '') a, coalesce(state, '') s, count(*) n FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1, 2) c),
          (SELECT coalesce(json_agg(json_build_array(r, app, b)), '[]') FROM (
             SELECT l.relation::regclass::text r, coalesce(a.application_name, '') app, pg_blocking_pids(a.pid) b
             FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
             WHERE a.wait_event_type = 'Lock' LIMIT 5) w),
          (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock')
        """

    func sample() async -> DatabaseSample {
        guard let url else { return DatabaseSample() }
        var s = DatabaseSample()
        let current: any PostgresSession
        if let open = session.withLock({ $0 }) {
            current = open
        } else {
            switch await probes.postgres.connect(url, timeout: timeout) {
            case .failure(let e):
                s.error = e.message
                return s
            case .success(let new):
                session.withLock { $0 = new }
                current = new
            }
        }
        switch await current.query(Self.query, timeout: timeout) {
        case .failure(let e):
            s.error = e.message
            session.withLock { $0 = nil }
            await current.close()
        case .success(let rows):
            guard let row = rows.first, row.count == 4 else { s.error = "unexpected answer"; return s }
            s.maxConnections = row[0].flatMap { Int($0) }
            s.waitingOnLocks = row[3].flatMap { Int($0) }
            var total = 0
            var counts: [ConnectionCount] = []
            for item in Self.jsonArray(row[1]) {
                guard item.count == 3, let n = (item[2] as? NSNumber)?.intValue else { continue }
                counts.append(ConnectionCount(app: item[0] as? String ?? "", state: item[1] as? String ?? "", count: n))
                total += n
            }
            s.connections = counts.sorted { ($0.app, $0.state) < ($1.app, $1.state) }
            s.total = total
            let waits = Self.jsonArray(row[2]).map { item in
                LockWait(relation: item.first as? String, application: item.count > 1 ? item[1] as? String : nil,
                         blockedBy: (item.count > 2 ? item[2] as? [Any] : nil)?.compactMap { ($0 as? NSNumber)?.intValue } ?? [])
            }
            if !waits.isEmpty { s.lockWaits = waits }
        }
        return s
    }

    func close() async {
        if let s = session.withLock({ v -> (any PostgresSession)? in defer { v = nil }; return v }) { await s.close() }
    }

    static func jsonArray(_ text: String?) -> [[Any]] {
        guard let text, let data = text.data(using: .utf8),
              let parsed = try? JSONSerialization.jsonObject(with: data) as? [Any] else { return [] }
        return parsed.compactMap { $0 as? [Any] }
    }
}
