import PreflightCore
import PreflightProbes

/// Every built-in check and the config sections they own. Adding a check: one file, one line here.
public enum AllChecks {
    public static func make(probes: Probes = .live) -> [any Check] {
        [
            PortCheck(probes: probes),
            HealthCheck(probes: probes),
            DatabaseCheck(probes: probes),
            SchemaCheck(probes: probes),
        ]
    }

    public static let sections: [any ConfigSection.Type] = [
        HealthSettings.self,
        DatabaseSettings.self,
        LoadSettings.self,
        SchemaSettings.self,
    ]
}
