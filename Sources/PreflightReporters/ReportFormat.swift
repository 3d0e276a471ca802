import PreflightCore

/// Every format a report can be rendered in. The one switch from a format to its reporter; the CLI adds its
/// argument parsing. Render a report redacted with `Report.redacted(using:)` (the CLI's `Rendering` does, once).
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, junit, github, markdown, sarif

    /// What the formats need beyond the report.
    public struct Options: Sendable {
        public var color = false
        public var verbose = false
        public var runner: Runner?
        public var runners: [Runner]?
        public var target: String?
        public var workspace: String?
        public var toolVersion = "0.1.0"
        public init(color: Bool = false, verbose: Bool = false, runner: Runner? = nil, runners: [Runner]? = nil,
                    target: String? = nil, workspace: String? = nil, toolVersion: String = "0.1.0") {
            self.color = color
            self.verbose = verbose
            self.runner = runner
            self.runners = runners
            self.target = target
            self.workspace = workspace
            self.toolVersion = toolVersion
        }
    }

    public func render(_ report: Report, _ o: Options = Options()) -> String {
        switch self {
        case .text: TextReporter(color: o.color, verbose: o.verbose).render(report)
        case .json: JSONReporter(runner: o.runner, runners: o.runners, target: o.target).render(report)
        case .junit: JUnitReporter().render(report)
        case .github: GitHubReporter(workspace: o.workspace).render(report)
        case .markdown: MarkdownReporter().render(report)
        case .sarif: SARIFReporter(workspace: o.workspace, toolVersion: o.toolVersion).render(report)
        }
    }
}
