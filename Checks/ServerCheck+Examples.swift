import Foundation
import PreflightCore
import PreflightProbes

/// The server check's examples: uvicorn (pid 4242) on 127.0.0.1:8000, or a Gunicorn master (pid 100) and its
/// workers, with what /proc and /sys/fs/cgroup answer about them.
enum ServerExamples {
    static let address = SocketAddress(family: .ipv4, ip: "0.0.0.0", port: 8000)
    static let listener = ListeningSocket(address: address, inode: 7, pid: 4242, process: "uvicorn")

    static func limits(_ soft: String) -> String {
        "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            \(soft)                   4096                 files     \n"
    }

    static func netstat(overflows: Int, drops: Int) -> String {
        "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPBacklogDrop\nTcpExt: 0 \(overflows) \(drops) 0\n"
    }

    static func world(vus: Int?, limit: String? = "64", open: Int? = 21, config: String? = nil,
                      _ more: @escaping (inout ProbeAnswers) -> Void = { _ in }) -> World {
        World(config: config ?? "target: http://127.0.0.1:8000\n" + (vus.map { "load:\n  vus: \($0)\n" } ?? ""), answers: ProbeAnswers {
            $0.listening = [listener]
            if let limit { $0.host.files["/proc/4242/limits"] = Self.limits(limit) }
            if let open { $0.host.directories["/proc/4242/fd"] = open }
            more(&$0)
        })
    }

    /// A Gunicorn master (pid 100) started as `gunicorn ARGS app:app` and its `workers` (pids 101…), all holding inode 9.
    static func gunicorn(workers: Int, args: [String], vus: Int, request: Bool = false,
                         _ more: @escaping (inout ProbeAnswers) -> Void = { _ in }) -> World {
        World(config: "target: http://127.0.0.1:8000\nload:\n  vus: \(vus)\n" + (request ? "  request: GET /\n" : ""), answers: ProbeAnswers {
            let pids = [100] + (1...workers).map { 100 + $0 }
            $0.listening = pids.map { ListeningSocket(address: address, inode: 9, pid: $0, process: "gunicorn", backlog: 2048) }
            $0.host.files["/proc/100/limits"] = Self.limits("65536")
            $0.host.directories["/proc/100/fd"] = 12
            $0.host.files["/proc/100/cmdline"] = (["/usr/bin/python3", "/usr/local/bin/gunicorn"] + args + ["app:app"]).joined(separator: "\0") + "\0"
            $0.host.files["/proc/100/stat"] = "100 (gunicorn) S 1 100 100 0 -1"
            for w in pids.dropFirst() {
                $0.host.files["/proc/\(w)/stat"] = "\(w) (gunicorn) S 100 100 100 0 -1"
                $0.host.directories["/proc/\(w)/task"] = 1
            }
            more(&$0)
        })
    }

