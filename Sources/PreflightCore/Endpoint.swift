import Foundation

/// An http(s) base URL the checks aim at, taken apart once.
public struct ServiceURL: Sendable, Equatable {
    public let raw: String
    public let scheme: String
    public let host: String
    public let port: Int
    public let path: String

    /// Returns nil and a reason when `raw` is not an absolute http(s) URL with a host.
    public static func parse(_ raw: String) -> (ServiceURL?, String?) {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        guard let c = URLComponents(string: trimmed), let scheme = c.scheme?.lowercased() else {
            return (nil, "not a URL: \"\(redactURL(raw))\" (expected e.g. http://127.0.0.1:3001/api/v1)")
        }
        guard scheme == "http" || scheme == "https" else {
            return (nil, "scheme must be http or https, found \"\(scheme)\"")
        }
        guard let host = c.host, !host.isEmpty else {
            return (nil, "no host in \"\(redactURL(raw))\"")
        }
        if let p = c.port, !(1...65535).contains(p) { return (nil, "port \(p) is out of range") }
        let port = c.port ?? (scheme == "https" ? 443 : 80)
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        return (ServiceURL(raw: trimmed, scheme: scheme, host: bareHost, port: port, path: c.percentEncodedPath), nil)
    }

    /// `target` joined with a path under it: /api/v1 + /health = /api/v1/health.
    public func appending(path sub: String) -> String {
        if sub.hasPrefix("http://") || sub.hasPrefix("https://") { return sub }
        var base = raw
        if let q = base.firstIndex(where: { $0 == "?" || $0 == "#" }) { base = String(base[..<q]) }
        while base.hasSuffix("/") { base.removeLast() }
        let tail = sub.hasPrefix("/") ? String(sub.dropFirst()) : sub
        return tail.isEmpty ? base + "/" : base + "/" + tail
    }

    /// host:port as people write it ([::1]:3001 for IPv6).
    public var hostPort: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
