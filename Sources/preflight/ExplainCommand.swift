import ArgumentParser
import Foundation
import PreflightExplain

/// `preflight explain FILE`: why did this finished k6 run fail?
@available(macOS 10.15, macCatalyst 13, iOS 13, tvOS 13, watchOS 6, *)
struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a finished k6 run from its --summary-export, handleSummary JSON or --out json file (gzipped or not).",
        discussion: "Exit status: 0 the run passed its thresholds with no failure signature, 1 it failed, 2 the file is not k6 output.")

    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    @Argument(help: "A k6 output file: --summary-export, a handleSummary JSON dump, or --out json (.gz too).")
    var file: String

    @Option(help: "Output format: text or json.")
    var format: Format = .text

    @Flag(help: "Plain text without ANSI colors.")
    var noColor = false

    func run() async throws {
        let explanation: Explanation
        do {
            explanation = try Explainer.explain(path: file)
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
        throw ExitCode(explanation.exitCode)
    }
}
