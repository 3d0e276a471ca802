import Foundation
import Synchronization
import Testing
import TestSupport

/// A database of its own on the shared cluster: counting preflight's sessions in pg_stat_activity (by datname)
/// must not see the sessions of tests that run in parallel on the shared cluster's other databases.
actor OwnDatabase {
    static let instance = OwnDatabase()
    static let name = "hostile"
    private var starting: Task<PostgresCluster, any Error>?

    func get() async throws -> PostgresCluster {
        if starting == nil {
            starting = Task {
                let cluster = try await PostgresCluster.shared()
                try await cluster.psql("CREATE DATABASE \(Self.name)")
                return cluster
            }
        }
        return try await starting!.value
    }

    /// preflight's URL for the own database.
    static func url(_ pg: PostgresCluster) -> String {
        String(pg.url.dropLast("preflight".count)) + name
    }
}

func preflightRun(_ args: [String], env: [String: String] = [:], in dir: URL? = nil, limit: TimeInterval = 60) async throws -> ProcessOutput {
    try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "GITHUB_STEP_SUMMARY")
    for (k, v) in env { environment[k] = v }
    return try await run(preflightBinary, args, environment: environment, currentDirectory: dir, limit: limit)
}

/// Every format preflight writes.
let reportFormats = ["text", "json", "junit", "github", "markdown"]

/// One run with `--format format --output …`, a `--report` in every format and `$GITHUB_STEP_SUMMARY`, all in a
/// folder of its own: every byte the run wrote, by where it went (stdout, stderr and each file's name).
func everyOutput(_ args: [String], format: String, env: [String: String], in dir: URL, label: String) async throws -> [String: String] {
    let out = dir.appendingPathComponent("out-\(label)-\(format)")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    var all = ["--format", format, "--output", out.appendingPathComponent("output.\(format)").path, "-v"] + args
    for f in reportFormats { all += ["--report", "\(f)=\(out.appendingPathComponent("report.\(f)").path)"] }
    var e = env
    e["GITHUB_STEP_SUMMARY"] = out.appendingPathComponent("step-summary.md").path
    let run = try await preflightRun(all, env: e, in: dir)
    #expect(run.status == 1, "\(format): \(run.stdout) \(run.stderr)")
    var texts = ["stdout": run.stdout, "stderr": run.stderr]
    for name in try FileManager.default.contentsOfDirectory(atPath: out.path) {
        texts[name] = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
    }
    #expect(texts.count == 2 + 1 + reportFormats.count + 1, "every file was written: \(texts.keys.sorted())")
    return texts
}

func checksByID(_ out: ProcessOutput) throws -> [String: [String: Any]] {
    let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "not JSON: \(out.stdout) \(out.stderr)")
    return Dictionary(uniqueKeysWithValues: ((root["checks"] as? [[String: Any]]) ?? []).map { ($0["id"] as! String, $0) })
}

