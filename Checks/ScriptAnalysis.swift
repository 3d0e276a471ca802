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
    struct Note: Sendable {
        var location: String
        var message: String
        /// The fix for this note when it is its own (an unset variable names itself; a hard-coded host has no variable).
        var fix: String? = nil
        /// The unset variable that leads the URL, when that is what the note says (its requests all fail).
        var unsetBase: String? = nil
    }

    var cursorFindings: [CursorFinding] = []
    var targetFailures: [Note] = []
    var targetNotes: [Note] = []
    /// `offset=${__ENV.OFFSET}` with OFFSET unset and no default: k6 sends the text "undefined" there.
    var undefinedParts: [Note] = []
    /// Requests (as the reader finds them) whose URL starts with each unset variable: all of them fail.
    private(set) var requestsWithUnsetBase: [String: Int] = [:]
    /// Requests whose base URL is only known at run time (a helper function, a request object in a variable).
    var unresolvedBases: [Note] = []
    /// The start of the warning for `unresolvedBases` (the script check replaces it with what the smoke run sent).
    static let unresolvedBaseSentence = "the base URL could not be resolved statically"
    /// Requests whose host was compared with the target.
    var targetsCompared = 0
    let targetConfigured: Bool
    var thresholdWarnings: [Note] = []
    let path: String
    /// The file whose requests are being reviewed, as shown (the script, or a local module it imports).
    var file: String
    /// The local modules whose requests were read (`./lib/gql.js`, shown relative to the script's folder).
    private(set) var modulesRead: [String] = []
    private(set) var problems: [JSProblem] = []
    private(set) var problemCount = 0
    private(set) var requestCount = 0
    /// The distinct requests the script sends ("POST ${BASE_URL}/conversations/${id}/messages"), the first
    /// `shapeCap`: what a finding's effect names, and each one's share of an iteration when branches are not known.
    private(set) var requestShapes: [RequestShape] = []
    static let shapeCap = 256
    /// Each shape's place in `requestShapes`, by its label: a request seen again is counted, not searched for.
    private var shapeIndex: [String: Int] = [:]
    /// Requests listed by each `http.batch` call (nil: built at run time); read by the generator check.
    private(set) var batchSizes: [Int?] = []
    /// The JWTs the script sends (their claims only; each token's text went to the secrets registry).
    private(set) var tokens: [ScriptToken] = []
    /// The script's gRPC use (k6/net/grpc), its modules' included (the grpc check).
    private(set) var grpc = K6GRPCUse()
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
        file = path
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
        if let url = request.alternatives.first {
            let shape = RequestShape(method: request.method, url: Self.display(url, script))
            if let i = shapeIndex[shape.label] {
                requestShapes[i].count += 1
            } else if requestShapes.count < Self.shapeCap {
                var s = shape
                s.location = at(request.line)
                s.resolvedURL = Self.display(K6Script.resolve(url, env: env), script)
                s.bodyKeys = request.bodyKeys
                shapeIndex[s.label] = requestShapes.count
                requestShapes.append(s)
            }
        }
        findCursors(request, script)
        findUnsetVariables(request, script)
        if let target { compareTargets(request, script, target) }
    }

    /// After the last request: what the reading found besides requests.
    mutating func finish(_ script: K6Script) {
        problems = script.problems
        problemCount = script.problemCount
        batchSizes = script.batchSizes
        modules = script.modules
        tokens = script.jwts(env: env) { Secrets.shared.register($0) }
        var use = script.grpcUse()
        use.placed(in: file)
        grpc.merge(use)
        if target != nil {
            for b in script.opaqueBatches {
                unresolvedBases.append(Note(location: at(b.line), message: "http.batch(\(b.source)), a list built at run time"))
            }
        }
        checkThresholds(script)
    }

    func at(_ line: Int) -> String { "\(file):\(line)" }

    /// After a local module's last request (`file` names it): what it adds besides requests. Its options and
    /// thresholds are not the test's (k6 reads those from the script), so only its tokens and batches count.
    mutating func finishModule(_ script: K6Script) {
        modulesRead.append(file)
        batchSizes += script.batchSizes
        tokens += script.jwts(env: env) { Secrets.shared.register($0) }
        var use = script.grpcUse()
        use.placed(in: file)
        grpc.merge(use)
        if target != nil {
            for b in script.opaqueBatches {
                unresolvedBases.append(Note(location: at(b.line), message: "http.batch(\(b.source)), a list built at run time"))
            }
        }
        file = path
    }

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

    /// A variable without a value in load.env and without a default in the script: k6 writes "undefined" in its
    /// place. Leading the URL (`${__ENV.API_URL}/posts`), no request reaches any host: a failure, with or without a
    /// target. Later in the URL (`offset=${__ENV.OFFSET}`), the request is sent with the word in it: a warning.
    private mutating func findUnsetVariables(_ request: K6Request, _ script: K6Script) {
        for alternative in request.alternatives {
            let leading = alternative.firstIndex(where: { $0 != .text("") })
            for (i, piece) in alternative.enumerated() {
                guard case .env(let name, nil) = piece, env[name]?.isEmpty ?? true else { continue }
                let resolved = K6Script.resolve(alternative, env: env)
                let fix = "set \(name) in load.env and pass it to k6 (-e \(name)=…), or give the script a default (`__ENV.\(name) || '…'`)"
                if i == leading {
                    requestsWithUnsetBase[name, default: 0] += 1
                    guard targetsSeen.insert("undefined|\(name)").inserted else { continue }
                    targetFailures.append(Note(location: at(request.line),
                                               message: "k6 will request `\(Self.display(resolved, script))`: \(name) is unset (load.env does not set it) and the script has no default",
                                               fix: fix, unsetBase: name))
                } else {
                    guard targetsSeen.insert("undefined-part|\(name)").inserted else { continue }
                    // The query parameter it fills, when it fills one: "offset=undefined"; else the URL.
                    let param = Self.queryParams(alternative).first { $0.value.contains(piece) }
                    let sent = param.map { "\($0.name)=undefined" } ?? Self.display(resolved, script)
                    undefinedParts.append(Note(location: at(request.line),
                                               message: "k6 will send `\(sent)`: \(name) is unset (load.env does not set it) and the script has no default",
                                               fix: fix))
                }
            }
        }
    }

    private mutating func compareTargets(_ request: K6Request, _ script: K6Script, _ target: ServiceURL) {
        for alternative in request.alternatives {
            let resolved = K6Script.resolve(alternative, env: env)
            // An unset base URL is said by `findUnsetVariables`, with or without a target.
            if case .env(let name, nil)? = alternative.first(where: { $0 != .text("") }), env[name]?.isEmpty ?? true { continue }
            guard case .text(let lead)? = resolved.first else {
                if case .hole? = resolved.first, targetsSeen.insert("hole@\(request.line)").inserted {
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
            let fix: String
            if case .env(let name, _)? = leading {
                fix = "set \(name) in load.env to the target (\(name)=\(redactURL(target.raw))) and pass it to k6 (-e \(name)=…), or fix the script's default"
            } else {
                fix = "change the host the script requests to the target (\(target.hostPort)), or read it from a variable (`__ENV.BASE_URL || '\(redactURL(target.raw))'`) and set it in load.env"
            }
            targetFailures.append(Note(location: at(request.line),
                                       message: "\(how); target is \(target.hostPort)", fix: fix))
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
        guard let e = ThresholdExpression(expression) else { return .unreadable }
        return e.cannotFail ? .cannotFail : .ok
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
        /// The script imports an extension (`k6/x/…`) that the k6 on PATH was not built with.
        case needsExtension(module: String, location: String, k6: String)
    }

    func outcome(evidence base: Evidence, live: ScriptCheck.LiveConfirmation?, k6: K6Judgement? = nil,
                 staticPeak: Int? = nil, staticUnknown: String? = nil, tokenReview: TokenReview = TokenReview()) -> CheckOutcome {
        var evidence = base
        if !tokenReview.evidence.isEmpty { evidence["tokens"] = .array(tokenReview.evidence.map { .string($0) }) }
        if !targetNotes.isEmpty { evidence["notes"] = .array(targetNotes.map { .string("\($0.location): \($0.message)") }) }
        if problemCount > 0 {
            evidence["unreadable"] = .array(problems.prefix(5).map { .string("\(at($0.line)): \($0.message)") })
        }
        if let live {
            evidence["live"] = .string(live.text)
            for (k, v) in live.evidence.entries { evidence[k] = v }
        }

        // Each failure its own finding, at its line of the script; the first is the headline.
        var failures: [Finding] = []
        let invented = cursorFindings.filter { !$0.fixed }, fixed = cursorFindings.filter(\.fixed)
        // An API that accepts the value makes the cursor finding a warning, unless something else fails.
        let severity: Status = live?.accepted == true && targetFailures.isEmpty ? .warn : .fail
        if case .failure(let f)? = k6 {
            // k6 stops here, before the first request: nothing else about the script matters as much.
            failures.append(Finding(severity, "\(f.location.map { "\($0): " } ?? "\(path): ")k6 cannot load the script: \(f.message)",
                                    fix: "fix the script so that `k6 inspect \(path)` loads it",
                                    location: SourceLocation(written: f.location ?? path)))
        }
        for (i, f) in invented.enumerated() {
            var s = "\(f.location) sends \(f.param)=\(f.valueSource) (\(describe(f.origin)), not a value from an earlier response)"
            if i == 0, let live, live.confirmed || live.accepted { s += ": \(live.text)" }
            // The requests that carry it fail (400): at most that request's share of an iteration (branches not
            // weighed), as few as none when the cursor is sent only sometimes.
            let each = requestCount > 0 ? 1 / Double(requestCount) : 1
            failures.append(Finding(severity, s, fix: "take the cursor from the previous response's message id, or omit it",
                                    evidence: Evidence(["request": .string("\(f.method) at \(f.requestLocation)")]),
                                    location: SourceLocation(written: f.location),
                                    effect: severity == .fail ? Effect(requests: ["\(f.method) at \(f.requestLocation)"],
                                                                       share: ShareRange(low: 0, high: each), from: "start",
                                                                       k6: "400 (the API refuses the invented \(f.param))",
                                                                       basis: "the request that sends \(f.param) (1 of \(requestCount) requests in the script), when it carries the invented value") : nil))
        }
        failures += tokenReview.failures
        for t in targetFailures {
            // Every request whose URL starts with the unset variable fails before it leaves k6 (measured with k6
            // 1.1.0: `Get "undefined/posts": unsupported protocol scheme ""`, error_code 1000, and the iteration goes on).
            let effect = t.unsetBase.flatMap { name -> Effect? in
                guard requestCount > 0, let n = requestsWithUnsetBase[name] else { return nil }
                let share = Double(min(n, requestCount)) / Double(requestCount)
                return Effect(requests: [], share: ShareRange(low: share, high: share), from: "start", k6: FailureKind.unsupportedScheme.k6,
                              basis: "\(n) of the script's \(requestCount) requests start with \(name) (branches not weighed)")
            }
            failures.append(Finding(.fail, "\(t.location): \(t.message)",
                                    fix: t.fix ?? "set the base URL variable in load.env and pass it to k6 (-e NAME=…), or fix the script's default",
                                    location: SourceLocation(written: t.location), effect: effect))
        }
        if !failures.isEmpty { return CheckOutcome(severity, findings: failures, evidence: evidence) }

        var warnings: [Finding] = []
        if case .needsExtension(let module, let location, let binary)? = k6 {
            // Not a script error: the test is run with a k6 built with the extension (xk6), not the one on PATH.
            warnings.append(Finding(.warn, "\(location) imports \(module): needs a k6 built with that extension; \(binary) was not, so k6 could not evaluate the options",
                                    fix: "put the k6 built with \(module) (xk6 build --with …) first on PATH, the one the test runs with",
                                    location: SourceLocation(written: location)))
        }
        if case .plan(let p)? = k6, let k = p.maxVUs, staticPeak != k, staticPeak != nil || staticUnknown != nil {
            let said = staticPeak.map { "\($0)" } ?? "unknown (\(staticUnknown!))"
            warnings.append(Finding(.warn, "k6 evaluates the options to a peak of \(k) VUs; the static reading the pool, rate-limit and generator checks size for says \(said)",
                                    fix: "set load.vus: \(k) in preflight.yml so every check sizes the test k6 will run"))
        }
        for f in fixed {
            let unset = f.envName.map { " (\($0) is unset in load.env, so the script's default is used)" } ?? ""
            warnings.append(Finding(.warn, "\(f.location) sends \(f.param)=\(f.valueSource) on every iteration: a fixed value, so every request reads the same page\(unset)",
                                    fix: "take the cursor from the previous response, or set it in load.env (-e) if one fixed page is what you mean",
                                    location: SourceLocation(written: f.location)))
        }
        if let u = unresolvedBases.first {
            let more = unresolvedBases.count > 1 ? ", +\(unresolvedBases.count - 1) more" : ""
            warnings.append(Finding(.warn, "\(Self.unresolvedBaseSentence) (\(u.location): \(u.message)\(more)); it was not compared with the target",
                                    fix: "build request URLs from a constant or __ENV.X || \"default\" (or check the URL k6 prints with --http-debug)",
                                    location: SourceLocation(written: u.location)))
        }
        for u in undefinedParts where !fixed.contains(where: { $0.envName != nil && u.message.contains(": \($0.envName!) is unset") }) {
            warnings.append(Finding(.warn, "\(u.location): \(u.message)", fix: u.fix ?? "",
                                    location: SourceLocation(written: u.location)))
        }
        for w in thresholdWarnings {
            warnings.append(Finding(.warn, "\(w.location): \(w.message)", fix: "define the metric (new Rate/Trend/Counter/Gauge) or fix the threshold expression",
                                    location: SourceLocation(written: w.location)))
        }
        if !warnings.isEmpty {
            if !unresolvedBases.isEmpty { evidence["unresolved"] = .array(unresolvedBases.prefix(10).map { .string("\($0.location): \($0.message)") }) }
            return CheckOutcome(findings: warnings, evidence: evidence)
        }
        if problemCount > 0, let p = problems.first {
            return CheckOutcome(findings: [Finding(.warn, "\(at(p.line)): \(p.message) (\(problemCount) unreadable part\(problemCount == 1 ? "" : "s"); requests after it may be missed)",
                                                   fix: "check that load.script is the JavaScript file k6 runs", location: SourceLocation(written: at(p.line)))],
                                evidence: evidence)
        }
        let vus = evidence["peakVUs"].map { v -> String in
            if case .int(let n) = v { return ", peak \(v.display) VU\(n == 1 ? "" : "s")" }
            return ", peak VUs \(v.display)"
        } ?? ""
        let base = targetConfigured && targetsCompared > 0 ? ", base URL on the target" : ""
        let token = tokenReview.passNote.map { ", \($0)" } ?? ""
        let modules = modulesRead.isEmpty ? "" : " (with \(modulesRead.count) local module\(modulesRead.count == 1 ? "" : "s"))"
        let calls = grpc.invokes.count
        let grpcCalls = calls > 0 ? " and \(calls) gRPC call\(calls == 1 ? "" : "s")" : ""
        return .pass("\(path): \(requestCount) request\(requestCount == 1 ? "" : "s")\(grpcCalls)\(modules), no invented cursors\(base)\(vus)\(token)",
                     evidence: evidence)
    }
}

/// What the JWTs the script sends mean for the planned run (ScriptCheck.reviewTokens).
struct TokenReview: Sendable {
    var failures: [Finding] = []
    /// "JWT in TOKEN (load.env) valid 5 h 59 min past the planned end", for the pass line.
    var passNote: String?
    var evidence: [String] = []
}

/// One request of the script as written: its method and URL template.
public struct RequestShape: Sendable, Equatable {
    public var method: String
    public var url: String
    /// Where the script sends it first ("load.js:12", or a local module's line).
    public var location: String? = nil
    /// The URL with `load.env` applied (an unset variable's default, or "undefined"); holes stay `${…}`.
    public var resolvedURL: String? = nil
    /// The top-level keys of its JSON body when the script writes the object out; nil when not known.
    public var bodyKeys: [String]? = nil
    /// How many calls of the script send it.
    public var count = 1

    /// The same request: method and URL template (where it is written and how often does not make it another).
    public static func == (a: RequestShape, b: RequestShape) -> Bool { a.method == b.method && a.url == b.url }
    public var isWrite: Bool { !["GET", "HEAD", "OPTIONS"].contains(method) }
    /// "POST ${BASE_URL}/conversations/${CONVERSATION_ID}/messages"
    public var label: String { "\(method) \(url)" }
    /// The URL's path words (`/chat/conversations/…/messages` → chat, conversations, messages), lower case.
    public var pathWords: [String] {
        let path = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
        return path.split(whereSeparator: { !$0.isLetter && $0 != "_" }).map { $0.lowercased() }
    }
}
