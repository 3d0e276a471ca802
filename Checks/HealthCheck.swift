import Foundation
import PreflightCore
import PreflightProbes

/// `health:` in preflight.yml.
public struct HealthSettings: ConfigSection {
    public static let key = "health"
    public static let keys = ["path", "ca", "upstream"]
    public var path = "/health"
    /// A CA bundle (PEM) to trust for an https target instead of the system's, as k6 will with SSL_CERT_FILE.
    public var ca: String?
    /// The application behind a reverse proxy (http://127.0.0.1:4000/health): asked directly when the proxy answers 502/503/504.
    public var upstream: String?

    public init() {}
    public init(reading r: SectionReader) {
        if let p = r.string("path") {
            if p.isEmpty || p.contains(" ") {
                r.problem("path", "expected a path like /health, found \"\(p)\"")
            } else if p.hasPrefix("http://") || p.hasPrefix("https://") {
                let (_, why) = ServiceURL.parse(p)
                if let why { r.problem("path", why) } else { path = p }
            } else {
                path = p
            }
        }
        if let c = r.string("ca") {
            if c.isEmpty { r.problem("ca", "expected the path of a CA bundle (PEM file)") } else { ca = c }
        }
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
            CheckExample("GET /health answers 200 with {\"status\":\"ok\"}", .pass),
            CheckExample("answers 503, or 200 with a component reported down", .fail),
            CheckExample("reports its database disconnected: points at the database check", .fail),
            CheckExample("accepts TCP but never answers; answers but not HTTP; TLS mismatch", .fail),
            CheckExample("https: the certificate is trusted (health.ca or SSL_CERT_FILE), names the host, and outlives the test", .pass),
            CheckExample("https: the certificate expires before the load test ends (now + load.duration or the script's duration)", .warn),
            CheckExample("https: a bad certificate while the script sets insecureSkipTLSVerify: true (k6 accepts it)", .warn),
            CheckExample("https: expired, not yet valid, self-signed or from an unknown CA, or not naming the host", .fail),
            CheckExample("https: no TLS version or cipher suite in common with the script's tlsVersion / tlsCipherSuites", .fail),
            CheckExample("redirected (http → https) and then answers 200: says where it ended", .pass),
            CheckExample("nginx/HAProxy/Envoy/Traefik/Caddy/a cloud load balancer answers 502/503/504: its upstream is down (health.upstream asked directly)", .fail),
            CheckExample("redirected to an HTML login page", .fail),
        ],
        // One GET, a second on the same connection (keep-alive), and for https a second look at a refused
        // certificate; for a proxy's 502 the upstream itself.
        timeoutBudget: 4)
    public static let settings: [any ConfigSection.Type] = [HealthSettings.self]
    public static let facts: [any Fact.Type] = [TargetURL.self, DatabaseSettings.self, LoadPlan.self]

    /// Bodies past 1 MiB are cut: a health page has no business being larger.
    static let bodyCap = 1 << 20

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard let target = context.config.target else { return .skipped("no target configured") }
        let settings = context.config.section(HealthSettings.self)
        let url = target.appending(path: settings.path)
        var evidence = Evidence(["url": .string(redactURL(url))])
        let x: HTTPExchange
        var tlsWarning: (summary: String, fix: String)?
        if url.lowercased().hasPrefix("https://") {
            switch await tlsExchange(url, settings: settings, context: context, evidence: &evidence) {
            case .refused(let outcome): return outcome
            case .exchange(let e, let warning): x = e; tlsWarning = warning
            }
        } else {
            let options = plainRequestOptions(url, settings: settings, context: context, evidence: &evidence)
            x = await probes.http.send("GET", url: url, headers: [:], body: nil, timeout: context.timeout, bodyCap: Self.bodyCap, options: options)
            Self.count(x, &evidence)
        }
        let outcome = await judge(x, url: url, settings: settings, context: context, evidence: evidence)
        guard let w = tlsWarning else { return outcome }
        switch outcome.status {
        case .pass: return .warn("\(w.summary); otherwise \(outcome.summary)", evidence: outcome.evidence, fix: w.fix)
        default:
            var o = outcome
            o.evidence["tlsWarning"] = .string(w.summary)
            return o
        }
    }

    func judge(_ x: HTTPExchange, url: String, settings: HealthSettings, context: CheckContext, evidence: Evidence) async -> CheckOutcome {
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
            return await proxyOutcome(p, url: url, settings: settings, context: context, evidence: evidence)
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
        case 35, 60, 51, 58, 59, 77, 83, 90, 91:  // TLS handshake and verification
            return .fail("\(u): TLS failed: \(f.message)", evidence: evidence,
                         fix: isTLS ? "if the port speaks plain HTTP, use http:// in target; otherwise fix the certificate" : "check the TLS set-up")
        case 6:
            return .fail("\(u): the host name does not resolve: \(f.message)", evidence: evidence, fix: "check the host name in target")
        case 7:
            return .fail("\(u): connection refused: \(f.message)", evidence: evidence,
                         fix: "the service stopped listening between checks: see the port check and the service's log")
        case 47:
            return .fail("\(u): more than \(Self.maxRedirects) redirects (a redirect loop?): \(f.message)", evidence: evidence,
                         fix: "k6 stops after 10 redirects too: point target at the final URL, or fix the loop (e.g. a proxy that redirects to https while the app redirects back)")
        case 3:
            return .fail("\(u) is not a valid URL: \(f.message)", evidence: evidence, fix: "check target and health.path")
        default:
            return .fail("\(u): \(f.message)", evidence: evidence, fix: "see libcurl's error above")
        }
    }
}

func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }

/// The secrets in `health:`: the credentials of health.path when it is an absolute URL.
extension HealthSettings {
    public var secrets: [String] { Secrets.inURL(path) + (upstream.map(Secrets.inURL) ?? []) }
}

extension HealthSettings {
    public static let schemaDescription = "The health endpoint the service answers"
    public static let schema: ValueSchema = .object([
        SchemaKey("path", "Path under target (or a full http(s) URL) that answers 200 when the service is ready (default /health)", .string),
        SchemaKey("ca", "A CA bundle (PEM) to trust for an https target, as k6 would with SSL_CERT_FILE; relative to the config file", .string),
        SchemaKey("upstream", "The service behind a reverse proxy (a URL), checked directly when the proxy answers 502/503/504", .string),
    ])
}
