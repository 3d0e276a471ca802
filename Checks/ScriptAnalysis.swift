import Foundation
import PreflightCore

/// What the script check concludes from a read script, before any live request. Computed once per run
/// with the load plan (Checks/Facts/LoadPlan.swift): each request is reviewed as the script reader finds it
/// (`review`), none is kept, then `finish` reads the rest; holds no reference to the script, so it is shareable.
struct ScriptAnalysis: Sendable {
    struct CursorFinding: Sendable {
        var location: String
        var requestLocation: String
        var method: String
        var param: String
        var origin: ValueOrigin
        var valueSource: String
        /// The URL as the script would build it, with a sample of the bad value; nil if other parts are run-time only.
        var liveURL: String?
        var sampleValue: String?
        /// A value written in the script (or an unset variable's default): the same page every iteration, a warning;
        /// an invented one (clock, die, counter) fails.
        var fixed: Bool { if case .literal = origin { return true }; return false }
        /// The variable the value comes from when it is one (`__ENV.CURSOR`, unset in load.env).
        var envName: String?
    }
    struct Note: Sendable { var location: String; var message: String }

    var cursorFindings: [CursorFinding] = []
    var targetFailures: [Note] = []
    var targetNotes: [Note] = []
    /// Requests whose base URL is only known at run time (a helper function, a request object in a variable).
    var unresolvedBases: [Note] = []
    /// Requests whose host was compared with the target.
    var targetsCompared = 0
    let targetConfigured: Bool
    var thresholdWarnings: [Note] = []
    let path: String
    private(set) var problems: [JSProblem] = []
    private(set) var problemCount = 0
    private(set) var requestCount = 0
    /// Requests listed by each `http.batch` call (nil: built at run time); read by the generator check.
    private(set) var batchSizes: [Int?] = []
    /// The script's imports (line, module specifier): where a module k6 cannot find is imported; remote ones.
    private(set) var modules: [(line: Int, specifier: String)] = []
    private let env: [String: String]
    private let target: ServiceURL?
    /// What was already reported: a cursor parameter at a line; a host and how it was chosen, or a line whose base is unknown.
    private var cursorsSeen: Set<String> = []
    private var targetsSeen: Set<String> = []
    private var reachesSeen: Set<Reach> = []
    private var origins: [Substring: (scheme: String, host: String, port: Int)?] = [:]

    static let opaqueCursors: Set<String> = ["cursor", "after", "before", "pagetoken", "nextpagetoken", "next", "nextcursor",
                                             "sinceid", "maxid", "minid", "startingafter", "endingbefore", "continuationtoken",
                                             "continuation", "marker", "startafter", "lastid", "lastevaluatedkey", "pagecursor",
                                             "aftercursor", "beforecursor", "nexttoken", "token"]
    /// Numeric paging: a literal or a counter is a legitimate value here, a clock or a die is not.
    static let numericPaging: Set<String> = ["offset", "page", "skip", "start"]

    static func normalized(_ name: String) -> String {
        name.lowercased().filter { $0 != "_" && $0 != "-" }
    }

    init(path: String, load: LoadSettings, target: ServiceURL?) {
        self.path = path
        env = load.env
        self.target = target
        targetConfigured = target != nil
    }

    /// The conclusions about a script read with its requests kept (`K6Script(source:)`).
    init(script: K6Script, path: String, load: LoadSettings, target: ServiceURL?) {
        self.init(path: path, load: load, target: target)
        for request in script.requests { review(request, in: script) }
        finish(script)
    }

    /// One request of the script, as the reader finds it (K6Script's `onRequest`).
    mutating func review(_ request: K6Request, in script: K6Script) {
        requestCount += 1
        findCursors(request, script)
        if let target { compareTargets(request, script, target) }
    }

    /// After the last request: what the reading found besides requests.
    mutating func finish(_ script: K6Script) {
        problems = script.problems
        problemCount = script.problemCount
        batchSizes = script.batchSizes
        modules = script.modules
        if target != nil {
            for b in script.opaqueBatches {
                unresolvedBases.append(Note(location: at(b.line), message: "http.batch(\(b.source)), a list built at run time"))
            }
        }
        checkThresholds(script)
    }

