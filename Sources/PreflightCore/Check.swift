/// A pluggable check. Describe it statically, then `run` it; the engine owns deadlines and ordering.
public protocol Check: Sendable {
    static var description: CheckDescription { get }
    /// Runs once every prerequisite passed. A throw, or running past the budget,
    /// becomes a failed result: no check can take the run down.
    func run(_ context: CheckContext) async throws -> CheckOutcome
}

extension Check {
    public var description: CheckDescription { Self.description }
}

/// What every check gets: the loaded config, the per-operation timeout and the results so far.
public struct CheckContext: Sendable {
    public let config: Config
    public let timeout: Duration
    /// Results of this check's prerequisites (all passed or warned).
    public let prerequisites: [CheckID: CheckResult]

    public init(config: Config, timeout: Duration, prerequisites: [CheckID: CheckResult] = [:]) {
        self.config = config
        self.timeout = timeout
        self.prerequisites = prerequisites
    }
}
