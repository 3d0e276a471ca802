import PreflightCore
import PreflightProbes

/// A check that ships with preflight: one file in Checks/ that describes itself, owns its config
/// section(s), names the shared facts it reads, and takes every I/O through `Probes`.
public protocol BuiltInCheck: DescribedCheck {
    init(probes: Probes)
    /// The config sections this check owns, defined in its own file.
    static var settings: [any ConfigSection.Type] { get }
    /// The run's shared facts it reads (Checks/Facts/), derived once and handed over by the engine.
    static var facts: [any Fact.Type] { get }
}

extension BuiltInCheck {
    /// The config keys it reads, derived from its sections and facts (what `preflight checks` prints).
    public static var configKeys: [String] {
        var keys: [String] = []
        for f in facts where f.sections.isEmpty { keys.append(f.name) }
        for s in settings + facts.flatMap({ $0.sections }) {
            for k in s.keys.isEmpty ? [s.key] : s.keys.map({ "\(s.key).\($0)" }) where !keys.contains(k) { keys.append(k) }
        }
        return keys
    }
}
