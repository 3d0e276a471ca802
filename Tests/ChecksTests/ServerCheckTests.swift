import Foundation
import Synchronization
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

@Suite struct ServerCheckReaders {
    @Test func procLimitsTableParses() {
        let text = """
        Limit                     Soft Limit           Hard Limit           Units     
        Max cpu time              unlimited            unlimited            seconds   
        Max open files            64                   4096                 files     
        Max processes             63535                63535                processes 
        """
        #expect(ProcessLimits(parsing: text).openFiles?.soft == 64)
        #expect(ProcessLimits(parsing: text).openFiles?.hard == 4096)
        #expect(ProcessLimits(parsing: "Max open files            unlimited            unlimited            files").openFiles?.soft == Int.max)
        #expect(ProcessLimits(parsing: "Max processes 1 1").openFiles == nil)
    }

    @Test func descriptorArithmetic() {
        #expect(ServerDescriptors(limit: 64, open: 21, vus: 150).free == 43)
        #expect(ServerDescriptors(limit: 64, open: 21, vus: 150).exhausted)
        #expect(ServerDescriptors(limit: 64, open: 21, vus: 40).tight)
        #expect(!ServerDescriptors(limit: 64, open: 21, vus: 30).tight)
        #expect(!ServerDescriptors(limit: Int.max, open: 21, vus: 1_000_000).exhausted)
    }

    /// Stalled VUs fail one request per timeout; the served ones succeed one per iteration.
    @Test func unacceptedShare() {
        #expect(EffectModel.unaccepted(vus: 100, free: 200, think: 1) == .exactly(0))
        let s = EffectModel.unaccepted(vus: 100, free: 50, think: 1, timeout: 2)
        // 50 VUs fail 25 requests/s; 50 succeed 50/1.001 .. 50/2 a second.
        #expect(abs(s.low - 25.0 / (25 + 50 / 1.001)) < 1e-9)
        #expect(abs(s.high - 25.0 / (25 + 25)) < 1e-9)
    }
}

@Suite struct ServiceLimitsReaders {
    @Test func listenCountersFromNetstat() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 37 40\nIpExt: InNoRoutes\nIpExt: 0\n"
        #expect(ListenCounters(netstat: text) == ListenCounters(overflows: 37, drops: 40))
        #expect(ListenCounters(netstat: "TcpExt: SyncookiesSent\nTcpExt: 1\n") == nil)
    }

    @Test func cgroupPathsV1HybridAndV2() {
        let hybrid = ProcessCgroup(parsing: "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n1:name=systemd:/x\n0::/\n")
        #expect(hybrid.candidates("cpu.stat", controller: "cpu") == ["/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.stat", "/sys/fs/cgroup/cpu/docker/abc/cpu.stat"])
        #expect(hybrid.candidates("memory.max", controller: "memory") == ["/sys/fs/cgroup/memory/docker/abc/memory.max"])
        // pids is not bound to a v1 hierarchy here: the v2 path, pure and hybrid mounts.
        #expect(hybrid.candidates("pids.max", controller: "pids") == ["/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/unified/pids.max"])
        let v2 = ProcessCgroup(parsing: "0::/system.slice/api.service\n")
        #expect(v2.candidates("cpu.max", controller: "cpu").first == "/sys/fs/cgroup/system.slice/api.service/cpu.max")
        #expect(v2.path(of: "cpu") == "/system.slice/api.service")
    }

    @Test func quotasThrottlingAndLimits() {
        #expect(CPUQuota.cores(cpuMax: "max 100000\n") == nil)
        #expect(CPUQuota.cores(cpuMax: "10000 100000\n")! == (10000, 100000))
        #expect(CPUQuota.cores(quota: "-1\n", period: "100000\n") == nil)
        let v1 = CPUThrottling(cpuStat: "nr_periods 10\nnr_throttled 4\nthrottled_time 2500000000\n")
        #expect(v1 == CPUThrottling(periods: 10, throttledPeriods: 4, throttledMicroseconds: 2_500_000))
        let later = CPUThrottling(periods: 30, throttledPeriods: 10, throttledMicroseconds: 3_000_000)
        #expect(later.since(v1!) == CPUThrottling(periods: 20, throttledPeriods: 6, throttledMicroseconds: 500_000))
        #expect(CgroupLimit.value("max\n") == nil)
        #expect(CgroupLimit.value("9223372036854771712\n") == nil)
        #expect(CgroupLimit.value("536870912\n") == 536_870_912)
    }

    @Test func workersAreTheHoldersWhoseParentHoldsToo() {
        let p = { (pid: Int, parent: Int) in ServerWorkers.Process(pid: pid, name: "gunicorn", parent: parent) }
        let w = ServerWorkers(holders: [p(100, 1), p(101, 100), p(102, 100)])
        #expect(w.masters.map(\.pid) == [100])
        #expect(w.workers.map(\.pid) == [101, 102])
        #expect(ServerWorkers(holders: [p(7, 1)]).workers.map(\.pid) == [7])
        #expect(ServerWorkers.parent(stat: "101 (gunicorn: worker [a b]) S 100 100 100") == 100)
    }

    @Test func gunicornSyncWorkersFromTheCommandLine() {
        let base = ["/usr/bin/python3", "/usr/local/bin/gunicorn"]
        #expect(ServerWorkers.gunicornSyncConcurrency(arguments: base + ["-w", "1", "app:app"]) == 1)
        #expect(ServerWorkers.gunicornSyncConcurrency(arguments: base + ["-k", "gevent", "app:app"]) == nil)
        #expect(ServerWorkers.gunicornSyncConcurrency(arguments: base + ["--worker-class=uvicorn.workers.UvicornWorker"]) == nil)
        #expect(ServerWorkers.gunicornSyncConcurrency(arguments: base + ["--threads", "8"]) == nil)
        #expect(ServerWorkers.gunicornSyncConcurrency(arguments: ["/usr/bin/python3", "-m", "uvicorn", "app:app"]) == nil)
    }
}

