/// Where a run ran: the machine's name and the local addresses its connections left from. Every JSON report
/// carries one (`runner`), so `preflight merge` can say which load generators see a different network.
public struct Runner: Sendable, Equatable, Hashable {
    public let hostname: String
    /// The source addresses of the routes to what the run connected to (the service, the database), in order.
    public let addresses: [String]

    public init(hostname: String, addresses: [String]) {
        self.hostname = hostname
        self.addresses = addresses
    }

    /// How a merged verdict names this runner: its first address, else its name.
    public var label: String { addresses.first ?? hostname }
}
