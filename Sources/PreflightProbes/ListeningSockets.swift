import Foundation
import PreflightCore

/// A TCP socket in LISTEN state, and the process that owns it when /proc lets us see it.
public struct ListeningSocket: Sendable, Equatable {
    public let address: SocketAddress
    public let inode: UInt64
    public var pid: Int?
    public var process: String?
    /// The socket's owner uid when the kernel said it (sock_diag): the owner search looks at that user's processes first.
    public var uid: UInt32?
    /// Connections the kernel completed that the process has not accept()ed yet, when sock_diag said it.
    public var acceptQueue: Int?
    /// The accept queue's length limit: listen()'s backlog capped by net.core.somaxconn, when sock_diag said it.
    public var backlog: Int?

    public init(address: SocketAddress, inode: UInt64, pid: Int? = nil, process: String? = nil, uid: UInt32? = nil,
                acceptQueue: Int? = nil, backlog: Int? = nil) {
        self.address = address
        self.inode = inode
        self.pid = pid
        self.process = process
        self.uid = uid
        self.acceptQueue = acceptQueue
        self.backlog = backlog
    }

    /// "python3 (pid 4242)", or why /proc does not show the owner: another user's process (root sees every one in
    /// its PID namespace, so for root the owner lives outside it: another container or the host).
    public var owner: String {
        guard let process else {
            return geteuid() == 0 ? "a process outside this PID namespace (another container or the host)"
                                  : "an unnamed process (run preflight as its user or root to see it)"
        }
        return pid.map { "\(process) (pid \($0))" } ?? process
    }

    /// Would a connection to `target` reach this listener?
    public func accepts(_ target: SocketAddress) -> Bool {
        guard address.port == target.port else { return false }
        if address.family == target.family { return address.isWildcard || address.ip == target.ip }
        // An IPv6 wildcard listener also takes IPv4 unless bindv6only is set.
        return address.family == .ipv6 && address.ip == "::" && target.family == .ipv4
    }
}

/// The machine's listening sockets. The seam for unit examples.
public protocol ListeningSocketTable: Sendable {
    /// Every listener, with its owner where /proc shows it (a search through every process's descriptors).
    func listeningSockets() -> [ListeningSocket]
    /// Addresses of this machine's interfaces, to tell a local target from a remote one.
    func localAddresses() -> Set<String>
    /// Every listener, owners not looked up: cheap, whatever the machine's process count.
    func unnamedListeningSockets() -> [ListeningSocket]
    /// `sockets` with their owners filled in; the search stops once every one is found.
    func naming(_ sockets: [ListeningSocket]) -> [ListeningSocket]
    /// Every process that holds one of `inodes` (a pre-fork master and its workers share one listening socket):
    /// a search through every visible process's descriptors, never stopping early. Hidden processes are missing.
    func holders(of inodes: Set<UInt64>) -> [SocketHolder]
}

/// A process holding a socket: one of the workers (or the master) sharing a listener.
public struct SocketHolder: Sendable, Equatable {
    public let pid: Int
    public let process: String
    public let inode: UInt64
    public init(pid: Int, process: String, inode: UInt64) {
        self.pid = pid
        self.process = process
        self.inode = inode
    }
}

extension ListeningSocketTable {
    /// A table that knows its owners anyway (the fakes) needs no second step.
    public func unnamedListeningSockets() -> [ListeningSocket] { listeningSockets() }
    public func naming(_ sockets: [ListeningSocket]) -> [ListeningSocket] { sockets }
    /// A table that lists each holder as a row of its own (the fakes: one row per process sharing the inode).
    public func holders(of inodes: Set<UInt64>) -> [SocketHolder] {
        var seen = Set<Int>()
        return listeningSockets().compactMap { s in
            guard inodes.contains(s.inode), let pid = s.pid, seen.insert(pid).inserted else { return nil }
            return SocketHolder(pid: pid, process: s.process ?? "pid \(pid)", inode: s.inode)
        }
    }
}

