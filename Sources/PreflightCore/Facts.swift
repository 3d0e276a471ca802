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

    private let measurements = Mutex<[ObjectIdentifier: any Sendable]>([:])

    /// A measurement of the run (real traffic, say) taken once: the first caller starts it, every caller awaits
    /// the same result. It runs in a task of its own, so a caller that is cancelled does not cancel it for the others.
    public func measured<T: Sendable>(_ type: T.Type, _ measure: @escaping @Sendable () async -> T) async -> T {
        let task = measurements.withLock { m -> Task<T, Never> in
            if let known = m[ObjectIdentifier(type)] as? Task<T, Never> { return known }
            let t = Task { await measure() }
            m[ObjectIdentifier(type)] = t
            return t
        }
        return await task.value
    }

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
