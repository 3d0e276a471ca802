import Foundation

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
/// posix_spawn + poll + waitpid: deterministic, whatever Foundation's child reaping does.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       currentDirectory: URL? = nil, limit: TimeInterval = 60) throws -> ProcessOutput {
    var argv = [executable] + arguments
    var path = executable
    if let dir = currentDirectory {  // posix_spawn has no chdir: let env(1) do it
        argv = ["/usr/bin/env", "-C", dir.path] + argv
        path = "/usr/bin/env"
    }
    let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
    guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw FixtureError("pipe failed") }
    // Close-on-exec: only the dup2'd copies reach the child (pipe2 needs _GNU_SOURCE).
    for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    let start = Date()
    var pid: pid_t = 0
    let rc = withCStringArray(argv) { a in withCStringArray(env) { e in posix_spawn(&pid, path, &actions, nil, a, e) } }
    close(outPipe[1]); close(errPipe[1])
    guard rc == 0 else {
        close(outPipe[0]); close(errPipe[0])
        throw FixtureError("cannot start \(executable): \(String(cString: strerror(rc)))")
    }
    var out = Data(), err = Data()
    var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
    var buffer = [UInt8](repeating: 0, count: 65536)
    var killed = false
    while fds.contains(where: { $0.fd >= 0 }) {
        let left = limit - Date().timeIntervalSince(start)
        if left <= 0 && !killed { kill(pid, SIGKILL); killed = true }
        let ready = poll(&fds, nfds_t(fds.count), Int32(max(0, min(left, 1)) * 1000))
        if ready < 0 && errno != EINTR { break }
        for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
            let n = read(fds[i].fd, &buffer, buffer.count)
            if n > 0 {
                if i == 0 { out.append(contentsOf: buffer[0..<n]) } else { err.append(contentsOf: buffer[0..<n]) }
            } else if n == 0 || errno != EINTR {
                close(fds[i].fd)
                fds[i].fd = -1
            }
        }
        if killed && Date().timeIntervalSince(start) > limit + 5 { break }
    }
    for f in fds where f.fd >= 0 { close(f.fd) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return ProcessOutput(status: code, stdout: String(decoding: out, as: UTF8.self),
                         stderr: String(decoding: err, as: UTF8.self), seconds: Date().timeIntervalSince(start))
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) } + [nil]
    defer { copies.forEach { free($0) } }
    return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// The built `preflight` binary ($PREFLIGHT_BIN, else .build/debug/preflight).
public var preflightBinary: String {
    ProcessInfo.processInfo.environment["PREFLIGHT_BIN"] ?? packageRoot.appendingPathComponent(".build/debug/preflight").path
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
