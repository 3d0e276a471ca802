import Foundation
import PreflightCore
import PreflightProbes

/// One real iteration of the script (issue 34): `k6 run --vus 1 --iterations 1` (its `setup()` included), after the
/// port and health checks passed, bounded in time and memory, `--out json=-` read for every request's real method,
/// URL and status. A 404/405/401/5xx or a request k6 could not send fails on that request (file:line when the
/// script's request is known); another 4xx warns. Sends what one iteration of the script sends, writes included:
/// `load.smoke: false` or `--no-smoke` turns it off.
public struct SmokeCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "smoke", title: "One real iteration", layer: .script, prerequisites: ["port", "health"],
        // After preflight's own burst, never racing it: a 429 then is the limiter the burst met (rate-limit's finding).
        after: ["rate-limit", "pool-traffic"],
        examples: [
            CheckExample(.pass, given: Self.world(Self.out(("GET", "http://127.0.0.1:3001/messages", 200), ("POST", "http://127.0.0.1:3001/messages", 201))),
                         says: "one iteration of load.js (k6 run --vus 1 --iterations 1): sent 2 requests: 1 GET, 1 POST; all answered"),
            CheckExample(.fail, given: Self.world(Self.out(("GET", "http://127.0.0.1:3001/messages", 200), ("POST", "http://127.0.0.1:3001/message", 404))),
                         says: "load.js:4: POST http://127.0.0.1:3001/message answered 404 in one real iteration"),
            CheckExample(.fail, given: Self.world(Self.out(("GET", "http://127.0.0.1:3001/messages", 401), ("POST", "http://127.0.0.1:3001/messages", 401))),
                         says: "load.js:3: GET http://127.0.0.1:3001/messages answered 401 in one real iteration"),
            CheckExample(.warn, given: Self.world(Self.out(("GET", "http://127.0.0.1:3001/messages", 200), ("POST", "http://127.0.0.1:3001/message", 422))),
                         says: "load.js:4: POST http://127.0.0.1:3001/message answered 422"),
            CheckExample(.pass, given: Self.world(Self.out(("GET", "http://127.0.0.1:3001/messages", 200), ("POST", "http://127.0.0.1:3001/message", 429))),
                         says: "sent 2 requests: 1 GET, 1 POST; all answered"),
            CheckExample(.warn, given: Self.world("", status: 107, stderr: "time=\"2026-12-07T05:56:58Z\" level=error msg=\"Error: boom\\n\\tat setup (file:///w/load.js:2:9(3))\\n\" hint=\"script exception\"\n"),
                         says: "k6 stopped the iteration (exit 107): Error: boom"),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001\nload:\n  script: load.js\n  smoke: false",
                                               files: ["load.js": "export default function () {}\n"],
                                               answers: ProbeAnswers { $0.host.programs["k6"] = "/usr/local/bin/k6" }),
                         says: "load.smoke is false (or --no-smoke)"),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001\nload:\n  script: load.js", files: ["load.js": "export default function () {}\n"]),
                         says: "k6 is not on PATH"),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001"), says: "no load.script configured"),
        ],
        timeoutBudget: 10)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [LoadPlan.self]

    /// The example's k6 stdout: one `http_reqs` point per request, as `k6 run --out json=-` writes them.
    static func out(_ requests: (String, String, Int)...) -> String {
        requests.map { m, u, s in
            #"{"metric":"http_reqs","type":"Point","data":{"time":"2026-12-07T11:47:20Z","value":1,"tags":{"method":"\#(m)","name":"\#(u)","status":"\#(s)","url":"\#(u)"}}}"#
        }.joined(separator: "\n") + "\n"
    }

    static func world(_ stdout: String, status: Int32 = 0, stderr: String = "") -> World {
        World(config: "target: http://127.0.0.1:3001\nload:\n  script: load.js",
              files: ["load.js": "import http from 'k6/http';\nexport default function () {\n  http.get('http://127.0.0.1:3001/messages');\n  http.post('http://127.0.0.1:3001/' + (__ENV.P || 'message'), '{}');\n}\n"],
              answers: ProbeAnswers {
                  $0.host.programs["k6"] = "/usr/local/bin/k6"
                  $0.subprocess["run"] = .success(.exited(status, stdout: stdout, stderr: stderr))
              })
    }

    /// k6 run's address space: as inspect's bound (ScriptCheck.inspectMemory), plus one VU's.
    static let memory = 2048 << 20

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let plan = context.fact(LoadPlan.self)
        guard let path = plan.scriptPath, let full = plan.scriptFile else { return .skipped("no load.script configured") }
        guard plan.settings.smoke else { return .skipped("load.smoke is false (or --no-smoke): no real iteration") }
        guard let k6 = probes.host.which("k6") else { return .skipped("k6 is not on PATH: no real iteration") }
        var argv = [k6, "run", "--vus", "1", "--iterations", "1", "--quiet", "--no-color", "--no-summary", "--no-thresholds",
                    "--no-usage-report", "--out", "json=-"]
        for key in plan.settings.env.keys.sorted() { argv += ["-e", "\(key)=\(plan.settings.env[key]!)"] }
        argv.append(full)
        var environment = ProcessInfo.processInfo.environment
        environment["K6_NO_USAGE_REPORT"] = "true"
        let limit = context.timeout * 8
        let command = "k6 run --vus 1 --iterations 1"
        switch await probes.subprocess.run(argv, environment: environment, timeout: limit, outputCap: 16 << 20, memoryLimit: Self.memory) {
        case .failure(let e):
            return .warn("cannot run \(k6): \(e.description)")
        case .success(let r):
            let run = K6SmokeRun(jsonLines: r.stdout)
            var evidence = Evidence(["traffic": .string(run.traffic), "command": .string("\(command) \(path)")])
            if let d = run.iterationMs { evidence["iterationDuration"] = .string(String(format: "%.0f ms", d)) }
            var findings = judge(run, path: path, shapes: plan.requests)
            let limited = run.requests.filter { $0.status == 429 }
            if !limited.isEmpty {
                evidence["limited"] = .string("\(limited.count) answered 429 (a rate limiter, which the rate-limit check judges), e.g. \(limited[0].method) \(redactURL(limited[0].url))")
            }
            if !r.timedOut, r.status == 0 {
                // For the generator's sizing (ordered after this check): what the iteration really sent.
                var urls: [String] = []
                for r in run.requests where !K6SmokeRun.isSetupOrTeardown(r.group) && r.url != "?" && !urls.contains(r.url) && urls.count < 20 { urls.append(r.url) }
                let measured = SmokeIteration(requests: run.iterationRequests, milliseconds: run.iterationMs, urls: urls)
                _ = await context.measured(SmokeIteration.self) { measured }
            }
            if r.timedOut {
                findings.append(Finding(.warn, "one iteration of \(path) did not finish within \(format(limit)) (\(run.traffic) by then): k6 was stopped",
                                        fix: "check setup() and the iteration's sleeps; or turn the smoke run off with load.smoke: false"))
            } else if r.status != 0 {
                let reason = Self.reason(String(decoding: r.stderr.suffix(64 << 10), as: UTF8.self))
                findings.append(Finding(.warn, "k6 stopped the iteration (exit \(r.status)): \(reason)",
                                        fix: "run `\(command) \(path)` and fix what it reports"))
            }
            if findings.isEmpty {
                return .pass("one iteration of \(path) (\(command)): \(run.traffic); all answered\(run.iterationMs.map { String(format: " in %.0f ms", $0) } ?? "")",
                             evidence: evidence)
            }
            // A route the API description lacks is the api check's finding first; k6 stopping at a .proto or a
            // script error, the grpc or script check's: this one is then their consequence.
            var suspects: [CheckID] = []
            if findings.contains(where: { $0.sentence.contains("answered 404") || $0.sentence.contains("answered 405") }) { suspects.append("api") }
            if r.status != 0 && !r.timedOut { suspects += ["grpc", "script"] }
            return CheckOutcome(findings: findings, evidence: evidence, suspects: suspects)
        }
    }

    /// One finding per distinct request and status that failed (404/405/401/5xx or not sent) or warned (another 4xx).
    func judge(_ run: K6SmokeRun, path: String, shapes: [RequestShape]) -> [Finding] {
        var out: [Finding] = []
        var seen: Set<String> = []
        let total = max(run.requests.count, 1)
        for r in run.requests {
            let failing = r.status == 0 || r.status == 401 || r.status == 404 || r.status == 405 || r.status >= 500
            // 429: a rate limiter (preflight's own burst may have just emptied it): evidence, not a finding.
            let warning = (400...499).contains(r.status) && !failing && r.status != 429
            guard failing || warning, seen.insert("\(r.method) \(r.url) \(r.status)").inserted else { continue }
            let same = run.requests.filter { $0.method == r.method && $0.url == r.url && $0.status == r.status }.count
            let shape = shapes.first { $0.method == r.method && Self.matches(template: $0.resolvedURL ?? $0.url, url: r.url) }
            let at = shape?.location.map { "\($0): " } ?? ""
            let shown = redactURL(r.url)
            let said = r.status == 0 ? "was not sent: \(r.error ?? "k6 error \(r.errorCode ?? "?")")" : "answered \(r.status)"
            out.append(Finding(failing ? .fail : .warn, "\(at)\(r.method) \(shown) \(said) in one real iteration (\(same) of its \(run.requests.count) request\(run.requests.count == 1 ? "" : "s"))",
                               fix: Self.fix(r.status),
                               location: shape?.location.map { SourceLocation(written: $0) },
                               effect: Effect(requests: ["\(r.method) \(shown)"], share: .exactly(Double(same) / Double(total)),
                                              k6: r.status == 0 ? "\(r.errorCode ?? "error") \(r.error ?? "")" : String(r.status),
                                              basis: "\(same) of the \(run.requests.count) requests one real iteration sent")))
        }
        return out
    }

    static func fix(_ status: Int) -> String {
        switch status {
        case 401: return "give the script a token the service accepts (load.env), or log in in setup()"
        case 404: return "fix the URL the script builds (the route may have been renamed)"
        case 405: return "send the method the route allows"
        case 0: return "check the host and port the script sends this request to"
        case 500...: return "look at the service's log for this request: it fails with one VU already"
        default: return "check the request's body, parameters and the data it refers to"
        }
    }

    /// A URL k6 really sent against a script's template (`${…}` matches anything): the request it came from.
    static func matches(template: String, url: String) -> Bool {
        var pieces: [Substring] = []
        var rest = Substring(template)
        while let open = rest.range(of: "${") {
            pieces.append(rest[..<open.lowerBound])
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { return false }
            rest = rest[rest.index(after: close)...]
        }
        pieces.append(rest)
        var u = Substring(url)
        for (i, p) in pieces.enumerated() {
            if i == 0 { guard u.hasPrefix(p) else { return false }; u = u.dropFirst(p.count); continue }
            if i == pieces.count - 1 { return p.isEmpty || u.hasSuffix(p) }
            guard let r = u.range(of: p) else { return false }
            u = u[r.upperBound...]
        }
        return u.isEmpty
    }

    /// k6's own reason, from its last error line (`msg="…"`), unescaped and cut at its first line.
    static func reason(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n").filter { $0.contains("level=error") }
        guard let last = lines.last, let m = last.range(of: "msg=\"") else {
            return Secrets.shared.excerpt(String(stderr.split(separator: "\n").last ?? "no message"), 200)
        }
        var text = String(last[m.upperBound...])
        if let end = text.range(of: "\" ", options: .backwards) ?? text.range(of: "\"", options: .backwards) { text = String(text[..<end.lowerBound]) }
        text = text.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\\"", with: "\"")
        return Secrets.shared.excerpt(K6Inspection.reasonLine(text), 300)
    }
}

