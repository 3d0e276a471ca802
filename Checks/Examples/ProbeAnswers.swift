import Foundation
import PreflightCore
import PreflightProbes
import Synchronization

/// What the outside world answers in an example (`World.answers`): DNS, TCP, the listening sockets, HTTP, a burst,
/// PostgreSQL, PgBouncer's console, child processes and the machine. Plain data (a burst as a function of its plan),
/// so an example reads as the situation it describes; `probes` turns it into the one scripted fake `Probes` the
/// `CheckExamples` test runs every example against. It lives beside the checks (not in Core, which knows no probe).
public struct ProbeAnswers: WorldAnswers {
    /// Host name → IP literals, or why it does not resolve. A name not listed does not exist; an IP literal resolves to itself.
    public var dns: [String: Result<[String], ResolveError>] = [:]
    /// "ip" or "ip:port" → how a connect ends. Not listed: refused.
    public var tcp: [String: ConnectOutcome] = [:]
    /// "ip:port" → the HTTP/2 SETTINGS a plaintext server sends first (not listed: not read).
    public var http2: [String: HTTP2Settings] = [:]
    /// The machine's listening sockets.
    public var listening: [ListeningSocket] = []
    /// "METHOD url" or "url" → the exchange; "METHOD url (any certificate)" answers a request that verifies no certificate.
    /// Not listed: curl 7, connection refused.
    public var http: [String: HTTPExchange] = [:]
    /// What a burst of traffic gets back (nil: every request refused).
    public var burst: (@Sendable (BurstPlan) -> BurstResult)?
    /// PostgreSQL: the login's result (nil: connection refused).
    public var postgres: Result<PostgresAnswers, PostgresError>?
    /// PgBouncer's admin console: each SHOW's table (nil: connection refused).
    public var pgbouncer: Result<[PgBouncerShow: PgTable], PostgresError>?
    /// A program's first argument ("version", "inspect") → how it ended. Not listed: it cannot be started.
    public var subprocess: [String: Result<SubprocessResult, SubprocessError>] = [:]
    /// The machine: limits, /proc files, cores, PATH, environment.
    public var host = HostAnswers()
    /// k6's short run against the loopback sink (nil: it could not run).
    public var bench: GeneratorBenchResult?

    public init(_ build: (inout ProbeAnswers) -> Void = { _ in }) { build(&self) }

    /// A gRPC answer over HTTP/2: 200, application/grpc, the messages framed, grpc-status in the trailers.
    public static func grpc(status: Int = 0, messages: [[UInt8]] = []) -> HTTPExchange {
        var x = HTTPExchange()
        x.status = 200
        x.httpVersion = "2"
        x.headers = [("content-type", "application/grpc"), ("grpc-status", "\(status)")]
        x.body = Data(messages.flatMap(ProtoWire.frame))
        return x
    }

    /// A reflection exchange's answers: the service list, then the descriptor of `proto` (a .proto's text).
    public static func reflection(services: [String], proto: String) -> [[UInt8]] {
        let list = ProtoWire.field(6, services.flatMap { ProtoWire.field(1, ProtoWire.field(1, $0)) })
        guard case .success(let file) = ProtoFile.parse(proto) else { return [list] }
        return [list, ProtoWire.field(4, ProtoWire.field(1, ProtoWire.descriptor(file)))]
    }

    /// The one scripted fake: every probe answers from this world.
    public var probes: Probes {
        Probes(resolver: ScriptedResolver(answers: dns), tcp: ScriptedTCP(answers: tcp, http2: http2), sockets: ScriptedSockets(sockets: listening),
               http: ScriptedHTTP(answers: http), burster: ScriptedBurster(answer: burst), postgres: ScriptedPostgres(answer: postgres),
               subprocess: ScriptedSubprocess(answers: subprocess), host: host,
               pgbouncer: ScriptedPgBouncer(answer: pgbouncer), bench: ScriptedBench(answer: bench))
    }
}

