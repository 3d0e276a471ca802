import Foundation
import Synchronization

/// A loopback server from Tests/Fixtures/http-fixture.py; it exits when `stop()` closes its stdin.
public final class FixtureServer: @unchecked Sendable {
    public let port: Int
    public let host: String
    private let process: Process
    private let stdin: Pipe

    /// Starts `http-fixture.py [--host H] MODE ARGS…` off the cooperative pool and waits for its port.
    public static func start(_ mode: String, _ args: [String] = [], host: String = "127.0.0.1", options: [String] = []) async throws -> FixtureServer {
        try await offThread { try FixtureServer(mode, args, host: host, options: options) }
    }

    /// Another fixture of Tests/Fixtures that prints "PORT N" and exits when its stdin closes (openapi-fixture.py).
    public static func start(script: String) async throws -> FixtureServer {
        try await offThread { try FixtureServer(nil, script: script) }
    }

    init(_ mode: String?, _ args: [String] = [], host: String = "127.0.0.1", options: [String] = [], script: String = "http-fixture.py") throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [packageRoot.appendingPathComponent("Tests/Fixtures/\(script)").path]
            + (host == "127.0.0.1" ? [] : ["--host", host]) + options + (mode.map { [$0] } ?? []) + args
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = FileHandle.nullDevice
        try p.run()
        let line = Self.readLine(output.fileHandleForReading)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            p.terminate()
            throw FixtureError("fixture \(mode ?? script) did not start: \(line)")
        }
        self.port = port
        self.host = host
        self.process = p
        self.stdin = input
    }

    /// The fixture's process (to check that a listener is named after it).
    public var pid: Int { Int(process.processIdentifier) }

    /// http://127.0.0.1:PORT or http://[::1]:PORT
    public var url: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }

    /// Closes its stdin and signals it; does not wait (the fixture exits on its own).
    public func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
    }

    /// SIGKILL, as a crash, and a stop that always ends it: the fixture inherits the signal mask of the test
    /// runner's thread (SIGTERM blocked), and its stdin may be held open by any child spawned meanwhile.
    /// SIGKILL, whenever the server is still this process's child (its /proc entry names us as parent; a zombie
    /// takes it harmlessly): `Process.isRunning` alone was seen false for a live fixture in a fresh root, and the
    /// test's "backend killed mid-run" never happened.
    public func kill() {
        let pid = process.processIdentifier
        if process.isRunning || Self.isChild(pid) || Self.isFixture(pid) { Glibc.kill(pid, SIGKILL) }
    }

    /// Its process still runs (a zombie counts as gone).
    public var isAlive: Bool { Self.isFixture(process.processIdentifier) }

    /// The pid is still an http-fixture.py (not a zombie, not a reused pid): whoever its parent is now.
    static func isFixture(_ pid: Int32) -> Bool {
        guard pid > 0, let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
              String(decoding: cmdline, as: UTF8.self).contains("http-fixture.py") else { return false }
        return true
    }

    static func isChild(_ pid: Int32) -> Bool {
        guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        // After "pid (comm)": state, then ppid.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == getpid()
    }

    deinit { stop() }

    static func readLine(_ handle: FileHandle) -> String {
        var bytes = Data()
        while let b = try? handle.read(upToCount: 1), !b.isEmpty, b != Data([10]) { bytes.append(b) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A throwaway PostgreSQL cluster from Tests/Fixtures/pg-cluster.sh (own data dir, own port).
public final class PostgresCluster: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    /// postgresql://preflight:…@127.0.0.1:PORT/preflight
    public let url: String
    public let adminURL: String
    public let password: String

    /// Starts a cluster off the cooperative pool.
    public static func start(maxConnections: Int = 100) async throws -> PostgresCluster {
        try await offThread { try PostgresCluster(maxConnections: maxConnections) }
    }

    /// A hot standby of `primary` (pg_basebackup -R), on its own port and data dir: read-only, in recovery.
    public static func standby(of primary: PostgresCluster) async throws -> PostgresCluster {
        try await offThread { try PostgresCluster(standbyOf: primary) }
    }

    convenience init(maxConnections: Int = 100, password: String = "pf-test-\(UUID().uuidString.prefix(6))") throws {
        let directory = try temporaryDirectory("pf-pg")
        try self.init(directory: directory, password: password,
                      ["start", directory.path, "--max-connections", String(maxConnections), "--password", password])
    }

    convenience init(standbyOf primary: PostgresCluster) throws {
        let directory = try temporaryDirectory("pf-pg-standby")
        try self.init(directory: directory, password: primary.password, ["standby", primary.directory.path, directory.path])
    }

    init(directory: URL, password: String, _ arguments: [String]) throws {
        self.directory = directory
        self.password = password
        let out = try runProcess("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/pg-cluster.sh").path] + arguments,
                                 limit: 120)
        guard out.status == 0 else { throw FixtureError("PostgreSQL did not start: \(out.stderr)") }
        var values: [String: String] = [:]
        for line in out.stdout.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { values[kv[0]] = kv[1] }
        }
        guard let p = values["PGPORT"].flatMap(Int.init), let u = values["PG_URL"], let a = values["PG_ADMIN_URL"] else {
            throw FixtureError("pg-cluster.sh printed no URL: \(out.stdout)")
        }
        port = p
        url = u
        adminURL = a
    }

    /// Runs SQL as the superuser through psql; returns its output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        try await offThread { try self.psqlBlocking(sql, database: database) }
    }

    func psqlBlocking(_ sql: String, database: String = "postgres") throws -> String {
        let url = adminURL.hasSuffix("/postgres") ? String(adminURL.dropLast("postgres".count)) + database : adminURL
        let out = try runProcess("/usr/bin/psql", [url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql], limit: 30)
        guard out.status == 0 else { throw FixtureError("psql failed: \(out.stderr)") }
        return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func stop() async {
        _ = try? await offThread { self.stopBlocking() }
    }

    func stopBlocking() {
        _ = try? runProcess("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/pg-cluster.sh").path, "stop", directory.path], limit: 60)
        try? FileManager.default.removeItem(at: directory)
    }

    /// One cluster per test process, started on first use and stopped when the process exits.
    public static func shared() async throws -> PostgresCluster {
        try await SharedCluster.instance.get()
    }
}