/// The ramp goes only to a target whose health check passed: with health failed the check reads the limits and
/// sends nothing (the engine hands it health's result: `after: ["health"]`).
@Suite struct ServerCheckRampGate {
    final class Sent: Sendable { let count = Mutex(0) }

    func run(health: Status, request: Bool = true) async throws -> (CheckOutcome, Int) {
        let sent = Sent()
        let answers = ProbeAnswers {
            $0.listening = [ServerExamples.listener]
            $0.host.files["/proc/4242/limits"] = ServerExamples.limits("65536")
            $0.host.directories["/proc/4242/fd"] = 10
            $0.host.files["/proc/net/netstat"] = ServerExamples.netstat(overflows: 1, drops: 1)
            $0.burst = { plan in
                sent.count.withLock { $0 += 1 }
                return ProbeAnswers.ramp { _, n in .answer(n, 200) }(plan)
            }
        }
        var c = config(target: "http://127.0.0.1:8000")
        var load = LoadSettings()
        load.vus = 20
        if request { load.request = ("GET", "/") }
        c.set(load)
        let result = CheckResult(id: "health", title: "Health endpoint", layer: .service, outcome: CheckOutcome(health, "health"))
        let o = try await ServerCheck(probes: answers.probes).run(CheckContext(config: c, timeout: .seconds(1), prerequisites: ["health": result]))
        return (o, sent.count.withLock { $0 })
    }

    @Test func noRampAfterAFailedHealthCheck() async throws {
        let (o, bursts) = try await run(health: .fail)
        #expect(bursts == 0)
        #expect(o.evidence["traffic"] == .string("not sent: the health check failed"))
        #expect(o.status == .pass, "\(o.findings.map(\.sentence))")
    }

    @Test func withoutARequestWhatWasNotMeasuredIsSaid() async throws {
        let (o, bursts) = try await run(health: .pass, request: false)
        #expect(bursts == 0)
        #expect(o.evidence["traffic"]?.display.contains("listen drops and CPU throttling under load were not measured") == true, "\(o.evidence)")
    }

