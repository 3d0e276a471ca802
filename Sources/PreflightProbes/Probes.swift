/// Everything the checks touch in the outside world, in one place: live by default, fakes in tests.
/// A check does no I/O of its own: sockets, DNS, HTTP (one request or a burst), PostgreSQL, child processes and
/// the machine's own limits (/proc, getrlimit, PATH) all pass here.
public struct Probes: Sendable {
    public var resolver: any Resolver
    public var tcp: any TCPConnector
    public var sockets: any ListeningSocketTable
    public var http: any HTTPClient
    public var burster: any HTTPBurster
    public var postgres: any PostgresConnector
    /// PgBouncer's admin console: SHOW commands only.
    public var pgbouncer: any PgBouncerConsoleConnector
    public var subprocess: any SubprocessRunner
    public var host: any HostFacts
    /// k6's own speed on this machine, against a loopback sink (the generator check).
    public var bench: any GeneratorBench

    public init(resolver: any Resolver = SystemResolver(), tcp: any TCPConnector = SystemTCPConnector(),
                sockets: any ListeningSocketTable = ProcListeningSocketTable(),
                http: any HTTPClient = CurlHTTPClient(), burster: any HTTPBurster = CurlHTTPBurst(),
                postgres: any PostgresConnector = LibPQConnector(), subprocess: any SubprocessRunner = SpawnedSubprocess(),
                host: any HostFacts = LiveHostFacts(), pgbouncer: any PgBouncerConsoleConnector = LibPQPgBouncerConsole(),
                bench: any GeneratorBench = LoopbackK6Bench()) {
        self.resolver = resolver
        self.tcp = tcp
        self.sockets = sockets
        self.http = http
        self.burster = burster
        self.postgres = postgres
        self.pgbouncer = pgbouncer
        self.subprocess = subprocess
        self.host = host
        self.bench = bench
    }

    public static var live: Probes { Probes() }
}
