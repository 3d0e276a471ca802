import Foundation
import PreflightCore
import PreflightProbes

/// The process that listens on the target when the target is this machine, looked up once per run
/// (`CheckContext.measured`): the server check reads its limits, and the run's one ramp reads its counters
/// before and after (`ServiceCounters`). Resolving again is what tells this machine from another.
public enum TargetListener: Sendable {
    case unresolved(host: String)
    case remote(host: String)
    case nothing(hostPort: String)
    /// A listener whose process /proc does not show (another user's, another PID namespace's).
    case hidden(hostPort: String, owner: String)
    case found(ServiceListener)

    public var listener: ServiceListener? {
        if case .found(let l) = self { return l }
        return nil
    }

    public static func locate(_ context: CheckContext, target: ServiceURL, probes: Probes) async -> TargetListener {
        await context.measured(TargetListener.self) { await find(target, probes: probes) }
    }

    static func find(_ target: ServiceURL, probes: Probes) async -> TargetListener {
        guard case .success(let addresses) = await probes.resolver.resolve(host: target.host, port: target.port), !addresses.isEmpty else {
            return .unresolved(host: target.host)
        }
        let local = probes.sockets.localAddresses()
        guard addresses.allSatisfy({ $0.isLoopback || local.contains($0.ip) }) else { return .remote(host: target.host) }
        // Every listener the target's connections may reach: one socket, or SO_REUSEPORT siblings (one per worker).
        var seen = Set<UInt64>()
        let listeners = probes.sockets.unnamedListeningSockets().filter { s in
            addresses.contains { s.accepts($0) } && seen.insert(s.inode).inserted
        }
        guard !listeners.isEmpty else { return .nothing(hostPort: target.hostPort) }
        let named = probes.sockets.naming(Array(listeners.prefix(1)))
        guard let socket = named.first, let pid = socket.pid else {
            return .hidden(hostPort: target.hostPort, owner: listeners[0].owner)
        }
        return .found(ServiceListener(socket: socket, pid: pid, sockets: listeners))
    }
}

/// The listener found: the first socket named, its process, and every listening socket on the target's address.
public struct ServiceListener: Sendable {
    public var socket: ListeningSocket
    public var pid: Int
    /// Several when the workers bind their own sockets with SO_REUSEPORT.
    public var sockets: [ListeningSocket]
}

/// What the ramp reads before and after it runs: the kernel's listen-queue counters (this network namespace) and
/// the throttling counters of the CPU cgroup of the process listening on the target.
public struct ServiceCounters: Sendable {
    public var listen: ListenCounters?
    public var cpu: CPUThrottling?
    /// The cpu.stat file read.
    public var cpuStat: String?

    public static func read(pid: Int?, host: any HostFacts) -> ServiceCounters {
        var c = ServiceCounters()
        c.listen = host.readFile("/proc/net/netstat").flatMap(ListenCounters.init(netstat:))
        if let pid, let text = host.readFile("/proc/\(pid)/cgroup") {
            for path in ProcessCgroup(parsing: text).candidates("cpu.stat", controller: "cpu") {
                if let stat = host.readFile(path).flatMap(CPUThrottling.init(cpuStat:)) {
                    c.cpu = stat
                    c.cpuStat = path
                    break
                }
            }
        }
        return c
    }
}
