import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// An idle Debian 12 machine for the shared scripted fake (`HostAnswers`): soft and hard limit 4,096, the default
/// port range, tw_reuse 2, a few TIME_WAITs, 16 GiB free, 4 cores, k6 on PATH.
func quietHost(programs: [String: String] = ["k6": "/usr/local/bin/k6"]) -> HostAnswers {
    var h = HostAnswers()
    h.soft = 4096
    h.hard = 4096
    h.files = QuietHost.files
    h.programs = programs
    return h
}

enum QuietHost {
    static let tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    /// One socket line of /proc/net/tcp: remote port `port`, state `state`.
    static func socket(_ i: Int, port: Int, state: String) -> String {
        "   \(i): 0100007F:\(String(format: "%04X", 40000 + i)) 0100007F:\(String(format: "%04X", port)) \(state) 00000000:00000000 00:00000000 00000000     0        0 \(1000 + i) 1 0000000000000000 100 0 0 10 0\n"
    }
    static let files: [String: String] = [
        "/proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n",
        "/proc/sys/net/ipv4/tcp_tw_reuse": "2\n",
        "/proc/net/tcp": tcpHeader + socket(0, port: 3001, state: "06") + socket(1, port: 5432, state: "01") + socket(2, port: 80, state: "06"),
        "/proc/net/tcp6": tcpHeader,
        "/proc/meminfo": "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   16777216 kB\n",
        "/proc/loadavg": "0.20 0.10 0.05 1/200 1234\n",
    ]
}

/// `k6 version`'s answer: what it prints, or that it hangs.
func k6Version(_ stdout: String = "k6 v1.1.0 (commit/0e3fb953be, go1.24.4, linux/amd64)\n", timesOut: Bool = false) -> Result<SubprocessResult, SubprocessError> {
    .success(SubprocessResult(status: timesOut ? 137 : 0, stdout: Data(stdout.utf8), stderr: Data(), timedOut: timesOut, seconds: 0.01))
}

func generatorConfig(vus: Int? = nil, script: String? = nil, target: String? = "http://127.0.0.1:3001", rps: Int? = nil) throws -> Config {
    var c = config(target: target)
    var load = LoadSettings()
    load.vus = vus
    if let script {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pf-gen-\(UUID().uuidString.prefix(8)).js")
        try script.write(to: file, atomically: true, encoding: .utf8)
        load.script = file.path
    }
    c.set(load)
    if let rps {
        var g = GeneratorSettings()
        g.requestsPerSecond = rps
        c.set(g)
    }
    return c
}

@Suite struct GeneratorCheckTests {
    func run(_ c: Config, host: HostAnswers = quietHost(), k6: Result<SubprocessResult, SubprocessError> = k6Version()) async throws -> CheckOutcome {
        defer { if let s = c.section(LoadSettings.self).script { try? FileManager.default.removeItem(atPath: s) } }
        let probes = ProbeAnswers { $0.host = host; $0.subprocess["version"] = k6 }.probes
        return try await GeneratorCheck(probes: probes).run(context(c))
    }

    static let stagesTo2000 = """
        import http from 'k6/http';
        export const options = { stages: [{ duration: '1m', target: 500 }, { duration: '5m', target: 2000 }] };
        export default function () { http.get('http://127.0.0.1:3001/'); }
        """