    func at(_ line: Int) -> String { "\(path):\(line)" }

    // MARK: cursors

    private mutating func findCursors(_ request: K6Request, _ script: K6Script) {
        for alternative in request.alternatives {
            for raw in Self.queryParams(alternative) {
                let key = Self.normalized(raw.name)
                let opaque = Self.opaqueCursors.contains(key)
                guard opaque || Self.numericPaging.contains(key) else { continue }
                // A value load.env sets (`cursor=${__ENV.CURSOR}`) is the user's: a real cursor, passed on purpose.
                var envName: String?
                var fromEnv = false
                for p in raw.value { if case .env(let n, _) = p { envName = n; if let v = env[n], !v.isEmpty { fromEnv = true } } }
                if fromEnv { continue }
                let param = QueryParam(name: raw.name, value: K6Script.resolve(raw.value, env: env))
                let holes = param.value.compactMap { p -> Range<Int>? in if case .hole(let r) = p { return r }; return nil }
                let origin: ValueOrigin
                if holes.isEmpty {
                    let text = param.value.compactMap { p -> String? in if case .text(let t) = p { return t }; return nil }.joined()
                    origin = text.isEmpty ? .empty : .literal(text)
                } else {
                    origin = K6Script.combined(holes.map(script.origin))
                }
                let bad: Bool
                switch origin {
                case .time, .random: bad = true
                case .counter, .literal: bad = opaque
                default: bad = false
                }
                guard bad else { continue }
                let line = holes.first.map { script.tokens[$0.lowerBound].line } ?? request.line
                guard cursorsSeen.insert("\(key)@\(line)").inserted else { continue }
                let source = holes.isEmpty ? "\"\(Self.sample(origin) ?? "")\"" : "${\(holes.map(script.source).joined(separator: "}${"))}"
                let sampleValue = Self.sample(origin)
                cursorFindings.append(CursorFinding(
                    location: at(line), requestLocation: at(request.line), method: request.method, param: param.name,
                    origin: origin, valueSource: source,
                    liveURL: sampleValue.flatMap { Self.liveURL(K6Script.resolve(alternative, env: env), replacing: Set(holes), with: $0) },
                    sampleValue: sampleValue, envName: envName))
            }
        }
    }

