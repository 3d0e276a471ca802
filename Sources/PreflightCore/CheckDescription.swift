/// A check's stable identifier, as used in `--only`, `blockedBy` and `rootCauses`.
public typealias CheckID = String

/// Where in the causal chain a check sits; root causes are listed in this order. The load generator
/// comes first: a machine that cannot drive the load makes every later finding moot. (Nothing persists
/// the raw values: they only order.)
public enum Layer: Int, Sendable, Comparable, CaseIterable {
    case generator, network, service, database, capacity, limits, schema, script

    public static func < (a: Layer, b: Layer) -> Bool { a.rawValue < b.rawValue }

    /// Its name in reports (`checks[].layer` of the JSON report) and in `layer:` of a custom check.
    public var name: String { String(describing: self) }

    public init?(name: String) {
        guard let l = Layer.allCases.first(where: { $0.name == name }) else { return nil }
        self = l
    }
}

/// One example situation, used by `preflight checks` and mirrored by a test.
public struct CheckExample: Sendable {
    public let situation: String
    public let outcome: Status
    public init(_ situation: String, _ outcome: Status) {
        self.situation = situation
        self.outcome = outcome
    }
}

/// What a check says about itself, before it runs (like a SwiftLint rule description).
public struct CheckDescription: Sendable {
    public let id: CheckID
    public let title: String
    public let layer: Layer
    public let prerequisites: [CheckID]
    public let examples: [CheckExample]
    /// How many `--timeout`s the check may take before the engine gives up on it.
    public let timeoutBudget: Int

    public init(id: CheckID, title: String, layer: Layer, prerequisites: [CheckID] = [],
                examples: [CheckExample], timeoutBudget: Int = 1) {
        self.id = id
        self.title = title
        self.layer = layer
        self.prerequisites = prerequisites
        self.examples = examples
        self.timeoutBudget = timeoutBudget
    }
}
