import Foundation
import PreflightCore

/// Why a host name did not resolve.
public struct ResolveError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case noSuchHost, temporary, other }
    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// Host name to addresses. The seam for tests: a fake resolver stands in for DNS,
/// so no test ever asks the network about a name that does not exist.
public protocol Resolver: Sendable {
    func resolve(host: String, port: Int) async -> Result<[SocketAddress], ResolveError>
}

/// getaddrinfo(3), every address of both families, in the order the system prefers.
public struct SystemResolver: Resolver {
    public init() {}

    public func resolve(host: String, port: Int) async -> Result<[SocketAddress], ResolveError> {
        await Blocking.run { Self.getaddrinfo(host: host, port: port) }
    }

    static func getaddrinfo(host: String, port: Int) -> Result<[SocketAddress], ResolveError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = Glibc.getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0 else {
            let text = String(cString: gai_strerror(rc))
            switch rc {
            case EAI_NONAME, -5 /* EAI_NODATA, a GNU extension */: return .failure(ResolveError(.noSuchHost, text))
            case EAI_AGAIN: return .failure(ResolveError(.temporary, text))
            default: return .failure(ResolveError(.other, text))
            }
        }
        defer { freeaddrinfo(list) }
        var out: [SocketAddress] = []
        var cursor = list
        while let ai = cursor?.pointee {
            if let a = ai.ai_addr, let addr = socketAddress(a) { if !out.contains(addr) { out.append(addr) } }
            cursor = ai.ai_next
        }
        return out.isEmpty ? .failure(ResolveError(.noSuchHost, "no addresses")) : .success(out)
    }

    static func socketAddress(_ sa: UnsafeMutablePointer<sockaddr>) -> SocketAddress? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var a = sin.pointee.sin_addr
                inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
                return SocketAddress(family: .ipv4, ip: cString(buffer), port: Int(UInt16(bigEndian: sin.pointee.sin_port)))
            }
        case AF_INET6:
            return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var a = sin6.pointee.sin6_addr
                inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
                return SocketAddress(family: .ipv6, ip: cString(buffer), port: Int(UInt16(bigEndian: sin6.pointee.sin6_port)))
            }
        default:
            return nil
        }
    }
}