    static let all: [CheckExample] = [
        CheckExample(.fail, given: world(vus: 150),
                     says: "uvicorn (pid 4242) may open 64 files and has 21 open; 150 VUs need ~150 connections: accept() will fail with EMFILE from ~43 VUs on"),
        CheckExample(.warn, given: world(vus: 40),
                     says: "40 VUs need ~40 connections: little room left"),
        // http.batch of 6 requests: each VU holds up to 6 connections (k6's batchPerHost 6), as the generator counts them.
        CheckExample(.fail, given: World(config: "target: http://127.0.0.1:8000\nload:\n  script: load.js\n", files: ["load.js": """
            import http from 'k6/http';
            export const options = { vus: 20, duration: '30s' };
            export default () => {
              http.batch(['a', 'b', 'c', 'd', 'e', 'f'].map((p) => ['GET', `http://127.0.0.1:8000/${p}`]));
              http.batch([['GET', 'http://127.0.0.1:8000/a'], ['GET', 'http://127.0.0.1:8000/b'], ['GET', 'http://127.0.0.1:8000/c'],
                          ['GET', 'http://127.0.0.1:8000/d'], ['GET', 'http://127.0.0.1:8000/e'], ['GET', 'http://127.0.0.1:8000/f']]);
            };
            """], answers: ProbeAnswers {
                $0.listening = [listener]
                $0.host.files["/proc/4242/limits"] = Self.limits("64")
                $0.host.directories["/proc/4242/fd"] = 21
            }), says: "20 VUs need ~120 connections: accept() will fail with EMFILE from ~7 VUs on"),
        CheckExample(.pass, given: world(vus: 150, limit: "65536"),
                     says: "uvicorn (pid 4242) may open 65,536 files and has 21 open: room for 150 VUs (~150 connections)"),
        CheckExample(.pass, given: world(vus: nil, limit: "unlimited"),
                     says: "uvicorn (pid 4242) may open unlimited files and has 21 open"),
        // Another user's service: what /proc refuses is said, never a failure.
        CheckExample(.pass, given: world(vus: 150, limit: nil, open: nil),
                     says: "cannot read /proc/4242/limits"),
        // Accept backlog: listen(4) against 150 VUs that all connect at once.
        CheckExample(.warn, given: world(vus: 150, limit: "65536") {
            $0.listening = [ListeningSocket(address: address, inode: 7, pid: 4242, process: "uvicorn", acceptQueue: 0, backlog: 4)]
            $0.host.files["/proc/sys/net/core/somaxconn"] = "4096\n"
        }, says: "uvicorn (pid 4242)'s accept backlog is 4 (net.core.somaxconn 4,096), 0 waiting now; 150 VUs starting together overflow it"),
        // The ramp ran while the kernel's ListenOverflows rose by 37.
        CheckExample(.fail, given: world(vus: 150, limit: "65536", config: "target: http://127.0.0.1:8000\nload:\n  vus: 150\n  request: GET /\n") {
            $0.listening = [ListeningSocket(address: address, inode: 7, pid: 4242, process: "uvicorn", acceptQueue: 5, backlog: 4)]
            $0.host.successive["/proc/net/netstat"] = [netstat(overflows: 100, drops: 100), netstat(overflows: 137, drops: 137)]
            $0.burst = ProbeAnswers.ramp { _, n in .answer(n, 200, seconds: 0.01) }
        }, says: "the kernel counted 37 listen overflows and 37 drops during preflight's ramp (400 requests, up to 100 concurrent)"),
        CheckExample(.pass, given: gunicorn(workers: 4, args: ["-w", "4"], vus: 4),
                     says: "gunicorn (pid 100) runs 4 workers (pids 101, 102, 103, 104, 4 threads)"),
        CheckExample(.warn, given: gunicorn(workers: 1, args: [], vus: 50),
                     says: "gunicorn (pid 100) runs 1 worker (pids 101, 1 thread), sync: 1 request at a time for 50 VUs"),
        // The ramp's p50 grows with concurrency: one request at a time, as the warning said.
        CheckExample(.warn, given: gunicorn(workers: 1, args: [], vus: 50, request: true) {
            $0.burst = ProbeAnswers.ramp { c, n in .answer(n, 200, seconds: 0.01 * Double(c)) }
        }, says: "the ramp confirms: p50 10 ms at 1 concurrent → 500 ms at 50"),
        CheckExample(.pass, given: gunicorn(workers: 1, args: ["-k", "uvicorn.workers.UvicornWorker"], vus: 50),
                     says: "gunicorn (pid 100) runs 1 worker"),
        // A v2 cgroup with a 0.1-core quota, throttled while the ramp ran.
        CheckExample(.fail, given: world(vus: 20, limit: "65536", config: "target: http://127.0.0.1:8000\nload:\n  vus: 20\n  request: GET /\n") {
            $0.host.files["/proc/4242/cgroup"] = "0::/app.slice/api.service\n"
            $0.host.files["/sys/fs/cgroup/app.slice/api.service/cpu.max"] = "10000 100000\n"
            $0.host.successive["/sys/fs/cgroup/app.slice/api.service/cpu.stat"] = [
                "usage_usec 100\nnr_periods 40\nnr_throttled 2\nthrottled_usec 5000\n",
                "usage_usec 900\nnr_periods 65\nnr_throttled 25\nthrottled_usec 1905000\n"]
            $0.burst = ProbeAnswers.ramp { _, n in .answer(n, 200, seconds: 0.05) }
        }, says: "uvicorn (pid 4242)'s cgroup /app.slice/api.service was CPU-throttled in 23 of 25 periods during preflight's ramp (1.9 s throttled, quota 0.1 cores)"),
        // A v1 memory cgroup at 95 % of its limit.
        CheckExample(.warn, given: world(vus: 20, limit: "65536") {
            $0.host.files["/proc/4242/cgroup"] = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n"
            $0.host.files["/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes"] = "536870912\n"
            $0.host.files["/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes"] = "510000000\n"
            $0.host.files["/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us"] = "-1\n"
            $0.host.files["/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us"] = "100000\n"
        }, says: "uvicorn (pid 4242)'s cgroup /docker/abc uses 486 MiB of its 512 MiB memory limit (95 %)"),
        // Healthy: the figures as evidence, no warning.
        CheckExample(.pass, given: world(vus: 20, limit: "65536", config: "target: http://127.0.0.1:8000\nload:\n  vus: 20\n  request: GET /\n") {
            $0.listening = [ListeningSocket(address: address, inode: 7, pid: 4242, process: "uvicorn", acceptQueue: 0, backlog: 2048)]
            $0.host.files["/proc/sys/net/core/somaxconn"] = "4096\n"
            $0.host.files["/proc/net/netstat"] = netstat(overflows: 100, drops: 100)
            $0.host.files["/proc/4242/cgroup"] = "0::/app.slice/api.service\n"
            $0.host.files["/sys/fs/cgroup/app.slice/api.service/cpu.max"] = "200000 100000\n"
            $0.host.files["/sys/fs/cgroup/app.slice/api.service/cpu.stat"] = "usage_usec 100\nnr_periods 40\nnr_throttled 0\nthrottled_usec 0\n"
            $0.host.files["/sys/fs/cgroup/app.slice/api.service/memory.max"] = "max\n"
            $0.burst = ProbeAnswers.ramp { _, n in .answer(n, 200, seconds: 0.01) }
        }, says: "no listen drops during preflight's ramp"),
        CheckExample(.skipped, given: World(config: "target: http://10.0.0.7:8000"),
                     says: "10.0.0.7 is not this machine: run `preflight --only server` on the service's host"),
        CheckExample(.skipped, given: World(config: ""), says: "no target configured"),
    ]
}
