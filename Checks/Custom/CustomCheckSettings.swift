import Foundation
import PreflightCore
import PreflightProbes

/// One user-defined check from `checks:` in preflight.yml.
public struct CustomCheckSpec: Sendable {
    public enum Kind: Sendable {
        case http(method: String, url: String, headers: [String: String], body: String?, status: [Int], json: [String: String])
        case tcp(host: String, port: Int)
        case sql(query: String, expect: SQLExpectation?, url: DatabaseURL?)
        case command(argv: [String], exit: Int32, output: String?, timeout: Duration)
    }
    public let id: CheckID
    public let title: String
    public let needs: [CheckID]
    public let layer: Layer
    public let kind: Kind
    public let fix: String?
    /// Where it is written in the config, for problems that involve several checks.
    public let line: Int
}

/// `expect: ">= 1"` for a sql check: compares the first column of the first row.
public struct SQLExpectation: Sendable, Equatable, CustomStringConvertible {
    public let op: String
    public let value: String

    public static func parse(_ text: String) -> SQLExpectation? {
        let t = text.trimmingCharacters(in: .whitespaces)
        for op in [">=", "<=", "!=", "==", ">", "<", "="] where t.hasPrefix(op) {
            let v = t.dropFirst(op.count).trimmingCharacters(in: .whitespaces)
            return v.isEmpty ? nil : SQLExpectation(op: op == "==" ? "=" : op, value: v)
        }
        return t.isEmpty ? nil : SQLExpectation(op: "=", value: t)
    }

    /// Numbers compare as numbers, anything else as text (only = and !=).
    public func matches(_ actual: String?) -> Bool {
        guard let actual else { return false }
        if let a = Double(actual), let e = Double(value) {
            switch op {
            case ">=": return a >= e
            case "<=": return a <= e
            case ">": return a > e
            case "<": return a < e
            case "!=": return a != e
            default: return a == e
            }
        }
        switch op {
        case "!=": return actual != value
        case "=": return actual == value
        default: return false
        }
    }

    public var description: String { "\(op) \(value)" }
}

/// `checks:` in preflight.yml: the user's own checks, without recompiling.
public struct CustomCheckSettings: ConfigSection {
    public static let key = "checks"
    public static let keys: [String] = []
    /// A generated config cannot start more concurrent probes than this.
    public static let checkCap = 200
    public var specs: [CustomCheckSpec] = []

    static let kinds = ["http", "tcp", "sql", "command"]
    static let layers: [String: Layer] = ["generator": .generator, "network": .network, "service": .service, "database": .database, "capacity": .capacity,
                                          "limits": .limits, "schema": .schema, "script": .script]

    public init() {}
    public init(reading r: SectionReader) {
        if case .sequence(let items, _)? = r.node, items.count > Self.checkCap {
            r.problem(nil, "\(items.count) checks; at most \(Self.checkCap) are allowed (they run concurrently)")
            return
        }
        var seen: [String: Int] = [:]
        specs = r.elements { item in Self.read(item) }
        let builtIn = Set(AllChecks.builtInIDs)
        for s in specs {
            if builtIn.contains(s.id) { r.problem(nil, "check id \"\(s.id)\" is a built-in check's id; choose another", line: s.line) }
            seen[s.id, default: 0] += 1
        }
        for (id, n) in seen where n > 1 {
            r.problem(nil, "check id \"\(id)\" is used \(n) times", line: specs.last { $0.id == id }?.line)
        }
        let known = builtIn.union(specs.map(\.id))
        for s in specs {
            for n in s.needs where !known.contains(n) {
                let hint = nearest(n, in: Array(known)).map { " (did you mean \($0)?)" } ?? ""
                r.problem(nil, "check \"\(s.id)\" needs \"\(n)\", which is not a check\(hint)", line: s.line)
            }
        }
        if let cycle = Self.cycle(specs) {
            r.problem(nil, "checks need each other in a circle: \(cycle.joined(separator: " → "))", line: specs.first { $0.id == cycle[0] }?.line)
        }
    }

