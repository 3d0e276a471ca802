import Foundation
import PreflightCore
import PreflightProbes

/// The health check's view of what stands in front of the service: a proxy whose upstream is down, a redirect
/// chain that ends at a login page, and whether the server keeps connections alive.
extension HealthCheck {
    /// A gateway error from a proxy: say so, and when health.upstream names the upstream, ask it directly.
    func proxyOutcome(_ p: ReverseProxyAnswer, url: String, upstream: String?, context: CheckContext,
                      evidence: Evidence) async -> CheckOutcome {
        var evidence = evidence
        evidence["proxy"] = .string(p.proxy)
        let port = URLComponents(string: url)?.port.map { ":\($0)" }
            ?? (url.lowercased().hasPrefix("https") ? ":443" : ":80")
        let front = "\(p.proxy) answers on \(port) but its upstream \(p.upstreamState) (\(p.status) \(p.reason))"
        let fix = "start the upstream (the application behind \(p.proxy)), then check \(p.configured) points at the address it listens on"
        guard let upstream else {
            return .fail(front, evidence: evidence, fix: fix + "; set health.upstream: URL so preflight can ask it directly")
        }
        let u = redactURL(upstream)
        let x = await probes.http.get(upstream, timeout: context.timeout, bodyCap: 64 << 10)
        Self.count(x, &evidence)
        if let f = x.failure {
            evidence["upstreamError"] = .string("curl \(f.code): \(f.message)")
            let why: String
            switch f.code {
            case 7: why = "refuses connections (nothing listens there)"
            case 28: why = "does not answer within \(format(context.timeout))"
            case 6: why = "does not resolve"
            default: why = "fails: \(f.message)"
            }
            return .fail("the upstream \(u) \(why): \(p.proxy) on \(port) answers \(p.status) \(p.reason) because of it",
                         evidence: evidence, fix: "start the upstream at \(u) (check its log for a crash at start-up); \(p.proxy) recovers by itself")
        }
        let status = x.status ?? 0
        evidence["upstreamStatus"] = .int(status)
        if !(200...299).contains(status) {
            return .fail("the upstream \(u) answers \(status) itself: \(p.proxy) on \(port) passes it on as \(p.status) \(p.reason)",
                         evidence: evidence, fix: "look at the upstream's log for why it fails")
        }
        return .fail("\(front), although the upstream \(u) answers \(status) directly: \(p.proxy) forwards somewhere else",
                     evidence: evidence, fix: "make \(p.configured) point at \(u)'s address (compare it with health.upstream)")
    }

    /// The health check's traffic, in its evidence: every request sent, redirects and keep-alive probes included.
    static func count(_ x: HTTPExchange, _ e: inout Evidence) {
        var sent = 0
        if case .int(let n)? = e["requests"] { sent = n }
        e["requests"] = .int(sent + x.requestsSent * (1 + x.redirects))  // the keep-alive probe follows the chain again
    }

    /// Where a followed request ended, for the summary: " after 2 redirects, at https://…/health".
    static func landing(_ x: HTTPExchange) -> String {
        guard x.redirects > 0, let end = x.finalURL else { return "" }
        return " after \(x.redirects) redirect\(x.redirects == 1 ? "" : "s"), at \(redactURL(end))"
    }

    /// Whether the server keeps the connection for the next request: an answer for the generator's planning
    /// (without keep-alive every k6 request opens a new connection, and a new TLS handshake).
    static func keepAlive(_ x: HTTPExchange) -> String? {
        if x.header("Connection")?.lowercased().contains("close") == true { return "no: the server answers Connection: close" }
        if x.httpVersion == "1.0" && x.header("Connection")?.lowercased().contains("keep-alive") != true {
            return "no: the server answers HTTP/1.0 without keep-alive"
        }
        if x.connectionReused == false { return "no: the server closes the connection after each response" }
        if x.connectionReused == true { return "yes" }
        return nil
    }
}
