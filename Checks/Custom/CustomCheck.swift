import Foundation
import PreflightCore
import PreflightProbes

/// A check the user wrote in `checks:`; it takes part in prerequisites and root-cause order like the built-ins.
public struct CustomCheck: Check {
    public let spec: CustomCheckSpec
    public let description: CheckDescription
    let probes: Probes

    public init(spec: CustomCheckSpec, probes: Probes, timeout: Duration) {
        self.spec = spec
        self.probes = probes
        var budget = 1
        if case .command(_, _, _, let t) = spec.kind { budget = max(1, Int((t / timeout).rounded(.up))) }
        if case .tcp = spec.kind { budget = 2 }  // DNS, then connect
        if case .sql = spec.kind { budget = 2 }  // connect, then the query: each has the whole timeout
        description = CheckDescription(id: spec.id, title: spec.title, layer: spec.layer, prerequisites: spec.needs,
                                       examples: [], timeoutBudget: budget)
    }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        var outcome: CheckOutcome
        switch spec.kind {
        case .http(let method, let url, let headers, let body, let status, let json):
            outcome = await http(method, url, headers, body, status, json, context)
        case .tcp(let host, let port):
            outcome = await tcp(host, port, context)
        case .sql(let query, let expect, let url):
            outcome = await sql(query, expect, url, context)
        case .command(let argv, let exit, let output, let timeout):
            outcome = await command(argv, exit, output, timeout)
        }
        if outcome.status == .fail, let fix = spec.fix { outcome.fix = fix }
        return outcome
    }

    func http(_ method: String, _ url: String, _ headers: [String: String], _ body: String?, _ expected: [Int],
              _ json: [String: String], _ context: CheckContext) async -> CheckOutcome {
        let full: String
        if url.hasPrefix("http://") || url.hasPrefix("https://") {
            full = url
        } else if let target = context.fact(TargetReach.self).target {
            full = target.appending(path: url)
        } else {
            return .fail("\(url) is a path but no target is configured", fix: "set target, or give a full URL")
        }
        let x = await probes.http.send(method, url: full, headers: headers, body: body.map { Data($0.utf8) },
                                       timeout: context.timeout, bodyCap: 1 << 20)
        var evidence = Evidence(["request": .string("\(method) \(redactURL(full))")])
        if let f = x.failure {
            evidence["error"] = .string("curl \(f.code): \(f.message)")
            return .fail("\(method) \(redactURL(full)): \(f.message)", evidence: evidence)
        }
        let status = x.status ?? 0
        evidence["status"] = .int(status)
        let statusOK = expected.isEmpty ? (200...299).contains(status) : expected.contains(status)
        if !statusOK {
            let want = expected.isEmpty ? "2xx" : expected.map(String.init).joined(separator: " or ")
            return .fail("\(method) \(redactURL(full)) answered \(status), expected \(want)", evidence: evidence)
        }
        if !json.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: x.body, options: [.fragmentsAllowed]) else {
                return .fail("\(method) \(redactURL(full)) answered \(status) but not with JSON", evidence: evidence)
            }
            for (path, want) in json.sorted(by: { $0.key < $1.key }) {
                let got = Self.lookup(path, in: object)
                if got != want {
                    evidence[path] = .string(got ?? "missing")
                    return .fail("\(method) \(redactURL(full)): \(path) is \(got.map { "\"\($0)\"" } ?? "missing"), expected \"\(want)\"", evidence: evidence)
                }
            }
        }
        return .pass("\(method) \(redactURL(full)) answered \(status)\(json.isEmpty ? "" : " with the expected fields")", evidence: evidence)
    }

    /// "data.items.0.id" in a JSON value, as text.
    static func lookup(_ path: String, in value: Any) -> String? {
        var current: Any? = value
        for key in path.split(separator: ".").map(String.init) {
            if let dict = current as? [String: Any] { current = dict[key] }
            else if let list = current as? [Any], let i = Int(key), list.indices.contains(i) { current = list[i] }
            else { return nil }
        }
        switch current {
        case let s as String: return s
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return n.boolValue ? "true" : "false" }  // a JSON boolean
            return n.stringValue
        case is NSNull: return "null"
        case nil: return nil
        default: return nil
        }
    }

    func tcp(_ host: String, _ port: Int, _ context: CheckContext) async -> CheckOutcome {
        let hostPort = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        switch await probes.resolver.resolve(host: host, port: port) {
        case .failure(let e):
            return .fail("DNS: \(host) does not resolve: \(e.message)")
        case .success(let addresses):
            for a in addresses {
                if case .connected(let ms) = await probes.tcp.connect(to: a, timeout: context.timeout) {
                    return .pass("\(hostPort) accepts TCP connections (\(String(format: "%.2f", ms)) ms)",
                                 evidence: Evidence(["address": .string(a.description)]))
                }
            }
            // A resolver may answer with no address at all: that is a DNS failure, not an index to trap on.
            guard let first = addresses.first else { return .fail("DNS: \(host) resolved to no address") }
            let outcome = await probes.tcp.connect(to: first, timeout: context.timeout)
            return .fail("\(hostPort): \(outcome.description)", evidence: Evidence(["resolved": .array(addresses.map { .string($0.ip) })]))
        }
    }

    func sql(_ query: String, _ expect: SQLExpectation?, _ own: DatabaseURL?, _ context: CheckContext) async -> CheckOutcome {
        guard let url = own ?? context.fact(DatabaseSettings.self).url else {
            return .fail("no database to run the query on", fix: "set database.url, or database_url on this check")
        }
        var evidence = Evidence(["query": .string(query), "server": .string(url.hostPort)])
        let session: any PostgresSession
        switch await probes.postgres.connect(url, timeout: context.timeout) {
        case .failure(let e): return .fail("cannot connect to \(url.hostPort): \(e.oneLine)", evidence: evidence)
        case .success(let s): session = s
        }
        let result = await session.query(query, timeout: context.timeout)
        await session.close()
        switch result {
        case .failure(let e) where e.timedOut:
            evidence["error"] = .string(e.oneLine)
            return .fail("the query did not finish within \(format(context.timeout)); preflight cancelled it", evidence: evidence,
                         fix: "it waits on a lock or is slow: look at pg_locks and pg_stat_activity for what blocks it, or raise --timeout")
        case .failure(let e):
            evidence["error"] = .string(e.oneLine)
            let readOnly = e.message.contains("read-only transaction")
            return .fail(readOnly ? "the server refused the query: preflight's sessions are read-only, it never writes"
                                  : "the query failed: \(e.firstLine)", evidence: evidence)
        case .success(let rows):
            let first = rows.first.flatMap { $0.first } ?? nil
            evidence["rows"] = .int(rows.count)
            evidence["value"] = first.map { .string($0) } ?? .null
            if let expect {
                return expect.matches(first)
                    ? .pass("returned \(first ?? "NULL") (expected \(expect))", evidence: evidence)
                    : .fail("returned \(rows.isEmpty ? "no rows" : (first ?? "NULL")), expected \(expect)", evidence: evidence)
            }
            return rows.isEmpty ? .fail("returned no rows", evidence: evidence) : .pass("returned \(rows.count) row\(rows.count == 1 ? "" : "s")", evidence: evidence)
        }
    }

    func command(_ argv: [String], _ exit: Int32, _ pattern: String?, _ timeout: Duration) async -> CheckOutcome {
        let shown = argv.first == "/bin/sh" && argv.count == 3 ? argv[2] : argv.joined(separator: " ")
        var evidence = Evidence(["command": .string(shown)])
        switch await probes.subprocess.run(argv, timeout: timeout, outputCap: 256 << 10) {
        case .failure(let e):
            return .fail(e.description, evidence: evidence)
        case .success(let r):
            let output = String(decoding: r.stdout + r.stderr, as: UTF8.self)
            let tail = output.split(whereSeparator: \.isNewline).suffix(3).joined(separator: " | ")
            if !tail.isEmpty { evidence["output"] = .string(Secrets.shared.excerpt(tail, 300)) }
            evidence["exit"] = .int(Int(r.status))
            if r.timedOut { return .fail("\(shown) did not finish within \(format(timeout))", evidence: evidence) }
            if r.status != exit { return .fail("\(shown) exited \(r.status), expected \(exit)", evidence: evidence) }
            if let pattern, let regex = try? NSRegularExpression(pattern: pattern),
               regex.firstMatch(in: output, range: NSRange(output.startIndex..., in: output)) == nil {
                return .fail("\(shown) exited \(r.status) but its output does not match /\(pattern)/", evidence: evidence)
            }
            return .pass("\(shown) exited \(r.status)\(pattern.map { " and printed /\($0)/" } ?? "")", evidence: evidence)
        }
    }
}
