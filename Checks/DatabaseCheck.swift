import Foundation
import PreflightCore
import PreflightProbes

/// `database:` in preflight.yml. Later checks (pool) add their keys here.
public struct DatabaseSettings: ConfigSection {
    public static let key = "database"
    public var url: DatabaseURL?
    /// The services' pools that will draw on this database (read by the pool check).
    public var pools: [PoolSpec] = []
    /// PgBouncer between the services and PostgreSQL, when there is one.
    public var pgbouncer: PgBouncerConfig?
    /// Open the pools' worth of connections for real (`--probe-connections`).
    public var probeConnections = false

    public init() {}
    public init(url: DatabaseURL?, pools: [PoolSpec] = [], pgbouncer: PgBouncerConfig? = nil, probeConnections: Bool = false) {
        self.url = url
        self.pools = pools
        self.pgbouncer = pgbouncer
        self.probeConnections = probeConnections
    }
    public init(reading r: SectionReader) {
        r.allowKeys(["url", "pools", "pgbouncer", "probe_connections"])
        if let raw = r.string("url") {
            let (parsed, why) = DatabaseURL.parse(raw)
            if let why { r.problem("url", why) }
            url = parsed
        }
        pools = r.list("pools", Self.pool)
        var seen = Set<String>()
        for (i, p) in pools.enumerated() where !seen.insert(p.name).inserted {
            r.problem("pools", "pool \"\(p.name)\" appears twice (entry \(i + 1))")
        }
        pgbouncer = Self.pgbouncer(r)
        probeConnections = r.bool("probe_connections") ?? false
    }

    static func pool(_ r: SectionReader) -> PoolSpec? {
        r.allowKeys(["name", "size", "url", "replicas", "driver"])
        guard case .mapping(_, _)? = r.node else { return nil }
        guard let name = r.string("name"), !name.isEmpty else {
            r.problem(nil, "a pool needs a name (the service that owns it)")
            return nil
        }
        var p = PoolSpec(name: name)
        p.size = r.int("size", in: 1...100_000)
        p.replicas = r.int("replicas", in: 1...10_000) ?? 1
        if let raw = r.string("url") {
            let (parsed, why) = DatabaseURL.parse(raw)
            if let why { r.problem("url", why) }
            p.url = parsed
        }
        if let d = r.string("driver") {
            p.driver = PoolDriver.parse(d)
            if p.driver == nil { r.problem("driver", "unknown driver \"\(d)\"; known: \(PoolDriver.spellings)") }
        }
        return p
    }

    /// `pgbouncer: /etc/pgbouncer/pgbouncer.ini`, or a mapping with `ini` and/or the settings themselves.
    static func pgbouncer(_ r: SectionReader) -> PgBouncerConfig? {
        guard let node = r.node?["pgbouncer"] else { return nil }
        func load(_ path: String, line: Int?) -> PgBouncerConfig {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                r.problem("pgbouncer", "cannot read \(path)", line: line)
                return PgBouncerConfig()
            }
            let (c, problems) = PgBouncerConfig.parse(ini: text, source: path)
            for m in problems { r.problem("pgbouncer", "\(path) \(m)", line: line) }
            return c
        }
        switch node {
        case .null: return nil
        case .scalar(let path, let line): return load(path, line: line)
        case .mapping:
            let b = r.child("pgbouncer")
            b.allowKeys(["ini", "listen_port", "default_pool_size", "reserve_pool_size", "max_client_conn",
                         "max_db_connections", "max_user_connections", "pool_mode"])
            var c = b.string("ini").map { load($0, line: node["ini"]?.line) } ?? PgBouncerConfig()
            if b.string("ini") == nil { c.source = "database.pgbouncer" }
            if let v = b.int("listen_port", in: 1...65535) { c.listenPort = v }
            if let v = b.int("default_pool_size", in: 1...100_000) { c.defaultPoolSize = v }
            if let v = b.int("reserve_pool_size", in: 0...100_000) { c.reservePoolSize = v }
            if let v = b.int("max_client_conn", in: 1...1_000_000) { c.maxClientConn = v }
            if let v = b.int("max_db_connections", in: 0...100_000) { c.maxDBConnections = v }
            if let v = b.int("max_user_connections", in: 0...100_000) { c.maxUserConnections = v }
            if let v = b.string("pool_mode") { c.poolMode = v.lowercased() }
            return c
        default:
            r.problem("pgbouncer", "expected a pgbouncer.ini path or a mapping")
            return nil
        }
    }
}

