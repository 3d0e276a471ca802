import ArgumentParser
import PreflightChecks
import PreflightCore

/// `preflight checks`: every check with its id, layer, prerequisites, what it reads and its examples; `--format json`
/// for tools, `--format markdown` for the README's checks table.
struct ListChecks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checks", abstract: "List every check with its prerequisites, config and examples.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, markdown
    }

    @Option(help: "text, json or markdown (the README's checks table).")
    var format: Format = .text

    func run() throws {
        switch format {
        case .text: Output.stdout(CheckCatalog.text())
        case .json: Output.stdout(CheckCatalog.json())
        case .markdown: Output.stdout(CheckCatalog.markdown())
        }
    }
}
