import Foundation

/// A gateway error (502/503/504, Cloudflare's 52x) told apart by who sent it: the proxy or load balancer in
/// front of the service answered, its upstream did not.
public struct ReverseProxyAnswer: Sendable, Equatable {
    /// "nginx", "HAProxy", "Envoy", "Traefik", "Caddy", "an AWS load balancer", …
    public var proxy: String
    public var status: Int
    /// "Bad Gateway"
    public var reason: String
    /// Where the proxy's upstream is configured ("proxy_pass", "the backend's server lines").
    public var configured: String

    /// What the status says about the upstream.
    public var upstreamState: String {
        switch status {
        case 504, 522, 524: return "does not answer in time"
        case 503: return "is unavailable"
        default: return "is down"
        }
    }

    static let reasons = [502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 520: "Unknown Error",
                          521: "Web Server Is Down", 522: "Connection Timed Out", 523: "Origin Is Unreachable", 524: "A Timeout Occurred"]

    /// Who sent a gateway error, from its `Server`/`Via` headers and its body; nil for any other answer.
    public static func identify(status: Int, headers: [(name: String, value: String)], body: Data) -> ReverseProxyAnswer? {
        guard let reason = reasons[status] else { return nil }
        func header(_ n: String) -> String {
            headers.last { $0.name.caseInsensitiveCompare(n) == .orderedSame }?.value.lowercased() ?? ""
        }
        let server = header("Server"), via = header("Via")
        let text = String(decoding: body.prefix(8192), as: UTF8.self).lowercased()
        func make(_ proxy: String, _ configured: String) -> ReverseProxyAnswer {
            ReverseProxyAnswer(proxy: proxy, status: status, reason: reason, configured: configured)
        }
        if server.contains("cloudflare") || !header("cf-ray").isEmpty {
            return make("Cloudflare", "the origin server and port in Cloudflare's DNS/origin settings")
        }
        if server.hasPrefix("awselb") || text.contains("awselb") {
            return make("an AWS load balancer", "the target group (its targets and their health checks)")
        }
        if server.contains("google frontend") || server == "gfe" || via.contains("google") {
            return make("a Google Cloud load balancer", "the backend service (its backends and health check)")
        }
        if server.contains("envoy") || text.contains("upstream connect error") || text.contains("no healthy upstream") {
            return make("Envoy", "the cluster's endpoints")
        }
        if server.contains("haproxy") || text.contains("no server is available to handle this request") {
            return make("HAProxy", "the backend's server lines")
        }
        if server.contains("caddy") {
            return make("Caddy", "reverse_proxy's upstream address")
        }
        if server.contains("traefik") || text == "bad gateway" || text == "no available server" || text == "gateway timeout" {
            return make("Traefik", "the service's loadBalancer servers URL")
        }
        if server.hasPrefix("nginx") || server.hasPrefix("openresty") || text.contains("<center>nginx") || text.contains("<center>openresty") {
            return make("nginx", "proxy_pass (or the upstream block)")
        }
        if server.hasPrefix("apache"), text.contains("proxy error") || status != 503 {
            return make("Apache", "ProxyPass")
        }
        return nil
    }
}

/// Where a followed health request ended, and whether that is an HTML login page rather than a health answer.
public enum HealthLanding {
    /// An HTML page with a password field, or a URL whose path is a sign-in route.
    public static func isLoginPage(contentType: String?, body: Data, finalURL: String?) -> Bool {
        let html = contentType?.lowercased().contains("html") == true
        let text = String(decoding: body.prefix(256 << 10), as: UTF8.self).lowercased()
        let looksHTML = html || text.hasPrefix("<!doctype html") || text.hasPrefix("<html")
        guard looksHTML else { return false }
        if text.contains("type=\"password\"") || text.contains("type='password'") || text.contains("type=password") { return true }
        let path = finalURL.flatMap { URLComponents(string: $0)?.path.lowercased() } ?? ""
        return ["/login", "/signin", "/sign-in", "/sign_in", "/auth", "/sso", "/oauth", "/account/login", "/users/sign_in"]
            .contains { path.hasSuffix($0) || path.contains($0 + "/") }
    }
}