/// A PostgreSQL session's answers: the first entry whose text the SQL contains answers it; other queries get no rows.
public struct PostgresAnswers: Sendable {
    public var queries: [(contains: String, answer: Result<[[String?]], PostgresError>)]
    public var readOnlyMode: ReadOnlyMode
    /// Logins the server accepts in all before it answers "too many clients" (nil: every one).
    public var acceptsConnections: Int?

    public init(_ queries: [(contains: String, answer: Result<[[String?]], PostgresError>)] = [], readOnlyMode: ReadOnlyMode = .sessionOption) {
        self.queries = queries
        self.readOnlyMode = readOnlyMode
    }

    /// A server that answers the login query as PostgreSQL 16.4 does, for `user` on `database`, and `queries` besides.
    public static func server(user: String = "chat", database: String = "chat", readOnly: Bool = true,
                              _ queries: [(contains: String, answer: Result<[[String?]], PostgresError>)] = []) -> PostgresAnswers {
        PostgresAnswers(queries + [("current_setting('server_version')", .success([["16.4", readOnly ? "on" : "off", user, database]]))])
    }
}

/// The machine as the load generator will inherit it.
public struct HostAnswers: HostFacts {
    public var soft = 65_536, hard = 65_536
    public var files: [String: String] = [:]
    public var coreCount = 4
    public var programs: [String: String] = [:]
    public var variables: [String: String] = [:]
    /// Directory entry counts (/proc/PID/fd); unlisted directories cannot be read.
    public var directories: [String: Int] = [:]
    /// Files whose text changes from one read to the next (counters read before and after the ramp): the n-th
    /// read gets the n-th text, the last one stays. They take precedence over `files`.
    public var successive: [String: [String]] = [:]
    let reads = ReadCount()

    public init() {}
    public func fileLimits() -> (soft: Int, hard: Int) { (soft, hard) }
    public func readFile(_ path: String) -> String? {
        guard let texts = successive[path], !texts.isEmpty else { return files[path] }
        let n = reads.count.withLock { $0[path, default: 0] += 1; return $0[path]! }
        return texts[min(n, texts.count) - 1]
    }
    public func cores() -> Int { coreCount }
    public func which(_ program: String) -> String? { programs[program] }
    public func environment(_ name: String) -> String? { variables[name] }
    public func entryCount(_ directory: String) -> Int? { directories[directory] }
}

struct ScriptedResolver: Resolver {
    let answers: [String: Result<[String], ResolveError>]
    func resolve(host: String, port: Int) async -> Result<[SocketAddress], ResolveError> {
        func address(_ ip: String) -> SocketAddress { SocketAddress(family: ip.contains(":") ? .ipv6 : .ipv4, ip: ip, port: port) }
        switch answers[host] {
        case .success(let ips)?: return .success(ips.map(address))
        case .failure(let e)?: return .failure(e)
        case nil:
            let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
            if bare.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }), bare.contains(".") || bare.contains(":") {
                return .success([address(bare)])
            }
            return .failure(ResolveError(.noSuchHost, "Name or service not known"))
        }
    }
}

struct ScriptedTCP: TCPConnector {
    let answers: [String: ConnectOutcome]
    var http2: [String: HTTP2Settings] = [:]
    func connect(to address: SocketAddress, timeout: Duration) async -> ConnectOutcome {
        answers["\(address.ip):\(address.port)"] ?? answers[address.ip] ?? .refused
    }
    func http2Settings(at address: SocketAddress, timeout: Duration) async -> Result<HTTP2Settings, HTTP2SettingsError>? {
        http2["\(address.ip):\(address.port)"].map { .success($0) }
    }
}

struct ScriptedSockets: ListeningSocketTable {
    let sockets: [ListeningSocket]
    func listeningSockets() -> [ListeningSocket] { sockets }
    func localAddresses() -> Set<String> { ["127.0.0.1", "::1"] }
}

