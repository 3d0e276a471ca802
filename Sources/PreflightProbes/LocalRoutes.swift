import Foundation
import PreflightCore

/// The machine's name and the source address the kernel picks toward a destination: a UDP socket's
/// connect(2) chooses the route and sends nothing, and getsockname(2) then reads the address.
public enum LocalRoutes {
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = cString(buffer)
        return name.isEmpty ? "unknown" : name
    }

    /// The local address a connection to `destination` leaves from; nil when there is no route.
    public static func sourceAddress(toward destination: SocketAddress) -> String? {
        let fd = socket(destination.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard destination.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 else { return nil }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            var sin = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
            guard inet_ntop(AF_INET, &sin.sin_addr, &text, socklen_t(text.count)) != nil else { return nil }
        case AF_INET6:
            var sin6 = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            guard inet_ntop(AF_INET6, &sin6.sin6_addr, &text, socklen_t(text.count)) != nil else { return nil }
        default:
            return nil
        }
        return cString(text)
    }

    /// An IP literal ("10.0.0.5", "::1", "[::1]") as a destination; nil for a name (names are not resolved here).
    public static func literal(_ host: String, port: Int) -> SocketAddress? {
        let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, h, &v4) == 1 { return SocketAddress(family: .ipv4, ip: h, port: port) }
        if inet_pton(AF_INET6, h, &v6) == 1 { return SocketAddress(family: .ipv6, ip: h, port: port) }
        return nil
    }

    /// This machine as a runner: its name and the source addresses toward `destinations`, each once, in order.
    public static func runner(toward destinations: [SocketAddress]) -> Runner {
        var addresses: [String] = []
        for d in destinations {
            if let a = sourceAddress(toward: d), !addresses.contains(a) { addresses.append(a) }
        }
        return Runner(hostname: hostname(), addresses: addresses)
    }
}