    // pass: ulimit -n soft 4096; plan: 400 VUs need 406 file descriptors; k6 v1.1.0 on PATH
    @Test func enoughDescriptorsAndK6Passes() async throws {
        let o = try await run(try generatorConfig(vus: 400))
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary == "this machine can drive 400 VUs: ulimit -n 4,096 ≥ 406 file descriptors needed")
        #expect(o.evidence["plan"] == .string("400 VUs from load.vus"))
        #expect(o.evidence["descriptorsNeeded"]?.display.hasPrefix("406 = 400 VUs × 1 connection (HTTP/1.1 keep-alive) + 6") == true)
        #expect(o.evidence["k6"]?.display.contains("k6 v1.1.0") == true)
        #expect(o.evidence["timeWait"]?.display == "2 sockets in TIME_WAIT now, 1 of them to port 3001 (/proc/net/tcp, tcp6)")
        #expect(o.evidence["conntrack"] == nil, "no nf_conntrack: skipped quietly")
    }

    // pass: no load.script or load.vus: the machine's limits shown as evidence
    @Test func noPlanPassesOnFactsAlone() async throws {
        var host = quietHost()
        host.soft = 256
        host.programs = [:]
        let o = try await run(try generatorConfig(), host: host)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary.contains("no load plan"))
        #expect(o.evidence["nofile"] == .string("soft 256, hard 4,096 (ulimit -n, ulimit -Hn)"))
        #expect(o.evidence["ephemeralPorts"]?.display.contains("32768–60999: 28,232 ports") == true)
        #expect(o.evidence["k6"] == .string("not on PATH"))
        #expect(o.evidence["descriptorsNeeded"] == nil)
    }

    // warn: the soft limit leaves less than 10% headroom over what the plan needs
    @Test func littleHeadroomWarns() async throws {
        var host = quietHost()
        host.soft = 1024
        let o = try await run(try generatorConfig(vus: 950), host: host)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("ulimit -n soft 1,024 leaves little headroom over the 956 file descriptors"))
        #expect(o.fix?.contains("ulimit -n 2048") == true)
    }

    // warn: k6 is not on PATH (or `k6 version` does not answer)
    @Test func missingOrHangingK6Warns() async throws {
        var host = quietHost()
        host.programs = [:]
        let missing = try await run(try generatorConfig(vus: 10), host: host)
        #expect(missing.status == .warn)
        #expect(missing.summary == "k6 is not on PATH")
        let hanging = try await run(try generatorConfig(vus: 10), k6: k6Version("", timesOut: true))
        #expect(hanging.status == .warn)
        #expect(hanging.summary.contains("version` did not answer within 4 s"), "\(hanging.summary)")
        // Two timeouts for `k6 version`; without a plan a hanging k6 is evidence only, as a missing one is.
        let unplanned = try await run(try generatorConfig(vus: nil), k6: k6Version("", timesOut: true))
        #expect(unplanned.status == .pass, "\(unplanned.summary)")
        #expect(unplanned.evidence["k6"]?.display.contains("did not answer within 4 s") == true, "\(unplanned.evidence)")
    }

    static let noReuse = """
        import http from 'k6/http';
        export const options = { vus: 1000, duration: '10m', noConnectionReuse: true };
        export default function () { http.get('http://127.0.0.1:3001/'); }
        """

    // warn: keep-alive off: 60 s of TIME_WAIT exceeds the ephemeral ports, but tcp_tw_reuse lets the kernel reuse them
    @Test func keepAliveOffWithTimeWaitReuseWarns() async throws {
        let o = try await run(try generatorConfig(script: Self.noReuse))  // loopback target, tcp_tw_reuse=2
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("keep-alive is off (options.noConnectionReuse): 1,000 new connections/s (estimate: 1,000 VUs × 1 request/s) × 60 s in TIME_WAIT = 60,000 ports"), "\(o.summary)")
        #expect(o.summary.contains("net.ipv4.tcp_tw_reuse=2 lets the kernel reuse"))
    }

    // warn: MemAvailable is below peak VUs × 3 MB
    @Test func lowMemoryWarns() async throws {
        var host = quietHost()
        host.files["/proc/meminfo"] = "MemTotal: 2000000 kB\nMemAvailable:    1048576 kB\n"
        let o = try await run(try generatorConfig(vus: 1000), host: host)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("MemAvailable 1,024 MiB is below 1,000 VUs × 3 MB = 3,000 MB"), "\(o.summary)")
    }

    // warn: more than 2,000 VUs per core
    @Test func manyVUsPerCoreWarns() async throws {
        var host = quietHost()
        host.coreCount = 1
        host.soft = 100_000
        let o = try await run(try generatorConfig(vus: 3000), host: host)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("3,000 VUs on 1 core is more than 2,000 per core"), "\(o.summary)")
    }

    // fail: ulimit -n soft 1024 and the plan has 2,000 VUs: k6 fails with "socket: too many open files"
    @Test func defaultLimitAgainst2000VUsFails() async throws {
        var host = quietHost()
        host.soft = 1024
        let o = try await run(try generatorConfig(script: Self.stagesTo2000), host: host)
        #expect(o.status == .fail)
        #expect(o.summary.contains("ulimit -n soft 1,024 is below the 2,006 file descriptors for 2,000 VUs (options.stages in"), "\(o.summary)")
        #expect(o.summary.contains("too many open files"))
        #expect(o.fix == "run `ulimit -n 4096` in the shell that starts k6", "the hard limit allows it: no limits.conf")
    }

    // fail: the hard limit is below the need too: the fix names limits.conf, LimitNOFILE= and --ulimit
    @Test func hardLimitTooLowNamesTheWaysToRaiseIt() async throws {
        var host = quietHost()
        host.soft = 1024
        host.hard = 1024
        let o = try await run(try generatorConfig(vus: 2000), host: host)
        #expect(o.status == .fail)
        let fix = try #require(o.fix)
        for needle in ["ulimit -n 4096", "/etc/security/limits.conf", "LimitNOFILE=4096", "--ulimit nofile=4096:4096"] {
            #expect(fix.contains(needle), "\(needle) in \(fix)")
        }
    }

    // pass, saying so: options imported from a config module are not read here, so nothing is sized in silence.
    @Test func importedOptionsAreSaidNotSized() async throws {
        let o = try await run(try generatorConfig(script: """
            import http from 'k6/http';
            import { options } from './config.js';
            export { options };
            export default () => http.get('http://127.0.0.1:3001/');
            """))
        #expect(o.status == .pass, "\(o.findings.map(\.sentence))")
        #expect(o.findings.first?.sentence.hasPrefix("no load plan to size") == true, "\(o.findings.map(\.sentence))")
        #expect(o.findings.contains { $0.sentence.contains("the script's options are not read here (it imports ./config.js)") }, "\(o.findings.map(\.sentence))")
    }

    // fail: keep-alive off (noConnectionReuse): requests/s × 60 s of TIME_WAIT exceeds the ephemeral ports, tcp_tw_reuse off
    @Test func keepAliveOffWithoutReuseFails() async throws {
        var host = quietHost()
        host.files["/proc/sys/net/ipv4/tcp_tw_reuse"] = "0\n"
        let o = try await run(try generatorConfig(script: Self.noReuse), host: host)
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.contains("= 60,000 ports, more than the 28,231 free ephemeral ports per target address (32768–60999, 1 in TIME_WAIT now)"), "\(o.summary)")
        #expect(o.summary.contains("cannot assign requested address"))
        #expect(o.fix?.contains("net.ipv4.tcp_tw_reuse=1") == true)
        // Its effect: 1,000 new connections/s for 28,231 free ports, after ~28 s only 28,231 of the 60,000 a minute
        // needs come free: at least ~42 % of the requests fail to dial from then on (k6 1213), up to all of them.
        let effect = try #require(o.findings.first { $0.severity == .fail }?.effect)
        #expect(effect.from == "28", "\(effect)")
        #expect(effect.k6.hasPrefix("1213"), "\(effect.k6)")
        let share = try #require(effect.share)
        #expect(share.low > 0.4 && share.low < 0.5 && share.high == 1, "\(share)")
        // A target that is not loopback: tcp_tw_reuse=2 does not apply either.
        var remote = quietHost()
        remote.files["/proc/sys/net/ipv4/tcp_tw_reuse"] = "2\n"
        let far = try await run(try generatorConfig(script: Self.noReuse, target: "http://10.1.2.3:3001"), host: remote)
        #expect(far.status == .fail, "\(far.summary)")
        // A lower rate than the estimate (generator.requests_per_second) fits: 100/s × 60 s = 6,000 ports.
        let slow = try await run(try generatorConfig(script: Self.noReuse, rps: 100), host: host)
        #expect(slow.status == .pass, "\(slow.summary)")
        #expect(slow.evidence["portsNeeded"]?.display.contains("(generator.requests_per_second)") == true)
    }

    // fail: the conntrack table cannot hold the connections the plan opens
    @Test func fullConntrackFails() async throws {
        var host = quietHost()
        host.files["/proc/sys/net/netfilter/nf_conntrack_max"] = "65536\n"
        host.files["/proc/sys/net/netfilter/nf_conntrack_count"] = "64000\n"
        let o = try await run(try generatorConfig(vus: 2000), host: host)
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.contains("the conntrack table has 1,536 free entries and the plan needs 2,000"), "\(o.summary)")
        #expect(o.evidence["conntrack"] == .string("64,000 of 65,536 entries in use (nf_conntrack_count, nf_conntrack_max)"))
    }

    // Connections per VU from http.batch: min(the batch's requests, batch, batchPerHost).
    @Test func batchRaisesConnectionsPerVU() async throws {
        let script = """
            import http from 'k6/http';
            export const options = { vus: 100, batchPerHost: 4 };
            export default function () {
              http.batch(['http://127.0.0.1:3001/a', 'http://127.0.0.1:3001/b', 'http://127.0.0.1:3001/c',
                          'http://127.0.0.1:3001/d', 'http://127.0.0.1:3001/e']);
            }
            """
        let o = try await run(try generatorConfig(script: script))
        #expect(o.evidence["descriptorsNeeded"]?.display.hasPrefix("406 = 100 VUs × 4 connections (http.batch of 5 requests, batch 20 (default), batchPerHost 4)") == true,
                "\(o.evidence["descriptorsNeeded"]?.display ?? "")")
    }

    @Test func optionsReadForTheGenerator() {
        let s = K6Script(source: """
            export const options = { batch: 10, batchPerHost: 0, noVUConnectionReuse: true, noConnectionReuse: false,
              scenarios: { open: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '2s', preAllocatedVUs: 50 } } };
            """)
        #expect(s.options.batch == 10)
        #expect(s.options.batchPerHost == 0)
        #expect(s.options.noVUConnectionReuse == true)
        #expect(s.options.noConnectionReuse == false)
        #expect(s.options.scenarios.first?.rate == 200)
        #expect(s.options.scenarios.first?.timeUnit == "2s")
    }

    @Test func arrivalRateIsThePlansRate() async throws {
        let script = """
            import http from 'k6/http';
            export const options = { noConnectionReuse: true,
              scenarios: { open: { executor: 'constant-arrival-rate', rate: 200, timeUnit: '2s', preAllocatedVUs: 50 } } };
            export default function () { http.get('http://127.0.0.1:3001/'); }
            """
        let o = try await run(try generatorConfig(script: script))
        #expect(o.evidence["portsNeeded"]?.display.hasPrefix("6,000 = 100 new connections/s (options.scenarios: open 200/2s)") == true,
                "\(o.evidence["portsNeeded"]?.display ?? "")")
    }

    /// timeUnit is a k6 duration (K6Options.seconds), not the config's: "1m30s" is 90 s, a bare number milliseconds.
    @Test(arguments: [("'1m30s'", "180 = 3 new connections/s (options.scenarios: open 200/1m30s)"),
                      ("500", "24,000 = 400 new connections/s (options.scenarios: open 200/500ms)")])
    func timeUnitIsReadAsK6ReadsIt(timeUnit: String, needed: String) async throws {
        let script = """
            import http from 'k6/http';
            export const options = { noConnectionReuse: true,
              scenarios: { open: { executor: 'constant-arrival-rate', rate: 200, timeUnit: \(timeUnit), preAllocatedVUs: 50 } } };
            export default function () { http.get('http://127.0.0.1:3001/'); }
            """
        let o = try await run(try generatorConfig(script: script))
        #expect(o.evidence["portsNeeded"]?.display.hasPrefix(needed) == true, "\(o.evidence["portsNeeded"]?.display ?? "")")
    }

    /// One loopback rule (SocketAddress's), by spelling: the generator's own copy took 127.example.com for loopback
    /// and missed ::ffff:127.0.0.1.
    @Test func loopbackIsTheAddressRule() {
        for host in ["localhost", "127.0.0.1", "127.0.0.53", "::1", "[::1]", "::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "LOCALHOST"] {
            #expect(SocketAddress.isLoopback(host: host), "\(host)")
        }
        for host in ["127.example.com", "10.0.0.1", "::2", "api", "128.0.0.1", "[::ffff:10.0.0.1]"] {
            #expect(!SocketAddress.isLoopback(host: host), "\(host)")
        }
    }

    @Test func suggestedLimits() {
        #expect(GeneratorCheck.suggestedLimit(406) == 1024)
        #expect(GeneratorCheck.suggestedLimit(2006) == 4096)
        #expect(grouped(28232) == "28,232")
        #expect(grouped(Int.max) == "unlimited")
    }
}