    @Test func theRampAfterAHealthyOne() async throws {
        let (o, bursts) = try await run(health: .pass)
        #expect(bursts > 0)
        #expect(o.findings.contains { $0.sentence.contains("no listen drops during preflight's ramp") }, "\(o.findings.map(\.sentence))")
    }
}

/// A real Python server started under `prlimit --nofile=64`: the check reads its limit and descriptors, and a real k6
/// run past the limit confirms what it predicts (VUs left in the accept queue time out).
@Suite(.serialized, .tags(.live), .runsLive) struct ServerCheckLive {
    static let server = """
    import http.server, socket, sys
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *a): pass
    class S(http.server.ThreadingHTTPServer):
        request_queue_size = 512
        daemon_threads = True
    s = S(("127.0.0.1", 0), H)
    print("PORT", s.server_address[1], flush=True)
    s.serve_forever()
    """

    /// Starts the server under prlimit (which execs python3: same pid) and reads its port.
    func start(nofile: Int) throws -> (Process, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        p.arguments = ["--nofile=\(nofile)", "/usr/bin/python3", "-c", Self.server]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var line = Data()
        while let b = try out.fileHandleForReading.read(upToCount: 1), !b.isEmpty, b != Data([10]) { line.append(b) }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5)) else { stop(p); throw FixtureError("server did not start: \(text)") }
        return (p, port)
    }

    /// SIGKILL: the child inherits the test runner thread's signal mask (SIGTERM blocked, see FixtureServer.kill).
    /// No `waitUntilExit`: Foundation's Process spins for ever in it when the suites run together (MACHINE-NOTES);
    /// Foundation reaps the child itself, and this waits at most 5 s for it to be gone.
    func stop(_ p: Process) {
        if p.isRunning { Glibc.kill(p.processIdentifier, SIGKILL) }
        for _ in 0..<100 where p.isRunning { usleep(50_000) }
    }

    func context(port: Int, vus: Int) -> CheckContext {
        var c = config(target: "http://127.0.0.1:\(port)")
        var load = LoadSettings()
        load.vus = vus
        c.set(load)
        return CheckContext(config: c, timeout: .seconds(5))
    }

    @Test func limitedServerFailsWithItsFigures() async throws {
        let (p, port) = try start(nofile: 64)
        defer { stop(p) }
        let o = try await ServerCheck(probes: .live).run(context(port: port, vus: 150))
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.contains("python3 (pid \(p.processIdentifier)) may open 64 files and has "), "\(o.summary)")
        #expect(o.summary.contains("150 VUs need ~150 connections: accept() will fail with EMFILE"), "\(o.summary)")
        #expect(o.findings.first?.effect?.k6 == FailureKind.requestTimeout.k6)
    }

    @Test func unlimitedServerPassesWithoutWarning() async throws {
        // As high as this process may go (a container's hard limit may be below 65,536).
        let hard = min(65_536, LiveHostFacts().fileLimits().hard)
        try #require(hard >= 1024, "hard nofile limit \(hard) too low for a healthy server")
        let (p, port) = try start(nofile: hard)
        defer { stop(p) }
        let o = try await ServerCheck(probes: .live).run(context(port: port, vus: 150))
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary.contains("may open \(formatCount(hard)) files"), "\(o.summary)")
        #expect(o.evidence["openFiles"] != nil)
    }

    /// k6 past the limit: the VUs that got no descriptor wait in the accept queue and their requests time out
    /// (a 2 s request timeout keeps the run short); below the limit nothing fails.
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func k6PastTheLimitTimesOut() async throws {
        let (p, port) = try start(nofile: 64)
        defer { stop(p) }
        let dir = try temporaryDirectory("server-fd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let predicted = try await ServerCheck(probes: .live).run(context(port: port, vus: 100))
        #expect(predicted.status == .fail, "\(predicted.summary)")
        let script = dir.appendingPathComponent("t.js")
        try Data("""
        import http from 'k6/http';
        import { sleep } from 'k6';
        export const options = { vus: 100, duration: '5s', gracefulStop: '0s' };
        export default function () { http.get('http://127.0.0.1:\(port)/', { timeout: '2s' }); sleep(0.1); }
        """.utf8).write(to: script)
        let summary = dir.appendingPathComponent("summary.json")
        let r = try await run(k6OnPath!, ["run", "--quiet", "--no-color", "--summary-export", summary.path, script.path], limit: 60)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any]
        let failed = (json?["metrics"] as? [String: Any])?["http_req_failed"] as? [String: Any]
        let fails = failed?["passes"] as? Int ?? 0   // k6's Rate: "passes" counts the true values (failed requests)
        #expect(fails > 0, "k6 saw no failure past the limit: \(failed ?? [:]) \(r.stderr.suffix(300))")
        #expect(r.stderr.contains("request timeout") || r.stdout.contains("request timeout"), "\(r.stderr.suffix(500))")
    }
}

