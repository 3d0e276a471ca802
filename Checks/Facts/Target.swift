import PreflightCore

/// `target` (or `--target`): the service's base URL, a core key parsed once at load (`ServiceURL.parse`).
public struct TargetURL: Fact {
    public static let name = "target"
    public static let sections: [any ConfigSection.Type] = []
    public let url: ServiceURL?

    public static func derive(from config: Config) -> TargetURL { TargetURL(url: config.target) }
}