/// The live seam on this machine: plausible values, nothing asserted about their size.
@Suite struct LiveHostFactsTests {
    @Test func readsThisMachine() throws {
        let host = LiveHostFacts()
        let limits = host.fileLimits()
        #expect(limits.soft > 0 && limits.soft <= limits.hard, "\(limits)")
        let range = try #require(host.readFile("/proc/sys/net/ipv4/ip_local_port_range").flatMap(GeneratorCheck.portRange))
        #expect(range.low < range.high)
        let tcp = try #require(host.readFile("/proc/net/tcp"))
        #expect(tcp.hasPrefix("  sl"))
        #expect(host.readFile("/proc/meminfo").flatMap(GeneratorCheck.memAvailableKB).map { $0 > 0 } == true)
        #expect(host.cores() >= 1)
        #expect(host.which("sh") != nil)
        #expect(host.which("no-such-program-preflight") == nil)
        #expect(host.readFile("/proc/no/such/file") == nil)
    }
}

/// The iteration's latency from the run's one ramp (issue 31): the generator reads the ramp pool-traffic or
/// rate-limit sent, and never sends one itself.
@Suite struct GeneratorRampLatencyTests {
    static let script = """
        import http from 'k6/http';
        export const options = { scenarios: { events: {
          executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '10s', preAllocatedVUs: 4, maxVUs: 4 } } };
        export default function () { http.get('http://127.0.0.1:3001/burst'); }
        """

