import ArgumentParser
import PreflightChecks
import PreflightCore

/// `preflight checks`: every check with its id, prerequisites, what it reads and its examples.
struct ListChecks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checks", abstract: "List every check with its prerequisites, config and examples.")

    func run() throws {
        var out: [String] = []
        for type in AllChecks.builtIn {
            let d = type.description
            let needs = d.prerequisites.isEmpty ? "none" : d.prerequisites.joined(separator: ", ")
            out.append("\(d.id) — \(d.title)")
            out.append("  prerequisites: \(needs)")
            out.append("  config: \(type.configKeys.joined(separator: ", "))")
            for e in d.examples { out.append("  \(e.outcome.rawValue): \(e.situation)") }
            out.append("")
        }
        Output.stdout(out.joined(separator: "\n"))
    }
}
