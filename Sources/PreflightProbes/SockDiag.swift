import Foundation

/// The kernel's listening TCP sockets through netlink's sock_diag (`NETLINK_SOCK_DIAG`, `inet_diag_req_v2` with a
/// LISTEN state filter). Unlike /proc/net/tcp{,6}, the kernel answers from its listening hash alone: the cost does
/// not grow with the machine's established and TIME_WAIT sockets (`established_get_first` was 18 % of a dead-port
/// run under perf when /proc/net/tcp was read). The structures are built and read by offset: Glibc's module does not
/// export linux/inet_diag.h, and these layouts are kernel ABI.
enum SockDiag {
    /// One LISTEN row: the address, the socket's inode (matched against /proc/PID/fd) and its owner's uid.
    struct Listener {
        let address: SocketAddress
        let inode: UInt64
        let uid: UInt32
        /// For a listener the kernel reports its accept queue as `idiag_rqueue` (connections completed, not yet
        /// accepted) and its backlog as `idiag_wqueue` (`sk_max_ack_backlog`: listen()'s argument capped by somaxconn).
        let acceptQueue: Int
        let backlog: Int
    }

    // linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h
    static let netlinkSockDiag: Int32 = 4
    static let sockDiagByFamily: UInt16 = 20
    static let nlmFRequest: UInt16 = 0x1, nlmFDump: UInt16 = 0x300
    static let nlmsgDone: UInt16 = 3, nlmsgError: UInt16 = 2
    static let headerSize = 16          // struct nlmsghdr
    static let requestSize = 56         // struct inet_diag_req_v2
    static let messageSize = 72         // struct inet_diag_msg
    static let tcpListen: UInt32 = 10   // TCP_LISTEN in include/net/tcp_states.h

    /// Every listener of both families, or nil when netlink is unavailable (a sandbox, an old kernel): the caller
    /// falls back to /proc. Bounded: at most `cap` bytes of answers, and a 1 s receive timeout per read.
    static func listeners(cap: Int = LiveHostFacts.readCap) -> [Listener]? {
        var all: [Listener] = []
        for family in [AF_INET, AF_INET6] {
            guard let some = dump(family: UInt8(family), cap: cap) else { return nil }
            all += some
        }
        return all
    }

    static func dump(family: UInt8, cap: Int) -> [Listener]? {
        let fd = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkSockDiag)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var request = [UInt8](repeating: 0, count: headerSize + requestSize)
        func put32(_ v: UInt32, at o: Int) { withUnsafeBytes(of: v) { request.replaceSubrange(o..<o + 4, with: $0) } }
        func put16(_ v: UInt16, at o: Int) { withUnsafeBytes(of: v) { request.replaceSubrange(o..<o + 2, with: $0) } }
        put32(UInt32(request.count), at: 0)                 // nlmsg_len
        put16(sockDiagByFamily, at: 4)                      // nlmsg_type
        put16(nlmFRequest | nlmFDump, at: 6)                // nlmsg_flags
        put32(1, at: 8)                                     // nlmsg_seq
        request[headerSize] = family                        // sdiag_family
        request[headerSize + 1] = UInt8(IPPROTO_TCP)        // sdiag_protocol
        put32(1 << tcpListen, at: headerSize + 4)           // idiag_states
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { return nil }

        var listeners: [Listener] = []
        var buffer = [UInt8](repeating: 0, count: 32768)
        var received = 0
        while received < cap {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }   // a timeout or an error before NLMSG_DONE: not a whole answer
            received += n
            let done: Bool? = buffer.withUnsafeBytes { raw in
                var offset = 0
                while offset + headerSize <= n {
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                    let type = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
                    guard length >= headerSize, offset + length <= n else { return nil }
                    if type == nlmsgDone { return true }
                    if type == nlmsgError { return nil }
                    if type == sockDiagByFamily, length >= headerSize + messageSize,
                       let l = parse(UnsafeRawBufferPointer(rebasing: raw[(offset + headerSize)..<(offset + length)])) {
                        listeners.append(l)
                    }
                    offset += (length + 3) & ~3       // NLMSG_ALIGN
                }
                return false
            }
            guard let done else { return nil }
            if done { return listeners }
        }
        return nil
    }

    /// One `inet_diag_msg`: family, state, then `inet_diag_sockid` (sport, dport big-endian; src, dst 16 bytes each;
    /// interface; cookie), expires, rqueue, wqueue, uid, inode.
    static func parse(_ m: UnsafeRawBufferPointer) -> Listener? {
        guard m.count >= messageSize, UInt32(m[1]) == tcpListen else { return nil }
        let family: SocketAddress.Family
        switch Int32(m[0]) {
        case AF_INET: family = .ipv4
        case AF_INET6: family = .ipv6
        default: return nil
        }
        let port = Int(UInt16(m[4]) << 8 | UInt16(m[5]))
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let af = family == .ipv4 ? AF_INET : AF_INET6
        guard inet_ntop(af, m.baseAddress! + 8, &text, socklen_t(text.count)) != nil else { return nil }
        let rqueue = m.loadUnaligned(fromByteOffset: 56, as: UInt32.self)
        let wqueue = m.loadUnaligned(fromByteOffset: 60, as: UInt32.self)
        let uid = m.loadUnaligned(fromByteOffset: 64, as: UInt32.self)
        let inode = m.loadUnaligned(fromByteOffset: 68, as: UInt32.self)
        return Listener(address: SocketAddress(family: family, ip: cString(text), port: port), inode: UInt64(inode), uid: uid,
                        acceptQueue: Int(rqueue), backlog: Int(wqueue))
    }
}
