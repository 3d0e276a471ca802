import Synchronization

/// Something several checks need, derived from the config once per run and handed to each check by
/// the engine (the database URL, the load plan), so no check re-derives or re-reads what another owns.
public protocol Fact: Sendable {
    /// What `preflight checks` calls it.
    static var name: String { get }
    /// The config sections it is derived from (their keys show in `preflight checks`).
    static var sections: [any ConfigSection.Type] { get }
    /// Derives the fact; runs at most once per run, on first use.
    static func derive(from config: Config) -> Self
}

/// One run's facts: each derived on first use, then shared by every check that reads it.
public final class FactStore: Sendable {
    public let config: Config
    private let cache = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init(config: Config) { self.config = config }

    public func get<F: Fact>(_ type: F.Type) -> F {
        // Derived under the lock: two checks asking at once still read one derivation (a script read once).
        cache.withLock { cache in
            if let known = cache[ObjectIdentifier(type)] as? F { return known }
            let fact = F.derive(from: config)
            cache[ObjectIdentifier(type)] = fact
            return fact
        }
    }
}
