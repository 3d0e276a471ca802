import Foundation
import PreflightCore

/// What `k6 inspect --execution-requirements SCRIPT` says: k6's own evaluation of the options (imports
/// followed, `__ENV` from `-e`, defaults applied, `maxVUs` over overlapping scenarios), or the error k6
/// stops at (a syntax error, a module it cannot find, `open()` of a missing file in the init context).
enum K6Inspection: Sendable, Equatable {
    struct Plan: Sendable, Equatable {
        var options: K6Options
        /// k6's peak: the most VUs its scenarios hold at the same time.
        var maxVUs: Int?
        var totalDuration: String?
    }
    struct Failure: Sendable, Equatable {
        /// `file:line[:column]` relative to the script's folder as written, when k6 names one.
        var location: String?
        var message: String
    }
    case plan(Plan)
    case failure(Failure)

    /// The options JSON k6 prints on stdout (only the fields preflight reads; the rest is ignored).
    struct Printed: Decodable {
        struct Stage: Decodable { var duration: String?; var target: Double? }
        struct Scenario: Decodable {
            var executor: String?
            var vus, startVUs, maxVUs, preAllocatedVUs, rate, iterations: Double?
            var stages: [Stage]?
            var timeUnit, startTime, duration, maxDuration, gracefulStop, gracefulRampDown: String?
        }
        var vus: Double?
        var duration: String?
        var stages: [Stage]?
        var scenarios: [String: Scenario]?
        var batch, batchPerHost: Double?
        var noConnectionReuse, noVUConnectionReuse: Bool?
        var maxVUs: Double?
        var totalDuration: String?
        /// `{"metric": ["rate<0.01", {"threshold": "p(95)<500", "abortOnFail": true, "delayAbortEval": "10s"}]}`
        var thresholds: [String: [PrintedThreshold]]?
    }

    /// One threshold as k6 prints it: a string, or the object form.
    enum PrintedThreshold: Decodable {
        case text(String)
        case object(threshold: String, abortOnFail: Bool?, delayAbortEval: String?)

        private enum Keys: String, CodingKey { case threshold, abortOnFail, delayAbortEval }

        init(from decoder: any Decoder) throws {
            if let s = try? decoder.singleValueContainer().decode(String.self) { self = .text(s); return }
            let c = try decoder.container(keyedBy: Keys.self)
            self = .object(threshold: try c.decode(String.self, forKey: .threshold),
                           abortOnFail: try c.decodeIfPresent(Bool.self, forKey: .abortOnFail),
                           delayAbortEval: try c.decodeIfPresent(String.self, forKey: .delayAbortEval))
        }
    }

    static func parse(json data: Data) -> Plan? {
        guard let p = try? JSONDecoder().decode(Printed.self, from: data) else { return nil }
        func int(_ d: Double?) -> Int? { d.flatMap { $0.isFinite && abs($0) < 1e12 ? Int($0) : nil } }
        func stages(_ s: [Printed.Stage]?) -> [K6Options.Stage] { (s ?? []).map { K6Options.Stage(duration: $0.duration, target: int($0.target)) } }
        var o = K6Options()
        o.found = true
        o.vus = int(p.vus)
        o.duration = p.duration
        o.stages = stages(p.stages)
        o.batch = int(p.batch)
        o.batchPerHost = int(p.batchPerHost)
        o.noConnectionReuse = p.noConnectionReuse
        o.noVUConnectionReuse = p.noVUConnectionReuse
        for name in (p.scenarios ?? [:]).keys.sorted() {
            let g = p.scenarios![name]!
            o.scenarios.append(K6Options.Scenario(
                name: name, executor: g.executor, vus: int(g.vus), startVUs: int(g.startVUs), maxVUs: int(g.maxVUs),
                preAllocatedVUs: int(g.preAllocatedVUs), stages: stages(g.stages), rate: int(g.rate), timeUnit: g.timeUnit,
                startTime: g.startTime, duration: g.duration, maxDuration: g.maxDuration, gracefulStop: g.gracefulStop,
                gracefulRampDown: g.gracefulRampDown, iterations: int(g.iterations)))
        }
        for metric in (p.thresholds ?? [:]).keys.sorted() {
            var t = K6Options.Threshold(metric: metric, line: 0, expressions: [])
            for item in p.thresholds![metric]! {
                switch item {
                case .text(let e):
                    t.expressions.append(e)
                    t.declared.append(ScriptThreshold(key: metric, source: e))
                case .object(let e, let abort, let delay):
                    t.expressions.append(e)
                    t.declared.append(ScriptThreshold(key: metric, source: e, abortOnFail: abort ?? false, delayAbortEval: delay))
                }
            }
            o.thresholds.append(t)
        }
        return Plan(options: o, maxVUs: int(p.maxVUs), totalDuration: p.totalDuration)
    }