    private mutating func compareTargets(_ request: K6Request, _ script: K6Script, _ target: ServiceURL) {
        for alternative in request.alternatives {
            let resolved = K6Script.resolve(alternative, env: env)
            // `${__ENV.API_URL}/posts` with API_URL unset and no default: k6 requests "undefined/posts".
            if case .env(let name, nil)? = alternative.first(where: { $0 != .text("") }), env[name]?.isEmpty ?? true {
                let url = Self.display(resolved, script)
                guard targetsSeen.insert("undefined|\(name)").inserted else { continue }
                targetFailures.append(Note(location: at(request.line),
                                           message: "k6 will request `\(url)`: \(name) is unset (load.env does not set it) and the script has no default"))
                continue
            }
            guard case .text(let lead)? = resolved.first else {
                if case .hole(let r)? = resolved.first, targetsSeen.insert("hole@\(request.line)").inserted {
                    unresolvedBases.append(Note(location: at(request.line), message: "\(request.method == "?" ? "" : request.method + " ")\(Self.display(resolved, script))"))
                }
                continue
            }
            // The host is known only when the text goes past the authority (or the URL is all text).
            let separator = Self.schemeSeparator(lead)
            let authorityEnd = lead.utf8[(separator?.upperBound ?? lead.startIndex)...]
                .firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }
            let complete = resolved.count == 1 || authorityEnd != nil
            guard complete, let o = origin(of: lead, authorityEnd: separator == nil ? nil : authorityEnd ?? lead.endIndex) else {
                if targetsSeen.insert("partial@\(request.line)").inserted {
                    unresolvedBases.append(Note(location: at(request.line), message: "\(request.method == "?" ? "" : request.method + " ")\(Self.display(resolved, script))"))
                }
                continue
            }
            targetsCompared += 1
            let leading = alternative.first(where: { $0 != .text("") })
            // Most requests reach a host the way an earlier one did: what was said about it is not built again.
            let reach: Reach
            if case .env(let name, let fallback)? = leading { reach = Reach(envName: name, fallback: fallback != nil, scheme: o.scheme, host: o.host, port: o.port) }
            else { reach = Reach(envName: nil, fallback: false, scheme: o.scheme, host: o.host, port: o.port) }
            guard reachesSeen.insert(reach).inserted else { continue }
            let how: String
            if case .env(let name, let fallback)? = leading {
                if let v = env[name], !v.isEmpty { how = "load.env sets \(name)=\(redactURL(v))" }
                else if fallback != nil { how = "the script falls back to \(o.scheme)://\(Self.hostPort(o.host, o.port)) when \(name) is unset (load.env does not set it)" }
                else { how = "\(name) is unset and the script has no default" }
            } else {
                how = "the script requests \(o.scheme)://\(Self.hostPort(o.host, o.port))"
            }
            guard targetsSeen.insert("\(o.host):\(o.port)|\(how)").inserted else { continue }
            if o.port == target.port && o.host == target.host.lowercased() { continue }
            if o.port == target.port && Self.sameMachine(o.host, target.host) {
                targetNotes.append(Note(location: at(request.line),
                                        message: "the script uses \(o.host), the target \(target.host): same machine, port \(o.port)"))
                continue
            }
            targetFailures.append(Note(location: at(request.line),
                                       message: "\(how); target is \(target.hostPort)"))
        }
    }

    /// How a request reaches a host: its key in `targetsSeen` follows from it, so a reach seen once is skipped.
    private struct Reach: Hashable { var envName: String?; var fallback: Bool; var scheme: String; var host: String; var port: Int }

    /// `origin(of:)` depends only on the URL up to the end of its authority: worked out once per distinct prefix.
    private mutating func origin(of lead: String, authorityEnd: String.Index?) -> (scheme: String, host: String, port: Int)? {
        guard let authorityEnd else { return Self.origin(of: lead) }
        let prefix = lead[..<authorityEnd]
        if let known = origins[prefix] { return known }
        let o = Self.origin(of: String(prefix))
        if origins.count < 1024 { origins[prefix] = o }
        return o
    }

    // MARK: thresholds

    static let builtinMetrics: Set<String> = [
        "http_reqs", "http_req_duration", "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking",
        "http_req_sending", "http_req_waiting", "http_req_receiving", "http_req_failed", "iteration_duration",
        "iterations", "vus", "vus_max", "data_received", "data_sent", "checks", "dropped_iterations", "group_duration",
        "ws_connecting", "ws_session_duration", "ws_sessions", "ws_msgs_sent", "ws_msgs_received", "ws_ping",
        "grpc_req_duration", "grpc_streams", "grpc_streams_msgs_sent", "grpc_streams_msgs_received",
    ]

    private mutating func checkThresholds(_ script: K6Script) {
        for t in script.options.thresholds {
            let base = String(t.metric.prefix { $0 != "{" }).trimmingCharacters(in: .whitespaces)
            let isBuiltin = Self.builtinMetrics.contains(base) || base.hasPrefix("browser_") || base.hasPrefix("ws_")
            if !isBuiltin && !script.customMetrics.contains(base) {
                thresholdWarnings.append(Note(location: at(t.line),
                                              message: "threshold on \(base), a metric the script never defines (k6 refuses to start)"))
                continue
            }
            for e in t.expressions {
                switch Self.thresholdVerdict(e) {
                case .unreadable: thresholdWarnings.append(Note(location: at(t.line), message: "threshold \"\(e)\" on \(t.metric) is not k6 syntax"))
                case .cannotFail: thresholdWarnings.append(Note(location: at(t.line), message: "threshold \"\(e)\" on \(t.metric) can never fail"))
                case .ok: break
                }
            }
        }
    }

    enum ThresholdVerdict { case ok, cannotFail, unreadable }

    static func thresholdVerdict(_ expression: String) -> ThresholdVerdict {
        let e = expression.replacingOccurrences(of: " ", with: "")
        let ops = ["<=", ">=", "===", "==", "!=", "<", ">"]
        guard let op = ops.first(where: { e.contains($0) }), let r = e.range(of: op) else { return .unreadable }
        let agg = String(e[..<r.lowerBound]), rhs = String(e[r.upperBound...])
        let aggOK = ["avg", "min", "max", "med", "count", "rate", "value"].contains(agg)
            || (agg.hasPrefix("p(") && agg.hasSuffix(")") && Double(agg.dropFirst(2).dropLast()) != nil)
        guard aggOK, let v = Double(rhs) else { return .unreadable }
        if agg == "rate" {
            if (op == "<=" && v >= 1) || (op == "<" && v > 1) || (op == ">=" && v <= 0) || (op == ">" && v < 0) { return .cannotFail }
        } else if (op == ">=" && v <= 0) || (op == ">" && v < 0) {
            return .cannotFail
        }
        return .ok
    }

    // MARK: verdict

    func describe(_ o: ValueOrigin) -> String {
        switch o {
        case .time: return "a timestamp"
        case .random: return "a random number"
        case .counter: return "a counter"
        case .literal: return "a fixed value"
        default: return "a value"
        }
    }

    /// What `k6 inspect` said (ScriptCheck.inspect).
    enum K6Judgement: Sendable {
        case plan(K6Inspection.Plan)
        case failure(K6Inspection.Failure)
        case notRun(String)
    }

    func outcome(evidence base: Evidence, live: ScriptCheck.LiveConfirmation?, k6: K6Judgement? = nil,
                 staticPeak: Int? = nil, staticUnknown: String? = nil) -> CheckOutcome {
        var evidence = base
        var findings: [JSONValue] = []
        for f in cursorFindings where !f.fixed {
            findings.append(.object(Evidence([
                "location": .string(f.location), "request": .string("\(f.method) at \(f.requestLocation)"),
                "problem": .string("\(f.param)=\(f.valueSource) is \(describe(f.origin)), not a value from an earlier response"),
            ])))
        }
        for n in targetFailures { findings.append(.object(Evidence(["location": .string(n.location), "problem": .string(n.message)]))) }
        for n in thresholdWarnings { findings.append(.object(Evidence(["location": .string(n.location), "problem": .string(n.message)]))) }
        if !findings.isEmpty { evidence["findings"] = .array(findings) }
        if !targetNotes.isEmpty { evidence["notes"] = .array(targetNotes.map { .string("\($0.location): \($0.message)") }) }
        if problemCount > 0 {
            evidence["unreadable"] = .array(problems.prefix(5).map { .string("\(at($0.line)): \($0.message)") })
        }
        if let live {
            evidence["live"] = .string(live.text)
            for (k, v) in live.evidence.entries { evidence[k] = v }
        }

        var failures: [String] = []
        var fixes: [String] = []
        let invented = cursorFindings.filter { !$0.fixed }, fixed = cursorFindings.filter(\.fixed)
        var k6Failures = 0
        if case .failure(let f)? = k6 {
            // k6 stops here, before the first request: nothing else about the script matters as much.
            failures.append("\(f.location.map { "\($0): " } ?? "\(path): ")k6 cannot load the script: \(f.message)")
            fixes.append("fix the script so that `k6 inspect \(path)` loads it")
            k6Failures = 1
        }
        if let f = invented.first {
            var s = "\(f.location) sends \(f.param)=\(f.valueSource) (\(describe(f.origin)), not a value from an earlier response)"
            if let live, live.confirmed || live.accepted { s += ": \(live.text)" }
            failures.append(s)
            fixes.append("take the cursor from the previous response's message id, or omit it")
        }
        if let t = targetFailures.first {
            failures.append("\(t.location): \(t.message)")
            fixes.append("set the base URL variable in load.env and pass it to k6 (-e NAME=…), or fix the script's default")
        }
        let more = k6Failures + invented.count + targetFailures.count - failures.count
        let tail = more > 0 ? " (+\(more) more)" : ""
        if !failures.isEmpty {
            // An API that accepts the value makes the cursor finding a warning, unless something else fails.
            if live?.accepted == true && targetFailures.isEmpty {
                return .warn(failures.joined(separator: "; ") + tail, evidence: evidence, fix: fixes.joined(separator: "; "))
            }
            return .fail(failures.joined(separator: "; ") + tail, evidence: evidence, fix: fixes.joined(separator: "; "))
        }
        var warnings: [(summary: String, fix: String)] = []
        if case .plan(let p)? = k6, let k = p.maxVUs, staticPeak != k, staticPeak != nil || staticUnknown != nil {
            let said = staticPeak.map { "\($0)" } ?? "unknown (\(staticUnknown!))"
            warnings.append(("k6 evaluates the options to a peak of \(k) VUs; the static reading the pool, rate-limit and generator checks size for says \(said)",
                             "set load.vus: \(k) in preflight.yml so every check sizes the test k6 will run"))
        }
        for f in fixed {
            let unset = f.envName.map { " (\($0) is unset in load.env, so the script's default is used)" } ?? ""
            warnings.append(("\(f.location) sends \(f.param)=\(f.valueSource) on every iteration: a fixed value, so every request reads the same page\(unset)",
                             "take the cursor from the previous response, or set it in load.env (-e) if one fixed page is what you mean"))
        }
        if let u = unresolvedBases.first {
            let more = unresolvedBases.count > 1 ? ", +\(unresolvedBases.count - 1) more" : ""
            warnings.append(("the base URL could not be resolved statically (\(u.location): \(u.message)\(more)); it was not compared with the target",
                             "build request URLs from a constant or __ENV.X || \"default\" (or check the URL k6 prints with --http-debug)"))
        }
        for w in thresholdWarnings {
            warnings.append(("\(w.location): \(w.message)", "define the metric (new Rate/Trend/Counter/Gauge) or fix the threshold expression"))
        }
        if let w = warnings.first {
            let more = warnings.count > 1 ? " (+\(warnings.count - 1) more)" : ""
            for f in fixed {
                findings.append(.object(Evidence(["location": .string(f.location), "problem": .string("\(f.param)=\(f.valueSource) is a fixed value: the same page every iteration")])))
            }
            evidence["findings"] = findings.isEmpty ? nil : .array(findings)
            if !unresolvedBases.isEmpty { evidence["unresolved"] = .array(unresolvedBases.prefix(10).map { .string("\($0.location): \($0.message)") }) }
            var fixes: [String] = []
            for x in warnings where !fixes.contains(x.fix) { fixes.append(x.fix) }
            return .warn("\(w.summary)\(more)", evidence: evidence, fix: fixes.joined(separator: "; "))
        }
        if problemCount > 0, let p = problems.first {
            return .warn("\(at(p.line)): \(p.message) (\(problemCount) unreadable part\(problemCount == 1 ? "" : "s"); requests after it may be missed)",
                         evidence: evidence, fix: "check that load.script is the JavaScript file k6 runs")
        }
        let vus = evidence["peakVUs"].map { v -> String in
            if case .int(let n) = v { return ", peak \(v.display) VU\(n == 1 ? "" : "s")" }
            return ", peak VUs \(v.display)"
        } ?? ""
        let base = targetConfigured && targetsCompared > 0 ? ", base URL on the target" : ""
        return .pass("\(path): \(requestCount) request\(requestCount == 1 ? "" : "s"), no invented cursors\(base)\(vus)",
                     evidence: evidence)
    }
}