/// Really logs in (pg_isready says "accepting" even for a bad password or a full server)
/// and runs a read-only `SELECT` under the deadline.
public struct DatabaseCheck: DescribedCheck {
    public static let description = CheckDescription(
        id: "database", title: "Database login", layer: .database,
        needs: "database.url (or --database-url)",
        examples: [
            CheckExample("logs in and runs SELECT in a read-only session", .pass),
            CheckExample("connection refused, or no answer within the timeout", .fail),
            CheckExample("password authentication failed, or the database does not exist", .fail),
            CheckExample("sorry, too many clients already", .fail),
        ])

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard let url = context.config.section(DatabaseSettings.self).url else {
            return .skipped("no database.url configured")
        }
        var evidence = Evidence([
            "server": .string(url.hostPort), "user": .string(url.user ?? "-"), "database": .string(url.database ?? url.user ?? "-"),
        ])
        let clock = ContinuousClock()
        let start = clock.now
        let session: any PostgresSession
        switch await probes.postgres.connect(url, timeout: context.timeout) {
        case .failure(let e):
            evidence["error"] = .string(Self.oneLine(e.message))
            return Self.classify(e, url: url, timeout: context.timeout, evidence: evidence)
        case .success(let s):
            session = s
        }
        defer { Task { await session.close() } }
        let result = await session.query(
            "SELECT current_setting('server_version'), current_setting('transaction_read_only'), current_user, current_database()",
            timeout: context.timeout)
        let ms = start.duration(to: clock.now).milliseconds
        await session.close()
        switch result {
        case .failure(let e):
            evidence["error"] = .string(Self.oneLine(e.message))
            return Self.classify(e, url: url, timeout: context.timeout, evidence: evidence)
        case .success(let rows):
            let row = rows.first ?? []
            let version = row.first.flatMap { $0 } ?? "?"
            evidence["version"] = .string(version)
            evidence["readOnly"] = .bool(row.count > 1 && row[1] == "on")
            evidence["latencyMs"] = .double(round2(ms))
            let who = row.count > 3 ? "\(row[2] ?? "?") on \(row[3] ?? "?")" : "\(url.user ?? "?")"
            let short = version.split(separator: " ").first.map(String.init) ?? version
            return .pass("PostgreSQL \(short) at \(url.hostPort) accepts \(who) (read-only session, \(Int(ms.rounded())) ms)",
                         evidence: evidence)
        }
    }

    /// One sentence per libpq failure class, then the fix.
    static func classify(_ e: PostgresError, url: DatabaseURL, timeout: Duration, evidence: Evidence) -> CheckOutcome {
        let m = e.message
        let lower = m.lowercased()
        let at = url.hostPort
        let user = url.user ?? "the user"
        let db = url.database ?? url.user ?? "the database"
        func fail(_ summary: String, _ fix: String) -> CheckOutcome { .fail(summary, evidence: evidence, fix: fix) }

        if e.timedOut || lower.contains("timeout expired") {
            return fail("PostgreSQL at \(at) did not answer within \(format(timeout))",
                        "check that PostgreSQL is running and not stalled, and that nothing drops packets to \(at)")
        }
        if lower.contains("connection refused") {
            return fail("connection refused on \(at): PostgreSQL is not running there",
                        "start PostgreSQL, or correct host and port in database.url (pg_lsclusters / pg_ctl status show where it runs)")
        }
        if lower.contains("could not translate host name") || lower.contains("name or service not known")
            || lower.contains("temporary failure in name resolution") {
            return fail("the database host \(url.host ?? "?") does not resolve", "check the host name in database.url")
        }
        if lower.contains("password authentication failed") || lower.contains("no password supplied")
            || lower.contains("authentication failed") {
            return fail("PostgreSQL at \(at) rejects the password for \(user) (or the role does not exist)",
                        "use the password the service uses (check DATABASE_URL), or ALTER ROLE \(user) PASSWORD '…'")
        }
        if lower.contains("no pg_hba.conf entry") {
            return fail("PostgreSQL at \(at) has no pg_hba.conf entry for \(user) from this host",
                        "add a host line for \(user) to pg_hba.conf and reload, or connect as an allowed user")
        }
        if lower.contains("database") && lower.contains("does not exist") {
            return fail("database \"\(db)\" does not exist on \(at)",
                        "create it (createdb \(db)) and run the migrations, or correct the database name in database.url")
        }
        if lower.contains("role") && lower.contains("does not exist") {
            return fail("role \"\(user)\" does not exist on \(at)", "create the role, or correct the user in database.url")
        }
        if lower.contains("too many clients") || lower.contains("remaining connection slots are reserved")
            || lower.contains("too many connections for") {
            return fail("PostgreSQL at \(at) refuses new connections: \(firstLine(m))",
                        "connections are exhausted: lower the services' pool sizes or raise max_connections (see the pool check)")
        }
        if lower.contains("ssl") {
            return fail("SSL mismatch with PostgreSQL at \(at): \(firstLine(m))",
                        "set sslmode in database.url to what the server supports (disable, prefer or require)")
        }
        if lower.contains("the database system is starting up") || lower.contains("shutting down") || lower.contains("recovery") {
            return fail("PostgreSQL at \(at) is not ready: \(firstLine(m))", "wait for it to finish starting, then run preflight again (or use --wait)")
        }
        if lower.contains("server closed the connection unexpectedly") || lower.contains("received invalid response")
            || lower.contains("expected authentication request") || lower.contains("unsupported frontend protocol") {
            return fail("\(at) does not speak the PostgreSQL protocol: \(firstLine(m))", "check the port in database.url: another service listens there")
        }
        return fail("cannot log in to PostgreSQL at \(at): \(firstLine(m))", "see libpq's message in the evidence")
    }

    /// libpq's text on one line ("…failed: Connection refused Is the server running…").
    static func oneLine(_ s: String) -> String {
        Secrets.shared.scrub(s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: "; "))
    }

    static func firstLine(_ s: String) -> String {
        let line = s.split(separator: "\n").first.map(String.init) ?? s
        return line.replacingOccurrences(of: "FATAL:  ", with: "").replacingOccurrences(of: "ERROR:  ", with: "")
            .replacingOccurrences(of: "connection to server at ", with: "")
    }
}

/// The secrets in `database:`: the passwords of database.url and of every pool's url (userinfo and ?password=).
extension DatabaseSettings: SecretBearing {
    public var secrets: [String] {
        ([url] + pools.map(\.url)).compactMap { $0 }.flatMap { Secrets.inURL($0.raw) }
    }
}
