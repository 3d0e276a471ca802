import PreflightCore
import PreflightProbes

/// The one list of built-in checks. Adding a check: one file in Checks/, one line here. Config sections,
/// built-in ids and the text of `preflight checks` are derived from this list.
public enum AllChecks {
    public static let builtIn: [any BuiltInCheck.Type] = [
        GeneratorCheck.self,
        PortCheck.self,
        HealthCheck.self,
        DatabaseCheck.self,
        PoolCheck.self,
        PoolTrafficCheck.self,
        RateLimitCheck.self,
        ServerCheck.self,
        GRPCCheck.self,
        MigrationsCheck.self,
        SchemaCheck.self,
        ScriptCheck.self,
        APICheck.self,
        SmokeCheck.self,
    ]

    public static var builtInIDs: [CheckID] { builtIn.map { $0.description.id } }

    /// Every section the config may hold: the checks' own, the facts they read, and `checks:` (the user's own).
    public static var sections: [any ConfigSection.Type] {
        var out: [any ConfigSection.Type] = []
        for s in builtIn.flatMap({ $0.settings + $0.facts.flatMap { $0.sections } }) + [CustomCheckSettings.self]
        where !out.contains(where: { ObjectIdentifier($0) == ObjectIdentifier(s) }) {
            out.append(s)
        }
        return out
    }

    public static func make(probes: Probes = .live) -> [any Check] {
        builtIn.map { $0.init(probes: probes) }
    }

    /// The built-in checks, then the user's own from `checks:` in the config.
    public static func make(probes: Probes = .live, config: Config) -> [any Check] {
        let timeout = config.effectiveTimeout
        return make(probes: probes) + config.section(CustomCheckSettings.self).specs.map {
            CustomCheck(spec: $0, probes: probes, timeout: timeout)
        }
    }
}