    /// A ramp of two steps: 10 answers at concurrency 1 taking `fast` s, then `top` answers at 5 taking `slow` s.
    func sample(fast: Double, slow: Double, top: [Int?]) throws -> TrafficSample {
        var load = LoadSettings()
        load.request = (method: "GET", path: "/burst")
        let target = try #require(ServiceURL.parse("http://127.0.0.1:3001").0)
        let plan = try #require(TrafficPlan.plan(target: target, rate: RateLimitSettings(), load: load, peak: 5))
        func step(_ c: Int, _ statuses: [Int?], _ seconds: Double) -> TrafficSample.Step {
            let rs = statuses.enumerated().map { BurstResponse(number: $0.offset + 1, status: $0.element, seconds: seconds) }
            return TrafficSample.Step(concurrency: c, result: BurstResult(responses: rs, sent: rs.count, stop: .completed, elapsed: .seconds(1), connections: c),
                                      samples: [])
        }
        return TrafficSample(plan: plan, steps: [step(1, Array(repeating: 200, count: 10), fast), step(5, top, slow)],
                             stop: .completed, elapsed: .seconds(2))
    }

    func run(_ taken: TrafficSample?) async throws -> (CheckOutcome, FactStore) {
        let c = try generatorConfig(script: Self.script)
        defer { if let s = c.section(LoadSettings.self).script { try? FileManager.default.removeItem(atPath: s) } }
        let facts = FactStore(config: c)
        if let taken { _ = await facts.measured(TrafficSample.self) { taken } }
        let probes = ProbeAnswers { $0.host = quietHost(); $0.subprocess["version"] = k6Version() }.probes
        return (try await GeneratorCheck(probes: probes).run(CheckContext(config: c, timeout: .seconds(2), facts: facts)), facts)
    }