/// A traffic-planned context: `vus` at the peak and `GET /` for the run's one ramp (1 → 5 → … → min(vus, 100)).
func serverContext(port: Int, vus: Int, ramp: Bool, timeout: Duration = .seconds(5)) -> CheckContext {
    var c = config(target: "http://127.0.0.1:\(port)")
    var load = LoadSettings()
    load.vus = vus
    if ramp { load.request = ("GET", "/") }
    c.set(load)
    return CheckContext(config: c, timeout: timeout)
}

/// The accept backlog against real listeners: listen(4) with a slow accept loop overflows during the ramp (the
/// kernel's ListenOverflows rise, read from /proc/net/netstat before and after), and a healthy server passes with
/// its figures. net.core.somaxconn is left alone: it is the whole machine's, and other tests run beside these.
@Suite(.serialized, .tags(.live), .runsLive) struct ServerCheckBacklogLive {
    @Test func tinyBacklogOverflowsDuringTheRamp() async throws {
        let server = try await FixtureServer.start("slowaccept", ["4", "0.02"])
        defer { server.kill() }
        let o = try await ServerCheck(probes: .live).run(serverContext(port: server.port, vus: 25, ramp: true))
        #expect(o.status == .fail, "\(o.findings.map(\.sentence))")
        #expect(o.evidence["backlog"] == .int(4))
        let fail = try #require(o.findings.first { $0.severity == .fail })
        #expect(fail.sentence.contains("listen overflows"), "\(fail.sentence)")
        #expect(fail.sentence.contains("during preflight's ramp"), "\(fail.sentence)")
        #expect(fail.effect != nil)
        // The figure is the counters' rise, never zero when the check fails on it.
        guard case .string(let rise)? = o.evidence["listenDropsDuringRamp"] else { Issue.record("no drop figure"); return }
        #expect(!rise.hasPrefix("ListenOverflows +0,"), "\(rise)")
        #expect(o.findings.contains { $0.severity == .warn && $0.sentence.contains("accept backlog is 4") }, "\(o.findings.map(\.sentence))")
    }

    @Test func healthyServerPassesWithItsFigures() async throws {
        let server = try await FixtureServer.start("json", ["200", "{}"])
        defer { server.kill() }
        let o = try await ServerCheck(probes: .live).run(serverContext(port: server.port, vus: 20, ramp: true))
        #expect(o.evidence["backlog"] == .int(128))
        #expect(o.evidence["listenDropsDuringRamp"] != nil)
        #expect(o.evidence["openFiles"] != nil)
        // ListenOverflows count for the whole network namespace: a test beside this one may overflow its own
        // listener meanwhile, which the check then says is not this one's (a warning naming another listener).
        let others = o.findings.filter { $0.severity != .pass && !$0.sentence.contains("another listener on this machine may have overflowed") }
        #expect(others.isEmpty, "\(o.findings.map(\.sentence))")
        #expect(o.findings.contains { $0.sentence.contains("accept backlog is 128") })
    }
}

