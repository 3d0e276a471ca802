import ArgumentParser
import Foundation
import PreflightCore
import PreflightExplain
import PreflightProbes

/// `preflight exec [options] -- k6 run script.js`: the gate, then the load test only on go.
struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run the checks; on go, run the load test and pass its exit code through.",
        discussion: """
        On no-go the command is not run and preflight exits 1. When the load test fails and it is `k6 run`,
        preflight explains its summary: the file given with --summary-export, or one it adds itself.
        """)

    @OptionGroup var options: RunOptions

    @Argument(parsing: .postTerminator, help: "The load test, after --, e.g. -- k6 run script.js")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the load test after --, e.g. preflight exec -- k6 run script.js") }
    }

    func run() async throws {
        let report = try await Gate(options: options).run()
        guard report.verdict == .go else {
            Output.stderr("preflight: no-go: not running \(command.joined(separator: " "))\n")
            throw ExitCode(report.exitCode)
        }
        var argv = command
        let summary = Self.summaryExport(in: &argv)
        Output.stderr("preflight: go: running \(argv.joined(separator: " "))\n")
        Output.flush()
        let status: Int32
        switch Subprocess.runInheriting(argv) {
        case .failure(let e):
            Output.stderr("preflight: \(e)\n")
            throw ExitCode(127)
        case .success(let s):
            status = s
        }
        if status != 0, let summary, FileManager.default.fileExists(atPath: summary.path) {
            Output.stderr("\npreflight: the load test failed (exit \(status)); what its summary says:\n")
            if let explanation = try? Explainer.explain(path: summary.path) {
                Output.stderr(ExplanationRenderer.text(explanation, color: !options.noColor && Output.stderrIsTerminal))
            }
        }
        if let summary, summary.added { try? FileManager.default.removeItem(atPath: summary.path) }
        throw ExitCode(status)
    }

    /// The --summary-export file of a `k6 run`, adding a temporary one when the command has none.
    static func summaryExport(in argv: inout [String]) -> (path: String, added: Bool)? {
        guard argv.count >= 2, URL(fileURLWithPath: argv[0]).lastPathComponent == "k6", argv[1] == "run" else { return nil }
        for (i, a) in argv.enumerated() {
            if a.hasPrefix("--summary-export=") { return (String(a.dropFirst("--summary-export=".count)), false) }
            if a == "--summary-export", i + 1 < argv.count { return (argv[i + 1], false) }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-summary-\(getpid()).json").path
        argv.insert(contentsOf: ["--summary-export", path], at: 2)
        return (path, true)
    }
}