    @Test func theRampsLatencyTimesTheIteration() async throws {
        // 0.2 s at 5 concurrent: 50/s × 0.2 s = 10 VUs needed, maxVUs 4.
        let (o, _) = try await run(try sample(fast: 0.01, slow: 0.2, top: Array(repeating: 200, count: 15)))
        let f = try #require(o.findings.first)
        #expect(f.severity == .fail)
        #expect(f.sentence.contains("at 50/s an iteration takes ~0.2 s: 10 VUs needed, maxVUs 4"), "\(f.sentence)")
        #expect(o.evidence["requestLatency"]?.display.contains("200 ms: the mean of 15 successful answers at 5 concurrent") == true, "\(o.evidence)")
    }

    @Test func failedAnswersDoNotTimeIt() async throws {
        // The top step answered 401 (fast, never reached the work): its latency says nothing; the step below is used.
        let (o, _) = try await run(try sample(fast: 0.2, slow: 0.001, top: Array(repeating: 401, count: 15)))
        #expect(o.evidence["requestLatency"]?.display.contains("at 1 concurrent") == true, "\(o.evidence)")
        #expect(o.findings.first?.sentence.contains("takes ~0.2 s") == true)
    }

    @Test func withoutARampNothingIsSentAndTheSleepIsALowerBound() async throws {
        let (o, facts) = try await run(nil)
        #expect(o.evidence["requestLatency"] == nil)
        #expect(await facts.taken(TrafficSample.self) == nil, "the generator took a measurement")
        #expect(o.evidence["iterationTime"]?.display.contains("request latency not measured") == true, "\(o.evidence)")
    }
}