    static func read(_ r: SectionReader) -> CustomCheckSpec? {
        r.allowKeys(["id", "title", "type", "needs", "layer", "fix", "method", "url", "headers", "body", "status", "json",
                     "address", "query", "expect", "database_url", "run", "exit", "output", "timeout"])
        guard let id = r.string("id"), !id.isEmpty else { r.problem(nil, "every check needs an id"); return nil }
        if !id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            r.problem("id", "use letters, digits, - and _ only, found \"\(id)\"")
        }
        guard let type = r.string("type") else { r.problem(nil, "check \"\(id)\" needs a type: \(kinds.joined(separator: ", "))"); return nil }
        let needs = r.strings("needs") ?? []
        var layer: Layer?
        if let l = r.string("layer") {
            layer = layers[l]
            if layer == nil { r.problem("layer", "one of \(layers.keys.sorted().joined(separator: ", ")), found \"\(l)\"") }
        }
        let kind: CustomCheckSpec.Kind
        switch type {
        case "http":
            let method = (r.string("method") ?? "GET").uppercased()
            guard let url = r.string("url") else { r.problem(nil, "http check \"\(id)\" needs url (a path under target, or a full URL)"); return nil }
            var status: [Int] = []
            for s in r.strings("status") ?? [] {
                guard let v = Int(s), (100...599).contains(v) else { r.problem("status", "expected an HTTP status, found \"\(s)\""); continue }
                status.append(v)
            }
            kind = .http(method: method, url: url, headers: r.stringMap("headers"), body: r.string("body"), status: status, json: r.stringMap("json"))
            layer = layer ?? .service
        case "tcp":
            guard let address = r.string("address"), let (host, port) = Self.hostPort(address) else {
                r.problem("address", "tcp check \"\(id)\" needs address: host:port")
                return nil
            }
            kind = .tcp(host: host, port: port)
            layer = layer ?? .network
        case "sql":
            guard let query = r.string("query") else { r.problem(nil, "sql check \"\(id)\" needs query"); return nil }
            var expect: SQLExpectation?
            if let e = r.string("expect") {
                expect = SQLExpectation.parse(e)
                if expect == nil { r.problem("expect", "expected a value or a comparison like \">= 1\", found \"\(e)\"") }
            }
            var url: DatabaseURL?
            if let raw = r.string("database_url") {
                let (u, why) = DatabaseURL.parse(raw)
                if let why { r.problem("database_url", why) }
                url = u
            }
            kind = .sql(query: query, expect: expect, url: url)
            layer = layer ?? .database
        case "command":
            guard let run = r.strings("run"), !run.isEmpty else { r.problem(nil, "command check \"\(id)\" needs run (a command line, or a list of arguments)"); return nil }
            let argv = run.count == 1 ? ["/bin/sh", "-c", run[0]] : run
            if let pattern = r.string("output"), (try? NSRegularExpression(pattern: pattern)) == nil {
                r.problem("output", "not a valid regular expression: \(pattern)")
            }
            kind = .command(argv: argv, exit: Int32(r.int("exit", in: 0...255) ?? 0), output: r.string("output"),
                            timeout: r.duration("timeout", in: .milliseconds(100)...(.seconds(600))) ?? .seconds(10))
            layer = layer ?? .service
        default:
            r.problem("type", "one of \(kinds.joined(separator: ", ")), found \"\(type)\"")
            return nil
        }
        return CustomCheckSpec(id: id, title: r.string("title") ?? id, needs: needs, layer: layer ?? .service, kind: kind,
                               fix: r.string("fix"), line: r.node?.line ?? 0)
    }

    static func hostPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }

    /// The first circle of `needs` among custom checks, if any.
    static func cycle(_ specs: [CustomCheckSpec]) -> [CheckID]? {
        let needs = Dictionary(specs.map { ($0.id, $0.needs) }, uniquingKeysWith: { a, _ in a })
        var state: [CheckID: Int] = [:]  // 1 visiting, 2 done
        var path: [CheckID] = []
        func visit(_ id: CheckID) -> [CheckID]? {
            if state[id] == 2 { return nil }
            if state[id] == 1 { return Array(path[path.firstIndex(of: id)!...]) + [id] }
            state[id] = 1
            path.append(id)
            for n in needs[id] ?? [] where needs[n] != nil { if let c = visit(n) { return c } }
            path.removeLast()
            state[id] = 2
            return nil
        }
        for s in specs { if let c = visit(s.id) { return c } }
        return nil
    }
}

/// The secrets in `checks:`: each http check's URL credentials, credential headers and what its body carries,
/// each sql check's database_url password, what each command line carries (`PGPASSWORD=…`, URLs, `-H 'Authorization: …'`).
/// Values from secret-named `${VAR}`s are registered by the loader wherever they land.
extension CustomCheckSettings {
    public var secrets: [String] {
        specs.flatMap { spec -> [String] in
            switch spec.kind {
            case .http(_, let url, let headers, let body, _, _):
                return Secrets.inURL(url) + Secrets.inHeaders(headers) + (body.map(Secrets.inText) ?? [])
            case .sql(_, _, let url):
                return url.map { Secrets.inURL($0.raw) } ?? []
            case .command(let argv, _, _, _):
                return argv.flatMap(Secrets.inText)
            case .tcp:
                return []
            }
        }
    }
}

extension CustomCheckSettings {
    public static let schemaDescription = "Your own checks: http, tcp, sql, command (at most \(checkCap))"
    public static let schema: ValueSchema = .list(.object([
        SchemaKey("id", "Letters, digits, - and _; not a built-in check's id", .string),
        SchemaKey("title", "", .string),
        SchemaKey("type", "", .oneOf(kinds)),
        SchemaKey("needs", "Checks that must pass first (ids)", .scalarOrList),
        SchemaKey("layer", "Where it ranks among root causes", .oneOf(layers.keys.sorted())),
        SchemaKey("fix", "The fix to show when it fails", .string),
        SchemaKey("method", "http: the method (default GET)", .string),
        SchemaKey("url", "http: a path under target, or a full URL", .string),
        SchemaKey("headers", "http: request headers", .stringMap),
        SchemaKey("body", "http: the request body", .scalar),
        SchemaKey("status", "http: the statuses that pass", .scalarOrList),
        SchemaKey("json", "http: JSON paths and the values they must have", .stringMap),
        SchemaKey("address", "tcp: host:port", .string),
        SchemaKey("query", "sql: a read-only query", .string),
        SchemaKey("expect", "sql: a value or a comparison like \">= 1\"", .scalar),
        SchemaKey("database_url", "sql: another database than database.url", .string),
        SchemaKey("run", "command: a command line, or a list of arguments", .scalarOrList),
        SchemaKey("exit", "command: the exit code that passes (default 0)", .integer(0...255)),
        SchemaKey("output", "command: a regular expression its output must match", .string),
        SchemaKey("timeout", "command: its deadline (default 10s)", .duration),
    ], required: ["id", "type"]))
}
