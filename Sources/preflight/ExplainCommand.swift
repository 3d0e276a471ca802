import ArgumentParser
import Foundation
import PreflightExplain

/// `preflight explain FILE`: why did this finished k6 run fail?
/// Synchronous (nothing in it waits): it runs on the main thread, and Swift's cooperative pool, with its threads'
/// stacks and malloc arenas, is never started for it (issue 22: explain's peak memory).
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a finished k6 run from its --summary-export, handleSummary JSON, --out json or --out csv file (gzipped or not).",
        discussion: "Exit status: 0 the run passed its thresholds with no failure signature, 1 it failed, 2 the file is not k6 output.")

    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    @Argument(help: "A k6 output file: --summary-export, a handleSummary JSON dump, --out json or --out csv (.gz too).")
    var file: String

    @Option(help: ArgumentHelp("The same run's --summary-export (or handleSummary JSON): the thresholds, which an --out csv file does not hold.", valueName: "file"))
    var summary: String?

    @Option(help: "Output format: text or json.")
    var format: Format = .text

    @Flag(help: "Plain text without ANSI colors.")
    var noColor = false

    @Option(help: ArgumentHelp("The samples `preflight exec` wrote while k6 ran (JSON lines): ties each failure's onset to what the stack showed.", valueName: "file"))
    var samples: String?

    @Option(name: .customLong("preflight"), help: ArgumentHelp("A preflight JSON report of this stack (--format json): puts what it predicted beside what happened, per threshold and per failure kind.", valueName: "report.json"))
    var preflightReport: String?

    @Option(name: .customLong("report"), help: ArgumentHelp("Also write html=FILE: one self-contained page with the run's timeline.", valueName: "html=file"))
    var reports: [HTMLReportTarget] = []

    func run() throws {
        var explanation: Explanation
        do {
            explanation = try Explainer.explain(path: file, samples: samples, summary: summary)
            if let preflightReport { explanation.compare(with: try Prediction.read(path: preflightReport), report: preflightReport) }
        } catch {
            Output.stderr("preflight explain: \(error.description)\n")
            throw ExitCode(2)
        }
        for w in explanation.warnings {
            Output.stderr("preflight explain: warning: \(w)\n")
        }
        let color = !noColor && format == .text && Output.stdoutIsTerminal
            && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let out = format == .json ? ExplanationRenderer.json(explanation) : ExplanationRenderer.text(explanation, color: color)
        Output.stdout(out + "\n")
        for r in reports {
            do {
                try Output.write(TimelinePage.html(explanation), toFile: r.path)
            } catch {
                Output.stderr("preflight explain: cannot write report \(r.path): \(error.localizedDescription)\n")
                throw ExitCode(2)
            }
        }
        throw ExitCode(explanation.exitCode)
    }
}

/// `html=FILE` for explain's --report.
struct HTMLReportTarget: ExpressibleByArgument {
    let path: String
    init?(argument: String) {
        guard argument.hasPrefix("html="), argument.count > 5 else { return nil }
        path = String(argument.dropFirst(5))
    }
}
