import PreflightCore
import PreflightProbes

/// A check that ships with preflight: one file in Checks/ that describes itself, owns its config
/// section(s), names the shared facts it reads, and takes every I/O through `Probes`.
/// Its description's examples are its tests: each gives a world (the config, files, what the probes answer,
/// `ProbeAnswers`) and the phrase the check must say there; `swift test --filter CheckExamples` runs them all and
/// checks that what the check read equals what it declares here.
public protocol BuiltInCheck: DescribedCheck {
    init(probes: Probes)
    /// The config sections this check owns, defined in its own file.
    static var settings: [any ConfigSection.Type] { get }
    /// The run's shared facts it reads (Checks/Facts/), derived once and handed over by the engine.
    static var facts: [any Fact.Type] { get }
    /// Sections another check owns that it reads all the same: declared so `preflight checks` tells the truth,
    /// each one a reading still to move into a fact. Empty by default.
    static var borrowed: [any ConfigSection.Type] { get }
}

/// A fact that reads core keys (`target`), which no config section owns: they show among its readers' keys.
public protocol CoreKeysFact: Fact {
    static var coreKeys: [String] { get }
}

extension BuiltInCheck {
    public static var borrowed: [any ConfigSection.Type] { [] }

    /// The config keys it reads, derived from its sections and facts (what `preflight checks` prints).
    public static var configKeys: [String] {
        ConfigKeys.of(sections: settings + borrowed, facts: facts)
    }
}

/// Config keys as `preflight checks` names them: a fact without sections by its name (`target`), a section by each
/// of its keys (`health.path`), or its own key when it has none (`checks`).
public enum ConfigKeys {
    public static func of(sections: [any ConfigSection.Type], facts: [any Fact.Type], coreKeys: [String] = []) -> [String] {
        var keys: [String] = []
        for f in facts {
            if let core = f as? any CoreKeysFact.Type { keys += core.coreKeys.filter { !keys.contains($0) } }
            else if f.sections.isEmpty && !keys.contains(f.name) { keys.append(f.name) }
        }
        for k in coreKeys where !keys.contains(k) { keys.append(k) }
        for s in sections + facts.flatMap({ $0.sections }) {
            for k in s.keys.isEmpty ? [s.key] : s.keys.map({ "\(s.key).\($0)" }) where !keys.contains(k) { keys.append(k) }
        }
        return keys
    }

    /// The keys behind what a check read while it ran (sections, core keys, facts).
    public static func of(_ reads: [ConfigReads.Read]) -> [String] {
        var sections: [any ConfigSection.Type] = []
        var facts: [any Fact.Type] = []
        var core: [String] = []
        for r in reads {
            switch r {
            case .section(let s): sections.append(s)
            case .fact(let f): facts.append(f)
            case .key(let k): core.append(k)
            }
        }
        return of(sections: sections, facts: facts, coreKeys: core)
    }
}
