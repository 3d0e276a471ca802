import Foundation

/// The seam for the machine's own facts: what the load generator (k6, started from this same shell)
/// inherits. Live: getrlimit, sysconf, /proc and PATH; fakes in tests.
public protocol HostFacts: Sendable {
    /// RLIMIT_NOFILE (`ulimit -n` / `ulimit -Hn`); `Int.max` stands for unlimited.
    func fileLimits() -> (soft: Int, hard: Int)
    /// A small text file, /proc and /proc/sys mostly; nil when it does not exist or cannot be read.
    func readFile(_ path: String) -> String?
    /// Online processors.
    func cores() -> Int
    /// The full path `program` runs as from PATH, or nil.
    func which(_ program: String) -> String?
    /// A variable of preflight's own environment, which k6 started from the same shell inherits (SSL_CERT_FILE).
    func environment(_ name: String) -> String?
    /// How many entries a directory holds (/proc/PID/fd: a process's open descriptors); nil when it cannot be read.
    func entryCount(_ directory: String) -> Int?
}

extension HostFacts {
    /// Fakes see an empty environment unless they say otherwise.
    public func environment(_ name: String) -> String? { nil }
}

/// The live machine.
public struct LiveHostFacts: HostFacts {
    /// /proc/net/tcp is ~150 bytes a socket: 16 MiB is ~100,000 sockets, far past any question asked here.
    public static let readCap = 16 << 20

    public init() {}

    public func fileLimits() -> (soft: Int, hard: Int) {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return (0, 0) }
        func int(_ v: rlim_t) -> Int { v > rlim_t(Int.max) ? Int.max : Int(v) }  // RLIM_INFINITY is ~0
        return (int(r.rlim_cur), int(r.rlim_max))
    }

    public func readFile(_ path: String) -> String? { ProcFile.read(path, cap: Self.readCap) }

    public func environment(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }

    public func cores() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// readdir without stat: another user's /proc/PID/fd is refused (EACCES) as a whole, which is nil here.
    public func entryCount(_ directory: String) -> Int? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        var n = 0
        while let entry = readdir(dir) {
            let dot = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] == UInt8(ascii: ".") && ($0[1] == 0 || ($0[1] == UInt8(ascii: ".") && $0[2] == 0)) }
            if !dot { n += 1 }
        }
        return n
    }

    public func which(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            var s = stat()
            if stat(candidate, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// A /proc file, read whole. /proc files report size 0, and Foundation's `String(contentsOfFile:)` returns only
/// their first page (4 KiB: 27 of 1,904 rows of /proc/net/tcp, measured): read(2) until end of file instead.
public enum ProcFile {
    public static func read(_ path: String, cap: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while data.count < cap {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }
}
