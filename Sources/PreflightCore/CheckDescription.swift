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

/// What the fake probes answer in an example's world. Core knows no probe: the module that owns the probes
/// (the checks' `ProbeAnswers`) conforms, and the `CheckExamples` test hands the answers to one scripted fake.
public protocol WorldAnswers: Sendable {}

/// The world an example runs in: the config as the user writes it, files beside it, and what the probes answer.
public struct World: Sendable {
    /// preflight.yml's text.
    public var config: String
    /// Files in the config's folder (a k6 script, schema.prisma), by relative path.
    public var files: [String: String]
    /// What the network, the database, child processes and the machine answer (nil: a world that asks none).
    public var answers: (any WorldAnswers)?

    public init(config: String, files: [String: String] = [:], answers: (any WorldAnswers)? = nil) {
        self.config = config
        self.files = files
        self.answers = answers
    }
}

/// One example, executed by the `CheckExamples` test and shown by `preflight checks`: given this world the check
/// ends in `status`, and one of its findings (sentence or fix) contains `says`.
public struct CheckExample: Sendable {
    public let status: Status
    public let given: World
    public let says: String

    public init(_ status: Status, given: World, says: String) {
        self.status = status
        self.given = given
        self.says = says
    }
}

/// What a check says about itself, before it runs (like a SwiftLint rule description).
public struct CheckDescription: Sendable {
    public let id: CheckID
    public let title: String
    public let layer: Layer
    public let prerequisites: [CheckID]
    /// Checks this one starts after, whatever they end in (ordering only: never a reason to skip, and `--only` does
    /// not bring them in); their results are in `CheckContext.prerequisites`. The generator waits for the checks that
    /// send the run's one ramp, to read its latency; the server check sends the ramp only to a target whose health
    /// check passed, and reads the service's limits either way.
    public let after: [CheckID]
    /// Built when asked (`preflight checks`, the tests), not when a run reads the id and layer: the worlds hold
    /// scripts, schemas and dates that a run never needs.
    public var examples: [CheckExample] { makeExamples() }
    private let makeExamples: @Sendable () -> [CheckExample]
    /// How many `--timeout`s the check may take before the engine gives up on it.
    public let timeoutBudget: Int

    public init(id: CheckID, title: String, layer: Layer, prerequisites: [CheckID] = [], after: [CheckID] = [],
                examples: @escaping @autoclosure @Sendable () -> [CheckExample], timeoutBudget: Int = 1) {
        self.id = id
        self.title = title
        self.layer = layer
        self.prerequisites = prerequisites
        self.after = after
        self.makeExamples = examples
        self.timeoutBudget = timeoutBudget
    }
}
