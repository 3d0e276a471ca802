import Foundation
import Testing
import TestSupport
@testable import PreflightCore
@testable import PreflightProbes

func v4(_ ip: String, _ port: Int = 0) -> SocketAddress { SocketAddress(family: .ipv4, ip: ip, port: port) }
func v6(_ ip: String, _ port: Int = 0) -> SocketAddress { SocketAddress(family: .ipv6, ip: ip, port: port) }

/// The listening-socket table's own reading of /proc/net/tcp{,6}.
@Suite struct ListeningSocketTableReading {
    @Test func procNetTableParses() {
        let tcp = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0000000000000000 100 0 0 10 0
           1: 0100007F:0BB9 0100007F:A2C4 01 00000000:00000000 00:00000000 00000000     0        0 4712 1 0000000000000000 20 4 30 10 -1
        """
        let rows = ProcListeningSocketTable.parse(tcp, family: .ipv4)
        #expect(rows == [ListeningSocket(address: v4("127.0.0.1", 3000), inode: 4711)])
        let tcp6 = """
          sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000001000000:0BB9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1
        """
        #expect(ProcListeningSocketTable.parse(tcp6, family: .ipv6) == [ListeningSocket(address: v6("::1", 3001), inode: 99)])
        #expect(ProcListeningSocketTable.parse("garbage\n\u{0}\u{1}", family: .ipv4).isEmpty)
    }
}

/// The real table on loopback: sock_diag and /proc agree, and the owner search names the process.
@Suite(.serialized, .tags(.live), .runsLive) struct ListeningSocketsLoopback {
    /// sock_diag (the live reading) and /proc/net/tcp{,6} (its fallback) list the same real listeners, and the
    /// owner search names them after the fixture's process.
    @Test func netlinkAndProcAgreeOnRealListeners() async throws {
        let v4server = try await FixtureServer.start("json", ["200", "{}"])
        defer { v4server.stop() }
        let v6server = try await FixtureServer.start("json", ["200", "{}"], host: "::1")
        defer { v6server.stop() }
        let table = ProcListeningSocketTable()
        try #require(SockDiag.listeners() != nil, "netlink sock_diag unavailable")
        let fromNetlink = table.unnamedListeningSockets()
        let fromProc = table.procListeners()
        for (server, address) in [(v4server, v4("127.0.0.1", v4server.port)), (v6server, v6("::1", v6server.port))] {
            let n = try #require(fromNetlink.first { $0.address == address }, "\(address) not in sock_diag's answer")
            let p = try #require(fromProc.first { $0.address == address }, "\(address) not in /proc/net")
            #expect(n.inode == p.inode)
            #expect(n.uid == getuid())
            #expect(n.process == nil)   // not looked up until asked
            let named = table.naming([n])
            #expect(named.first?.pid == server.pid)
            #expect(named.first?.process == "python3")
        }
    }

    /// A daemon that dropped its privileges after bind: the socket's uid (root's) is not its process's (nobody's),
    /// so the owner is found in the search's second pass, after every process of the socket's uid.
    @Test(.enabled(if: getuid() == 0, "needs root to change the fixture's uid"))
    func ownerThatChangedItsUidIsStillNamed() async throws {
        let server = try await FixtureServer.start("json", ["200", "{}"], options: ["--setuid", "65534"])
        defer { server.stop() }
        let table = ProcListeningSocketTable()
        let socket = try #require(table.unnamedListeningSockets().first { $0.address == v4("127.0.0.1", server.port) })
        #expect(socket.uid == 0)
        let named = table.naming([socket])
        #expect(named.first?.pid == server.pid)
        #expect(named.first?.process == "python3")
    }
}
