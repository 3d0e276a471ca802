import Foundation
import PreflightCore
import PreflightProbes

/// Reads the k6 script: invalid pagination cursors, a base URL that misses the target, options and thresholds.
///
/// No prerequisites: the static reading must run even when the service is down (a script bug is
/// worth knowing either way), and the engine has no "run after, but don't block" ordering. The live
/// confirmation decides for itself: it sends at most two GETs, only to the target's host and port,
/// and only says "confirmed" when the request without the cursor succeeds.
public struct ScriptCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "script", title: "Load script", layer: .script, prerequisites: [],
        examples: [
            CheckExample("cursors taken from earlier responses; base URL resolves to the target", .pass),
            CheckExample("cursor=${Date.now()} or Math.random() in a history URL", .fail),
            CheckExample("the script falls back to http://localhost:3000 when CHAT_BASE_URL is unset; target is :3001", .fail),
            CheckExample("${__ENV.API_URL}/posts with API_URL unset and no default: k6 will request `undefined/posts`", .fail),
            CheckExample("a fixed cursor (cursor=msg_17: the same page every iteration); a cursor from __ENV.CURSOR set in load.env passes", .warn),
            CheckExample("the base URL could not be resolved statically (a helper function, a request object in a variable)", .warn),
            CheckExample("threshold on a metric the script never defines, or one that cannot fail", .warn),
            CheckExample("load.script missing or unreadable", .fail),
            CheckExample("k6 itself cannot load the script (k6 inspect: a syntax error, a missing import, open() of a missing file), with k6's message and file:line", .fail),
            CheckExample("k6 evaluates the options to more VUs than the static reading the other checks sized for", .warn),
        ],
        timeoutBudget: 3)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetURL.self, LoadPlan.self]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let plan = context.fact(LoadPlan.self)
        guard let path = plan.scriptPath, let full = plan.scriptFile, let reading = plan.reading else {
            return .skipped("no load.script configured")
        }
        var evidence = Evidence(["script": .string(path)])
        let analysis: ScriptAnalysis
        switch reading {
        case .missing(_, let exists):
            return .fail("load.script \(path) \(exists ? "cannot be read (permission? a directory?)" : "does not exist")"
                         + (full == path ? "" : " (looked at \(full))"), evidence: evidence,
                         fix: "set load.script to the k6 script the test runs (relative paths start at the config file's folder)")
        case .tooLarge(let bytes):
            return .fail("load.script \(path) is \(bytes >> 20) MiB: not a k6 script", evidence: evidence,
                         fix: "point load.script at the k6 script itself")
        case .read(let options, let a):
            analysis = a
            evidence["requests"] = .int(a.requestCount)
            if let peak = plan.peakVUs { evidence["peakVUs"] = .int(peak) }
            else if let why = options.peakUnknown { evidence["peakVUs"] = .string("unknown (\(why))") }
            if plan.peakVUs != nil { evidence["peakVUsSource"] = .string(plan.settings.vus != nil ? "load.vus" : "the static reading of the script") }
            if let d = options.duration { evidence["duration"] = .string(d) }
        }

        // k6 as the judge, when it is on PATH: its own evaluation of the options, or the error it stops at.
        var judge: ScriptAnalysis.K6Judgement?
        if let k6 = probes.host.which("k6") {
            judge = await inspect(k6: k6, script: full, shown: path, analysis: analysis, env: plan.settings.env, timeout: context.timeout)
            switch judge {
            case .plan(let p)?:
                evidence["k6"] = .string("k6 inspect --execution-requirements: maxVUs \(p.maxVUs.map(String.init) ?? "?"), totalDuration \(p.totalDuration ?? "?")")
                if plan.settings.vus == nil, let k = p.maxVUs {
                    if let s = plan.peakVUs, s != k { evidence["staticPeakVUs"] = .int(s) }
                    evidence["peakVUs"] = .int(k)
                    evidence["peakVUsSource"] = .string("k6 inspect --execution-requirements (maxVUs)")
                }
                if let d = p.totalDuration { evidence["duration"] = .string(d); evidence["durationSource"] = .string("k6 inspect (totalDuration)") }
            case .failure(let f)?:
                evidence["k6"] = .string("k6 inspect failed: \(f.message)")
            case .notRun(let why)?:
                evidence["k6"] = .string("k6 inspect not used: \(why)")
            case nil: break
            }
        } else {
            evidence["k6"] = .string("not on PATH: the options are the static reading")
        }

        var live: LiveConfirmation?
        if let cursor = analysis.cursorFindings.first(where: { !$0.fixed }), let target = context.config.target {
            live = await confirm(cursor, target: target, timeout: context.timeout)
        }
        return analysis.outcome(evidence: evidence, live: live, k6: judge, staticPeak: plan.settings.vus == nil ? plan.peakVUs : nil,
                                staticUnknown: plan.settings.vus == nil ? plan.options?.peakUnknown : nil)
    }

    /// k6's proxies point at a closed loopback port, so a remote module it would fetch fails on this machine
    /// instead of reaching past loopback; usage reports are off.
    static let k6Environment: [String: String] = [
        "K6_NO_USAGE_REPORT": "true",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "", "no_proxy": "",
    ]

    /// `k6 inspect --execution-requirements -e K=V… SCRIPT` (never `k6 run`): bounded in time and output.
    func inspect(k6: String, script full: String, shown path: String, analysis: ScriptAnalysis, env: [String: String],
                 timeout: Duration) async -> ScriptAnalysis.K6Judgement {
        if let remote = analysis.modules.first(where: { $0.specifier.hasPrefix("http://") || $0.specifier.hasPrefix("https://") }) {
            return .notRun("\(path):\(remote.line) imports \(remote.specifier), which k6 would fetch (preflight keeps k6 on loopback)")
        }
        var argv = [k6, "inspect", "--execution-requirements"]
        for key in env.keys.sorted() { argv += ["-e", "\(key)=\(env[key]!)"] }
        argv.append(full)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in Self.k6Environment { environment[k] = v }
        switch await probes.subprocess.run(argv, environment: environment, timeout: timeout, outputCap: 4 << 20) {
        case .failure(let e):
            return .notRun("cannot run \(k6): \(e.description)")
        case .success(let r) where r.timedOut:
            return .notRun("k6 inspect did not finish within \(format(timeout))")
        case .success(let r) where r.status == 0:
            guard let p = K6Inspection.parse(json: r.stdout) else { return .notRun("k6 inspect printed no options it could read") }
            return .plan(p)
        case .success(let r):
            let stderr = String(decoding: r.stderr, as: UTF8.self)
            let folder = (full as NSString).deletingLastPathComponent
            let shown = (path as NSString).deletingLastPathComponent
            guard var f = K6Inspection.failure(stderr: stderr, folder: folder, shown: shown.isEmpty ? "" : shown + "/") else {
                return .notRun("k6 inspect exited \(r.status) without a message")
            }
            if f.message.contains("proxyconnect") {
                return .notRun("a module k6 would fetch over the network (preflight keeps k6 on loopback): \(f.message)")
            }
            // k6 names the module it cannot find, not where it is imported: the script's own import line says it.
            if f.location == nil, let m = K6Inspection.missingModule(f.message), let at = analysis.modules.first(where: { $0.specifier == m }) {
                f.location = "\(path):\(at.line)"
            }
            return .failure(f)
        }
    }

    struct LiveConfirmation {
        var confirmed: Bool
        var accepted: Bool
        var text: String
        var evidence: Evidence
    }

    /// Two GETs at most, both to the target's host and port: the URL without the cursor, and with it.
    func confirm(_ f: ScriptAnalysis.CursorFinding, target: ServiceURL, timeout: Duration) async -> LiveConfirmation? {
        guard f.method == "GET" else { return nil }
        guard let withCursor = f.liveURL else {
            return LiveConfirmation(confirmed: false, accepted: false,
                                    text: "not tried live: the URL has parts only known at run time", evidence: Evidence())
        }
        guard let origin = ScriptAnalysis.origin(of: withCursor),
              ScriptAnalysis.sameMachine(origin.host, target.host), origin.port == target.port else {
            return LiveConfirmation(confirmed: false, accepted: false,
                                    text: "not tried live: the URL is not on the target", evidence: Evidence())
        }
        guard var c = URLComponents(string: withCursor) else { return nil }
        c.percentEncodedQueryItems = c.percentEncodedQueryItems?.filter { $0.name != f.param }
        if c.percentEncodedQueryItems?.isEmpty == true { c.percentEncodedQueryItems = nil }
        guard let without = c.string else { return nil }
        async let a = probes.http.get(without, timeout: timeout, bodyCap: 64 << 10)
        async let b = probes.http.get(withCursor, timeout: timeout, bodyCap: 64 << 10)
        let (plain, cursored) = await (a, b)
        func said(_ x: HTTPExchange) -> String {
            if let s = x.status { return String(s) }
            return x.failure.map { "curl \($0.code): \($0.message)" } ?? "no answer"
        }
        func sample(_ x: HTTPExchange) -> String {
            Secrets.shared.excerpt(String(decoding: x.body.prefix(64 << 10), as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " "), 160)
        }
        var ev = Evidence([
            "withoutCursor": .string("GET \(redactURL(without)) → \(said(plain))"),
            "withCursor": .string("GET \(redactURL(withCursor)) → \(said(cursored))"),
        ])
        if let s = cursored.status, (400...499).contains(s), !cursored.body.isEmpty { ev["rejection"] = .string(sample(cursored)) }
        guard let ps = plain.status, (200...299).contains(ps) else {
            return LiveConfirmation(confirmed: false, accepted: false,
                                    text: "not confirmed live: the request without the cursor answered \(said(plain))", evidence: ev)
        }
        if let cs = cursored.status, (400...499).contains(cs) {
            return LiveConfirmation(confirmed: true, accepted: false,
                                    text: "the API confirmed it: \(cs) with \(f.param)=\(f.sampleValue ?? "…"), \(ps) without", evidence: ev)
        }
        if let cs = cursored.status, (200...299).contains(cs) {
            return LiveConfirmation(confirmed: false, accepted: true,
                                    text: "the API accepted \(f.param)=\(f.sampleValue ?? "…") (\(cs))", evidence: ev)
        }
        return LiveConfirmation(confirmed: false, accepted: false,
                                text: "not confirmed live: with the cursor the API answered \(said(cursored))", evidence: ev)
    }
}
