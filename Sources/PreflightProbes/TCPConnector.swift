import Foundation
import PreflightCore

/// How one TCP connect attempt ended.
public enum ConnectOutcome: Sendable, Equatable {
    case connected(latencyMs: Double)
    case refused
    case timedOut
    case unreachable(String)
    case failed(String)
}

/// Opens (and closes) TCP connections. The seam for fast unit examples.
public protocol TCPConnector: Sendable {
    func connect(to address: SocketAddress, timeout: Duration) async -> ConnectOutcome
}

/// Non-blocking connect(2) + poll(2) + SO_ERROR: refused on loopback is reported in well under a millisecond.
public struct SystemTCPConnector: TCPConnector {
    public init() {}

    public func connect(to address: SocketAddress, timeout: Duration) async -> ConnectOutcome {
        await Blocking.run { Self.connect(address, timeoutMs: Int32(max(1, min(timeout.milliseconds, 3_600_000)))) }
    }

    static func connect(_ address: SocketAddress, timeoutMs: Int32) -> ConnectOutcome {
        let fd = socket(address.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let start = DispatchTime.now().uptimeNanoseconds
        let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        guard let rc else { return .failed("not an IP address: \(address.ip)") }
        var err: Int32 = 0
        if rc != 0 {
            err = errno
            if err == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready: Int32
                repeat { ready = poll(&pfd, 1, timeoutMs) } while ready < 0 && errno == EINTR
                if ready == 0 { return .timedOut }
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            }
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        switch err {
        case 0: return .connected(latencyMs: ms)
        case ECONNREFUSED: return .refused
        case ETIMEDOUT: return .timedOut
        case ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL, EAFNOSUPPORT: return .unreachable(String(cString: strerror(err)))
        default: return .failed(String(cString: strerror(err)))
        }
    }
}

extension ConnectOutcome: CustomStringConvertible {
    /// How a connect attempt reads in a sentence: "refused", "connected in 0.12 ms", "timed out".
    public var description: String {
        switch self {
        case .connected(let v): return "connected in \(v < 1 ? String(format: "%.2f ms", v) : "\(Int(v.rounded())) ms")"
        case .refused: return "refused"
        case .timedOut: return "timed out"
        case .unreachable(let why): return "unreachable (\(why))"
        case .failed(let why): return why
        }
    }
}
