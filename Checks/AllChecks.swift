import PreflightCore
import PreflightProbes

/// Every built-in check and the config sections they own. Adding a check: one file, one line here.
public enum AllChecks {
    /// The built-in checks, then the user's own from `checks:` in the config.
    public static func make(probes: Probes = .live, config: Config) -> [any Check] {
        let timeout = config.timeout ?? .seconds(3)
        return make(probes: probes) + config.section(CustomCheckSettings.self).specs.map {
            CustomCheck(spec: $0, probes: probes, timeout: timeout)
        }
    }

    public static var builtInIDs: [CheckID] { make(probes: .live).map(\.description.id) }

    public static func make(probes: Probes = .live) -> [any Check] {
        [
            PortCheck(probes: probes),
            HealthCheck(probes: probes),
            DatabaseCheck(probes: probes),
            PoolCheck(probes: probes),
            RateLimitCheck(probes: probes),
            SchemaCheck(probes: probes),
            ScriptCheck(probes: probes),
        ]
    }

    public static let sections: [any ConfigSection.Type] = [
        HealthSettings.self,
        DatabaseSettings.self,
        LoadSettings.self,
        RateLimitSettings.self,
        SchemaSettings.self,
        CustomCheckSettings.self,
    ]
}
