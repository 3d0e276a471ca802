import ArgumentParser
import Foundation
import PreflightChecks
import PreflightCore

/// `preflight init`: looks at the project and writes a commented preflight.yml.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Look at this project and write a commented preflight.yml (never overwrites without --force).")

    @Option(name: .shortAndLong, help: "Where to write it.")
    var config = "preflight.yml"

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: config) && !force {
            Output.stderr("preflight: \(config) exists; not overwriting it (use --force)\n")
            throw ExitCode(2)
        }
        let scan = ProjectScan(directory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let yaml = Self.render(scan)
        // What we write must load: the loader is the judge (variables are allowed to be unset here).
        do {
            _ = try ConfigLoader(sections: AllChecks.sections).load(yaml: yaml, file: config, environment: ["DATABASE_URL": "postgresql://u@h/d"])
        } catch {
            Output.stderr("preflight: internal error: the generated config does not load: \(error)\n")
            throw ExitCode(2)
        }
        // The schema the modeline names, beside the config: the one this binary reads (`preflight schema`).
        let schemaPath = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent(Self.schemaFile).path
        let schemaExists = FileManager.default.fileExists(atPath: schemaPath)
        let writeSchema = !schemaExists || force
        do {
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: config))
            if writeSchema { try Data(PrintSchema.text.utf8).write(to: URL(fileURLWithPath: schemaPath)) }
        } catch {
            Output.stderr("preflight: cannot write \(config): \(error.localizedDescription)\n")
            throw ExitCode(2)
        }
        var lines = ["wrote \(config)"]
        lines.append(writeSchema ? "wrote \(schemaPath) (the JSON Schema editors read, from the modeline)"
                                 : "kept \(schemaPath) (--force replaces it with this version's: preflight schema)")
        lines.append("  target \(scan.target) (port from \(scan.port.source))")
        lines.append("  health.path \(scan.healthPath.value) (\(scan.healthPath.source))")
        lines.append(scan.databaseURLVariable.map { "  database.url ${\($0)} (from .env; export it before running preflight)" } ?? "  no DATABASE_URL in .env: database checks left out")
        if let p = scan.prismaSchema { lines.append("  schema.prisma \(p)") }
        if let s = scan.script { lines.append("  load.script \(s)") }
        let guesses = [scan.port, scan.healthPath].filter(\.guessed)
        if !guesses.isEmpty { lines.append("guessed: \(guesses.map(\.source).joined(separator: "; ")): check them") }
        lines.append("next: preflight --config \(config)")
        Output.stdout(lines.joined(separator: "\n") + "\n")
    }

    /// Written beside the config; its modeline names it relative to the config, as yaml-language-server reads it.
    static let schemaFile = "preflight.schema.json"

    static func render(_ s: ProjectScan) -> String {
        var y: [String] = []
        y.append("# yaml-language-server: $schema=\(schemaFile)")
        y.append("# preflight.yml, written by `preflight init`. Every key is explained in preflight's README.")
        y.append("# Values may use ${VAR} and ${VAR:-default} from the environment.")
        y.append("")
        y.append("# The service under test (port from \(s.port.source)\(s.port.guessed ? " — CHECK THIS" : "")).")
        y.append("target: \(s.target)")
        y.append("timeout: 3s")
        y.append("")
        y.append("health:")
        y.append("  path: \(s.healthPath.value)   # \(s.healthPath.source)\(s.healthPath.guessed ? " — CHECK THIS" : "")")
        if let v = s.databaseURLVariable {
            y.append("")
            y.append("# From .env; export it first (set -a; . ./.env; set +a). The password is never printed.")
            y.append("database:")
            y.append("  url: ${\(v)}")
            y.append("  pools:                 # every service that will draw on this database, with its pool")
            y.append("    - name: \(s.serviceName)")
            y.append("      url: ${\(v)}\(s.usesPrisma ? "    # size from connection_limit=… in the URL, else Prisma's default" : "")")
            if s.usesPrisma { y.append("      driver: prisma") }
            y.append("      replicas: 1")
        } else {
            y.append("")
            y.append("# database:")
            y.append("#   url: ${DATABASE_URL}     # no DATABASE_URL found in .env")
        }
        if s.prismaSchema != nil || s.sources != nil {
            y.append("")
            y.append("schema:")
            if let p = s.prismaSchema { y.append("  prisma: \(p)") }
            if let src = s.sources { y.append("  sources: \(src)") }
            if let b = s.build { y.append("  build: \(b)") }
        }
        if let script = s.script {
            y.append("")
            y.append("load:")
            y.append("  script: \(script)")
            if !s.scriptEnv.isEmpty {
                y.append("  env:                   # what the test will run with (-e NAME=…); defaults in the script:")
                for (name, value) in s.scriptEnv {
                    y.append("    \(name): \(retarget(value, to: s))   # script default: \(value)")
                }
            }
        }
        y.append("")
        y.append("# rate_limit:                # a burst that proves the limiter is bypassed (sends real requests)")
        y.append("#   request: POST /path/under/target")
        y.append("#   body: '{}'")
        y.append("#   headers: {Content-Type: application/json}")
        y.append("#   burst: 250")
        y.append("")
        y.append("# checks:                    # your own: http, tcp, sql, command")
        y.append("#   - {id: seeded, type: sql, query: \"SELECT count(*) FROM my_table\", expect: \">= 1\", needs: [database]}")
        return y.joined(separator: "\n") + "\n"
    }

    /// The script's default URL with its scheme, host and port replaced by the target's.
    static func retarget(_ url: String, to s: ProjectScan) -> String {
        guard var c = URLComponents(string: url) else { return url }
        c.scheme = "http"
        c.host = "127.0.0.1"
        c.port = Int(s.port.value)
        return c.string ?? url
    }
}
