import Foundation
import PreflightCore

/// An IPv4 or IPv6 address and port, as resolved or as read from /proc/net.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }
    public let family: Family
    public let ip: String
    public let port: Int

    public init(family: Family, ip: String, port: Int) {
        self.family = family
        self.ip = ip
        self.port = port
    }

    /// 127.0.0.1:3001 or [::1]:3001
    public var description: String { family == .ipv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    public var isLoopback: Bool {
        family == .ipv4 ? ip.hasPrefix("127.") : (ip == "::1" || ip.lowercased().hasPrefix("::ffff:127."))
    }

    /// Loopback by the host's spelling, never resolved: `localhost`, or an address literal (brackets allowed) that
    /// is loopback by the rule above. A name such as `127.example.com` is not an address, so not loopback.
    public static func isLoopback(host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h == "localhost" || h == "localhost." { return true }
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, h, &v4) == 1 { return SocketAddress(family: .ipv4, ip: h, port: 0).isLoopback }
        if inet_pton(AF_INET6, h, &v6) == 1 { return SocketAddress(family: .ipv6, ip: h, port: 0).isLoopback }
        return false
    }

    /// 0.0.0.0 or :: : a listener on every address of its family.
    public var isWildcard: Bool { ip == "0.0.0.0" || ip == "::" }

    /// Fills a sockaddr for connect(2).
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T? {
        switch family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, ip, &sin.sin_addr) == 1 else { return nil }
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1 else { return nil }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}

/// The text before the first NUL of a C buffer.
func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