extension GeneratorRampLatencyTests {
    @Test func preallocatedFarPastTheNeedWarnsWithTheFigure() async throws {
        let script = """
            import http from 'k6/http';
            export const options = { scenarios: { events: {
              executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '10s', preAllocatedVUs: 2000, maxVUs: 2000 } } };
            export default function () { http.get('http://127.0.0.1:3001/burst'); }
            """
        let c = try generatorConfig(script: script)
        defer { if let s = c.section(LoadSettings.self).script { try? FileManager.default.removeItem(atPath: s) } }
        let facts = FactStore(config: c)
        let taken = try sample(fast: 0.01, slow: 0.2, top: Array(repeating: 200, count: 15))
        _ = await facts.measured(TrafficSample.self) { taken }
        let probes = ProbeAnswers { $0.host = quietHost(); $0.subprocess["version"] = k6Version() }.probes
        let o = try await GeneratorCheck(probes: probes).run(CheckContext(config: c, timeout: .seconds(2), facts: facts))
        let f = try #require(o.findings.first { $0.sentence.contains("preAllocatedVUs 2,000") }, "\(o.findings.map(\.sentence))")
        #expect(f.severity == .warn)
        #expect(f.sentence.contains("which need 10: k6 initializes all 2,000 at the start (~6,000 MB"), "\(f.sentence)")
        #expect(f.fix?.contains("set preAllocatedVUs to 12") == true, "\(f.fix ?? "")")
        // No drops: 2,000 VUs hold the rate.
        #expect(!o.findings.contains { $0.sentence.contains("dropped") })
    }
}