let gunicornOnPath: String? = ["/usr/local/bin/gunicorn", "/usr/bin/gunicorn"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Real Gunicorn masters: `-w 4` named as 4 workers under their master, one sync worker against 50 VUs a warning.
@Suite(.serialized, .tags(.live), .runsLive) struct ServerCheckWorkersLive {
    static let app = """
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    """

    /// A Gunicorn master on a loopback port of its choosing, once its `workers` hold the socket; and its pids.
    final class Gunicorn: @unchecked Sendable {
        let process: Process
        let port: Int
        let dir: URL
        var pids: [Int] = []

        init(workers: Int, extra: [String] = []) throws {
            dir = try temporaryDirectory("gunicorn")
            try Data(ServerCheckWorkersLive.app.utf8).write(to: dir.appendingPathComponent("app.py"))
            process = Process()
            process.executableURL = URL(fileURLWithPath: gunicornOnPath!)
            process.arguments = ["-w", String(workers), "-b", "127.0.0.1:0", "--no-control-socket", "--chdir", dir.path] + extra + ["app:app"]
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            var port: Int?
            // "[…] [INFO] Listening at: http://127.0.0.1:41533 (1622)"
            for _ in 0..<20 {
                var bytes = Data()
                while let b = try err.fileHandleForReading.read(upToCount: 1), !b.isEmpty, b != Data([10]) { bytes.append(b) }
                let line = String(decoding: bytes, as: UTF8.self)
                if let r = line.range(of: "Listening at: http://127.0.0.1:") {
                    port = Int(line[r.upperBound...].prefix { $0.isNumber })
                    break
                }
            }
            guard let port else { Glibc.kill(process.processIdentifier, SIGKILL); throw FixtureError("gunicorn did not start") }
            self.port = port
            // Its stderr stays open but unread: Gunicorn logs little after boot (a pipe holds 64 KiB).
            let table = ProcListeningSocketTable()
            for _ in 0..<100 {
                let inodes = Set(table.unnamedListeningSockets().filter { $0.address.port == port }.map(\.inode))
                pids = table.holders(of: inodes).map(\.pid)
                if pids.count == workers + 1 { break }
                usleep(100_000)
            }
        }

        /// SIGKILL the master and then each worker it started, by pid (the signal mask the runner's thread passes
        /// on keeps SIGTERM blocked); then the app's folder.
        func stop() {
            Glibc.kill(process.processIdentifier, SIGKILL)
            for pid in pids where pid != Int(process.processIdentifier) { Glibc.kill(Int32(pid), SIGKILL) }
            try? FileManager.default.removeItem(at: dir)
        }
    }

    @Test(.enabled(if: gunicornOnPath != nil, "gunicorn is not installed (scripts/install-deps.sh installs it from PyPI)"))
    func fourWorkersAreNamedUnderTheirMaster() async throws {
        let g = try await offThread { try Gunicorn(workers: 4) }
        defer { g.stop() }
        #expect(g.pids.count == 5, "holders: \(g.pids)")
        let o = try await ServerCheck(probes: .live).run(serverContext(port: g.port, vus: 4, ramp: false))
        #expect(o.status == .pass, "\(o.findings.map(\.sentence))")
        let named = o.findings.first { $0.sentence.contains("runs 4 workers") }
        #expect(named != nil, "\(o.findings.map(\.sentence))")
        #expect(named?.sentence.contains("gunicorn (pid \(g.process.processIdentifier))") == true, "\(named?.sentence ?? "")")
    }

    @Test(.enabled(if: gunicornOnPath != nil, "gunicorn is not installed (scripts/install-deps.sh installs it from PyPI)"))
    func oneSyncWorkerAgainstManyVUsWarns() async throws {
        let g = try await offThread { try Gunicorn(workers: 1) }
        defer { g.stop() }
        let o = try await ServerCheck(probes: .live).run(serverContext(port: g.port, vus: 50, ramp: false))
        #expect(o.status == .warn, "\(o.findings.map(\.sentence))")
        let warn = o.findings.first { $0.severity == .warn }
        #expect(warn?.sentence.contains("runs 1 worker") == true, "\(warn?.sentence ?? "")")
        #expect(warn?.sentence.contains("sync: 1 request at a time for 50 VUs") == true, "\(warn?.sentence ?? "")")
        #expect(warn?.effect != nil)
    }
}

/// A CPU quota this machine lets a test set: a test-owned child of the cpu controller's root (cgroup v2 when the
/// root delegates cpu to its children, else v1's cpu hierarchy), removed after. Nil when neither is writable.
struct TestCgroup {
    let dir: String
    let version: Int

    static var available: Bool { base() != nil }

    static func base() -> (path: String, version: Int)? {
        if let c = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.subtree_control", encoding: .utf8),
           c.split(separator: " ").contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "cpu" }),
           access("/sys/fs/cgroup", W_OK) == 0 { return ("/sys/fs/cgroup", 2) }
        for v1 in ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"]
        where access(v1, W_OK) == 0 && FileManager.default.fileExists(atPath: "\(v1)/cpu.cfs_quota_us") { return (v1, 1) }
        return nil
    }

    /// `quota` µs of CPU every `period` µs.
    init(quota: Int, period: Int) throws {
        guard let base = Self.base() else { throw FixtureError("no writable cpu cgroup") }
        dir = "\(base.path)/preflight-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        version = base.version
        guard mkdir(dir, 0o755) == 0 else { throw FixtureError("mkdir \(dir): \(String(cString: strerror(errno)))") }
        if version == 2 {
            try write("cpu.max", "\(quota) \(period)")
        } else {
            try write("cpu.cfs_period_us", String(period))
            try write("cpu.cfs_quota_us", String(quota))
        }
    }

    func write(_ file: String, _ value: String) throws {
        let fd = open("\(dir)/\(file)", O_WRONLY)
        guard fd >= 0 else { throw FixtureError("open \(dir)/\(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw FixtureError("write \(file): \(String(cString: strerror(errno)))") }
    }

    func add(_ pid: Int) throws { try write("cgroup.procs", String(pid)) }

    /// Removes the cgroup once its processes are gone (the caller kills them first), waiting up to 5 s.
    func remove() {
        for _ in 0..<100 {
            if rmdir(dir) == 0 || errno == ENOENT { return }
            usleep(50_000)
        }
    }
}

/// A real server in a test-owned cgroup with a 0.01-core quota (1 ms of CPU every 100 ms): the ramp's requests spin
/// the CPU and the check reads the throttling it measured (cpu.stat before and after) as a failure with the
/// throttled time. The quota is that small so that the server is throttled however loaded the machine is: with
/// 0.2 cores, a full `make test` on two cores once gave the server less CPU than its quota, and nothing throttled.
@Suite(.serialized, .tags(.live), .runsLive) struct ServerCheckCgroupLive {
    @Test(.enabled(if: TestCgroup.available, "no writable cpu cgroup here (cgroup v2 with cpu delegated at the root, or v1's cpu hierarchy)"))
    func quotaThrottledDuringTheRampFails() async throws {
        let cgroup = try TestCgroup(quota: 1_000, period: 100_000)
        defer { cgroup.remove() }
        let server = try await FixtureServer.start("busy", ["1"])
        defer { server.kill() }
        try cgroup.add(server.pid)
        // 5 VUs: a ramp of 1 → 5 concurrent (25 requests, ~3 s at one request per period); 25 VUs took 14 s.
        let o = try await ServerCheck(probes: .live).run(serverContext(port: server.port, vus: 5, ramp: true))
        #expect(o.status == .fail, "\(o.findings.map(\.sentence))")
        let fail = o.findings.first { $0.sentence.contains("was CPU-throttled in") }
        #expect(fail != nil, "\(o.findings.map(\.sentence))")
        #expect(fail?.sentence.contains("quota 0.01 cores") == true, "\(fail?.sentence ?? "")")
        #expect(fail?.sentence.contains(String(cgroup.dir.split(separator: "/").last!)) == true, "\(fail?.sentence ?? "")")
        #expect(fail?.effect != nil)
    }
}