/// Waits (up to `within` seconds) until no session named preflight is left; returns what is left.
func preflightSessions(_ pg: PostgresCluster, within: Double = 5) async throws -> String {
    let sql = "SELECT string_agg(pid || ' ' || state || ' ' || left(query, 60), '; ') FROM pg_stat_activity WHERE application_name = 'preflight' AND backend_type = 'client backend' AND datname = '\(OwnDatabase.name)'"
    let end = Date().addingTimeInterval(within)
    while true {
        let left = try await pg.psql(sql)
        if left.isEmpty || Date() > end { return left }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// One database of their own, one test at a time: each counts the sessions the others would leave.
@Suite(.serialized, .tags(.live), .runsLive) struct OwnDatabaseSuites {
    @Suite(.serialized) struct PostgresStallTests {
        /// A PostgreSQL that accepts, logs in and then stalls: the custom check's query waits on a lock that a
        /// psql session holds. preflight must end at its deadline, leave the holder alone and leave nothing behind;
        /// the database check names the lock (it reads pg_locks, not the table, so it does not wait on it).
        @Test func queryBlockedByALockEndsAtTheDeadline() async throws {
            let pg = try await OwnDatabase.instance.get()
            try await pg.psql("CREATE TABLE IF NOT EXISTS stalled (id int); GRANT SELECT, INSERT, UPDATE, DELETE ON stalled TO preflight", database: OwnDatabase.name)
            let holder = try await LockHolder.start(pg, database: OwnDatabase.name, "LOCK TABLE stalled IN ACCESS EXCLUSIVE MODE")
            defer { holder.kill() }
            let dir = try temporaryDirectory("pf-stall")
            defer { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("prisma"), withIntermediateDirectories: true)
            try """
                datasource db { provider = "postgresql" url = env("DATABASE_URL") }
                model Stalled {
                  id Int @id
                  @@map("stalled")
                }
                """.write(to: dir.appendingPathComponent("prisma/schema.prisma"), atomically: true, encoding: .utf8)
            try """
                timeout: 1s
                database:
                  url: \(OwnDatabase.url(pg))
                schema:
                  prisma: prisma/schema.prisma
                checks:
                  - {id: stalled, type: sql, query: "SELECT count(*) FROM stalled"}
                """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
            let out = try await preflightRun(["--format", "json"], in: dir)
            #expect(out.seconds < 12, "a hang, not a slow start: took \(out.seconds) s")
            #expect(out.status == 1, "\(out.stdout) \(out.stderr)")
            let checks = try checksByID(out)
            #expect(checks["database"]?["status"] as? String == "fail", "\(checks["database"] ?? [:])")
            let found = checks["database"]?["summary"] as? String ?? ""
            #expect(found.contains("stalled is locked ACCESS EXCLUSIVE by pid \(holder.pid) (lock-holder"), "\(found)")
            let summary = checks["stalled"]?["summary"] as? String ?? ""
            #expect(checks["stalled"]?["status"] as? String == "fail")
            #expect(summary.contains("did not finish within 1 s"), "\(summary)")
            #expect(!out.stdout.contains(pg.password))
            // The schema check reads the catalog, not the locked table: the lock does not stall it.
            #expect(checks["schema"]?["status"] as? String == "pass", "\(checks["schema"] ?? [:])")

            // Nothing of preflight's is left, and the holder still holds its lock.
            #expect(try await preflightSessions(pg) == "")
            let held = try await pg.psql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'lock-holder' AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.relation = 'stalled'::regclass", database: OwnDatabase.name)
            #expect(held == "1")
            #expect(try await holder.release() == 0, "the lock holder's transaction committed")
        }

        /// When preflight itself dies (killed by CI's own timeout) while its query waits on a lock, the server
        /// ends that query on its own (statement_timeout): no session of preflight's stays queued behind the lock.
        @Test func killedPreflightLeavesNoQueryQueuedBehindTheLock() async throws {
            let pg = try await OwnDatabase.instance.get()
            try await pg.psql("CREATE TABLE IF NOT EXISTS stalled2 (id int); GRANT SELECT, INSERT, UPDATE, DELETE ON stalled2 TO preflight", database: OwnDatabase.name)
            let holder = try await LockHolder.start(pg, database: OwnDatabase.name, "LOCK TABLE stalled2 IN ACCESS EXCLUSIVE MODE")
            defer { holder.kill() }
            let dir = try temporaryDirectory("pf-stall")
            defer { try? FileManager.default.removeItem(at: dir) }
            try """
                timeout: 2s
                database:
                  url: \(OwnDatabase.url(pg))
                checks:
                  - {id: stalled, type: sql, query: "SELECT count(*) FROM stalled2"}
                """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
            // Killed (SIGKILL) as soon as its query waits on the lock (a loaded machine may take more than a second
            // to get there: the kill waits for it, at most 15 s).
            let p = Process()
            p.executableURL = URL(fileURLWithPath: preflightBinary)
            p.arguments = ["--format", "json"]
            p.currentDirectoryURL = dir
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'preflight' AND wait_event_type = 'Lock' AND datname = '\(OwnDatabase.name)'"
            var waiting = "0"
            let end = ContinuousClock.now + .seconds(15)
            while waiting != "1", p.isRunning, ContinuousClock.now < end {
                try await Task.sleep(for: .milliseconds(50))
                waiting = try await pg.psql(query)
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(waiting == "1", "the killed run's query was waiting on the lock")
            #expect(try await preflightSessions(pg, within: 8) == "", "the server ended the orphaned query")
            #expect(try await holder.release() == 0)
        }
    }

    @Suite(.serialized) struct SideEffectTests {
        /// Every check that opens a session (database, pool with --probe-connections, schema, custom sql) closes it.
        @Test func noConnectionLeftAfterAFullRun() async throws {
            let pg = try await OwnDatabase.instance.get()
            let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
            defer { api.stop() }
            let dir = try temporaryDirectory("pf-side")
            defer { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("prisma"), withIntermediateDirectories: true)
            try """
                datasource db { provider = "postgresql" url = env("DATABASE_URL") }
                model Thing { id Int @id }
                """.write(to: dir.appendingPathComponent("prisma/schema.prisma"), atomically: true, encoding: .utf8)
            try """
                target: \(api.url)
                timeout: 2s
                database:
                  url: \(OwnDatabase.url(pg))
                  pools:
                    - {name: api, size: 5}
                  probe_connections: true
                schema:
                  prisma: prisma/schema.prisma
                checks:
                  - {id: one, type: sql, query: "SELECT 1", expect: "= 1"}
                  - {id: broken, type: sql, query: "SELECT * FROM no_such_table"}
                """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
            let out = try await preflightRun(["--format", "json"], in: dir)
            let checks = try checksByID(out)
            #expect(checks["database"]?["status"] as? String == "pass", "\(out.stdout)")
            #expect(checks["one"]?["status"] as? String == "pass")
            #expect(checks["broken"]?["status"] as? String == "fail")
            #expect(checks["pool"]?["status"] != nil)
            #expect(try await preflightSessions(pg) == "")
            // Whatever name its sessions carry: no client backend is left but this psql's own (and no lock holder runs now).
            let sql = "SELECT string_agg(application_name || ' ' || coalesce(usename, '') || ' ' || state || ' ' || left(query, 60), '; ') FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name <> 'lock-holder' AND datname = '\(OwnDatabase.name)'"
            var others = try await pg.psql(sql)
            for _ in 0..<50 where !others.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
                others = try await pg.psql(sql)
            }
            #expect(others == "", "client backends left: \(others)")
        }

        /// A custom sql check is the one place a user's SQL reaches the server: whatever it tries, it cannot write.
        @Test func customSQLCannotWriteThroughTheBinary() async throws {
            let pg = try await OwnDatabase.instance.get()
            try await pg.psql("""
                CREATE TABLE IF NOT EXISTS guarded (x int); GRANT ALL ON guarded TO preflight;
                CREATE SEQUENCE IF NOT EXISTS guarded_seq; GRANT ALL ON guarded_seq TO preflight
                """, database: OwnDatabase.name)
            let attempts = [
                "INSERT INTO guarded VALUES (1)",
                "WITH w AS (INSERT INTO guarded VALUES (2) RETURNING x) SELECT x FROM w",
                "WITH s AS (SELECT set_config('transaction_read_only', 'off', true)) INSERT INTO guarded SELECT 3 FROM s",
                "SELECT nextval('guarded_seq')",
                "CREATE TABLE made_by_preflight (x int)",
                "COMMIT; INSERT INTO guarded VALUES (4)",
            ]
            let dir = try temporaryDirectory("pf-ro")
            defer { try? FileManager.default.removeItem(at: dir) }
            let checks = attempts.enumerated().map { i, sql in
                "  - {id: w\(i), type: sql, query: \"\(sql.replacingOccurrences(of: "\"", with: "\\\""))\"}"
            }.joined(separator: "\n")
            try """
                timeout: 2s
                database:
                  url: \(OwnDatabase.url(pg))
                checks:
                \(checks)
                """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
            let out = try await preflightRun(["--format", "json"], in: dir)
            let results = try checksByID(out)
            for i in attempts.indices {
                #expect(results["w\(i)"]?["status"] as? String == "fail", "\(attempts[i]): \(results["w\(i)"] ?? [:])")
            }
            #expect(try await pg.psql("SELECT count(*) FROM guarded", database: OwnDatabase.name) == "0")
            #expect(try await pg.psql("SELECT last_value || ' ' || is_called FROM guarded_seq", database: OwnDatabase.name) == "1 false")
            #expect(try await pg.psql("SELECT count(*) FROM pg_class WHERE relname = 'made_by_preflight'", database: OwnDatabase.name) == "0")
            #expect(try await preflightSessions(pg) == "")
        }
    }
}

