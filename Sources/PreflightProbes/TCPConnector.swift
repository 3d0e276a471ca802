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
    /// The server's HTTP/2 SETTINGS, read over plaintext with prior knowledge (a gRPC server without TLS): the
    /// client preface and an empty SETTINGS frame out, the server's first frame in, then GOAWAY. nil: this
    /// connector cannot read them (a fake that does not say).
    func http2Settings(at address: SocketAddress, timeout: Duration) async -> Result<HTTP2Settings, HTTP2SettingsError>?
}

extension TCPConnector {
    public func http2Settings(at address: SocketAddress, timeout: Duration) async -> Result<HTTP2Settings, HTTP2SettingsError>? { nil }
}

/// Why a server's HTTP/2 SETTINGS could not be read, one line.
public struct HTTP2SettingsError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A server's HTTP/2 SETTINGS frame (RFC 9113 §6.5): what a client may do on one connection.
public struct HTTP2Settings: Sendable, Equatable {
    /// Identifier → value, as the server sent them (a setting not sent keeps its initial value).
    public var values: [UInt16: UInt32]
    public init(values: [UInt16: UInt32]) { self.values = values }

    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3): the streams (calls) one connection may have open at once; nil when
    /// the server sends none, which RFC 9113 reads as no limit.
    public var maxConcurrentStreams: UInt32? { values[0x3] }

    /// The client's connection preface and an empty SETTINGS frame (RFC 9113 §3.4).
    public static let clientPreface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
    /// SETTINGS with the ACK flag, then GOAWAY (last stream 0, NO_ERROR): the client leaves politely.
    public static let goodbye: [UInt8] = [0, 0, 0, 4, 1, 0, 0, 0, 0] + [0, 0, 8, 7, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
    /// The largest SETTINGS frame read (RFC 9113's initial SETTINGS_MAX_FRAME_SIZE).
    public static let maxFrame = 16_384

    /// The server's preface, from the bytes read so far: its first frame must be a SETTINGS frame on stream 0.
    /// nil: more bytes are needed.
    public static func parse(_ bytes: [UInt8]) -> Result<HTTP2Settings, HTTP2SettingsError>? {
        if bytes.count >= 5, bytes.starts(with: Array("HTTP/".utf8)) {
            let line = String(decoding: bytes.prefix(while: { $0 != 13 && $0 != 10 }).prefix(40), as: UTF8.self)
            return .failure(HTTP2SettingsError("it answers HTTP/1 (\(line)), not HTTP/2 with prior knowledge"))
        }
        guard bytes.count >= 9 else { return nil }
        let length = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
        let type = bytes[3], flags = bytes[4]
        let stream = (UInt32(bytes[5]) << 24 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 8 | UInt32(bytes[8])) & 0x7fff_ffff
        guard type == 4 else { return .failure(HTTP2SettingsError("its first HTTP/2 frame is type \(type), not SETTINGS")) }
        guard flags & 1 == 0, stream == 0, length % 6 == 0, length <= maxFrame else {
            return .failure(HTTP2SettingsError("its SETTINGS frame is malformed (length \(length), flags \(flags), stream \(stream))"))
        }
        guard bytes.count >= 9 + length else { return nil }
        var values: [UInt16: UInt32] = [:]
        var i = 9
        while i < 9 + length {
            let id = UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
            let v = UInt32(bytes[i + 2]) << 24 | UInt32(bytes[i + 3]) << 16 | UInt32(bytes[i + 4]) << 8 | UInt32(bytes[i + 5])
            values[id] = v
            i += 6
        }
        return .success(HTTP2Settings(values: values))
    }
}

/// Non-blocking connect(2) + poll(2) + SO_ERROR: refused on loopback is reported in well under a millisecond.
public struct SystemTCPConnector: TCPConnector {
    public init() {}

    public func connect(to address: SocketAddress, timeout: Duration) async -> ConnectOutcome {
        await Blocking.run { Self.connect(address, timeoutMs: Int32(max(1, min(timeout.milliseconds, 3_600_000)))) }
    }

    public func http2Settings(at address: SocketAddress, timeout: Duration) async -> Result<HTTP2Settings, HTTP2SettingsError>? {
        await Blocking.run { Self.http2Settings(address, timeoutMs: Int(max(1, min(timeout.milliseconds, 3_600_000)))) }
    }

    /// Connects, sends the preface, reads until the server's SETTINGS frame is whole, all within one deadline and at
    /// most 9 + 16,384 bytes; then says goodbye and closes.
    static func http2Settings(_ address: SocketAddress, timeoutMs: Int) -> Result<HTTP2Settings, HTTP2SettingsError> {
        let fd = socket(address.family == .ipv4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(HTTP2SettingsError("socket: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000
        func wait(_ events: Int32) -> Bool {
            var pfd = pollfd(fd: fd, events: Int16(events), revents: 0)
            while true {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { return false }
                let rc = poll(&pfd, 1, Int32(max(1, (deadline - now) / 1_000_000)))
                if rc > 0 { return true }
                if rc == 0 || errno != EINTR { return false }
            }
        }
        let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        guard let rc else { return .failure(HTTP2SettingsError("not an IP address: \(address.ip)")) }
        if rc != 0 {
            let e = errno
            guard e == EINPROGRESS else { return .failure(HTTP2SettingsError("connect: \(String(cString: strerror(e)))")) }
            guard wait(POLLOUT) else { return .failure(HTTP2SettingsError("connect: timed out")) }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            guard err == 0 else { return .failure(HTTP2SettingsError("connect: \(String(cString: strerror(err)))")) }
        }
        var sent = 0
        let preface = HTTP2Settings.clientPreface
        while sent < preface.count {
            let n = preface[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            guard n < 0, errno == EAGAIN || errno == EINTR, wait(POLLOUT) else { return .failure(HTTP2SettingsError("send: \(n == 0 ? "closed" : String(cString: strerror(errno)))")) }
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let parsed = HTTP2Settings.parse(bytes) {
                if case .success = parsed {
                    _ = HTTP2Settings.goodbye.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                return parsed
            }
            guard bytes.count < 9 + HTTP2Settings.maxFrame else { return .failure(HTTP2SettingsError("no SETTINGS frame in its first \(bytes.count) bytes")) }
            guard wait(POLLIN) else { return .failure(HTTP2SettingsError("no SETTINGS frame within \(timeoutMs) ms (\(bytes.count) bytes read)")) }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n == 0 { return .failure(HTTP2SettingsError(bytes.isEmpty ? "it closed the connection before any HTTP/2 frame" : "it closed the connection inside its first frame")) }
            guard errno == EAGAIN || errno == EINTR else { return .failure(HTTP2SettingsError("recv: \(String(cString: strerror(errno)))")) }
        }
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