struct ScriptedHTTP: HTTPClient {
    let answers: [String: HTTPExchange]
    func send(_ method: String, url: String, headers: [String: String], body: Data?, timeout: Duration, bodyCap: Int) async -> HTTPExchange {
        await send(method, url: url, headers: headers, body: body, timeout: timeout, bodyCap: bodyCap, options: HTTPRequestOptions())
    }
    func send(_ method: String, url: String, headers: [String: String], body: Data?, timeout: Duration, bodyCap: Int,
              options: HTTPRequestOptions) async -> HTTPExchange {
        if !options.verifyPeer, let a = answers["\(method) \(url) (any certificate)"] { return a }
        if let a = answers["\(method) \(url)"] ?? answers[url] { return a }
        var refused = HTTPExchange()
        refused.failure = .init(code: 7, message: "Failed to connect: Connection refused", connected: false)
        return refused
    }
}

struct ScriptedBurster: HTTPBurster {
    let answer: (@Sendable (BurstPlan) -> BurstResult)?
    func burst(_ plan: BurstPlan, isLimited: @escaping @Sendable (Int, [(name: String, value: String)]) -> Bool) async -> BurstResult {
        if let answer { return answer(plan) }
        let refused = (1...max(1, plan.count)).map {
            BurstResponse(number: $0, status: nil, failure: "Failed to connect: Connection refused", failureCode: 7)
        }
        return BurstResult(responses: refused, sent: plan.count, stop: .completed, elapsed: .milliseconds(5), connections: 0)
    }
}

struct ScriptedPostgres: PostgresConnector {
    let answer: Result<PostgresAnswers, PostgresError>?
    let logins = LoginCount()
    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PostgresSession, PostgresError> {
        switch answer {
        case .success(let a)?:
            let n = logins.count.withLock { $0 += 1; return $0 }
            if let cap = a.acceptsConnections, n > cap { return .failure(PostgresError("FATAL:  sorry, too many clients already")) }
            return .success(ScriptedSession(answers: a))
        case .failure(let e)?: return .failure(e)
        case nil:
            return .failure(PostgresError("connection to server at \"\(url.host ?? "")\", port \(url.port) failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"))
        }
    }
}

/// Reads so far of each `successive` file, shared by every copy of one world's host.
final class ReadCount: Sendable {
    let count = Mutex<[String: Int]>([:])
}

/// Logins so far, shared by every connect of one run.
final class LoginCount: Sendable {
    let count = Mutex(0)
}

struct ScriptedSession: PostgresSession {
    let answers: PostgresAnswers
    var readOnlyMode: ReadOnlyMode { answers.readOnlyMode }
    func query(_ sql: String, timeout: Duration) async -> Result<[[String?]], PostgresError> {
        answers.queries.first { sql.contains($0.contains) }?.answer ?? .success([])
    }
    func close() async {}
}

struct ScriptedPgBouncer: PgBouncerConsoleConnector, PgBouncerConsole {
    let answer: Result<[PgBouncerShow: PgTable], PostgresError>?
    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PgBouncerConsole, PostgresError> {
        switch answer {
        case .success?: return .success(self)
        case .failure(let e)?: return .failure(e)
        case nil: return .failure(PostgresError("connection to server failed: Connection refused"))
        }
    }
    func show(_ what: PgBouncerShow, timeout: Duration) async -> Result<PgTable, PostgresError> {
        guard case .success(let tables)? = answer, let t = tables[what] else { return .failure(PostgresError("ERROR:  unknown command")) }
        return .success(t)
    }
    func close() async {}
}

struct ScriptedBench: GeneratorBench {
    let answer: GeneratorBenchResult?
    func measure(k6: String, vus: Int, seconds: Int, timeout: Duration) async -> Result<GeneratorBenchResult, SubprocessError> {
        answer.map { .success($0) } ?? .failure(SubprocessError("k6 run: not in this world"))
    }
}

