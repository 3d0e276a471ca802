import Foundation
import PreflightCore
import PreflightProbes

/// `health.upstream` in preflight.yml: the health check's own key (health.path and health.ca say how k6 reaches the
/// target, and belong to `TargetReach`).
public struct HealthUpstreamSettings: ConfigSection {
    public static let key = "health"
    public static let keys = ["upstream"]
    /// The application behind a reverse proxy (http://127.0.0.1:4000/health): asked directly when the proxy answers 502/503/504.
    public var upstream: String?

    public init() {}
    public init(reading r: SectionReader) {
        if let u = r.string("upstream") {
            let (_, why) = ServiceURL.parse(u)
            if let why { r.problem("upstream", why) } else { upstream = u }
        }
    }
}

/// GET the health endpoint: status, phase timings, and what its JSON says about its components.
public struct HealthCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "health", title: "Health endpoint", layer: .service, prerequisites: ["port"],
        examples: [
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:3001/health"] = .answer(200, #"{"status":"ok"}"#)
            }), says: "http://127.0.0.1:3001/health answers 200"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:3001/health"] = .answer(503, #"{"status":"error"}"#)
            }), says: "http://127.0.0.1:3001/health answers 503"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001\nhealth:\n  path: /ready", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:3001/ready"] = .answer(200, #"{"status":"ok","components":{"cache":{"status":"DOWN"}}}"#)
            }), says: "answers 200 but reports cache"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001\ndatabase:\n  url: postgresql://chat@127.0.0.1:5432/chat", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:3001/health"] = .answer(503, #"{"status":"error","database":"disconnected"}"#)
            }), says: "the service cannot reach its database"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:3001/health"] = .failed(28, "Operation timed out after 2000 milliseconds with 0 bytes received", connected: true)
            }), says: "accepts TCP connections but sent no answer within 3 s"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:3001/health"] = .failed(1, "Received HTTP/0.9 when not allowed", connected: true)
            }), says: "answers, but not with HTTP"),
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                var x = HTTPExchange.answer(200, #"{"status":"ok"}"#)
                x.redirects = 1
                x.finalURL = "https://127.0.0.1:3443/health"
                $0.http["GET http://127.0.0.1:3001/health"] = x
            }), says: "after 1 redirect, at https://127.0.0.1:3443/health answers 200"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:8080", answers: ProbeAnswers {
                $0.http["GET http://127.0.0.1:8080/health"] = .answer(502, "<html><center>nginx/1.22.1</center></html>", headers: [("Server", "nginx/1.22.1")])
            }), says: "nginx answers on :8080 but its upstream"),
            CheckExample(.fail, given: World(config: "target: http://127.0.0.1:3001", answers: ProbeAnswers {
                var x = HTTPExchange.answer(200, "<!doctype html><form><input type=\"password\"></form>", headers: [("Content-Type", "text/html")])
                x.redirects = 1
                x.finalURL = "http://127.0.0.1:3001/login"
                $0.http["GET http://127.0.0.1:3001/health"] = x
            }), says: "answers 200 with an HTML login page"),
            CheckExample(.skipped, given: World(config: ""), says: "no target configured"),
            CheckExample(.pass, given: World(config: "target: https://chat.local:3443", answers: ProbeAnswers {
                var x = HTTPExchange.answer(200, #"{"status":"ok"}"#)
                x.tls = .leaf(until: "Jan  1 00:00:00 2099 GMT")
                $0.http["GET https://chat.local:3443/health"] = x
            }), says: "https://chat.local:3443/health answers 200"),
            CheckExample(.warn, given: World(config: "target: https://chat.local:3443\nload:\n  duration: 72h", answers: ProbeAnswers {
                var x = HTTPExchange.answer(200, #"{"status":"ok"}"#)
                x.tls = .leaf(until: TLSSession.openSSLDate(daysFromNow: 1))
                $0.http["GET https://chat.local:3443/health"] = x
            }), says: "before the load test ends (now + 3 d from load.duration"),
            CheckExample(.warn, given: World(config: "target: https://chat.local:3443\nload:\n  script: load.js", files: [
                "load.js": "import http from 'k6/http';\nexport const options = { insecureSkipTLSVerify: true, vus: 10 };\nexport default function () { http.get('https://chat.local:3443/'); }\n",
            ], answers: ProbeAnswers {
                var refused = HTTPExchange.failed(60, "SSL certificate problem: certificate has expired", connected: true)
                refused.tls = .leaf(until: "Jan  1 00:00:00 2024 GMT")
                $0.http["GET https://chat.local:3443/health"] = refused
                var accepted = HTTPExchange.answer(200, #"{"status":"ok"}"#)
                accepted.tls = refused.tls
                $0.http["GET https://chat.local:3443/health (any certificate)"] = accepted
            }), says: "k6 accepts it only because the script sets insecureSkipTLSVerify: true"),
            CheckExample(.fail, given: World(config: "target: https://chat.local:3443", answers: ProbeAnswers {
                var refused = HTTPExchange.failed(60, "SSL certificate problem: certificate has expired", connected: true)
                refused.tls = .leaf(until: "Jan  1 00:00:00 2024 GMT")
                $0.http["GET https://chat.local:3443/health"] = refused
            }), says: "k6 will refuse the TLS connection: the certificate expired on 2024-01-01"),
            CheckExample(.fail, given: World(config: "target: https://127.0.0.1:3443", answers: ProbeAnswers {
                var x = HTTPExchange.answer(200, #"{"status":"ok"}"#)
                x.tls = .leaf(until: "Jan  1 00:00:00 2099 GMT")
                $0.http["GET https://127.0.0.1:3443/health"] = x
            }), says: "the certificate does not name 127.0.0.1: it has only chat.local"),
            CheckExample(.fail, given: World(config: "target: https://chat.local:3443", answers: ProbeAnswers {
                var refused = HTTPExchange.failed(35, "error:0A000102:SSL routines::unsupported protocol", connected: true)
                refused.tls = TLSSession()
                refused.tls?.protocol = "TLSv1"
                $0.http["GET https://chat.local:3443/health"] = refused
            }), says: "no TLS version in common: k6 allows TLS 1.2 and 1.3 (its default)"),
        ],
        // One GET, a second on the same connection (keep-alive), and for https a second look at a refused
        // certificate; for a proxy's 502 the upstream itself.
        timeoutBudget: 4)
    public static let settings: [any ConfigSection.Type] = [HealthUpstreamSettings.self]
    public static let facts: [any Fact.Type] = [TargetReach.self, DatabaseSettings.self, LoadPlan.self]

    /// Bodies past 1 MiB are cut: a health page has no business being larger.
    static let bodyCap = 1 << 20

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let reach = context.fact(TargetReach.self)
        guard let url = reach.healthURL else { return .skipped("no target configured") }
        var evidence = Evidence(["url": .string(redactURL(url))])
        let x: HTTPExchange
        var tlsWarnings: [Finding] = []
        if url.lowercased().hasPrefix("https://") {
            switch await tlsExchange(url, reach: reach, context: context, evidence: &evidence) {
            case .refused(let outcome): return outcome
            case .exchange(let e, let warnings): x = e; tlsWarnings = warnings
            }
        } else {
            let options = plainRequestOptions(url, reach: reach, evidence: &evidence)
            x = await probes.http.send("GET", url: url, headers: [:], body: nil, timeout: context.timeout, bodyCap: Self.bodyCap, options: options)
            Self.count(x, &evidence)
        }
        let outcome = await judge(x, url: url, reach: reach, context: context, evidence: evidence)
        guard !tlsWarnings.isEmpty else { return outcome }
        // k6 gets through the TLS warnings: first when the rest passes, after the failure otherwise.
        var o = outcome
        o.findings = outcome.status == .pass ? tlsWarnings + outcome.findings : outcome.findings + tlsWarnings
        if outcome.status == .pass { o.status = .warn }
        return o
    }

    func judge(_ x: HTTPExchange, url: String, reach: TargetReach, context: CheckContext, evidence: Evidence) async -> CheckOutcome {
        var evidence = evidence
        let t = x.timings
        evidence["timingsMs"] = .object(Evidence([
            "dns": .double(round2(t.dnsMs)), "connect": .double(round2(t.connectMs)), "tls": .double(round2(t.tlsMs)),
            "firstByte": .double(round2(t.firstByteMs)), "total": .double(round2(t.totalMs)),
        ]))
        if let failure = x.failure {
            return transportFailure(failure, url: url, context: context, evidence: evidence, firstByte: t.firstByteMs > 0)
        }
        guard let status = x.status else {
            return .fail("no HTTP status from \(redactURL(url))", evidence: evidence, fix: "check that target is the service's HTTP base URL")
        }
        evidence["status"] = .int(status)
        if x.redirects > 0, let end = x.finalURL { evidence["redirects"] = .string("\(x.redirects), ended at \(redactURL(end))") }
        if let k = Self.keepAlive(x) { evidence["keepAlive"] = .string(k) }
        if let v = x.httpVersion { evidence["http"] = .string(v) }
        if HealthLanding.isLoginPage(contentType: x.header("Content-Type"), body: x.body, finalURL: x.finalURL) {
            return .fail("\(redactURL(url))\(Self.landing(x)) answers \(status) with an HTML login page, not a health answer",
                         evidence: evidence,
                         fix: "exempt the health route from authentication (k6 would get the same login page), or set health.path to a route that answers without a session")
        }
        if !(200...299).contains(status), let p = ReverseProxyAnswer.identify(status: status, headers: x.headers, body: x.body) {
            return await proxyOutcome(p, url: url, upstream: context.config.section(HealthUpstreamSettings.self).upstream,
                                      context: context, evidence: evidence)
        }
        if x.bodyTruncated { evidence["body"] = .string("cut at \(Self.bodyCap) bytes") }
        let body = HealthBody.parse(x.body)
        if let body {
            if let overall = body.overallText { evidence["reported"] = .string(overall) }
            if !body.components.isEmpty {
                evidence["components"] = .object(Evidence(body.components.map { ($0.name, JSONValue.string($0.detail)) }))
            }
        } else if !x.body.isEmpty {
            let text = String(decoding: x.body.prefix(64 << 10), as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            evidence["bodySample"] = .string(Secrets.shared.excerpt(text, 120))
        }
        let down = body?.downComponents ?? []
        let dbDown = down.filter { HealthBody.isDatabase($0.name) }
        let timing = "\(Int(t.totalMs.rounded())) ms"

        if !(200...299).contains(status) || body?.overall == .down || !down.isEmpty {
            let what = (200...299).contains(status) ? "answers \(status) but reports" : "answers \(status)"
            var said: [String] = []
            if let o = body?.overallText, body?.overall == .down { said.append("status \(o)") }
            said += down.map { "\($0.name) \($0.detail)" }
            let detail = said.isEmpty ? "" : (((200...299).contains(status) ? " " : ": ") + said.joined(separator: ", "))
            if !dbDown.isEmpty {
                return .fail("\(redactURL(url)) \(what)\(detail): the service cannot reach its database",
                             evidence: evidence,
                             fix: context.fact(DatabaseSettings.self).url != nil
                                ? "fix the database first (see the database check); the service recovers once it can connect"
                                : "add database.url (the URL the service uses) so preflight can tell why the service cannot reach it",
                             suspects: ["database", "pool"])
            }
            return .fail("\(redactURL(url)) \(what)\(detail)", evidence: evidence,
                         fix: status == 404 ? "no route at \(URLComponents(string: url)?.path ?? url): set health.path to the service's health route"
                             : "look at the service's log for why it reports itself unhealthy")
        }
        let keep = Self.keepAlive(x).flatMap { $0.hasPrefix("no: ") ? "; keep-alive off (\($0.dropFirst(4))): every k6 request opens a new connection" : nil } ?? ""
        return .pass("\(redactURL(url))\(Self.landing(x)) answers \(status) in \(timing)\(body?.overallText.map { " (status \($0))" } ?? "")\(keep)", evidence: evidence)
    }

    func transportFailure(_ f: HTTPExchange.Failure, url: String, context: CheckContext, evidence: Evidence,
                          firstByte: Bool = false) -> CheckOutcome {
        var evidence = evidence
        evidence["error"] = .string("curl \(f.code): \(f.message)")
        let u = redactURL(url)
        let isTLS = url.hasPrefix("https://")
        switch f.code {
        case 28 where f.connected && firstByte:  // it started answering, then trickled (slowloris) past the deadline
            return .fail("\(u) started answering but did not finish its answer within \(format(context.timeout))",
                         evidence: evidence,
                         fix: "the service sends its answer very slowly (overloaded, or something in between trickles it): check its log and any proxy, or raise --timeout if it is only slow")
        case HTTPExchange.Failure.libraryMissing:  // preflight's own library, not the service
            return .fail("preflight cannot send HTTP requests: \(f.message)", evidence: evidence,
                         fix: "install libcurl4 (libcurl.so.4 and its libraries) on the machine that runs preflight")
        case HTTPExchange.Failure.headersTooLarge:
            return .fail("\(u) answers with a header block too large to read (over 500 lines or 256 KiB)", evidence: evidence,
                         fix: "the service (or a proxy in front of it) sends megabytes of headers: check for a header that grows (cookies, a loop appending a header)")
        case 28 where f.connected:  // CURLE_OPERATION_TIMEDOUT after the TCP connection was up
            return .fail("\(u) accepts TCP connections but sent no answer within \(format(context.timeout))",
                         evidence: evidence,
                         fix: "the process is hung or overloaded (event loop blocked, all workers busy): check its log, or raise --timeout if it is only slow")
                .effect(EffectModel.everyRequest(k6: FailureKind.requestTimeout.k6, basis: "the service accepts connections and answers nothing"))
        case 28 where isTLS && context.prerequisites["port"].map({ $0.status == .pass || $0.status == .warn }) == true:
            // curl counts the TLS handshake as connecting; the port check already saw TCP accepted.
            return .fail("\(u): TLS handshake got no answer within \(format(context.timeout)) although TCP connects: the port probably speaks plain HTTP",
                         evidence: evidence, fix: "use http:// in target if the service does not speak TLS")
        case 28:
            return .fail("\(u): no connection within \(format(context.timeout))", evidence: evidence,
                         fix: "check that the service is up and reachable")
        case 1, 8, 52, 56:  // unsupported protocol (HTTP/0.9), weird reply, got nothing, recv error
            let tlsHint = isTLS ? "" : " — if this port speaks TLS, use https:// in target"
            return .fail("\(u) answers, but not with HTTP: \(f.message)\(tlsHint)", evidence: evidence,
                         fix: "point target at the service's HTTP port; something else listens here")
                .effect(EffectModel.everyRequest(k6: FailureKind.notHTTP.k6, basis: "the target port does not speak HTTP"))
        case 35, 60, 51, 58, 59, 77, 83, 90, 91:  // TLS handshake and verification
            return .fail("\(u): TLS failed: \(f.message)", evidence: evidence,
                         fix: isTLS ? "if the port speaks plain HTTP, use http:// in target; otherwise fix the certificate" : "check the TLS set-up")
                .effect(EffectModel.everyRequest(k6: FailureKind.tls.k6, basis: "the TLS handshake with the target fails"))
        case 6:
            return .fail("\(u): the host name does not resolve: \(f.message)", evidence: evidence, fix: "check the host name in target")
                .effect(EffectModel.everyRequest(k6: FailureKind.noSuchHost.k6, basis: "the target's name does not resolve"))
        case 7:
            return .fail("\(u): connection refused: \(f.message)", evidence: evidence,
                         fix: "the service stopped listening between checks: see the port check and the service's log")
        case 47:
            let most = context.fact(TargetReach.self).maxRedirects
            return .fail("\(u): more than \(most) redirects (a redirect loop?): \(f.message)", evidence: evidence,
                         fix: "k6 stops after \(most) redirects too: point target at the final URL, or fix the loop (e.g. a proxy that redirects to https while the app redirects back)")
        case 3:
            return .fail("\(u) is not a valid URL: \(f.message)", evidence: evidence, fix: "check target and health.path")
        default:
            return .fail("\(u): \(f.message)", evidence: evidence, fix: "see libcurl's error above")
        }
    }
}

func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }

/// The secrets in `health.upstream`: the credentials of its URL.
extension HealthUpstreamSettings {
    public var secrets: [String] { upstream.map(Secrets.inURL) ?? [] }
}

extension HealthUpstreamSettings {
    public static let schema: ValueSchema = .object([
        SchemaKey("upstream", "The service behind a reverse proxy (a URL), checked directly when the proxy answers 502/503/504", .string),
    ])
}
