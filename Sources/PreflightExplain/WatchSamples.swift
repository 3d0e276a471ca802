import Foundation
import PreflightCore

/// The first line of a samples file: what was watched, and how often.
public struct WatchHeader: Codable, Sendable, Equatable {
    public var kind = "preflight-watch"
    public var schema = 1
    public var intervalS: Double
    /// host:port of the target, when one was configured.
    public var target: String?
    /// The health URL (redacted).
    public var healthUrl: String?
    /// host:port/dbname of the database (no credentials).
    public var database: String?
    public var startedUnix: Double

    enum CodingKeys: String, CodingKey {
        case kind, schema, target, database
        case intervalS = "interval_s", healthUrl = "health_url", startedUnix = "started_unix"
    }

    public init(intervalS: Double, target: String?, healthUrl: String?, database: String?, startedUnix: Double) {
        self.intervalS = intervalS
        self.target = target
        self.healthUrl = healthUrl
        self.database = database
        self.startedUnix = startedUnix
    }
}

/// One look at the stack while k6 ran; a kind missing from a sample was not watched (or its probe was still busy).
public struct WatchSample: Codable, Sendable, Equatable {
    /// Seconds since the watch began, and the wall clock at the same moment (to line up with k6's timestamps).
    public var t: Double
    public var unix: Double
    public var port: PortSample?
    public var health: HealthSample?
    public var listener: ListenerSample?
    public var db: DatabaseSample?
    /// The gRPC server's health (`grpc.health.v1.Health/Check`), when the script uses k6/net/grpc.
    public var grpc: GRPCHealthSample?
    public var k6: K6LiveSample?

    public init(t: Double, unix: Double) {
        self.t = t
        self.unix = unix
    }
}

/// One `grpc.health.v1.Health/Check` of the script's gRPC server: SERVING, NOT_SERVING, UNKNOWN, or the call's
/// gRPC status ("status 12") or error; `busy` when the previous one had not finished.
public struct GRPCHealthSample: Codable, Sendable, Equatable {
    public var state: String?
    public var ms: Double?
    public var error: String?
    public var busy: Bool?
    public init(state: String? = nil, ms: Double? = nil, error: String? = nil, busy: Bool? = nil) {
        self.state = state; self.ms = ms; self.error = error; self.busy = busy
    }
}

/// A TCP connect to the target: open, refused, timeout, error; `busy` when the previous connect had not finished.
public struct PortSample: Codable, Sendable, Equatable {
    public var state: String
    public var ms: Double?
    public init(state: String, ms: Double? = nil) { self.state = state; self.ms = ms }
}

/// One GET of the health endpoint under a short deadline.
public struct HealthSample: Codable, Sendable, Equatable {
    public var status: Int?
    public var ms: Double?
    public var error: String?
    public var busy: Bool?
    public init(status: Int? = nil, ms: Double? = nil, error: String? = nil, busy: Bool? = nil) {
        self.status = status; self.ms = ms; self.error = error; self.busy = busy
    }
    public var ok: Bool { status.map { (200..<300).contains($0) } ?? false }
}

/// The process listening on the target port (a local target only): present with its pid, or gone.
public struct ListenerSample: Codable, Sendable, Equatable {
    public var state: String
    public var pid: Int?
    public var process: String?
    public init(state: String, pid: Int? = nil, process: String? = nil) { self.state = state; self.pid = pid; self.process = process }
}

/// What one query on the watcher's read-only session saw in pg_stat_activity and pg_locks.
public struct DatabaseSample: Codable, Sendable, Equatable {
    /// Client connections by application_name and state (active, idle, idle in transaction, …).
    public var connections: [ConnectionCount]?
    public var total: Int?
    public var maxConnections: Int?
    /// Sessions waiting on a lock.
    public var waitingOnLocks: Int?
    /// Up to 5 of them: the relation they wait for and the pids that block them.
    public var lockWaits: [LockWait]?
    public var error: String?
    public var busy: Bool?

    enum CodingKeys: String, CodingKey {
        case connections, total, error, busy
        case maxConnections = "max_connections", waitingOnLocks = "waiting_on_locks", lockWaits = "lock_waits"
    }

    public init() {}

    /// Connections of one application (every state).
    public func connections(of app: String) -> Int { (connections ?? []).filter { $0.app == app }.reduce(0) { $0 + $1.count } }
    /// The application with the most connections, not counting preflight itself.
    public var busiestApp: String? {
        var by: [String: Int] = [:]
        for c in connections ?? [] where c.app != "preflight" { by[c.app, default: 0] += c.count }
        return by.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    }
    /// Active (and idle in transaction) connections of one application: the ones a pool has handed out.
    public func busy(of app: String) -> Int {
        (connections ?? []).filter { $0.app == app && $0.state != "idle" }.reduce(0) { $0 + $1.count }
    }
}

/// Client connections of one application in one state.
public struct ConnectionCount: Codable, Sendable, Equatable {
    public var app: String
    public var state: String
    public var count: Int
    public init(app: String, state: String, count: Int) { self.app = app; self.state = state; self.count = count }
}

/// A session waiting on a lock.
public struct LockWait: Codable, Sendable, Equatable {
    public var relation: String?
    public var application: String?
    public var blockedBy: [Int]
    enum CodingKeys: String, CodingKey { case relation, application, blockedBy = "blocked_by" }
    public init(relation: String?, application: String?, blockedBy: [Int]) {
        self.relation = relation; self.application = application; self.blockedBy = blockedBy
    }
}

/// What k6's streamed --out json showed so far (cumulative counts of http_reqs points).
public struct K6LiveSample: Codable, Sendable, Equatable {
    public var requests: Int
    public var failed: Int
    public var status429: Int
    public init(requests: Int, failed: Int, status429: Int) { self.requests = requests; self.failed = failed; self.status429 = status429 }
}

/// The samples file: JSON lines, the header first, then one sample per interval.
public struct WatchSamples: Sendable, Equatable {
    public var header: WatchHeader
    public var samples: [WatchSample]

    public init(header: WatchHeader, samples: [WatchSample]) {
        self.header = header
        self.samples = samples
    }

    /// A samples file holds at most this many samples (a day at 1 s, 2.4 h at 0.1 s); the rest is ignored.
    public static let maxSamples = 86_400

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// One JSON line (no newline) for the header or a sample.
    public static func line<T: Encodable>(_ value: T) -> String {
        guard let data = try? encoder().encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The whole file's text.
    public func text() -> String {
        ([Self.line(header)] + samples.map { Self.line($0) }).joined(separator: "\n") + "\n"
    }

    /// Reads a samples file; a garbage line is skipped and counted in `warnings`.
    public static func read(path: String) throws(ExplainError) -> (WatchSamples, [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path, FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        guard data.count <= 512 << 20 else { throw .notK6(path, "a samples file over 512 MiB") }
        let d = JSONDecoder()
        var header: WatchHeader?
        var samples: [WatchSample] = []
        var bad = 0
        for line in data.split(separator: 0x0A) where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            if header == nil {
                guard let h = try? d.decode(WatchHeader.self, from: Data(line)), h.kind == "preflight-watch" else {
                    throw .notK6(path, "not a preflight samples file (its first line is no preflight-watch header)")
                }
                header = h
                continue
            }
            guard samples.count < maxSamples else { break }
            if let s = try? d.decode(WatchSample.self, from: Data(line)) { samples.append(s) } else { bad += 1 }
        }
        guard let header else { throw .empty(path) }
        let warnings = bad > 0 ? ["\(path): \(formatCount(bad)) lines are not samples, skipped"] : []
        return (WatchSamples(header: header, samples: samples), warnings)
    }
}
