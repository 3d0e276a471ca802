import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// Fast examples through the seam (fake DNS, fake listeners).
@Suite struct PortCheckExamples {
    func check(resolve: [String: Result<[SocketAddress], ResolveError>] = ["127.0.0.1": .success([v4("127.0.0.1")])],
               connect: [String: ConnectOutcome] = [:], listening: [ListeningSocket] = []) -> PortCheck {
        PortCheck(probes: Probes(resolver: FakeResolver(answers: resolve), tcp: FakeConnector(outcomes: connect),
                                 sockets: FakeSocketTable(sockets: listening)))
    }

    @Test func dnsFailureIsNamed() async throws {
        let c = check(resolve: ["api.invalid": .failure(ResolveError(.noSuchHost, "Name or service not known"))])
        let o = try await c.run(context(config(target: "http://api.invalid:3001")))
        #expect(o.status == .fail)
        #expect(o.summary == "DNS: api.invalid does not resolve: Name or service not known")
    }

    @Test func temporaryDNSFailureSaysSo() async throws {
        let c = check(resolve: ["db.internal": .failure(ResolveError(.temporary, "Temporary failure in name resolution"))])
        let o = try await c.run(context(config(target: "http://db.internal")))
        #expect(o.summary.contains("failed for now"))
    }

    @Test func refusedNamesTheNearestListener() async throws {
        let node = ListeningSocket(address: v4("127.0.0.1", 3000), inode: 1, pid: 4242, process: "node")
        let o = try await check(connect: ["127.0.0.1": .refused], listening: [node]).run(context(config(target: "http://127.0.0.1:3001")))
        #expect(o.status == .fail)
        #expect(o.summary == "connection refused on 127.0.0.1:3001: nothing listens on port 3001; node (pid 4242) listens on 3000")
        #expect(o.fix?.contains("PORT=3001") == true)
    }

    @Test func refusedWithNothingListeningSaysTheBackendIsNotRunning() async throws {
        let sshd = ListeningSocket(address: v4("0.0.0.0", 22), inode: 2, pid: 1, process: "sshd")
        let o = try await check(connect: ["127.0.0.1": .refused], listening: [sshd]).run(context(config(target: "http://127.0.0.1:3001")))
        #expect(o.summary.hasSuffix("no process listens on port 3001: the backend is not running or has crashed"))
    }

    @Test func databasesAndFarAwayListenersAreNotTakenForTheBackend() async throws {
        let pg = ListeningSocket(address: v4("127.0.0.1", 3002), inode: 5, pid: 9, process: "postgres")
        let far = ListeningSocket(address: v4("127.0.0.1", 51781), inode: 6, pid: 10, process: "python3")
        let o = try await check(connect: ["127.0.0.1": .refused], listening: [pg, far]).run(context(config(target: "http://127.0.0.1:3001")))
        #expect(o.summary.hasSuffix("no process listens on port 3001: the backend is not running or has crashed"))
        #expect(!(o.fix ?? "").contains("point target"))
        #expect(o.evidence["listening"] == .array([.string("127.0.0.1:51781 (python3 (pid 10))")]))
    }

    @Test func listeningOnTheOtherFamilyOnly() async throws {
        let v6only = ListeningSocket(address: v6("::1", 3001), inode: 3, pid: 7, process: "python3")
        let o = try await check(connect: ["127.0.0.1": .refused], listening: [v6only]).run(context(config(target: "http://127.0.0.1:3001")))
        #expect(o.summary.contains("port 3001 listens on ::1 only"))
        #expect(o.summary.contains("target resolves to 127.0.0.1"))
    }

    @Test func oneOfTwoAddressesAcceptingIsAWarning() async throws {
        let c = check(resolve: ["localhost": .success([v6("::1"), v4("127.0.0.1")])],
                      connect: ["::1": .refused, "127.0.0.1": .connected(latencyMs: 0.1)])
        let o = try await c.run(context(config(target: "http://localhost:3001")))
        #expect(o.status == .warn)
        #expect(o.summary.contains("only 127.0.0.1 accepts"))
    }

    @Test func everyAddressTimingOut() async throws {
        let o = try await check(resolve: ["10.9.9.9": .success([v4("10.9.9.9")])], connect: ["10.9.9.9": .timedOut])
            .run(context(config(target: "http://10.9.9.9:80")))
        #expect(o.summary.contains("timed out after 2 s"))
    }

    @Test func noTargetSkips() async throws {
        #expect(try await check().run(context(config())).status == .skipped)
    }

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

/// The real thing on loopback: closed ports, listeners, a blackhole whose listen queue drops SYNs.
@Suite(.serialized) struct PortCheckLoopback {
    let live = PortCheck(probes: .live)

    @Test func openPortPasses() async throws {
        let server = try await FixtureServer.start("json", ["200", "{}"])
        defer { server.stop() }
        let o = try await live.run(context(config(target: server.url)))
        #expect(o.status == .pass, "\(o.summary)")
    }

    @Test func closedPortFailsAndNamesTheRealListener() async throws {
        let server = try await FixtureServer.start("json", ["200", "{}"])
        defer { server.stop() }
        // The port just above the fixture's is almost always free; make sure.
        let closed = server.port + 1
        let probe = await SystemTCPConnector().connect(to: v4("127.0.0.1", closed), timeout: .seconds(1))
        try #require(probe == .refused, "port \(closed) unexpectedly in use")
        let o = try await live.run(context(config(target: "http://127.0.0.1:\(closed)")))
        #expect(o.status == .fail)
        #expect(o.summary.contains("nothing listens on port \(closed)"))
        #expect(o.summary.contains("python3 (pid"))
        #expect(o.summary.contains("listens on \(server.port)"))
    }

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

    @Test func ipv6OnlyListenerIsExplained() async throws {
        let server = try await FixtureServer.start("json", ["200", "{}"], host: "::1")
        defer { server.stop() }
        let o = try await live.run(context(config(target: "http://127.0.0.1:\(server.port)")))
        #expect(o.status == .fail)
        #expect(o.summary.contains("listens on ::1 only"), "\(o.summary)")
    }

    @Test func blackholeTimesOutWithinTheDeadline() async throws {
        let server = try await FixtureServer.start("blackhole")
        defer { server.stop() }
        let o = try await live.run(context(config(target: server.url), timeout: .milliseconds(300)))
        #expect(o.status == .fail)
        #expect(o.summary.contains("timed out after 300 ms"), "\(o.summary)")
    }
}
