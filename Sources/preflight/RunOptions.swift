import ArgumentParser
import Foundation
import PreflightCore
import PreflightReporters

extension ReportFormat: ExpressibleByArgument {
    static var names: String {
        let all = allCases.map(\.rawValue)
        return all.dropLast().joined(separator: ", ") + " or " + all.last!
    }

    /// `--format`'s reading: one line when the value is unknown (argument-parser lists six or more values one per line).
    static func parse(_ text: String) throws -> ReportFormat {
        guard let f = ReportFormat(rawValue: text) else { throw ValidationError("expected \(names), found \"\(text)\"") }
        return f
    }

    static var completion: CompletionKind { .list(allCases.map(\.rawValue)) }
}

/// How a report becomes each format's text, and where it goes: stdout, `--output`, every `--report`, and
/// $GITHUB_STEP_SUMMARY. One place for `preflight [run]`, `exec` and `merge`; a new format is one case of `ReportFormat`.
struct Rendering {
    var color = false
    var verbose = false
    /// Where the run ran (JSON `runner`), or every runner of a merged report (JSON `runners`).
    var runner: Runner?
    var runners: [Runner]?
    var target: String?

    func render(_ f: ReportFormat, _ report: Report, color: Bool = false) -> String {
        f.render(report, ReportFormat.Options(color: color, verbose: verbose, runner: runner, runners: runners, target: target,
                                              toolVersion: Preflight.configuration.version))
    }

    /// The report's secrets are removed here, once, before any reporter runs (`Output` scrubs again as a last line).
    func write(_ report: Report, format: ReportFormat, output: String?, reports: [ReportTarget], environment: [String: String]) throws {
        let report = report.redacted(using: Secrets.shared)
        var files = reports.compactMap { r in r.format.map { ($0, r.path) } }  // html: exec and explain, after the run
        if let output { files.append((format, output)) }
        for (f, path) in files {
            do {
                try Output.write(render(f, report), toFile: path)
            } catch {
                Output.stderr("preflight: cannot write report \(path): \(error.localizedDescription)\n")
                throw ExitCode(2)
            }
        }
        if format == .github || reports.contains(where: { $0.format == .github }),
           let summary = environment["GITHUB_STEP_SUMMARY"], !summary.isEmpty {
            do {
                try Output.append(render(.markdown, report), toFile: summary)
            } catch {
                Output.stderr("preflight: cannot append to GITHUB_STEP_SUMMARY \(summary): \(error.localizedDescription)\n")
            }
        }
        Output.stdout(output == nil ? render(format, report, color: color) : render(.text, report, color: color))
    }
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

/// How a report is shown and written: one declaration for a gate run's options and `preflight merge`'s.
struct ReportOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Report format on stdout: \(ReportFormat.names).", valueName: "format"),
            completion: ReportFormat.completion, transform: ReportFormat.parse)
    var format: ReportFormat = .text

    @Option(help: "Also write the report, in --format, to this file (the terminal then shows the text view).")
    var output: String?

    @Option(name: .customLong("report"), help: ArgumentHelp("Also write a report: FORMAT=FILE, e.g. junit=preflight.xml (repeatable).", valueName: "format=file"))
    var reports: [ReportTarget] = []

    @Flag(name: .customLong("no-color"), help: "No colour, even on a terminal (NO_COLOR works too).")
    var noColor = false

    @Flag(name: .shortAndLong, help: "Show the evidence of passing checks too.")
    var verbose = false
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

    @OptionGroup var report: ReportOptions
    var format: ReportFormat { report.format }
    var output: String? { report.output }
    var reports: [ReportTarget] { report.reports }
    var noColor: Bool { report.noColor }
    var verbose: Bool { report.verbose }

    @Option(help: "Run only these checks (comma-separated ids) and the checks they need (health: port first).")
    var only: String?

    @Option(help: "Skip these checks (comma-separated ids).")
    var skip: String?

    @Flag(name: .customLong("probe-connections"), help: "Really open the pools' demand of connections (bounded) to see where the server refuses.")
    var probeConnections = false

    @Flag(name: .customLong("no-smoke"), help: "Do not run one real iteration of the k6 script (load.smoke: false).")
    var noSmoke = false

    @Flag(help: "Warnings fail the gate too.")
    var strict = false

    @Option(help: ArgumentHelp("Re-run until go or until this much time has passed, e.g. 60s (replaces wait-for-it).", valueName: "duration"))
    var wait: String?

    /// The config values the flags replace (line 0 of the loaded tree), by dotted path: one table for the loader
    /// and for `preflight config`'s sources.
    var overridingFlags: [(path: String, flag: String, value: String?)] {
        [("target", "--target", target), ("database.url", "--database-url", databaseURL), ("timeout", "--timeout", timeout),
         ("database.probe_connections", "--probe-connections", probeConnections ? "true" : nil),
         ("load.smoke", "--no-smoke", noSmoke ? "false" : nil)]
    }

    func validate() throws {
        if let wait, parseDuration(wait) == nil {
            throw ValidationError("--wait: expected a duration like 60s or 2m, found \"\(wait)\"")
        }
    }
}