    /// k6's error from stderr (`level=error msg="…"`), its file:line made relative to `folder` (shown as `shown`).
    static func failure(stderr: String, folder: String, shown: String) -> Failure? {
        var message: String?
        for line in stderr.split(separator: "\n", omittingEmptySubsequences: true) where line.contains("level=error") || line.contains("level=fatal") {
            if let m = logField(String(line), "msg") { message = m; break }
        }
        if message == nil {
            // A plain-text error (older k6, or no logrus formatting).
            message = stderr.split(separator: "\n").first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init)
        }
        guard var m = message?.trimmingCharacters(in: .whitespacesAndNewlines), !m.isEmpty else { return nil }
        let prefix = folder.hasSuffix("/") ? folder : folder + "/"
        func relative(_ path: String) -> String {
            var p = path
            if p.hasPrefix("file://") { p = String(p.dropFirst(7)) }
            return p.hasPrefix(prefix) ? shown + p.dropFirst(prefix.count) : p
        }
        var location: String?
        // A syntax error: "file:///dir/x.js: Line 3:1 Unexpected token export (and 5 more errors)".
        if let r = m.range(of: #"file://[^\s:]+: Line \d+:\d+"#, options: .regularExpression) {
            let hit = String(m[r])
            let file = String(hit[..<hit.range(of: ": Line ")!.lowerBound])
            let lineCol = String(hit[hit.range(of: ": Line ")!.upperBound...])
            location = "\(relative(file)):\(lineCol)"
            m = String(m[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        } else if let r = m.range(of: #"at file://[^\s]+:\d+:\d+"#, options: .regularExpression) {
            // A run-time exception in the init context: "…\n\tat file:///dir/x.js:2:18(13)".
            let hit = String(m[r].dropFirst(3))
            let parts = hit.split(separator: ":")
            if parts.count >= 3 {
                let file = parts.dropLast(2).joined(separator: ":")
                location = "\(relative(file)):\(parts[parts.count - 2]):\(parts[parts.count - 1])"
            }
        }
        m = reasonLine(m)
        // "The moduleSpecifier … couldn't be found on local disk. Make sure that …": the first sentence says it.
        if m.hasPrefix("The moduleSpecifier"), let end = m.range(of: "local disk.") { m = String(m[..<end.upperBound]) }
        m = m.replacingOccurrences(of: "file://" + prefix, with: shown).replacingOccurrences(of: prefix, with: shown)
        if m.count > 300 { m = String(m.prefix(300)) + "…" }
        return Failure(location: location, message: m)
    }

    /// k6's first line is the message; the rest is a Go/JS stack. A first line that ends in ":" announces a list
    /// ("There were problems with the specified script configuration:\n\t- scenario a has …"): the list is the
    /// reason. Without k6's "GoError: " prefix. (`k6 inspect`'s failure and the smoke run's.)
    static func reasonLine(_ message: String) -> String {
        let lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let first = lines.first ?? message
        let items = lines.dropFirst().prefix { $0.hasPrefix("- ") }.map { String($0.dropFirst(2)) }
        let m = first.hasSuffix(":") && !items.isEmpty ? first + " " + items.joined(separator: "; ") : first
        return m.hasPrefix("GoError: ") ? String(m.dropFirst(9)) : m
    }

    /// A logrus field (`key="quoted \"value\""` or `key=bare`), unquoted.
    static func logField(_ line: String, _ key: String) -> String? {
        guard let r = line.range(of: " \(key)=") ?? (line.hasPrefix("\(key)=") ? line.range(of: "\(key)=") : nil) else { return nil }
        var rest = line[r.upperBound...]
        guard rest.first == "\"" else { return String(rest.prefix { $0 != " " }) }
        rest = rest.dropFirst()
        var out = ""
        var escaped = false
        for c in rest {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(c)
                }
                escaped = false
                continue
            }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { return out }
            out.append(c)
        }
        return out
    }

    /// The extension module the k6 on PATH lacks (`unknown module: k6/x/sql`): the script needs a k6 built with it.
    static func unknownExtension(_ message: String) -> String? {
        guard let r = message.range(of: #"unknown module: k6/x/[^\s"]+"#, options: .regularExpression) else { return nil }
        return String(message[r].dropFirst("unknown module: ".count))
    }

    /// The module k6 says it cannot find (`The moduleSpecifier "./lib/x.js" couldn't be found`).
    static func missingModule(_ message: String) -> String? {
        guard let r = message.range(of: #"moduleSpecifier "[^"]+""#, options: .regularExpression) else { return nil }
        return String(message[r].dropFirst(17).dropLast())
    }
}