/// Starts the shared cluster once; later callers await the same start.
actor SharedCluster {
    static let instance = SharedCluster()
    private var starting: Task<PostgresCluster, any Error>?

    func get() async throws -> PostgresCluster {
        if starting == nil {
            starting = Task {
                let cluster = try await PostgresCluster.start()
                exitCluster.withLock { $0 = cluster }
                atexit { exitCluster.withLock { $0 }?.stopBlocking() }
                return cluster
            }
        }
        return try await starting!.value
    }
}

private let exitCluster = Mutex<PostgresCluster?>(nil)

/// A real PgBouncer (Tests/Fixtures/pgbouncer.sh) in front of a test cluster, as the role `preflight`.
public final class PgBouncerFixture: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    /// postgresql://preflight:…@127.0.0.1:PORT/preflight, through PgBouncer.
    public let url: String
    /// postgresql://preflight:…@127.0.0.1:PORT/pgbouncer: its admin console (preflight is in stats_users).
    public let adminURL: String

    /// default_pool_size 5; max_client_conn 50 unless told.
    public static func start(_ pg: PostgresCluster, mode: String, maxClientConn: Int = 50) async throws -> PgBouncerFixture {
        try await offThread { try PgBouncerFixture(pg, mode: mode, maxClientConn: maxClientConn) }
    }

    init(_ pg: PostgresCluster, mode: String, maxClientConn: Int) throws {
        directory = try temporaryDirectory("pf-pgb")
        let out = try runProcess("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/pgbouncer.sh").path, "start",
                                                directory.path, String(pg.port), mode, "preflight", pg.password, String(maxClientConn)], limit: 30)
        guard out.status == 0, let line = out.stdout.split(separator: "\n").first(where: { $0.hasPrefix("PORT=") }),
              let p = Int(line.dropFirst(5)) else {
            throw FixtureError("PgBouncer did not start: \(out.stderr)")
        }
        port = p
        url = "postgresql://preflight:\(pg.password)@127.0.0.1:\(p)/preflight"
        adminURL = "postgresql://preflight:\(pg.password)@127.0.0.1:\(p)/pgbouncer"
    }

    public func stop() {
        _ = try? runProcess("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/pgbouncer.sh").path, "stop", directory.path], limit: 30)
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A psql session that runs `sql` in an open transaction (a LOCK, a SELECT, …) and keeps the transaction open
/// until `release()`; it carries application_name `lock-holder` unless told otherwise.
public final class LockHolder: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    /// The holder's backend pid (pg_backend_pid() inside its transaction).
    public private(set) var pid = 0

    /// As the superuser, on `database` of `cluster`.
    public static func start(_ cluster: PostgresCluster, database: String, _ sql: String) async throws -> LockHolder {
        try await start(url: String(cluster.adminURL.dropLast("postgres".count)) + database, sql)
    }

    /// As whoever `url` logs in as.
    public static func start(url: String, _ sql: String, application: String = "lock-holder") async throws -> LockHolder {
        try await offThread { try LockHolder(url: url, sql, application: application) }
    }

    private init(url: String, _ sql: String, application: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]
        var env = ProcessInfo.processInfo.environment
        env["PGAPPNAME"] = application
        process.environment = env
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data("BEGIN;\n\(sql);\nSELECT 'locked ' || pg_backend_pid() || ' .';\n".utf8))
        // Wait until the statement returned: psql prints our marker after it.
        var seen = Data()
        while true {
            let text = String(decoding: seen, as: UTF8.self)
            if let r = text.range(of: "locked "), let end = text.range(of: " .", range: r.upperBound..<text.endIndex),
               let p = Int(text[r.upperBound..<end.lowerBound]) {
                pid = p
                break
            }
            guard let b = try output.fileHandleForReading.read(upToCount: 1), !b.isEmpty else {
                throw FixtureError("the lock holder exited: \(text)")
            }
            seen.append(b)
        }
    }

    /// Commits and waits for psql to exit; returns its exit status (0: the session was unaffected).
    public func release() async throws -> Int32 {
        try await offThread {
            self.input.fileHandleForWriting.write(Data("COMMIT;\n\\q\n".utf8))
            try? self.input.fileHandleForWriting.close()
            self.process.waitUntilExit()
            return self.process.terminationStatus
        }
    }

    public func kill() { if process.isRunning { process.terminate() } }
}
