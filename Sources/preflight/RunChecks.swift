import ArgumentParser
import Foundation
import PreflightChecks
import PreflightCore
import PreflightProbes
import PreflightReporters

enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// `preflight [run]`: load the config, run every check, print the verdict.
struct RunChecks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the checks and print a verdict ordered by root cause (the default command).")

    @Option(name: .shortAndLong, help: "Config file (default: ./preflight.yml when it exists).")
    var config: String?

    @Option(help: "Base URL of the service under test, e.g. http://127.0.0.1:3001/api/v1 (overrides target).")
    var target: String?

    @Option(name: .customLong("database-url"), help: "postgresql://user:password@host:5432/db (overrides database.url).")
    var databaseURL: String?

    @Option(help: "Deadline for each network operation, e.g. 3s or 500ms (default 3s).")
    var timeout: String?

    @Option(help: "Report format on stdout: text or json.")
    var format: ReportFormat = .text

    @Option(help: "Also write the report, in --format, to this file (the terminal then shows the text view).")
    var output: String?

    @Option(help: "Run only these checks (comma-separated ids).")
    var only: String?

    @Option(help: "Skip these checks (comma-separated ids).")
    var skip: String?

    @Flag(name: .customLong("no-color"), help: "No colour, even on a terminal (NO_COLOR works too).")
    var noColor = false

    @Flag(name: .customLong("probe-connections"),
          help: "Pool check: really open the pools' worth of connections at once (at most 200), then close them all. While they are open, other clients may be refused.")
    var probeConnections = false

    @Flag(name: .shortAndLong, help: "Show the evidence of passing checks too.")
    var verbose = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let checks = AllChecks.make()
        let known = Set(checks.map { $0.description.id })
        let only = try ids(self.only, known: known, flag: "--only")
        let skip = try ids(self.skip, known: known, flag: "--skip")

        var overrides: ConfigLoader.Overrides = []
        if let target { overrides.append(("target", target)) }
        if let databaseURL { overrides.append(("database.url", databaseURL)) }
        if let timeout { overrides.append(("timeout", timeout)) }
        if probeConnections { overrides.append(("database.probe_connections", "true")) }

        let loader = ConfigLoader(sections: AllChecks.sections)
        let loaded: Config
        do {
            if let file = config {
                loaded = try loader.load(file: file, environment: environment, overrides: overrides)
            } else if FileManager.default.fileExists(atPath: "preflight.yml") {
                loaded = try loader.load(file: "preflight.yml", environment: environment, overrides: overrides)
            } else if !overrides.isEmpty {
                loaded = try loader.load(yaml: "", file: nil, environment: environment, overrides: overrides)
            } else {
                Output.stderr("preflight: no preflight.yml here: give --config FILE, or --target URL and/or --database-url URL\n")
                throw ExitCode(2)
            }
        } catch let error as ConfigError {
            Output.stderr("preflight: \(error)\n")
            throw ExitCode(2)
        }
        if loaded.target == nil && !loaded.hasDatabaseURL {
            Output.stderr("preflight: nothing to check: set target or database.url (or --target / --database-url)\n")
            throw ExitCode(2)
        }

        let report = await Engine(checks: checks).run(config: loaded, timeout: loaded.timeout ?? .seconds(3), only: only, skip: skip)
        let color = !noColor && environment["NO_COLOR"] == nil && Output.stdoutIsTerminal
        let text = TextReporter(color: color, verbose: verbose)
        let rendered = format == .json ? JSONReporter().render(report) : TextReporter(color: false, verbose: verbose).render(report)
        if let output {
            do {
                try Output.write(rendered, toFile: output)
            } catch {
                Output.stderr("preflight: cannot write --output \(output): \(error.localizedDescription)\n")
                throw ExitCode(2)
            }
            Output.stdout(text.render(report))
        } else {
            Output.stdout(format == .json ? rendered : text.render(report))
        }
        throw ExitCode(report.verdict.exitCode)
    }

    func ids(_ list: String?, known: Set<CheckID>, flag: String) throws -> Set<CheckID> {
        guard let list else { return [] }
        let ids = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        let unknown = ids.subtracting(known).sorted()
        if !unknown.isEmpty {
            throw ValidationError("\(flag): unknown check \(unknown.joined(separator: ", ")); known: \(known.sorted().joined(separator: ", "))")
        }
        return ids
    }
}

extension Config {
    var hasDatabaseURL: Bool { section(DatabaseSettings.self).url != nil }
}
