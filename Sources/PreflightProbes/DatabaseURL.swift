import CLibPQ
import Foundation
import PreflightCore

/// The database URL as the application wrote it, parsed once: the drivers' layer by hand (Prisma's, pgx's,
/// SQLAlchemy's and JDBC's own parameters and prefixes), everything libpq defines by libpq itself
/// (`PQconninfoParse`: URI syntax, percent-encoding, IPv6 brackets, socket directories, multi-host, keywords).
/// libpq gets `conninfo`, which holds only what libpq understands; the driver's facts stay here for the checks.
public struct DatabaseURL: Sendable, Equatable {
    /// As given; never printed unredacted.
    public let raw: String
    /// What libpq connects with: a postgresql:// URI or a key=value string, without the drivers' parameters.
    public let conninfo: String
    /// The application layer's parameters that libpq does not know (`schema`, `connection_limit`, `pgbouncer`, …).
    public let driverParameters: [String: String]
    /// The driver named by the URL's form: `jdbc`, or SQLAlchemy's `+psycopg2`, `+asyncpg`, `+psycopg`.
    public let dialect: String?
    /// libpq's reading: the first host (or socket directory), the first port, user and database.
    public let host: String?
    public let port: Int
    public let user: String?
    public let database: String?
    /// Every host:port libpq will try, in order (multi-host URLs name several).
    public let hosts: [String]
    /// The password as libpq read it, in every form. The parser registers nothing: the sections holding a URL
    /// report it (`ConfigSection.secrets`), and the loader registers it in one place.
    public let password: String?
    /// libpq's `hostaddr`, when set: the address(es) the connection really dials (no name is looked up); `host` then
    /// serves only authentication and TLS.
    public let hostaddr: String?
    /// libpq's `target_session_attrs`, when set (`read-write`, `primary`, …).
    public let targetSessionAttrs: String?

    /// libpq picks the host by asking whether the session is read-only: preflight's own read-only session
    /// option would make every host look like a standby, so such URLs get read-only transactions instead.
    public var choosesAWritableHost: Bool { ["read-write", "primary"].contains(targetSessionAttrs ?? "") }

    /// Prisma's `schema`, JDBC's `currentSchema`: where the application's tables are.
    public var schema: String? {
        (driverParameters["schema"] ?? driverParameters["currentSchema"] ?? driverParameters["currentschema"]).flatMap { $0.isEmpty ? nil : $0 }
    }
    /// The pool size the URL sets: Prisma's `connection_limit`, pgx's `pool_max_conns`.
    public var connectionLimit: Int? {
        connectionLimitParameter.flatMap { driverParameters[$0] }.flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
    }
    /// Which parameter set it, for the verdict's "source".
    public var connectionLimitParameter: String? {
        ["connection_limit", "pool_max_conns"].first { driverParameters[$0] != nil }
    }
    /// Prisma's `pool_timeout` (seconds), when set.
    public var poolTimeout: String? { driverParameters["pool_timeout"] }
    /// Prisma's `pgbouncer=true`: the application talks to PostgreSQL through PgBouncer.
    public var viaPgBouncer: Bool { driverParameters["pgbouncer"]?.lowercased() == "true" }

    /// The URL with its password replaced by ***.
    public var redacted: String { redactURL(raw) }

    public var hostPort: String {
        guard let h = host else { return "local socket:\(port)" }
        if h.hasPrefix("/") { return "socket \(h)/.s.PGSQL.\(port)" }
        return h.contains(":") ? "[\(h)]:\(port)" : "\(h):\(port)"
    }

    /// The keywords libpq knows (from `PQconndefaults`): anything else in a URL's query is a driver's.
    public static let libpqKeywords: Set<String> = {
        var out: Set<String> = []
        guard NativeLibrary.libpq.loadError == nil, let defaults = PQconndefaults() else { return out }
        defer { PQconninfoFree(defaults) }
        var p = defaults
        while let k = p.pointee.keyword {
            out.insert(String(cString: k))
            p += 1
        }
        return out
    }()

    /// Parses every form applications use; nil and one sentence (libpq's own, for libpq's rules) when nothing can parse it.
    public static func parse(_ given: String) -> (DatabaseURL?, String?) {
        let trimmed = given.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return (nil, "empty database URL (expected postgresql://user:password@host:5432/db)") }
        // libpq reads every form below; a machine without it gets one config error, not a crash.
        if let missing = NativeLibrary.libpq.loadError { return (nil, missing) }
        var dialect: String?
        var conninfo: String
        var driver: [String: String] = [:]

        if let schemeEnd = trimmed.range(of: "://") {
            var scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
            if scheme.hasPrefix("jdbc:") { dialect = "jdbc"; scheme.removeFirst(5) }
            if let plus = scheme.firstIndex(of: "+") {
                dialect = String(scheme[scheme.index(after: plus)...])
                scheme = String(scheme[..<plus])
            }
            guard scheme == "postgres" || scheme == "postgresql" else {
                return (nil, "scheme must be postgresql or postgres (optionally jdbc: or +driver), found \"\(scheme)\"")
            }
            let rest = String(trimmed[schemeEnd.upperBound...])
            let (base, query) = splitQuery(rest)
            var kept: [String] = []
            for item in query {
                let name = item.name.removingPercentEncoding ?? item.name
                // Not `key=value` (`?zzz`, `?key=key=value`) is no driver's parameter either: libpq refuses it in its words.
                if libpqKeywords.contains(name) || item.separators != 1 {
                    kept.append(item.text)
                } else {
                    driver[name] = item.value.removingPercentEncoding ?? item.value
                }
            }
            // libpq's own prefix as written, so that its messages quote the URI (and positions in it) as the user wrote it.
            let prefix = dialect == nil && trimmed.hasPrefix("postgres://") ? "postgres://" : "postgresql://"
            conninfo = prefix + base + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        } else if trimmed.contains("=") {
            // libpq's key=value form; a driver's own keys (pgx's pool_max_conns) are taken out.
            guard let pairs = KeyValueConninfo.split(trimmed) else {
                return (nil, "not a URL or a key=value connection string: an unterminated quote")
            }
            var kept: [String] = []
            for p in pairs {
                if libpqKeywords.contains(p.key) || !p.hasValue { kept.append(p.text) } else { driver[p.key] = p.value }
            }
            conninfo = kept.joined(separator: " ")
        } else {
            return (nil, "not a URL: \"\(redactURL(trimmed))\" (expected postgresql://user:password@host:5432/db or host=… dbname=…)")
        }

