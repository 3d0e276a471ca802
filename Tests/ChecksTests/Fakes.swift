import Foundation
@testable import PreflightCore
@testable import PreflightProbes
@testable import PreflightChecks

/// A resolver that answers from a table: how the DNS-failure path is tested without asking the network.
struct FakeResolver: Resolver {
    var answers: [String: Result<[SocketAddress], ResolveError>]
    func resolve(host: String, port: Int) async -> Result<[SocketAddress], ResolveError> {
        switch answers[host] {
        case .success(let a)?: return .success(a.map { SocketAddress(family: $0.family, ip: $0.ip, port: port) })
        case .failure(let e)?: return .failure(e)
        case nil: return .failure(ResolveError(.noSuchHost, "Name or service not known"))
        }
    }
}

struct FakeConnector: TCPConnector {
    var outcomes: [String: ConnectOutcome]
    func connect(to address: SocketAddress, timeout: Duration) async -> ConnectOutcome { outcomes[address.ip] ?? .refused }
}

struct FakeSocketTable: ListeningSocketTable {
    var sockets: [ListeningSocket]
    func listeningSockets() -> [ListeningSocket] { sockets }
    func localAddresses() -> Set<String> { ["127.0.0.1", "::1"] }
}

func v4(_ ip: String, _ port: Int = 0) -> SocketAddress { SocketAddress(family: .ipv4, ip: ip, port: port) }
func v6(_ ip: String, _ port: Int = 0) -> SocketAddress { SocketAddress(family: .ipv6, ip: ip, port: port) }

func config(target: String? = nil, database: String? = nil, healthPath: String? = nil) -> Config {
    var c = Config()
    if let target { c.target = ServiceURL.parse(target).0 }
    if let database { c.set(DatabaseSettings(url: DatabaseURL.parse(database).0)) }
    if let healthPath {
        var h = HealthSettings()
        h.path = healthPath
        c.set(h)
    }
    return c
}

func context(_ c: Config, timeout: Duration = .seconds(2)) -> CheckContext { CheckContext(config: c, timeout: timeout) }
