/// Everything the checks touch in the outside world, in one place: live by default, fakes in tests.
public struct Probes: Sendable {
    public var resolver: any Resolver
    public var tcp: any TCPConnector
    public var sockets: any ListeningSocketTable
    public var http: any HTTPClient
    public var postgres: any PostgresConnector

    public init(resolver: any Resolver = SystemResolver(), tcp: any TCPConnector = SystemTCPConnector(),
                sockets: any ListeningSocketTable = ProcListeningSocketTable(),
                http: any HTTPClient = CurlHTTPClient(), postgres: any PostgresConnector = LibPQConnector()) {
        self.resolver = resolver
        self.tcp = tcp
        self.sockets = sockets
        self.http = http
        self.postgres = postgres
    }

    public static var live: Probes { Probes() }
}