struct ScriptedSubprocess: SubprocessRunner {
    let answers: [String: Result<SubprocessResult, SubprocessError>]
    func run(_ argv: [String], timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError> {
        argv.dropFirst().first.flatMap { answers[$0] } ?? .failure(SubprocessError("\(argv.first ?? "?"): not found"))
    }
}

extension SubprocessResult {
    /// A finished program's result, for an example.
    public static func exited(_ status: Int32, stdout: String = "", stderr: String = "") -> SubprocessResult {
        SubprocessResult(status: status, stdout: Data(stdout.utf8), stderr: Data(stderr.utf8), timedOut: false, seconds: 0.05)
    }
}

extension HTTPExchange {
    /// An answer, for an example.
    public static func answer(_ status: Int, _ body: String = "", headers: [(name: String, value: String)] = []) -> HTTPExchange {
        var x = HTTPExchange()
        x.status = status
        x.body = Data(body.utf8)
        x.headers = headers
        x.httpVersion = "1.1"
        return x
    }
    /// A libcurl failure, for an example.
    public static func failed(_ code: Int, _ message: String, connected: Bool = false) -> HTTPExchange {
        var x = HTTPExchange()
        x.failure = .init(code: code, message: message, connected: connected)
        return x
    }
}

extension TLSSession {
    /// A TLS 1.3 session whose leaf certificate names `names` (subjectAltName) and is valid between the two dates
    /// (OpenSSL's form, "Jan  1 00:00:00 2026 GMT"), for an example.
    public static func leaf(subject: String = "CN = chat.local", issuer: String = "CN = Chat CA", names: String = "DNS:chat.local",
                            from start: String = "Jan  1 00:00:00 2025 GMT", until end: String) -> TLSSession {
        var s = TLSSession()
        s.protocol = "TLSv1.3"
        s.cipher = "TLS_AES_128_GCM_SHA256"
        s.certificates = [[Field("Subject", subject), Field("Issuer", issuer), Field("Start date", start), Field("Expire date", end),
                           Field("X509v3 Subject Alternative Name", names)]]
        return s
    }

    /// OpenSSL's form of a date this many days from now.
    public static func openSSLDate(daysFromNow days: Int) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "MMM d HH:mm:ss yyyy 'GMT'"
        return f.string(from: Date().addingTimeInterval(Double(days) * 86_400))
    }
}

extension ProbeAnswers {
    /// A burst whose request number `n` (1-based, per burst) gets `answer(n)`, every planned request answered.
    public static func burst(_ answer: @escaping @Sendable (Int) -> BurstResponse) -> @Sendable (BurstPlan) -> BurstResult {
        { plan in
            BurstResult(responses: (1...max(1, plan.count)).map(answer), sent: plan.count, stop: .completed,
                        elapsed: .milliseconds(200), connections: plan.concurrency)
        }
    }
}

extension ProbeAnswers {
    /// A ramp's steps: request `n` of the step at `concurrency` gets `answer(concurrency, n)`.
    public static func ramp(_ answer: @escaping @Sendable (_ concurrency: Int, _ n: Int) -> BurstResponse) -> @Sendable (BurstPlan) -> BurstResult {
        { plan in
            BurstResult(responses: (1...max(1, plan.count)).map { answer(plan.concurrency, $0) }, sent: plan.count, stop: .completed,
                        elapsed: .milliseconds(200), connections: plan.concurrency)
        }
    }

    /// pg_stat_activity while traffic runs: `busy` of the app's connections active, one idle.
    public static func activity(busy: Int) -> PostgresAnswers {
        PostgresAnswers([("pg_stat_activity", .success([["chat", "app", "api", "active", "Timeout", String(busy)], ["chat", "app", "api", "idle", "Client", "1"]]))])
    }
}

extension BurstResponse {
    /// Answer `n` of a burst: a status, headers, and the time it took.
    public static func answer(_ n: Int, _ status: Int, headers: [(name: String, value: String)] = [], seconds: Double = 0.01) -> BurstResponse {
        BurstResponse(number: n, status: status, headers: headers, seconds: seconds)
    }
}

extension PgTable {
    /// A table from column names and rows of texts, for an example.
    public static func of(_ columns: [String], _ rows: [String?]...) -> PgTable { PgTable(columns: columns, rows: rows) }
    public static let none = PgTable(columns: [], rows: [])
}
