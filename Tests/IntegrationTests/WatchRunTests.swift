import Foundation
import Testing
import TestSupport

/// `preflight exec` watching genuine k6 runs (k6 on PATH) against real services on loopback: a backend killed
/// mid-run, the sample stack's pool saturated behind a lock, a healthy run. Without k6 on PATH they report as skipped.
@Suite(.serialized, .tags(.live), .runsLive) struct WatchRunTests {
    static let script = """
        import http from 'k6/http';
        import { check, sleep } from 'k6';
        export const options = { vus: 4, duration: __ENV.DURATION || '5s', thresholds: { http_req_failed: ['rate<0.01'] } };
        export default function () {
          const r = http.get(`${__ENV.BASE_URL}/health`, { timeout: '2s' });
          check(r, { 'status 200': (x) => x.status === 200 });
          sleep(0.05);
        }
        """

    /// The samples written so far in `dir` (the header excluded).
    func samples(_ file: URL) -> [[String: Any]] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func waitFor(_ what: String, limit: Duration = .seconds(30), _ ready: () -> Bool) async throws {
        let end = ContinuousClock.now + limit
        while !ready() {
            guard ContinuousClock.now < end else { throw FixtureError("gave up waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func backendKilledMidRunIsTheServiceThatDied() async throws {
        let k6 = try #require(k6OnPath)
        // The tally server counts k6's GETs to /burst…: the kill waits for the server's own count, not for k6's
        // gzipped output, which a loaded machine may flush only when k6 ends.
        let api = try await FixtureServer.start("tally", ["0", "200"])
        defer { api.kill() }
        let dir = try temporaryDirectory("pf-watch-kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.script.replacingOccurrences(of: "/health`", with: "/burst`")
            .write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        let samplesFile = dir.appendingPathComponent("preflight-k6.samples.jsonl")
        var env = ProcessInfo.processInfo.environment
        env["BASE_URL"] = api.url
        env["DURATION"] = "10s"

        async let exec = run(preflightBinary, ["exec", "--target", api.url, "--only", "port,health", "--watch-interval", "250ms",
                                               "--report", "html=run.html", "--", k6, "run", "--no-usage-report", "-q", "load.js"],
                             environment: env, currentDirectory: dir, limit: 90)
        // Kill the backend once it has answered 100 of k6's requests (at least 1.25 s of the 10 s run at 4 VUs
        // sleeping 50 ms): the failure begins mid-run.
        let end = ContinuousClock.now + .seconds(60)
        while true {
            let body = try await offThread { loopbackGet(port: api.port, path: "/__tally") }
            let count = body.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }?["count"] as? Int
            if (count ?? 0) > 100 { break }
            guard ContinuousClock.now < end else { throw FixtureError("gave up waiting for k6's first 100 requests") }
            try await Task.sleep(for: .milliseconds(100))
        }
        api.kill()
        try await waitFor("the backend (pid \(api.pid)) to die", limit: .seconds(10)) { !api.isAlive }
        let out = try await exec

        #expect(out.status == 99, "k6's exit code (thresholds crossed) passes through: \(out.stderr.suffix(2000))")
        let seen = samples(samplesFile)
        let listeners = seen.compactMap { ($0["listener"] as? [String: Any])?["state"] as? String }
        #expect(listeners.first == "present")
        #expect(listeners.last == "gone", "\(listeners)")
        #expect(seen.contains { (($0["port"] as? [String: Any])?["state"] as? String) == "refused" })
        #expect(out.stderr.contains("mid-run"), "\(out.stderr.suffix(3000))")
        #expect(out.stderr.contains("nothing listened on \(api.port) any more (python3 pid \(api.pid) exited)"), "\(out.stderr.suffix(3000))")
        #expect(out.stderr.contains("the service died during the test"))
        #expect(out.stderr.contains("preflight explain preflight-k6.json.gz --samples preflight-k6.samples.jsonl"))

        // The same story later, from the files exec left.
        let again = try await run(preflightBinary, ["explain", "preflight-k6.json.gz", "--samples", "preflight-k6.samples.jsonl", "--no-color"],
                                  currentDirectory: dir, limit: 60)
        #expect(again.status == 1)
        #expect(again.stdout.contains("the service died during the test"), "\(again.stdout)")
        let html = try String(contentsOf: dir.appendingPathComponent("run.html"), encoding: .utf8)
        #expect(html.contains("data-series=\"listener\""))
        #expect(html.contains("data-series=\"failures-connection-refused\""))
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func healthyRunHasNoSignatureAndExitsZero() async throws {
        let k6 = try #require(k6OnPath)
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { api.kill() }
        let dir = try temporaryDirectory("pf-watch-ok")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.script.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["BASE_URL"] = api.url
        env["DURATION"] = "4s"
        let out = try await run(preflightBinary, ["exec", "--target", api.url, "--only", "port,health", "--watch-interval", "1s",
                                                  "--report", "html=run.html", "--", k6, "run", "--no-usage-report", "-q", "load.js"],
                                environment: env, currentDirectory: dir, limit: 90)
        #expect(out.status == 0, "\(out.stderr.suffix(2000))")
        #expect(!out.stderr.contains("the load test failed"))
        let seen = samples(dir.appendingPathComponent("preflight-k6.samples.jsonl"))
        #expect(seen.count >= 3)
        // Under a loaded machine a probe may still be running at a sample ("busy", or no listener key): allowed.
        let listeners = seen.compactMap { ($0["listener"] as? [String: Any])?["state"] as? String }
        #expect(!listeners.isEmpty && listeners.allSatisfy { $0 == "present" }, "\(listeners)")
        let health = seen.compactMap { $0["health"] as? [String: Any] }.filter { $0["busy"] == nil }
        #expect(!health.isEmpty && health.allSatisfy { ($0["status"] as? Int) == 200 }, "\(health)")
        #expect(!seen.contains { (($0["port"] as? [String: Any])?["state"] as? String) == "refused" })
        let explained = try await run(preflightBinary, ["explain", "preflight-k6.json.gz", "--samples", "preflight-k6.samples.jsonl", "--format", "json"],
                                      currentDirectory: dir, limit: 60)
        #expect(explained.status == 0)
        #expect(explained.stdout.contains(#""diagnosis":[]"#), "\(explained.stdout)")
        let html = try String(contentsOf: dir.appendingPathComponent("run.html"), encoding: .utf8)
        #expect(html.contains("PASS"))
    }

    @Test func watchFailuresNeverChangeTheLoadTestsExitCode() async throws {
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { api.kill() }
        let dir = try temporaryDirectory("pf-watch-nowrite")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await run(preflightBinary, ["exec", "--target", api.url, "--only", "port", "--samples", "/nonexistent/dir/s.jsonl",
                                                  "--", "/bin/sh", "-c", "exit 7"], currentDirectory: dir, limit: 60)
        #expect(out.status == 7)
        #expect(out.stderr.contains("not watching: cannot write /nonexistent/dir/s.jsonl"), "\(out.stderr)")
        let bad = try await run(preflightBinary, ["exec", "--target", api.url, "--watch-interval", "5ms", "--", "/bin/true"],
                                currentDirectory: dir, limit: 60)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--watch-interval"))
    }

    /// The sample stack (pool of 10, a 2 s pool wait) under 12 VUs, with `messages` locked for 4 s mid-run:
    /// every pooled connection waits on the lock, the requests that wait for one past 2 s get 503.
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func poolSaturatedBehindALockIsNamedWithItsHolder() async throws {
        let k6 = try #require(k6OnPath)
        let stack = packageRoot.appendingPathComponent("Tests/SampleStack/stack.sh").path
        let dir = try temporaryDirectory("pf-watch-pool")
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_POOL_TIMEOUT"] = "2"
        let up = try await run("/bin/bash", [stack, "up", "healthy", "--dir", dir.path], environment: env, limit: 120)
        defer {
            _ = try? runProcess("/bin/bash", [stack, "down", "--dir", dir.path], limit: 60)
            try? FileManager.default.removeItem(at: dir)
        }
        guard up.status == 0 else { throw FixtureError("stack.sh up healthy failed: \(up.stderr)") }
        let vars = try String(contentsOf: dir.appendingPathComponent("env"), encoding: .utf8).split(separator: "\n")
            .reduce(into: [String: String]()) { d, line in
                let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { d[kv[0]] = kv[1] }
            }
        let backend = try #require(vars["BACKEND_URL"])
        let database = try #require(vars["DATABASE_URL"])
        var k6env = ProcessInfo.processInfo.environment
        k6env["CHAT_BASE_URL"] = backend + "/chat"
        k6env["VUS"] = "12"
        k6env["DURATION"] = "12s"
        let samplesFile = dir.appendingPathComponent("preflight-k6.samples.jsonl")
        async let exec = run(preflightBinary, ["exec", "--config", dir.appendingPathComponent("preflight.yml").path,
                                               "--only", "port,health,database", "--watch-interval", "250ms", "--report", "html=run.html",
                                               "--", k6, "run", "--no-usage-report", "-q",
                                               packageRoot.appendingPathComponent("Tests/SampleStack/k6/chat.js").path],
                             environment: k6env, currentDirectory: dir, limit: 120)
        // k6's first requests in the samples, or 3 s of a running k6 whose gzipped output a loaded machine has not
        // flushed yet: either way the 4 s lock falls inside the 12 s run.
        var k6Seen: ContinuousClock.Instant?
        try await waitFor("k6's first requests in the samples") {
            let seen = samples(samplesFile)
            if seen.contains(where: { (($0["k6"] as? [String: Any])?["requests"] as? Int ?? 0) > 15 }) { return true }
            if k6Seen == nil, seen.contains(where: { $0["k6"] != nil }) { k6Seen = .now }
            return k6Seen.map { $0.duration(to: .now) > .seconds(3) } ?? false
        }
        // psql through Subprocess (not Foundation.Process, whose child monitor can block behind a fixture that
        // closed its descriptors): one session holds the lock for 4 s and prints its backend pid.
        let locked = try await run("/usr/bin/psql", [database, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                                                     "-c", "BEGIN", "-c", "LOCK TABLE messages IN ACCESS EXCLUSIVE MODE",
                                                     "-c", "SELECT pg_backend_pid()", "-c", "SELECT pg_sleep(4)", "-c", "COMMIT"], limit: 30)
        #expect(locked.status == 0, "\(locked.stderr)")
        let holder = try #require(locked.stdout.split(separator: "\n").compactMap { Int($0) }.first, "\(locked.stdout)")
        let out = try await exec

        #expect(out.status == 99, "\(out.stderr.suffix(3000))")
        let seen = samples(samplesFile)
        let waiting = seen.compactMap { (($0["db"] as? [String: Any])?["waiting_on_locks"] as? Int) }
        #expect((waiting.max() ?? 0) >= 10, "\(waiting)")
        #expect(out.stderr.contains("server-errors"), "\(out.stderr.suffix(3000))")
        #expect(out.stderr.contains("messages was locked by pid \(holder)"), "\(out.stderr.suffix(3000))")
        #expect(out.stderr.contains("chat-backend held 10 connections"), "\(out.stderr.suffix(3000))")
        #expect(out.stderr.contains("chat-backend's pool was exhausted"))
        let html = try String(contentsOf: dir.appendingPathComponent("run.html"), encoding: .utf8)
        #expect(html.contains("data-series=\"db-app\""))
    }
}
