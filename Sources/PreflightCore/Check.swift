/// A pluggable check: it describes itself, then `run`s; the engine owns deadlines and ordering.
public protocol Check: Sendable {
    var description: CheckDescription { get }
    /// Runs once every prerequisite passed. A throw, or running past the budget,
    /// becomes a failed result: no check can take the run down.
    func run(_ context: CheckContext) async throws -> CheckOutcome
}

/// A built-in check describes itself statically, like a SwiftLint rule.
public protocol DescribedCheck: Check {
    static var description: CheckDescription { get }
}

extension DescribedCheck {
    public var description: CheckDescription { Self.description }
}

/// What every check gets: the loaded config, the run's shared facts, the per-operation timeout and the results so far.
public struct CheckContext: Sendable {
    public let config: Config
    public let timeout: Duration
    /// Results of this check's prerequisites (all passed or warned), and of the checks it runs after (any status).
    public let prerequisites: [CheckID: CheckResult]
    let facts: FactStore

    public init(config: Config, timeout: Duration, prerequisites: [CheckID: CheckResult] = [:], facts: FactStore? = nil) {
        self.config = config
        self.timeout = timeout
        self.prerequisites = prerequisites
        self.facts = facts ?? FactStore(config: config)
    }

    /// A fact of the run (derived once, shared with every other check that reads it).
    public func fact<F: Fact>(_ type: F.Type) -> F { facts.get(type) }

    /// A measurement shared by the run's checks, taken once (the first caller's `measure` runs; the others await it).
    public func measured<T: Sendable>(_ type: T.Type, _ measure: @escaping @Sendable () async -> T) async -> T {
        await facts.measured(type, measure)
    }

    /// A measurement another check of the run took (`FactStore.taken`), or nil: never sends anything.
    public func taken<T: Sendable>(_ type: T.Type) async -> T? {
        await facts.taken(type)
    }
}
