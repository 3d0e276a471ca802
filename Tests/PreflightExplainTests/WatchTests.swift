import Foundation
import Testing
@testable import PreflightExplain

/// The watcher's samples file, its reading, and what explain says with and without it.
/// `watch/killed.*` is a genuine run: `preflight exec --watch-interval 500ms -- k6 run` (5 VUs, 6 s) against
/// http-fixture.py, killed after about 2.6 s of load.
@Suite struct WatchTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Compares with Tests/PreflightExplainTests/Fixtures/watch/golden/NAME (UPDATE_GOLDEN=1 rewrites it).
    func compare(_ actual: String, _ name: String) throws {
        let golden = Self.packageRoot.appendingPathComponent("Tests/PreflightExplainTests/Fixtures/watch/golden/\(name)")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try actual.write(to: golden, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: Fixture.path("watch/golden/\(name)"), encoding: .utf8)
        #expect(actual == expected, "\(name) differs from its golden file; rerun with UPDATE_GOLDEN=1 after checking the change")
    }

    static var fixed: WatchSamples {
        var a = WatchSample(t: 0, unix: 1_796_000_000)
        a.port = PortSample(state: "open", ms: 0.08)
        a.health = HealthSample(status: 200, ms: 1.7)
        a.listener = ListenerSample(state: "present", pid: 4242, process: "node")
        var db = DatabaseSample()
        db.connections = [ConnectionCount(app: "chat-backend", state: "active", count: 3), ConnectionCount(app: "chat-backend", state: "idle", count: 7)]
        db.total = 10
        db.maxConnections = 100
        db.waitingOnLocks = 0
        a.db = db
        a.k6 = K6LiveSample(requests: 120, failed: 0, status429: 0)
        var b = WatchSample(t: 1, unix: 1_796_000_001)
        b.port = PortSample(state: "refused")
        b.health = HealthSample(ms: 0.1, error: "Failed to connect to 127.0.0.1 port 3001 after 0 ms: Couldn't connect to server")
        b.listener = ListenerSample(state: "gone")
        var busy = DatabaseSample()
        busy.busy = true
        b.db = busy
        var c = WatchSample(t: 2, unix: 1_796_000_002)
        c.port = PortSample(state: "busy")
        var locked = DatabaseSample()
        locked.connections = [ConnectionCount(app: "chat-backend", state: "active", count: 10)]
        locked.total = 11
        locked.maxConnections = 100
        locked.waitingOnLocks = 10
        locked.lockWaits = [LockWait(relation: "messages", application: "chat-backend", blockedBy: [4243])]
        c.db = locked
        return WatchSamples(header: WatchHeader(intervalS: 1, target: "127.0.0.1:3001", healthUrl: "http://127.0.0.1:3001/api/v1/health",
                                                database: "127.0.0.1:5432/chat", startedUnix: 1_796_000_000), samples: [a, b, c])
    }

    @Test func samplesFileMatchesItsGoldenFileAndReadsBack() throws {
        let text = Self.fixed.text()
        try compare(text, "fixed.samples.jsonl")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pf-samples-\(UUID().uuidString.prefix(6)).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try (text + "not json\n").write(to: url, atomically: true, encoding: .utf8)
        let (read, warnings) = try WatchSamples.read(path: url.path)
        #expect(read == Self.fixed)
        #expect(warnings.count == 1)
    }

    @Test func aFileThatIsNotSamplesIsOneClearError() throws {
        #expect(throws: ExplainError.self) { try WatchSamples.read(path: Fixture.path("refused.out.json")) }
        #expect(throws: ExplainError.self) { try WatchSamples.read(path: Fixture.path("watch/none.jsonl")) }
    }

    @Test func withSamplesTheRefusalIsTheServiceThatDied() throws {
        let e = try Explainer.explain(path: Fixture.path("watch/killed.out.json.gz"), samples: Fixture.path("watch/killed.samples.jsonl"))
        let d = try #require(e.first(.connectionRefused))
        #expect(d.summary.contains("stopped listening mid-run, it was up at the start"), "\(d.summary)")
        #expect(d.summary.contains("nothing listened on 37871 any more (python3 pid 12901 exited)"), "\(d.summary)")
        #expect(d.summary.contains("the service died during the test"), "\(d.summary)")
        #expect(d.share == 1)
        #expect(e.exitCode == 1)
    }

    @Test func withoutSamplesAFailureAfterACleanStartIsMidRun() throws {
        let e = try Fixture.explain("watch/killed.out.json.gz")
        let d = try #require(e.first(.connectionRefused))
        #expect(d.summary.contains("mid-run"), "\(d.summary)")
        #expect(!d.fix.contains("start the server before the run"))
        #expect(d.evidence["onset"]?.display.contains("requests had succeeded") == true)
        // A run refused from its first request is still "nothing listened".
        let never = try #require(try Fixture.explain("refused.out.json").first(.connectionRefused))
        #expect(!never.summary.contains("mid-run"))
        #expect(never.fix.contains("start the server before the run"))
    }

    @Test func timelineCountsEveryRequestSecondBySecond() throws {
        let e = try Fixture.explain("watch/killed.out.json.gz")
        let tl = try #require(e.timeline)
        #expect(tl.requests.reduce(0, +) == 580)
        #expect(tl.failures["connection-refused"]?.reduce(0, +) == 330)
        #expect(tl.vus.compactMap { $0 }.max() == 5)
        #expect(tl.failures["connection-refused"]?.first == 0)
    }

    /// servererror.out.json with samples built on its clock: the onset meets the pool, then the lock.
    func serverErrors(with db: (Double) -> DatabaseSample) throws -> Diagnosis {
        let plain = try Fixture.explain("servererror.out.json")
        let start = try #require(plain.facts?.startUnix)
        let first = try #require(plain.first(.serverErrors).flatMap { d -> Double? in
            if case .double(let v)? = d.evidence["first_failure_s"] { return v }
            return nil
        })
        let samples = (0..<Int(first) + 4).map { i -> WatchSample in
            var s = WatchSample(t: Double(i), unix: start + Double(i))
            s.db = db(Double(i) - first)
            return s
        }
        var e = plain
        e.attach(WatchSamples(header: WatchHeader(intervalS: 1, target: nil, healthUrl: nil, database: "x", startedUnix: start), samples: samples))
        return try #require(e.first(.serverErrors))
    }

    @Test func serverErrorsWhenThePoolIsFullAreAnExhaustedPool() throws {
        let d = try serverErrors { rel in
            var s = DatabaseSample()
            let n = rel < -0.5 ? 4 : 10
            s.connections = [ConnectionCount(app: "chat-backend", state: "active", count: n)]
            s.total = n
            s.maxConnections = 100
            s.waitingOnLocks = 0
            return s
        }
        #expect(d.summary.contains("chat-backend held 10 connections (10 busy), the most it opened in the run"), "\(d.summary)")
        #expect(d.summary.contains("chat-backend's pool was exhausted"), "\(d.summary)")
    }

    /// Issue 30: a run of 403s held the pool's connections idle; 0 busy is no exhausted pool, and an empty
    /// application_name never makes "… : 's pool".
    @Test func idleConnectionsAreNoExhaustedPool() throws {
        let d = try serverErrors { _ in
            var s = DatabaseSample()
            s.connections = [ConnectionCount(app: "", state: "idle", count: 5)]
            s.total = 5
            s.maxConnections = 100
            s.waitingOnLocks = 0
            return s
        }
        #expect(!d.summary.contains("pool was exhausted"), "\(d.summary)")
        #expect(!d.summary.contains(": 's"), "\(d.summary)")
    }

    @Test func anUnnamedApplicationIsNamedSo() throws {
        let d = try serverErrors { rel in
            var s = DatabaseSample()
            let n = rel < -0.5 ? 4 : 10
            s.connections = [ConnectionCount(app: "", state: "active", count: n)]
            s.total = n
            s.maxConnections = 100
            s.waitingOnLocks = 0
            return s
        }
        #expect(d.summary.contains("an application without application_name held 10 connections (10 busy)"), "\(d.summary)")
        #expect(d.summary.contains("an application without application_name's pool was exhausted"), "\(d.summary)")
    }

    @Test func serverErrorsBehindALockNameTheTableAndItsHolder() throws {
        let d = try serverErrors { rel in
            var s = DatabaseSample()
            s.connections = [ConnectionCount(app: "chat-backend", state: "active", count: 10)]
            s.total = 11
            s.maxConnections = 100
            s.waitingOnLocks = rel >= -0.5 ? 10 : 0
            if rel >= -0.5 { s.lockWaits = [LockWait(relation: "messages", application: "chat-backend", blockedBy: [4242])] }
            return s
        }
        #expect(d.summary.contains("messages was locked by pid 4242"), "\(d.summary)")
    }

    @Test func serverErrorsAtTheServerLimitNameMaxConnections() throws {
        let d = try serverErrors { _ in
            var s = DatabaseSample()
            s.connections = [ConnectionCount(app: "chat-backend", state: "idle", count: 97)]
            s.total = 97
            s.maxConnections = 100
            return s
        }
        #expect(d.summary.contains("97 of max_connections 100"), "\(d.summary)")
    }

    @Test func htmlPageMatchesItsGoldenFile() throws {
        var e = try Explainer.explain(path: Fixture.path("watch/killed.out.json.gz"), samples: Fixture.path("watch/killed.samples.jsonl"))
        e.source = "killed.out.json.gz (--out json): 580 requests, 330 failed"
        let html = TimelinePage.html(e)
        try compare(html, "killed.html")
        // Self-contained: nothing fetched from anywhere.
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="))
        #expect(!html.contains("@import"))
        #expect(!html.contains("url("))
        for series in ["requests", "failures-connection-refused", "vus", "health", "listener"] {
            #expect(html.contains("data-series=\"\(series)\""), "no \(series) series")
        }

        var pool = try Explainer.explain(path: Fixture.path("watch/pool.out.json.gz"), samples: Fixture.path("watch/pool.samples.jsonl"))
        pool.source = "pool.out.json.gz (--out json): 114 requests, 8 failed"
        let poolPage = TimelinePage.html(pool)
        try compare(poolPage, "pool.html")
        for series in ["failures-server-errors", "db-app", "db-total"] {
            #expect(poolPage.contains("data-series=\"\(series)\""), "no \(series) series")
        }
    }

    @Test func liveTailCountsAGrowingFileAndAGzippedOne() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pf-tail-\(UUID().uuidString.prefix(6)).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let lines = try String(contentsOfFile: Fixture.path("cursor.out.json"), encoding: .utf8)
        let bytes = Array(lines.utf8)
        let tail = LiveOutTail(path: url.path)
        #expect(tail.poll() == false)  // not there yet
        #expect(FileManager.default.createFile(atPath: url.path, contents: Data(bytes[0..<(bytes.count / 2)])))
        #expect(tail.poll())
        let half = tail.requests
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes[(bytes.count / 2)...]))
        try handle.close()
        tail.poll()
        let whole = try Fixture.explain("cursor.out.json")
        #expect(half < tail.requests)
        #expect(tail.requests == whole.facts?.requests)
        #expect(tail.failed == whole.facts?.failedRequests)

        let limited = LiveOutTail(path: Fixture.path("ratelimit.out.json.gz"))
        limited.poll()
        let rl = try Fixture.explain("ratelimit.out.json.gz")
        #expect(limited.requests == rl.facts?.requests)
        #expect(limited.status429 == rl.facts?.failuresByStatus[429])
        #expect(limited.status429 > 0)

        let gz = LiveOutTail(path: Fixture.path("watch/killed.out.json.gz"))
        gz.poll()
        #expect(gz.requests == 580)
        #expect(gz.failed == 330)
    }
}