/// What one real iteration measured, for the checks ordered after the smoke check (the generator's arrival-rate
/// sizing): the requests the iteration itself sent (setup() and teardown() apart), and its duration at one VU.
public struct SmokeIteration: Sendable, Equatable {
    public let requests: Int
    public let milliseconds: Double?
    /// The URLs the iteration's requests were sent to, as k6 built them (distinct, at most 20).
    public let urls: [String]
    public init(requests: Int, milliseconds: Double?, urls: [String] = []) {
        self.requests = requests
        self.milliseconds = milliseconds
        self.urls = urls
    }
}

/// What `k6 run --out json=-` printed for one iteration: each `http_reqs` point (method, URL, status, error) and
/// the iteration's duration.
struct K6SmokeRun {
    struct Request { var method: String; var url: String; var status: Int; var error: String?; var errorCode: String?; var group = "" }
    var requests: [Request] = []
    /// The default iteration's duration (setup()'s and teardown()'s points are tagged with their group).
    var iterationMs: Double?
    /// The requests of the iteration itself: not setup()'s or teardown()'s (k6 tags theirs group ::setup, ::teardown).
    var iterationRequests: Int { requests.filter { !Self.isSetupOrTeardown($0.group) }.count }

    static func isSetupOrTeardown(_ group: String) -> Bool {
        ["::setup", "::teardown"].contains { group == $0 || group.hasPrefix($0 + "::") }
    }

