import ArgumentParser
import Foundation
import PreflightCore

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, junit, github, markdown
}

/// `FORMAT=FILE` for --report; `html=FILE` (the run's timeline) only for `preflight exec`.
struct ReportTarget: ExpressibleByArgument {
    /// nil for html, which no gate reporter renders.
    let format: ReportFormat?
    let path: String
    var isHTML: Bool { format == nil }

    init?(argument: String) {
        guard let eq = argument.firstIndex(of: "=") else { return nil }
        let name = String(argument[..<eq])
        let path = String(argument[argument.index(after: eq)...])
        guard !path.isEmpty, name == "html" || ReportFormat(rawValue: name) != nil else { return nil }
        format = ReportFormat(rawValue: name)
        self.path = path
    }
}

/// The options of a gate run, shared by `preflight [run]` and `preflight exec`.
struct RunOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Config file (default: ./preflight.yml when it exists).")
    var config: String?

    @Option(help: "Base URL of the service under test, e.g. http://127.0.0.1:3001/api/v1 (overrides target).")
    var target: String?

    @Option(name: .customLong("database-url"), help: "postgresql://user:password@host:5432/db (overrides database.url).")
    var databaseURL: String?

    @Option(help: "Deadline for each network operation, e.g. 3s or 500ms (default 3s).")
    var timeout: String?

    @Option(help: "Report format on stdout: text, json, junit, github or markdown.")
    var format: ReportFormat = .text

    @Option(help: "Also write the report, in --format, to this file (the terminal then shows the text view).")
    var output: String?

    @Option(name: .customLong("report"), help: ArgumentHelp("Also write a report: FORMAT=FILE, e.g. junit=preflight.xml (repeatable).", valueName: "format=file"))
    var reports: [ReportTarget] = []

    @Option(help: "Run only these checks (comma-separated ids).")
    var only: String?

    @Option(help: "Skip these checks (comma-separated ids).")
    var skip: String?

    @Flag(name: .customLong("probe-connections"), help: "Really open the pools' demand of connections (bounded) to see where the server refuses.")
    var probeConnections = false

    @Flag(help: "Warnings fail the gate too.")
    var strict = false

    @Option(help: ArgumentHelp("Re-run until go or until this much time has passed, e.g. 60s (replaces wait-for-it).", valueName: "duration"))
    var wait: String?

    @Flag(name: .customLong("no-color"), help: "No colour, even on a terminal (NO_COLOR works too).")
    var noColor = false

    @Flag(name: .shortAndLong, help: "Show the evidence of passing checks too.")
    var verbose = false

    /// The config values the flags replace (line 0 of the loaded tree), by dotted path: one table for the loader
    /// and for `preflight config`'s sources.
    var overridingFlags: [(path: String, flag: String, value: String?)] {
        [("target", "--target", target), ("database.url", "--database-url", databaseURL), ("timeout", "--timeout", timeout),
         ("database.probe_connections", "--probe-connections", probeConnections ? "true" : nil)]
    }

    func validate() throws {
        if let wait, parseDuration(wait) == nil {
            throw ValidationError("--wait: expected a duration like 60s or 2m, found \"\(wait)\"")
        }
    }
}
