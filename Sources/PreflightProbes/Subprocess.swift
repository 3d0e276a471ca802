import Foundation
import PreflightCore

/// How a subprocess ended.
public struct SubprocessResult: Sendable, Equatable {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
    public var timedOut: Bool
    public var seconds: Double

    public init(status: Int32, stdout: Data, stderr: Data, timedOut: Bool, seconds: Double) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timedOut = timedOut
        self.seconds = seconds
    }
}

/// The seam for child processes: run a program, bounded in time and output.
public protocol SubprocessRunner: Sendable {
    func run(_ argv: [String], timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError>
    /// With exactly this environment (nil: preflight's own).
    func run(_ argv: [String], environment: [String: String]?, timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError>
    /// Bounded in memory too: the child's address space (RLIMIT_AS) at most `memoryLimit` bytes.
    func run(_ argv: [String], environment: [String: String]?, timeout: Duration, outputCap: Int, memoryLimit: Int) async -> Result<SubprocessResult, SubprocessError>
}

extension SubprocessRunner {
    /// A runner that does not care about the environment (a test's fake) answers the same either way.
    public func run(_ argv: [String], environment: [String: String]?, timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError> {
        await run(argv, timeout: timeout, outputCap: outputCap)
    }
    /// A fake answers the same whatever the memory bound.
    public func run(_ argv: [String], environment: [String: String]?, timeout: Duration, outputCap: Int, memoryLimit: Int) async -> Result<SubprocessResult, SubprocessError> {
        await run(argv, environment: environment, timeout: timeout, outputCap: outputCap)
    }
}

/// The live runner: `Subprocess.run`.
public struct SpawnedSubprocess: SubprocessRunner {
    public init() {}
    public func run(_ argv: [String], timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError> {
        await Subprocess.run(argv, timeout: timeout, outputCap: outputCap)
    }
    public func run(_ argv: [String], environment: [String: String]?, timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError> {
        await Subprocess.run(argv, environment: environment, timeout: timeout, outputCap: outputCap)
    }
    public func run(_ argv: [String], environment: [String: String]?, timeout: Duration, outputCap: Int, memoryLimit: Int) async -> Result<SubprocessResult, SubprocessError> {
        await Subprocess.run(argv, environment: environment, timeout: timeout, outputCap: outputCap, memoryLimit: memoryLimit)
    }
}

/// Every child starts clean: only stdin/stdout/stderr open (`addclosefrom_np(3)`: a descriptor of
/// ours that is not close-on-exec, a test fixture's pipe or the watcher's database socket, would otherwise live on
/// in the child and keep a peer from seeing EOF) and no signal blocked (a mask inherited from one of our threads
/// made SIGTERM pending forever).
/// Runs a program with posix_spawn, reads both streams with poll, kills its whole process group at
/// the deadline and reaps it with waitpid: bounded in time and in output, independent of Foundation.Process.
public enum Subprocess {
    public static func run(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil,
                           timeout: Duration, outputCap: Int = 1 << 20, memoryLimit: Int? = nil) async -> Result<SubprocessResult, SubprocessError> {
        await Blocking.run { runBlocking(argv, environment: environment, directory: directory, timeout: timeout, outputCap: outputCap, memoryLimit: memoryLimit) }
    }

    public static func runBlocking(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil,
                                   timeout: Duration, outputCap: Int = 1 << 20, memoryLimit: Int? = nil) -> Result<SubprocessResult, SubprocessError> {
        guard let program = argv.first else { return .failure(SubprocessError("nothing to run")) }
        var args = argv
        if let directory { args = ["/usr/bin/env", "-C", directory] + argv }  // posix_spawn has no chdir
        // posix_spawn sets no rlimit either: the shell sets RLIMIT_AS (ulimit -v, KiB) and execs the program in its
        // place (same pid, same process group), so the bound holds from the program's first allocation.
        if let memoryLimit { args = ["/bin/sh", "-c", "ulimit -v \(max(1, memoryLimit >> 10)) && exec \"$0\" \"$@\""] + args }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { return .failure(SubprocessError("pipe: \(String(cString: strerror(errno)))")) }
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // only the dup2'd copies reach the child
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        closeFromThree(&actions)  // only the three streams: see the comment above run
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        // its own group: the deadline kills it all; and no signal blocked that our threads happened to block
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)

        let start = ContinuousClock.now
        var pid: pid_t = 0
        let rc = spawnRetryingBusy { withCStringArray(args) { a in withCStringArray(env) { e in posix_spawnp(&pid, args[0], &actions, &attributes, a, e) } } }
        close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0]); close(errPipe[0])
            return .failure(SubprocessError("cannot run \(program): \(String(cString: strerror(rc)))"))
        }
        var out = Data(), err = Data()
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        let end = start + timeout
        while fds.contains(where: { $0.fd >= 0 }) {
            let left = ContinuousClock.now.duration(to: end)
            if left <= .zero {
                if !timedOut { kill(-pid, SIGKILL); timedOut = true }
                // A grandchild may hold the pipes open after the group is gone: stop reading.
                if ContinuousClock.now.duration(to: end + .seconds(2)) <= .zero { break }
            }
            let waitMs = Int32(max(0, min(left.milliseconds, 500)))
            let ready = poll(&fds, nfds_t(fds.count), timedOut ? 100 : waitMs)
            if ready < 0 && errno != EINTR { break }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 {
                    if i == 0 { if out.count < outputCap { out.append(contentsOf: buffer[0..<min(n, outputCap - out.count)]) } }
                    else if err.count < outputCap { err.append(contentsOf: buffer[0..<min(n, outputCap - err.count)]) }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    fds[i].fd = -1
                }
            }
        }
        for f in fds where f.fd >= 0 { close(f.fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return .success(SubprocessResult(status: code, stdout: out, stderr: err, timedOut: timedOut,
                                         seconds: start.duration(to: .now).seconds))
    }
}

/// posix_spawn, retried for a moment on ETXTBSY: a script written just before may still be open for
/// writing in a child another thread is starting, until that child's exec closes it. Up to 3 s: on a loaded
/// machine (a fresh root beside three builds) that child took longer than the 0.5 s this used to allow.
func spawnRetryingBusy(_ spawn: () -> Int32) -> Int32 {
    var rc = spawn()
    var tries = 0
    while rc == ETXTBSY && tries < 120 {
        usleep(25_000)
        tries += 1
        rc = spawn()
    }
    return rc
}

public struct SubprocessError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) } + [nil]
    defer { copies.forEach { free($0) } }
    return copies.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension Subprocess {
    /// Runs a program in the foreground with our stdin/stdout/stderr (the load test's own output stays live)
    /// and returns its exit status; 127 when it cannot be started. Ctrl-C reaches it, not us.
    public static func runInheriting(_ argv: [String]) -> Result<Int32, SubprocessError> {
        guard !argv.isEmpty else { return .failure(SubprocessError("nothing to run")) }
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        closeFromThree(&actions)  // the watcher's sockets and files stay ours
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let rc = spawnRetryingBusy { withCStringArray(argv) { a in withCStringArray(env) { e in posix_spawnp(&pid, argv[0], &actions, &attributes, a, e) } } }
        guard rc == 0 else { return .failure(SubprocessError("cannot run \(argv[0]): \(String(cString: strerror(rc)))")) }
        let previous = signal(SIGINT, SIG_IGN)  // the child (same terminal group) gets Ctrl-C; we wait and report
        defer { signal(SIGINT, previous) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return .success((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
    }
}

/// glibc ≥ 2.34's `posix_spawn_file_actions_addclosefrom_np(actions, 3)`, looked up at run time (Swift's Glibc
/// module does not declare it). Without it (an older libc) the child inherits what is not close-on-exec, as before.
private func closeFromThree(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>) {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let symbol = addCloseFrom else { return }
    _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(actions, 3)
}

private nonisolated(unsafe) let addCloseFrom: UnsafeMutableRawPointer? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