    init(jsonLines: Data) {
        for line in jsonLines.split(separator: UInt8(ascii: "\n")) where requests.count < 10_000 {
            guard line.count < 1 << 20, let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  o["type"] as? String == "Point", let data = o["data"] as? [String: Any] else { continue }
            switch o["metric"] as? String {
            case "http_reqs":
                let tags = data["tags"] as? [String: Any] ?? [:]
                requests.append(Request(method: tags["method"] as? String ?? "?", url: tags["url"] as? String ?? "?",
                                        status: Int(tags["status"] as? String ?? "") ?? 0,
                                        error: tags["error"] as? String, errorCode: tags["error_code"] as? String,
                                        group: tags["group"] as? String ?? ""))
            case "iteration_duration":
                let group = (data["tags"] as? [String: Any])?["group"] as? String ?? ""
                if let v = data["value"] as? Double, !Self.isSetupOrTeardown(group) { iterationMs = v }
            default: break
            }
        }
    }

    /// "sent 4 requests: 2 GET, 2 POST"
    var traffic: String {
        var counts: [String: Int] = [:]
        for r in requests { counts[r.method, default: 0] += 1 }
        let each = counts.keys.sorted().map { "\(counts[$0]!) \($0)" }.joined(separator: ", ")
        return "sent \(requests.count) request\(requests.count == 1 ? "" : "s")" + (each.isEmpty ? "" : ": \(each)")
    }
}
