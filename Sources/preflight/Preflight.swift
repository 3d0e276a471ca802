import ArgumentParser
import CBuildStamp
import Foundation

/// The root command: `preflight` alone runs the checks.
struct Preflight: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Checks that everything a load test needs is ready, and says what to fix first.",
        discussion: """
        Exit codes: 0 go, 1 no-go, 2 usage or config error (message on stderr, nothing on stdout),
        3 preflight itself failed (a check crashed) and no other check found a no-go.
        """,
        version: Preflight.versionLine,
        subcommands: [RunChecks.self, Exec.self, Init.self, ListChecks.self, ShowConfig.self, Explain.self, PrintSchema.self, Merge.self],
        defaultSubcommand: RunChecks.self)

    static let version = "0.1.0"
    /// "0.1.0 (commit 1a2b3c4d5e6f)": the commit as scripts/stamp-commit.sh wrote it into an installed binary.
    static var versionLine: String { "\(version) (commit \(String(cString: preflight_build_commit())))" }
}

/// Parses, runs, and maps every way out to 0/1/2: argument errors are usage errors (2), not 64.
@main
enum Main {
    static func main() async {
        // `preflight --version` alone answers before ArgumentParser builds the command tree (its reflection of
        // every subcommand's property wrappers is most of the start-up; issue 22). Same output, same exit code.
        if CommandLine.arguments.count == 2, CommandLine.arguments[1] == "--version" {
            Output.stdout(Preflight.versionLine + "\n")
            Output.flush()
            exit(0)
        }
        do {
            var command = try Preflight.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Output.flush()
            exit(0)
        } catch {
            Output.flush()
            let code = Preflight.exitCode(for: error)
            if let exitCode = error as? ExitCode {
                exit(exitCode.rawValue)
            }
            let message = Preflight.fullMessage(for: error)
            if code == .success {
                Output.stdout(message + "\n")
                Output.flush()
                exit(0)
            }
            Output.stderr("preflight: " + message + "\n")
            exit(2)
        }
    }
}
