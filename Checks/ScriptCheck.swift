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
        // Ordering only: a base URL the static reading could not resolve is then read in the URLs the smoke check's
        // one real iteration sent.
        after: ["smoke"],
        examples: [
            CheckExample(.pass, given: Self.world("const BASE = __ENV.CHAT_BASE_URL || 'http://127.0.0.1:3001';\nexport default function () { http.get(`${BASE}/messages`); }"),
                         says: "load.js: 1 request, no invented cursors, base URL on the target, peak 10 VUs"),
            CheckExample(.fail, given: Self.world("export default function () { http.get(`http://127.0.0.1:3001/messages?cursor=${Date.now()}`); }"),
                         says: "not a value from an earlier response"),
            CheckExample(.fail, given: Self.world("const BASE = __ENV.CHAT_BASE_URL || 'http://localhost:3000';\nexport default function () { http.get(`${BASE}/messages`); }"),
                         says: "the script falls back to http://localhost:3000 when CHAT_BASE_URL is unset (load.env does not set it); target is 127.0.0.1:3001"),
            CheckExample(.fail, given: Self.world("export default function () { http.get(`${__ENV.API_URL}/posts`); }"),
                         says: "k6 will request `undefined/posts`: API_URL is unset"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js",
                                             files: ["load.js": "import http from 'k6/http';\nexport default function () { http.get(`${__ENV.API_URL}/posts`); }\n"]),
                         says: "load.js:2: k6 will request `undefined/posts`: API_URL is unset (load.env does not set it) and the script has no default"),
            CheckExample(.fail, given: Self.world("export default function () { http.get('http://localhost:8080/messages'); }"),
                         says: "change the host the script requests to the target (127.0.0.1:3001), or read it from a variable"),
            CheckExample(.warn, given: Self.world("export default function () { http.get(`http://127.0.0.1:3001/messages?offset=${__ENV.OFFSET}`); }"),
                         says: "load.js:3: k6 will send `offset=undefined`: OFFSET is unset"),
            CheckExample(.warn, given: Self.world("import sql from 'k6/x/sql';\nexport default function () { http.get('http://127.0.0.1:3001/messages'); }", k6: .exited(107,
                         stderr: "time=\"2026-12-07T05:56:58Z\" level=error msg=\"GoError: unknown module: k6/x/sql\\n\" hint=\"script exception\"\n")),
                         says: "load.js:3 imports k6/x/sql: needs a k6 built with that extension"),
            CheckExample(.fail, given: Self.world("export default function () { http.get('http://127.0.0.1:3001/messages', { headers: { Authorization: `Bearer ${__ENV.TOKEN}` } }); }",
                                                  env: "TOKEN: \(Self.jwt2001)"),
                         says: "the JWT in TOKEN (load.env), read at load.js:3 expired"),
            CheckExample(.pass, given: Self.world("export default function () { http.get('http://127.0.0.1:3001/messages', { headers: { Authorization: 'Bearer \(Self.jwt2100)' } }); }",
                                                  options: "vus: 10, duration: '10m'"),
                         says: "peak 10 VUs, JWT valid"),
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001\nload:\n  script: load.js",
                                             files: ["load.js": "import { gql } from './lib/gql.js';\nexport default function () { gql('{ posts { id } }'); }\n",
                                                     "lib/gql.js": "import http from 'k6/http';\nexport function gql(q) { return http.post('http://127.0.0.1:3001/graphql', q); }\n"]),
                         says: "load.js: 1 request (with 1 local module), no invented cursors, base URL on the target"),
            CheckExample(.warn, given: Self.world("export default function () { http.get('http://127.0.0.1:3001/messages?cursor=msg_17'); }"),
                         says: "on every iteration: a fixed value, so every request reads the same page"),
            CheckExample(.pass, given: Self.world("export default function () { http.get(`http://127.0.0.1:3001/messages?cursor=${__ENV.CURSOR}`); }", env: "CURSOR: msg_17"),
                         says: "load.js: 1 request, no invented cursors"),
            CheckExample(.warn, given: Self.world("function url(p) { return __ENV.BASE + p; }\nexport default function () { http.get(url('/messages')); }"),
                         says: "the base URL could not be resolved statically"),
            CheckExample(.warn, given: Self.world("export default function () { http.get('http://127.0.0.1:3001/messages'); }",
                                                  options: "vus: 10, thresholds: { chat_errors: ['rate<0.01'] }"),
                         says: "threshold on chat_errors, a metric the script never defines"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001\nload:\n  script: missing.js"),
                         says: "load.script missing.js does not exist"),
            CheckExample(.fail, given: Self.world("import { pick } from './lib/missing.js';\nexport default function () { http.get('http://127.0.0.1:3001/messages'); }", k6: .exited(107,
                         stderr: "The moduleSpecifier \"./lib/missing.js\" couldn't be found on local disk.\n")),
                         says: "load.js:3: k6 cannot load the script: The moduleSpecifier \"./lib/missing.js\" couldn't be found on local disk."),
            CheckExample(.warn, given: Self.world("export default function () { http.get('http://127.0.0.1:3001/messages'); }", k6: .exited(0,
                         stdout: #"{"vus": 50, "maxVUs": 50, "totalDuration": "1m30s"}"#)),
                         says: "k6 evaluates the options to a peak of 50 VUs; the static reading the pool, rate-limit and generator checks size for says 10"),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001"), says: "no load.script configured"),
        ],
        timeoutBudget: 3)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [TargetURL.self, LoadPlan.self]

    /// JWTs for the examples (HS256 header, exp 2001-01-01 and 2100-01-01; a signature nobody checks).
    static let jwt2001 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrNiIsImV4cCI6OTc4MzA3MjAwfQ.c2ln"
    static let jwt2100 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJrNiIsImV4cCI6NDEwMjQ0NDgwMH0.c2ln"

    /// An example: load.js (an import of k6/http, `options`, then `body`) against the target :3001, with `load.env`
    /// when given, and `k6 inspect`'s answer when k6 is on PATH.
    static func world(_ body: String, options: String = "vus: 10", env: String? = nil, k6: SubprocessResult? = nil) -> World {
        World(config: "target: http://127.0.0.1:3001\nload:\n  script: load.js" + (env.map { "\n  env:\n    \($0)" } ?? ""),
              files: ["load.js": "import http from 'k6/http';\nexport const options = { \(options) };\n\(body)\n"],
              answers: ProbeAnswers {
                  if let k6 {
                      $0.host.programs["k6"] = "/usr/local/bin/k6"
                      $0.subprocess["inspect"] = .success(k6)
                  }
              })
    }

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
            if !a.modulesRead.isEmpty { evidence["modules"] = .array(a.modulesRead.map { .string($0) }) }
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
            case .needsExtension(let module, _, let k6)?:
                evidence["k6"] = .string("k6 inspect not used: \(k6) has no \(module)")
            case nil: break
            }
        } else {
            evidence["k6"] = .string("not on PATH: the options are the static reading")
        }

        var live: LiveConfirmation?
        if let cursor = analysis.cursorFindings.first(where: { !$0.fixed }), let target = context.fact(TargetURL.self).url {
            live = await confirm(cursor, target: target, timeout: context.timeout)
        }
        var duration = plan.plannedSeconds
        if duration == nil, case .plan(let p)? = judge { duration = p.totalDuration.flatMap(K6Options.seconds) }
        let tokens = Self.reviewTokens(analysis, path: path, now: Date().timeIntervalSince1970, duration: duration,
                                       options: plan.settings.duration == nil ? plan.options : nil)
        var outcome = analysis.outcome(evidence: evidence, live: live, k6: judge, staticPeak: plan.settings.vus == nil ? plan.peakVUs : nil,
                                       staticUnknown: plan.settings.vus == nil ? plan.options?.peakUnknown : nil, tokenReview: tokens)
        // A base URL not resolved statically, but built by k6 in the smoke check's real iteration (issue 34): the
        // URLs it sent say where the requests go, instead of a warning.
        if let smoke = await context.taken(SmokeIteration.self), let first = smoke.urls.first,
           let i = outcome.findings.firstIndex(where: { $0.severity == .warn && $0.sentence.hasPrefix(ScriptAnalysis.unresolvedBaseSentence) }) {
            let shown = redactURL(first) + (smoke.urls.count > 1 ? " (+\(smoke.urls.count - 1) more)" : "")
            if let target = context.fact(TargetURL.self).url, smoke.urls.allSatisfy({ Self.sameOrigin($0, target) }) {
                var findings = outcome.findings
                findings[i] = Finding(.pass, "the base URL was not resolved statically; one real iteration built \(shown): on the target")
                let order: [Status] = [.fail, .warn, .pass]
                outcome = CheckOutcome(findings: order.flatMap { s in findings.filter { $0.severity == s } }, evidence: outcome.evidence, suspects: outcome.suspects)
            } else {
                outcome.findings[i].sentence += "; one real iteration sent \(shown)"
            }
        }
        // k6 stopped at a .proto the grpc check looks for: that check's finding is the cause, this one its consequence.
        if case .failure(let f)? = judge, !analysis.grpc.isEmpty, f.message.contains(".proto") { outcome.suspects.append("grpc") }
        return outcome
    }

    /// Whether a URL k6 sent is on the target's origin (scheme, host, port; the scheme's port when none is written).
    static func sameOrigin(_ url: String, _ target: ServiceURL) -> Bool {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.host?.lowercased() else { return false }
        let port = c.port ?? (scheme == "https" ? 443 : 80)
        let bare = CharacterSet(charactersIn: "[]")
        return scheme == target.scheme.lowercased() && host.trimmingCharacters(in: bare) == target.host.lowercased().trimmingCharacters(in: bare) && port == target.port
    }

    /// Each JWT's `exp` against now + the planned run: expired fails (every request that sends it gets 401), one
    /// that expires during the run fails with the moment and the share of requests after it, the rest pass.
    /// The run is taken to start now: a later start (a slow setup(), a queued CI job) only moves the expiry earlier.
    static func reviewTokens(_ analysis: ScriptAnalysis, path: String, now: Double, duration: Double?, options: K6Options?) -> TokenReview {
        var review = TokenReview()
        let utc = DateFormatter()
        utc.locale = Locale(identifier: "en_US_POSIX")
        utc.timeZone = TimeZone(identifier: "UTC")
        utc.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        let fix = "issue a token that lives past the run's end (now + \(duration.map(TokenLifetime.span) ?? "the test's duration") + setup()), or log in in setup() and renew the token before its exp"
        for t in analysis.tokens {
            let at = "\(path):\(t.line)"
            let what = t.source == "a JWT written in the script" ? "the JWT written at \(at)" : "the JWT in \(t.source), read at \(at)"
            let exp = t.expires.map { " (exp \(utc.string(from: Date(timeIntervalSince1970: $0))))" } ?? ""
            switch TokenLifetime.judge(t, now: now, duration: duration, options: options) {
            case .expired(let ago):
                review.evidence.append("\(t.source) at \(at): expired \(TokenLifetime.span(ago)) ago")
                review.failures.append(Finding(.fail, "\(what) expired \(TokenLifetime.span(ago)) ago\(exp): every request that sends it gets 401",
                                               fix: fix, location: SourceLocation(written: at),
                                               effect: Effect(share: .exactly(1), from: "start", k6: "401",
                                                              basis: "a server that checks exp refuses the token from the first request (if every request sends it)")))
            case .expiresDuring(let s, let share, let weighted):
                let minute = Int(s / 60) + 1
                let pct = Int((share * 100).rounded())
                review.evidence.append("\(t.source) at \(at): expires \(TokenLifetime.span(s)) into the run")
                review.failures.append(Finding(.fail, "\(what) expires \(TokenLifetime.span(s)) into the \(TokenLifetime.span(duration ?? 0)) run (minute \(minute))\(exp): \(pct) % of the requests come after it and get 401",
                                               fix: fix, location: SourceLocation(written: at),
                                               effect: Effect(share: .exactly(share), from: String(Int(s.rounded())), k6: "401",
                                                              basis: weighted ? "the VU-seconds of the stages after exp, if the run starts now and every request sends the token"
                                                                              : "the run's time after exp, at a steady rate, if the run starts now and every request sends the token")))
            case .outlives(let by):
                review.evidence.append("\(t.source) at \(at): valid \(TokenLifetime.span(by)) past the planned end")
                review.passNote = review.passNote ?? "JWT valid \(TokenLifetime.span(by)) past the planned end"
            case .validFor(let left):
                review.evidence.append("\(t.source) at \(at): valid for \(TokenLifetime.span(left)) (the run's length is not known)")
                review.passNote = review.passNote ?? "JWT valid for \(TokenLifetime.span(left))"
            case .noExpiry:
                review.evidence.append("\(t.source) at \(at): no exp claim")
            }
        }
        return review
    }

    /// k6's proxies point at a closed loopback port, so a remote module it would fetch fails on this machine
    /// instead of reaching past loopback; usage reports are off.
    static let k6Environment: [String: String] = [
        "K6_NO_USAGE_REPORT": "true",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "", "no_proxy": "",
    ]

    /// k6 inspect's address space: normal scripts need a few hundred MiB of it; 400 KB of nested parentheses made
    /// k6 1.1.0 take 980 MB resident and 10 s, and under this bound it stops in under 2 s ("fatal error: out of memory").
    static let inspectMemory = 1536 << 20

    /// `k6 inspect --execution-requirements -e K=V… SCRIPT` (never `k6 run`): bounded in time, output and memory.
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
        switch await probes.subprocess.run(argv, environment: environment, timeout: timeout, outputCap: 4 << 20, memoryLimit: Self.inspectMemory) {
        case .failure(let e):
            return .notRun("cannot run \(k6): \(e.description)")
        case .success(let r) where r.timedOut:
            return .notRun("k6 inspect did not finish within \(format(timeout))")
        case .success(let r) where r.status == 0:
            guard let p = K6Inspection.parse(json: r.stdout) else { return .notRun("k6 inspect printed no options it could read") }
            return .plan(p)
        case .success(let r) where String(decoding: r.stderr.prefix(64 << 10), as: UTF8.self).contains("fatal error: out of memory"):
            return .notRun("k6 inspect needed more than \(Self.inspectMemory >> 20) MiB of address space and was stopped (a script k6 cannot read in bounded memory)")
        case .success(let r):
            let stderr = String(decoding: r.stderr, as: UTF8.self)
            let folder = (full as NSString).deletingLastPathComponent
            let shown = (path as NSString).deletingLastPathComponent
            guard var f = K6Inspection.failure(stderr: stderr, folder: folder, shown: shown.isEmpty ? "" : shown + "/") else {
                return .notRun("k6 inspect exited \(r.status) without a message")
            }
            if let module = K6Inspection.unknownExtension(f.message) {
                let line = analysis.modules.first(where: { $0.specifier == module })?.line
                return .needsExtension(module: module, location: line.map { "\(path):\($0)" } ?? path, k6: k6)
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
