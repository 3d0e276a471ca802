import Foundation
import PreflightCore
import PreflightProbes

/// Is anything listening at the target? Resolves every address and connects to each.
public struct PortCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "port", title: "Service port", layer: .network,
        examples: [
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.tcp["127.0.0.1:3001"] = .connected(latencyMs: 0.3)
            }), says: "127.0.0.1:3001 accepts TCP connections"),
            CheckExample(.warn, given: World(config: "target: http://localhost:3001", answers: ProbeAnswers {
                $0.dns["localhost"] = .success(["::1", "127.0.0.1"])
                $0.tcp["127.0.0.1:3001"] = .connected(latencyMs: 0.3)
            }), says: "localhost resolves to 2 addresses; only 127.0.0.1 accepts"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.listening = [ListeningSocket(address: SocketAddress(family: .ipv4, ip: "0.0.0.0", port: 3000), inode: 1, pid: 4242, process: "node")]
            }), says: "nothing listens on port 3001; node (pid 4242) listens on 3000"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:8000", answers: ProbeAnswers {
                $0.listening = [ListeningSocket(address: SocketAddress(family: .ipv4, ip: "127.0.0.1", port: 8001), inode: 1, pid: 4243, process: "uvicorn")]
                $0.host.files["/proc/4243/cmdline"] = "/usr/bin/python3\0/app/.venv/bin/uvicorn\0app.main:app\0--port\08001\0"
            }), says: "start the backend on port 8000 (uvicorn … --port 8000)"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:8000", answers: ProbeAnswers {
                $0.listening = [ListeningSocket(address: SocketAddress(family: .ipv4, ip: "0.0.0.0", port: 8001), inode: 1, pid: 4244, process: "gunicorn")]
                $0.host.files["/proc/4244/cmdline"] = "/usr/bin/python3\0/usr/local/bin/gunicorn\0mysite.wsgi\0--bind\00.0.0.0:8001\0"
            }), says: "gunicorn --bind 0.0.0.0:8000"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.listening = [ListeningSocket(address: SocketAddress(family: .ipv6, ip: "::1", port: 3001), inode: 1, pid: 4242, process: "node")]
            }), says: "port 3001 listens on ::1 only (node (pid 4242))"),
            CheckExample(.fail, given: World(config: "target: http://10.0.0.7:3001", answers: ProbeAnswers {
                $0.tcp["10.0.0.7"] = .timedOut
            }), says: "connecting to 10.0.0.7:3001 timed out after 3 s"),
            CheckExample(.fail, given: World(config: "target: http://api.example.invalid:3001"),
                         says: "DNS: api.example.invalid does not resolve: Name or service not known"),
            CheckExample(.skipped, given: World(config: ""), says: "no target configured"),
        ],
        timeoutBudget: 2)

    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetURL.self]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard let target = context.fact(TargetURL.self).url else { return .skipped("no target configured") }
        var evidence = Evidence(["target": .string(target.hostPort)])

        let addresses: [SocketAddress]
        switch await probes.resolver.resolve(host: target.host, port: target.port) {
        case .failure(let e):
            evidence["error"] = .string(e.message)
            return .fail(e.kind == .temporary
                            ? "DNS lookup of \(target.host) failed for now: \(e.message)"
                            : "DNS: \(target.host) does not resolve: \(e.message)",
                         evidence: evidence,
                         fix: "check the host name in target, or use an IP address such as 127.0.0.1")
                .effect(EffectModel.everyRequest(k6: FailureKind.noSuchHost.k6, basis: "the target's name does not resolve"))
        case .success(let a) where a.isEmpty:
            return .fail("DNS: \(target.host) resolved to no address", evidence: evidence,
                         fix: "check the host name in target, or use an IP address such as 127.0.0.1")
                .effect(EffectModel.everyRequest(k6: FailureKind.noSuchHost.k6, basis: "the target's name resolves to no address"))
        case .success(let a):
            addresses = a
        }
        evidence["resolved"] = .array(addresses.map { .string($0.ip) })

        let outcomes = await withTaskGroup(of: (Int, ConnectOutcome).self) { group in
            for (i, a) in addresses.enumerated() {
                group.addTask { (i, await probes.tcp.connect(to: a, timeout: context.timeout)) }
            }
            var all = [ConnectOutcome](repeating: .timedOut, count: addresses.count)
            for await (i, o) in group { all[i] = o }
            return all
        }
        evidence["connect"] = .array(zip(addresses, outcomes).map { .string("\($0): \($1.description)") })

        let open = zip(addresses, outcomes).filter { if case .connected = $1 { return true }; return false }
        let closed = zip(addresses, outcomes).filter { if case .connected = $1 { return false }; return true }
        if let first = open.first, case .connected(let ms) = first.1 {
            evidence["latencyMs"] = .double((ms * 100).rounded() / 100)
            if closed.isEmpty {
                return .pass("\(target.hostPort) accepts TCP connections (\(Self.ms(ms)))", evidence: evidence)
            }
            let bad = closed.map { "\($0.0.description) \($0.1.description)" }.joined(separator: ", ")
            return .warn("\(target.host) resolves to \(addresses.count) addresses; only \(open.map(\.0.ip).joined(separator: ", ")) accepts, \(bad)\(Self.familyNote(open: open.map(\.0), closed: closed.map(\.0)))",
                         evidence: evidence,
                         fix: "clients that try \(closed[0].0.ip) first will fail: bind the service to both, or target \(open[0].0.ip) directly")
        }

        // Nothing accepted: say why, as precisely as the machine lets us.
        let local = probes.sockets.localAddresses()
        let isLocal = addresses.allSatisfy { $0.isLoopback || local.contains($0.ip) }
        let refused = outcomes.allSatisfy { $0 == .refused }
        if refused && isLocal {
            return explainRefused(target: target, addresses: addresses, evidence: evidence).effect(Self.refusedEffect)
        }
        if refused {
            return .fail("connection refused on \(target.hostPort): nothing listens there (or a firewall rejects it)",
                         evidence: evidence,
                         fix: "start the service on \(target.hostPort), or correct target")
                .effect(Self.refusedEffect)
        }
        if outcomes.allSatisfy({ $0 == .timedOut }) {
            return .fail("connecting to \(target.hostPort) timed out after \(format(context.timeout)): packets are dropped (firewall), the host is down, or its listen queue is full",
                         evidence: evidence,
                         fix: "check that the host is up and that no firewall drops port \(target.port); raise --timeout only for a genuinely slow network")
                .effect(EffectModel.everyRequest(k6: FailureKind.dialTimeout.k6, basis: "connecting to the target times out"))
        }
        if let unreachable = outcomes.compactMap({ if case .unreachable(let why) = $0 { return why }; return nil }).first {
            return .fail("no route to \(target.hostPort): \(unreachable)", evidence: evidence,
                         fix: "the network path to \(target.host) is missing: check the address, VPN or routes")
                .effect(EffectModel.everyRequest(k6: FailureKind.dial.k6, basis: "no route to the target"))
        }
        let reasons = zip(addresses, outcomes).map { "\($0.0.description) \($0.1.description)" }.joined(separator: "; ")
        return .fail("cannot connect to \(target.hostPort): \(reasons)", evidence: evidence,
                     fix: "start the service on \(target.hostPort), or correct target")
            .effect(EffectModel.everyRequest(k6: FailureKind.dial.k6, basis: "no address of the target accepts a connection"))
    }

    /// k6 sees a refused port as error 1212 on every request (seed 002: 56,250 of 56,250).
    static let refusedEffect = EffectModel.everyRequest(k6: FailureKind.connectionRefused.k6,
                                                        basis: "nothing accepts connections on the target port")

    /// Connection refused on this machine: read the listening sockets and name what does listen.
    func explainRefused(target: ServiceURL, addresses: [SocketAddress], evidence: Evidence) -> CheckOutcome {
        var evidence = evidence
        // Owners are looked up only for the listeners worth naming (this port on another address, the closest
        // application ports): that search reads every process's descriptors, so it must not run for the whole table.
        let listeners = probes.sockets.unnamedListeningSockets()
        let samePort = probes.sockets.naming(listeners.filter { $0.address.port == target.port })
        let wanted = addresses.map(\.description).joined(separator: " and ")
        if !samePort.isEmpty {
            // Something listens on the port, but not on the address the target resolves to.
            let elsewhere = samePort.map { "\($0.address.description) (\($0.owner))" }
            evidence["listening"] = .array(elsewhere.map { .string($0) })
            let boundTo = samePort.map(\.address.ip).joined(separator: ", ")
            let (one, other) = (samePort[0].address, addresses[0])
            let hint = one.family != other.family
                ? "target \(one.family == .ipv6 ? "[\(one.ip)]" : one.ip):\(target.port) instead, or make the service listen on \(other.family == .ipv6 ? "::" : "0.0.0.0") or both families"
                : "make the service listen on \(other.ip) (or 0.0.0.0), or target \(one.ip)"
            return .fail("connection refused on \(wanted): port \(target.port) listens on \(boundTo) only (\(samePort[0].owner)), target resolves to \(addresses.map(\.ip).joined(separator: ", "))",
                         evidence: evidence, fix: hint)
        }
        // Nothing on that port. Ports are cheap, owners are not: every application listener (databases and system
        // daemons are never the backend) is listed by port, and owners are searched for the closest few only (one
        // pass through /proc however many). Re-targeting is suggested only for a near miss like 3000 vs 3001.
        let apps = Self.applicationListeners(listeners, around: target.port)
        // A named owner may turn out to be a daemon on an unusual port: dropped then.
        let named = probes.sockets.naming(Array(apps.prefix(Self.namedListeners))).filter { !Self.isInfrastructure($0) }
        let unnamed = apps.dropFirst(Self.namedListeners)
        var listing = (named.map { "\($0.address.description) (\($0.owner))" } + unnamed.map(\.address.description))
            .prefix(Self.listedListeners).map { JSONValue.string($0) }
        let listed = named.count + unnamed.count
        if listed > Self.listedListeners { listing.append(.string("and \(listed - Self.listedListeners) more")) }
        evidence["listening"] = .array(listing)
        let nearby = named.filter { abs($0.address.port - target.port) <= 100 }
        if let near = nearby.first {
            return .fail("connection refused on \(wanted): nothing listens on port \(target.port); \(nearby.map { "\($0.owner) listens on \($0.address.port)" }.joined(separator: ", "))",
                         evidence: evidence,
                         fix: "start the backend on port \(target.port) (\(startFix(port: target.port, like: near))), or point target at :\(near.address.port) if that is the backend")
        }
        return .fail("connection refused on \(wanted): no process listens on port \(target.port): the backend is not running or has crashed",
                     evidence: evidence,
                     fix: "start the backend (check its log for a crash at start-up) and wait until it listens on \(target.port) before the load test")
    }

    /// The port setting in the listener's own terms (its command line says which server it is), else `PORT=`.
    func startFix(port: Int, like listener: ListeningSocket) -> String {
        let arguments = listener.pid.flatMap { probes.host.readFile("/proc/\($0)/cmdline") }.map(ServerWorkers.arguments(cmdline:)) ?? []
        return PortSetting.fix(port: port, arguments: arguments, process: listener.process) ?? "e.g. PORT=\(port)"
    }

    /// Who gets through when one address family answers and the other does not: k6 (Go) tries every address
    /// (Happy Eyeballs); Node ≥ 17 takes the resolver's order, where `localhost` usually comes as ::1 first.
    static func familyNote(open: [SocketAddress], closed: [SocketAddress]) -> String {
        let openFamilies = Set(open.map(\.family)), closedFamilies = Set(closed.map(\.family))
        guard openFamilies.count == 1, !closedFamilies.isSubset(of: openFamilies) else { return "" }
        return openFamilies.first == .ipv4
            ? ": k6 (Go) tries both families and gets through; Node ≥ 17 prefers ::1 and gets ECONNREFUSED"
            : ": k6 (Go) tries both families and gets through; clients that take 127.0.0.1 (Node < 17, many drivers and proxies) get ECONNREFUSED"
    }

    /// How many of the closest application listeners get their owner named, and how many are listed by port.
    static let namedListeners = 3
    static let listedListeners = 10

    /// The listeners that may be an application, one per port, closest to `port` first (a lower port first on a tie).
    static func applicationListeners(_ listeners: [ListeningSocket], around port: Int) -> [ListeningSocket] {
        var seen = Set<Int>()
        return listeners.filter { !isInfrastructure($0) }
            .sorted { (abs($0.address.port - port), $0.address.port) < (abs($1.address.port - port), $1.address.port) }
            .filter { seen.insert($0.address.port).inserted }
    }

    /// Listeners that are never the service under test.
    static func isInfrastructure(_ s: ListeningSocket) -> Bool {
        let daemons = ["postgres", "mysqld", "mariadbd", "redis-server", "mongod", "memcached", "sshd", "systemd", "containerd",
                       "dockerd", "docker-proxy", "dnsmasq", "cupsd", "rpcbind", "master", "exim4", "pgbouncer"]
        if let p = s.process, daemons.contains(where: { p.hasPrefix($0) }) { return true }
        return [22, 25, 53, 111, 631, 3306, 5432, 6379, 11211, 27017].contains(s.address.port)
    }

    static func ms(_ v: Double) -> String { v < 1 ? String(format: "%.2f ms", v) : "\(Int(v.rounded())) ms" }
}
