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
    /// Derives the fact from the run's other facts as well (one built on another reads that one once, from the
    /// run's store); by default from the config alone. A fact never reads itself, directly or through another.
    static func derive(from facts: FactStore) -> Self
}

extension Fact {
    public static func derive(from facts: FactStore) -> Self { derive(from: facts.config) }
}

/// One run's facts: each derived on first use, then shared by every check that reads it.
public final class FactStore: Sendable {
    public let config: Config
    private let shared: Shared

    /// The slots and measurements, shared with the unrecorded view of the same run.
    private final class Shared: Sendable {
        let cache = Mutex<[ObjectIdentifier: any Sendable]>([:])
        let measurements = Mutex<[ObjectIdentifier: any Sendable]>([:])
    }

    /// One fact's slot: derived under its own lock, so a fact built on another can ask the store for it meanwhile.
    private final class Slot<F: Fact>: Sendable {
        let value = Mutex<F?>(nil)
    }

    public init(config: Config) {
        self.config = config
        shared = Shared()
    }

    private init(config: Config, shared: Shared) {
        self.config = config
        self.shared = shared
    }

    /// The same run's facts, read without recording: what a fact reads while it is derived is the fact's own
    /// (declared by its `sections`), not the asking check's.
    private var unrecorded: FactStore {
        guard config.reads != nil else { return self }
        var c = config
        c.reads = nil
        return FactStore(config: c, shared: shared)
    }

    /// A measurement of the run (real traffic, say) taken once: the first caller starts it, every caller awaits
    /// the same result. It runs in a task of its own, so a caller that is cancelled does not cancel it for the others.
    public func measured<T: Sendable>(_ type: T.Type, _ measure: @escaping @Sendable () async -> T) async -> T {
        let task = shared.measurements.withLock { m -> Task<T, Never> in
            if let known = m[ObjectIdentifier(type)] as? Task<T, Never> { return known }
            let t = Task { await measure() }
            m[ObjectIdentifier(type)] = t
            return t
        }
        return await task.value
    }

    /// The measurement of `type` if a check of this run has started it (awaited to its end), else nil: never
    /// starts one. A check that only profits from a measurement others take reads it so, ordered `after` them.
    public func taken<T: Sendable>(_ type: T.Type) async -> T? {
        guard let task = shared.measurements.withLock({ $0[ObjectIdentifier(type)] as? Task<T, Never> }) else { return nil }
        return await task.value
    }

    public func get<F: Fact>(_ type: F.Type) -> F {
        config.reads?.read(fact: F.self)
        let slot = shared.cache.withLock { cache -> Slot<F> in
            if let known = cache[ObjectIdentifier(type)] as? Slot<F> { return known }
            let slot = Slot<F>()
            cache[ObjectIdentifier(type)] = slot
            return slot
        }
        // Derived under the slot's lock: two checks asking at once still read one derivation (a script read once).
        return slot.value.withLock { value in
            if let known = value { return known }
            let fact = F.derive(from: unrecorded)
            value = fact
            return fact
        }
    }
}

/// What a check read while it ran: config sections, core keys (`target`) and facts, in first-read order.
public final class ConfigReads: Sendable {
    /// One thing read: a config section, a core key of `Config` (`target`), or a fact.
    public enum Read: Sendable {
        case section(any ConfigSection.Type)
        case key(String)
        case fact(any Fact.Type)
    }
    private let state = Mutex<[Read]>([])

    public init() {}

    public var all: [Read] { state.withLock { $0 } }

    func read(section: any ConfigSection.Type) { note(.section(section)) }
    func read(key: String) { note(.key(key)) }
    func read(fact: any Fact.Type) { note(.fact(fact)) }

    private func note(_ r: Read) {
        state.withLock { reads in
            if !reads.contains(where: { Self.same($0, r) }) { reads.append(r) }
        }
    }

    static func same(_ a: Read, _ b: Read) -> Bool {
        switch (a, b) {
        case (.section(let x), .section(let y)): ObjectIdentifier(x) == ObjectIdentifier(y)
        case (.fact(let x), .fact(let y)): ObjectIdentifier(x) == ObjectIdentifier(y)
        case (.key(let x), .key(let y)): x == y
        default: false
        }
    }
}