/// The rate-limit burst is real traffic: it must send exactly what it says and stop where it says.
@Suite(.serialized, .tags(.live), .runsLive) struct BurstBoundTests {
    struct Tally: Decodable { let count: Int; let first: Double?; let last: Double?; let peak: Int }

    func tally(_ server: FixtureServer) async throws -> Tally {
        let out = try await run("/usr/bin/python3", ["-c", "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
                                                     server.url + "/__tally"])
        return try JSONDecoder().decode(Tally.self, from: Data(out.stdout.utf8))
    }

    func burst(_ server: FixtureServer, count: Int, concurrency: Int, timeout: String) async throws -> ProcessOutput {
        let dir = try temporaryDirectory("pf-burst")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            target: \(server.url)
            timeout: \(timeout)
            rate_limit:
              request: POST /burst
              body: '{"x":1}'
              headers: {Content-Type: application/json}
              burst: \(count)
              concurrency: \(concurrency)
            """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        return try await preflightRun(["--format", "json"], in: dir)
    }

    @Test func sendsExactlyTheBurstWithinItsConcurrency() async throws {
        let s = try await FixtureServer.start("tally", ["0", "200"])
        defer { s.stop() }
        let out = try await burst(s, count: 60, concurrency: 5, timeout: "2s")
        let t = try await tally(s)
        #expect(t.count == 60, "\(out.stdout)")
        #expect(t.peak <= 5, "at most 5 requests in flight, saw \(t.peak)")
        #expect(try checksByID(out)["rate-limit"]?["status"] as? String == "pass", "\(out.stdout)")
    }

    @Test func stopsAtItsTimeLimitAgainstASlowServer() async throws {
        // Each answer takes 0.5 s: 5,000 requests over 10 connections would take 250 s; the burst is
        // bounded by 4 × --timeout (4 s) and the check's budget (5 × --timeout + grace).
        let s = try await FixtureServer.start("tally", ["0.5", "200"])
        defer { s.stop() }
        let out = try await burst(s, count: 5000, concurrency: 10, timeout: "1s")
        #expect(out.seconds < 16, "took \(out.seconds) s")
        let t = try await tally(s)
        #expect(t.count < 200, "sent \(t.count) requests")
        #expect(t.peak <= 10)
        if let first = t.first, let last = t.last { #expect(last - first < 6, "requests went on for \(last - first) s") }
    }

    @Test func endlessBodiesEndAtTheTimeLimit() async throws {
        // Every answer is a 200 whose body never ends: each request runs into --timeout, the burst into 4 × --timeout.
        let s = try await FixtureServer.start("endless")
        defer { s.stop() }
        let out = try await burst(s, count: 5000, concurrency: 10, timeout: "1s")
        #expect(out.seconds < 20, "took \(out.seconds) s")
        #expect(try checksByID(out)["rate-limit"]?["status"] != nil, "\(out.stdout) \(out.stderr)")
    }

    @Test func stopsSoonAfterTheLimiterRefuses() async throws {
        let s = try await FixtureServer.start("tally", ["0", "429"])
        defer { s.stop() }
        let out = try await burst(s, count: 5000, concurrency: 25, timeout: "2s")
        let t = try await tally(s)
        // Stopped after 5 refusals; requests already in flight on the other connections may still land.
        #expect(t.count <= 5 + 25, "sent \(t.count) requests")
        let rl = try checksByID(out)["rate-limit"]
        #expect(rl?["status"] as? String == "fail", "\(out.stdout)")
    }
}