/// Asks the kernel through netlink sock_diag (falling back to /proc/net/tcp{,6}), and /proc/*/fd for the owners.
public struct ProcListeningSocketTable: ListeningSocketTable {
    let procRoot: String
    /// sock_diag answers for this machine's network namespace; a different procRoot (tests) is read as files.
    let useNetlink: Bool

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
        self.useNetlink = procRoot == "/proc"
    }

    public func listeningSockets() -> [ListeningSocket] { naming(unnamedListeningSockets()) }

    public func unnamedListeningSockets() -> [ListeningSocket] {
        if useNetlink, let found = SockDiag.listeners() {
            return found.map { ListeningSocket(address: $0.address, inode: $0.inode, uid: $0.uid, acceptQueue: $0.acceptQueue, backlog: $0.backlog) }
        }
        return procListeners()
    }

    /// The listeners as /proc/net/tcp{,6} lists them.
    func procListeners() -> [ListeningSocket] {
        var sockets: [ListeningSocket] = []
        for (file, family) in [("net/tcp", SocketAddress.Family.ipv4), ("net/tcp6", .ipv6)] {
            if let text = ProcNetTCP.listeners("\(procRoot)/\(file)") {
                sockets += Self.parse(text, family: family)
            }
        }
        return sockets
    }

    public func naming(_ sockets: [ListeningSocket]) -> [ListeningSocket] {
        let wanted = sockets.filter { $0.process == nil }
        guard !wanted.isEmpty else { return sockets }
        let owners = ProcSocketOwners(procRoot: procRoot).find(Set(wanted.map(\.inode)), uids: Set(wanted.compactMap(\.uid)))
        return sockets.map { s in
            var s = s
            if s.process == nil, let o = owners[s.inode] { s.pid = o.pid; s.process = o.name }
            return s
        }
    }

    public func holders(of inodes: Set<UInt64>) -> [SocketHolder] {
        ProcSocketOwners(procRoot: procRoot).all(inodes).map { SocketHolder(pid: $0.pid, process: $0.name, inode: $0.inode) }
    }

    /// Parses the /proc/net/tcp{,6} table; keeps LISTEN (state 0A) rows only.
    public static func parse(_ text: String, family: SocketAddress.Family) -> [ListeningSocket] {
        ProcNetTCP.rows(text).compactMap { r in
            guard r.state == "0A", let inode = r.inode, let port = ProcNetTCP.port(r.local),
                  let ip = decode(String(r.local.prefix { $0 != ":" }), family: family) else { return nil }
            return ListeningSocket(address: SocketAddress(family: family, ip: ip, port: port), inode: inode)
        }
    }

    /// /proc/net shows each 32-bit word of the address in host (little-endian) byte order.
    static func decode(_ hex: String, family: SocketAddress.Family) -> String? {
        let words = family == .ipv4 ? 1 : 4
        guard hex.count == words * 8 else { return nil }
        var bytes: [UInt8] = []
        var i = hex.startIndex
        for _ in 0..<words {
            let end = hex.index(i, offsetBy: 8)
            guard let word = UInt32(hex[i..<end], radix: 16) else { return nil }
            let le = word.littleEndian
            bytes += [UInt8(le & 0xff), UInt8((le >> 8) & 0xff), UInt8((le >> 16) & 0xff), UInt8(le >> 24)]
            i = end
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let af = family == .ipv4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { inet_ntop(af, $0.baseAddress, &buffer, socklen_t(buffer.count)) } != nil
        return ok ? cString(buffer) : nil
    }

    public func localAddresses() -> Set<String> {
        var out: Set<String> = ["127.0.0.1", "::1"]
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return out }
        defer { freeifaddrs(list) }
        var cursor = list
        while let ifa = cursor?.pointee {
            if let sa = ifa.ifa_addr, let a = SystemResolver.socketAddress(sa) { out.insert(a.ip) }
            cursor = ifa.ifa_next
        }
        return out
    }
}

/// The rows of /proc/net/tcp and tcp6, one parser for every reader (listeners here, TIME_WAIT for the generator check).
public enum ProcNetTCP {
    struct Row {
        /// `ADDR:PORT` in hex, as the kernel writes them.
        let local: Substring
        let remote: Substring
        /// Two hex digits: 0A LISTEN, 06 TIME_WAIT, …
        let state: Substring
        let inode: UInt64?
    }

    static func rows(_ text: String) -> [Row] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 4 else { return nil }
            return Row(local: f[1], remote: f[2], state: f[3], inode: f.count >= 10 ? UInt64(f[9]) : nil)
        }
    }

    /// The port of an `ADDR:PORT` field.
    static func port(_ field: Substring) -> Int? {
        guard let colon = field.lastIndex(of: ":") else { return nil }
        return Int(field[field.index(after: colon)...], radix: 16)
    }

    /// The LISTEN rows of a /proc/net/tcp{,6} file, read a page at a time and no further than the first other
    /// row: the kernel lists every listening socket first (its listening hash, then the established one), so the
    /// thousands of TIME_WAIT rows of a busy machine are never read. The kernel still walks its established hash
    /// to fill the page after the last listener (`established_get_first`, 18 % of a dead-port run under perf), which
    /// is why the live table asks sock_diag first (SockDiag.swift) and reads these files only when netlink is refused.
    public static func listeners(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var scanned = 0, lineStart = 0, header = true
        while text.count < LiveHostFacts.readCap {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            text.append(contentsOf: buffer[0..<n])
            // Look at each complete new line: past the header, the first row not in LISTEN (0A) ends the listeners.
            while let nl = text[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: text[lineStart..<nl], as: UTF8.self)
                scanned = nl + 1
                defer { lineStart = scanned }
                if header { header = false; continue }
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                if f.count >= 4 && f[3] != "0A" { return String(decoding: text[..<lineStart], as: UTF8.self) }
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Sockets in TIME_WAIT (state 06) in the given tables: all of them, and those whose remote port is `port`.
    public static func timeWait(_ tables: [String], port: Int?) -> (total: Int, toPort: Int) {
        var total = 0, toPort = 0
        for row in tables.flatMap(rows) where row.state == "06" {
            total += 1
            if let port, Self.port(row.remote) == port { toPort += 1 }
        }
        return (total, toPort)
    }
}