        // libpq decides everything it defines, with its own words.
        let values: [String: String]
        switch libpqReading(conninfo) {
        case .failure(let why): return (nil, why.message)
        case .success(let v): values = v
        }
        let hostList = (values["host"] ?? values["hostaddr"] ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let portList = (values["port"] ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for raw in portList where !raw.isEmpty {
            guard let n = Int(raw), (1...65535).contains(n) else { return (nil, "port \(raw) is out of range") }
        }
        func port(_ i: Int) -> Int {
            let raw = portList.count == 1 ? portList[0] : (i < portList.count ? portList[i] : "")
            return Int(raw) ?? 5432
        }
        let firstHost = hostList.first.flatMap { $0.isEmpty ? nil : $0 }
        let hosts = hostList.enumerated().map { i, h -> String in
            let shown = h.isEmpty ? "local socket" : h
            return shown.contains(":") ? "[\(shown)]:\(port(i))" : "\(shown):\(port(i))"
        }
        return (DatabaseURL(raw: trimmed, conninfo: conninfo, driverParameters: driver, dialect: dialect,
                            host: firstHost, port: port(0), user: values["user"], database: values["dbname"],
                            hosts: hosts, password: values["password"], hostaddr: values["hostaddr"], targetSessionAttrs: values["target_session_attrs"]), nil)
    }

    /// libpq's own reading of a conninfo string (`PQconninfoParse`): the keywords it sets, or its message.
    public static func libpqReading(_ conninfo: String) -> Result<[String: String], LibpqRefusal> {
        if let missing = NativeLibrary.libpq.loadError { return .failure(LibpqRefusal(message: missing)) }
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            let why = error.map { String(cString: $0) } ?? "libpq cannot parse it"
            if let error { PQfreemem(error) }
            // libpq may quote the text (a bad IPv6 bracket quotes the whole URI): the output sink masks every URL's credentials.
            return .failure(LibpqRefusal(message: why.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var p = options
        while let k = p.pointee.keyword {
            if let v = p.pointee.val { values[String(cString: k)] = String(cString: v) }
            p += 1
        }
        return .success(values)
    }

    /// Query items as written (percent-encoding kept), so the kept ones reach libpq byte for byte.
    /// `separators` counts the item's `=`: libpq takes exactly one.
    static func splitQuery(_ rest: String) -> (base: String, items: [(name: String, value: String, text: String, separators: Int)]) {
        var body = rest
        if let hash = body.firstIndex(of: "#") { body = String(body[..<hash]) }
        guard let q = body.firstIndex(of: "?") else { return (body, []) }
        let base = String(body[..<q])
        let items = body[body.index(after: q)...].split(separator: "&").map { part -> (String, String, String, Int) in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "", String(part), part.count { $0 == "=" })
        }
        return (base, items)
    }
}

/// libpq's message when it refuses a connection string.
public struct LibpqRefusal: Error, Sendable, Equatable {
    public let message: String
}

/// libpq's key=value syntax (`host=/tmp dbname='my db'`), split as libpq reads it.
enum KeyValueConninfo {
    struct Pair { var key: String; var value: String; var text: String; var hasValue = true }

    static func split(_ s: String) -> [Pair]? {
        var pairs: [Pair] = []
        var i = s.startIndex
        func skipSpace() { while i < s.endIndex, s[i].isWhitespace { i = s.index(after: i) } }
        while true {
            skipSpace()
            guard i < s.endIndex else { return pairs }
            let start = i
            while i < s.endIndex, s[i] != "=", !s[i].isWhitespace { i = s.index(after: i) }
            let key = String(s[start..<i])
            skipSpace()
            guard i < s.endIndex, s[i] == "=" else { return pairs + [Pair(key: key, value: "", text: key, hasValue: false)] }  // libpq reports it
            i = s.index(after: i)
            skipSpace()
            var value = ""
            if i < s.endIndex, s[i] == "'" {
                i = s.index(after: i)
                var closed = false
                while i < s.endIndex {
                    let c = s[i]
                    if c == "\\", s.index(after: i) < s.endIndex { i = s.index(after: i); value.append(s[i]) }
                    else if c == "'" { closed = true; i = s.index(after: i); break }
                    else { value.append(c) }
                    i = s.index(after: i)
                }
                guard closed else { return nil }
            } else {
                while i < s.endIndex, !s[i].isWhitespace {
                    if s[i] == "\\", s.index(after: i) < s.endIndex { i = s.index(after: i) }
                    value.append(s[i])
                    i = s.index(after: i)
                }
            }
            pairs.append(Pair(key: key, value: value, text: String(s[start..<i])))
        }
    }
}
