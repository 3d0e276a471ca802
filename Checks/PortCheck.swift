import Foundation
import PreflightCore
import PreflightProbes

/// Is anything listening at the target? Resolves every address and connects to each.
public struct PortCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "port", title: "Service port", layer: .network,
        examples: [
            CheckExample("something accepts TCP on every address the target resolves to", .pass),
            CheckExample("the target resolves to ::1 and 127.0.0.1, only 127.0.0.1 accepts", .warn),
            CheckExample("connection refused: nothing listens on the port (the backend is not running)", .fail),
            CheckExample("the backend listens on ::1 only while the target resolves to 127.0.0.1", .fail),
            CheckExample("connect times out (packets dropped, host down) or the name does not resolve", .fail),
        ],
        timeoutBudget: 2)

    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetURL.self]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard let target = context.config.target else { return .skipped("no target configured") }
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
        case .success(let a) where a.isEmpty:
            return .fail("DNS: \(target.host) resolved to no address", evidence: evidence,
                         fix: "check the host name in target, or use an IP address such as 127.0.0.1")
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
            return explainRefused(target: target, addresses: addresses, evidence: evidence)
        }
        if refused {
            return .fail("connection refused on \(target.hostPort): nothing listens there (or a firewall rejects it)",
                         evidence: evidence,
                         fix: "start the service on \(target.hostPort), or correct target")
        }
        if outcomes.allSatisfy({ $0 == .timedOut }) {
            return .fail("connecting to \(target.hostPort) timed out after \(format(context.timeout)): packets are dropped (firewall), the host is down, or its listen queue is full",
                         evidence: evidence,
                         fix: "check that the host is up and that no firewall drops port \(target.port); raise --timeout only for a genuinely slow network")
        }
        if let unreachable = outcomes.compactMap({ if case .unreachable(let why) = $0 { return why }; return nil }).first {
            return .fail("no route to \(target.hostPort): \(unreachable)", evidence: evidence,
                         fix: "the network path to \(target.host) is missing: check the address, VPN or routes")
        }
        let reasons = zip(addresses, outcomes).map { "\($0.0.description) \($0.1.description)" }.joined(separator: "; ")
        return .fail("cannot connect to \(target.hostPort): \(reasons)", evidence: evidence,
                     fix: "start the service on \(target.hostPort), or correct target")
    }

    /// Connection refused on this machine: read the listening sockets and name what does listen.
    func explainRefused(target: ServiceURL, addresses: [SocketAddress], evidence: Evidence) -> CheckOutcome {
        var evidence = evidence
        // Owners are looked up only for the listeners worth naming (this port on another address, nearby
        // ports): that search reads every process's descriptors, so it must not run for the whole table.
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
        // Nothing on that port. Name the nearest application listeners (databases and system daemons
        // are never the backend); suggest re-targeting only for a near miss like the seed's 3000 vs 3001.
        // A far-away listener is named only when its owner is already known (never searched for).
        var seen = Set<Int>()
        let near = listeners.filter { abs($0.address.port - target.port) <= 100 && !Self.isInfrastructure($0) }
        let candidates = (probes.sockets.naming(near) + listeners.filter { abs($0.address.port - target.port) > 100 })
            .filter { !Self.isInfrastructure($0) && ($0.process != nil || abs($0.address.port - target.port) <= 100) }
            .sorted { abs($0.address.port - target.port) < abs($1.address.port - target.port) }
            .filter { seen.insert($0.address.port).inserted }
            .prefix(3)
        evidence["listening"] = .array(candidates.map { .string("\($0.address.description) (\($0.owner))") })
        if let near = candidates.first, abs(near.address.port - target.port) <= 100 {
            let named = candidates.filter { abs($0.address.port - target.port) <= 100 }.map { "\($0.owner) listens on \($0.address.port)" }
            return .fail("connection refused on \(wanted): nothing listens on port \(target.port); \(named.joined(separator: ", "))",
                         evidence: evidence,
                         fix: "start the backend on port \(target.port) (e.g. PORT=\(target.port)), or point target at :\(near.address.port) if that is the backend")
        }
        return .fail("connection refused on \(wanted): no process listens on port \(target.port): the backend is not running or has crashed",
                     evidence: evidence,
                     fix: "start the backend (check its log for a crash at start-up) and wait until it listens on \(target.port) before the load test")
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

    /// Listeners that are never the service under test.
    static func isInfrastructure(_ s: ListeningSocket) -> Bool {
        let daemons = ["postgres", "mysqld", "mariadbd", "redis-server", "mongod", "memcached", "sshd", "systemd", "containerd",
                       "dockerd", "docker-proxy", "dnsmasq", "cupsd", "rpcbind", "master", "exim4", "pgbouncer"]
        if let p = s.process, daemons.contains(where: { p.hasPrefix($0) }) { return true }
        return [22, 25, 53, 111, 631, 3306, 5432, 6379, 11211, 27017].contains(s.address.port)
    }

    static func ms(_ v: Double) -> String { v < 1 ? String(format: "%.2f ms", v) : "\(Int(v.rounded())) ms" }
}
