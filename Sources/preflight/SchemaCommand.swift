import ArgumentParser
import PreflightChecks
import PreflightCore

/// `preflight schema`: the JSON Schema of preflight.yml, generated from the config sections (the repository
/// ships the same text as schema/preflight.schema.json; a test fails when that copy is stale).
struct PrintSchema: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of preflight.yml (for editors: # yaml-language-server: $schema=…).")

    func run() throws {
        Output.stdout(Self.text)
    }

    static var text: String { ConfigSchema.pretty(ConfigSchema.document(sections: AllChecks.sections)) + "\n" }
}
