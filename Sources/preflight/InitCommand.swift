import ArgumentParser
import Foundation
import PreflightChecks
import PreflightCore
import PreflightProbes

/// `preflight init`: reads the project the way its developers run it and writes a commented preflight.yml.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Look at this project (and its running service) and write a commented preflight.yml (never overwrites without --force).")

    @Option(name: .shortAndLong, help: "Where to write it.")
    var config = "preflight.yml"

    @Flag(help: "Overwrite an existing file.")
    var force = false

    @Option(help: "The k6 script to write as load.script (else the first with thresholds among those found).")
    var script: String?

    @Flag(name: .customLong("no-probe"), help: "Send no request to the service (the health route then comes from the project's files).")
    var noProbe = false

    func run() async throws {
        if FileManager.default.fileExists(atPath: config) && !force {
            Output.stderr("preflight: \(config) exists; not overwriting it (use --force)\n")
            throw ExitCode(2)
        }
        let probes = Probes.live
        if let script, !FileManager.default.fileExists(atPath: script) {
            Output.stderr("preflight: --script \(script) does not exist\n")
            throw ExitCode(2)
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let configURL = URL(fileURLWithPath: config, relativeTo: cwd)
        var scan = ProjectScan(directory: cwd, configFolder: configURL.deletingLastPathComponent(),
                               listeners: probes.sockets.listeningSockets(), script: script)
        if !noProbe { await scan.probe(http: probes.http) }
        let migrations = Self.migrations(scan, configFile: configURL.path)
        let yaml = Self.render(scan, migrationsPath: migrations.path)
        // What we write must load: the loader is the judge (variables are allowed to be unset here).
        let placeholders = ["DATABASE_URL", scan.databaseURLVariable ?? "DATABASE_URL"].reduce(into: [String: String]()) { $0[$1] = "postgresql://u@h/d" }
        let written: Config
        do {
            written = try ConfigLoader(sections: AllChecks.sections).load(yaml: yaml, file: configURL.path, environment: placeholders)
        } catch {
            Output.stderr("preflight: internal error: the generated config does not load: \(error)\n")
            throw ExitCode(2)
        }
        // The schema the modeline names, beside the config: the one this binary reads (`preflight schema`).
        let schemaPath = URL(fileURLWithPath: config).deletingLastPathComponent().appendingPathComponent(Self.schemaFile).path
        let schemaExists = FileManager.default.fileExists(atPath: schemaPath)
        let writeSchema = !schemaExists || force
        do {
            try Output.write(yaml, toFile: config)
            if writeSchema { try Output.write(PrintSchema.text, toFile: schemaPath) }
        } catch {
            Output.stderr("preflight: cannot write \(config): \(error.localizedDescription)\n")
            throw ExitCode(2)
        }
        var lines = ["wrote \(config)"]
        lines.append(writeSchema ? "wrote \(schemaPath) (the JSON Schema editors read, from the modeline)"
                                 : "kept \(schemaPath) (--force replaces it with this version's: preflight schema)")
        lines.append("  target \(scan.target) (port from \(scan.port.source)\(scan.basePath.map { "; base path from \($0.source)" } ?? ""))")
        if let note = scan.listenerNote { lines.append("  \(note): start the service before running preflight") }
        lines.append("  health.path \(scan.healthPath.value) (\(scan.healthPath.source))")
        lines += scan.probeLines.map { "  " + $0 }
        if noProbe { lines.append("  not probed (--no-probe): health.path from the project's files") }
        lines.append(scan.databaseURLVariable.map { "  database.url ${\($0)} (from \(scan.envValues[$0]?.file ?? ".env"), named in env_file: the value stays there)" }
                     ?? "  no DATABASE_URL in the .env files\(scan.envFiles.isEmpty ? " (none found)" : " (\(scan.envFiles.joined(separator: ", ")))"): database checks left out")
        if let p = scan.prismaSchema { lines.append("  schema.prisma \(p)") }
        let found = ProjectMigrations.derive(from: written)
        if let tool = found.tool {
            lines.append("  migrations: \(tool.rawValue) in \(found.folder ?? "?") (\(migrations.path == nil ? "found from \(found.source ?? "?"), as every run finds it" : "found from \(ProjectScan.relative(scan.backend, from: scan.base))/\(migrations.found?.source ?? "?"); written as migrations.path"))")
        }
        if scan.scripts.isEmpty {
            lines.append("  no k6 script found (a .js importing k6/http)")
        } else {
            lines.append("  k6 scripts found: \(scan.scripts.joined(separator: ", "))")
            if let s = scan.script { lines.append("  load.script \(s) (\(scan.scriptWhy))") }
            for e in scan.scriptEnv {
                lines.append(e.written.map { "  load.env \(e.name) \(redactURL($0)) (the script's default \(redactURL(e.value)) does not reach the target)" }
                             ?? "  \(e.name): the script's default \(redactURL(e.value)) reaches the target; not overridden")
            }
        }
        if let l = scan.login {
            lines.append("  the script logs in (\(l.inSetup ? "setup() posts to" : "a POST to") \(l.route)): to measure capacity, give the ramp a token in load.headers (Authorization: Bearer ${\(l.tokenVariable ?? "API_TOKEN")}), commented in the config")
        }
        for d in scan.detected { lines.append("  detected: \(d)") }
        let guesses = [scan.port, scan.healthPath].filter(\.guessed)
        if !guesses.isEmpty { lines.append("guessed: \(guesses.map(\.source).joined(separator: "; ")): check them") }
        lines.append("next: preflight --config \(config)")
        Output.stdout(lines.joined(separator: "\n") + "\n")
    }

    /// Migrations as a run finds them from the config's folder; when they are only in the backend's folder, the
    /// path to write as migrations.path so the run finds them too.
    static func migrations(_ s: ProjectScan, configFile: String) -> (path: String?, found: ProjectMigrations?) {
        if s.backend.path == s.base.path { return (nil, nil) }
        let here = ProjectMigrations.derive(from: Config(file: configFile))
        if here.tool != nil { return (nil, here) }
        let there = ProjectMigrations.derive(from: Config(file: s.backend.appendingPathComponent("preflight.yml").path))
        guard let tool = there.tool, let folder = there.folder, tool != .prisma || s.prismaSchema == nil else { return (nil, nil) }
        let base = ProjectScan.relative(s.backend, from: s.base)
        return (folder == "." ? base : base + "/" + folder, there)
    }

    /// Written beside the config; its modeline names it relative to the config, as yaml-language-server reads it.
    static let schemaFile = "preflight.schema.json"

    static func render(_ s: ProjectScan, migrationsPath: String? = nil) -> String {
        var y: [String] = []
        y.append("# yaml-language-server: $schema=\(schemaFile)")
        y.append("# preflight.yml, written by `preflight init`. Every key is explained in preflight's README.")
        y.append("# Values may use ${VAR} and ${VAR:-default}: from the environment, else from the env_file files.")
        y.append("")
        if !s.envFiles.isEmpty {
            y.append("# Read for ${VAR} when the environment does not set it (the secrets stay in them).")
            y.append("env_file: [\(s.envFiles.joined(separator: ", "))]")
            y.append("")
        }
        y.append("# The service under test (port from \(s.port.source)\(s.port.guessed ? " — CHECK THIS" : "")).")
        y.append("target: \(s.target)")
        y.append("timeout: 3s")
        y.append("")
        y.append("health:")
        y.append("  path: \(s.healthPath.value)   # \(s.healthPath.source)\(s.healthPath.guessed ? " — CHECK THIS" : "")")
        if let v = s.databaseURLVariable {
            y.append("")
            y.append("# From \(s.envValues[v]?.file ?? ".env") (env_file above). The password is never printed.")
            y.append("database:")
            y.append("  url: ${\(v)}")
            y.append("  pools:                 # every service that will draw on this database, with its pool")
            y.append("    - name: \(s.serviceName)")
            y.append("      url: ${\(v)}\(s.usesPrisma ? "    # size from connection_limit=… in the URL, else Prisma's default" : "")")
            if let d = s.driver { y.append("      driver: \(d)") }
            y.append("      replicas: 1")
        } else {
            y.append("")
            y.append("# database:")
            y.append("#   url: ${DATABASE_URL}     # no DATABASE_URL found in the .env files")
        }
        if s.prismaSchema != nil || s.sources != nil {
            y.append("")
            y.append("schema:")
            if let p = s.prismaSchema { y.append("  prisma: \(p)") }
            if let src = s.sources { y.append("  sources: \(src)") }
            if let b = s.build { y.append("  build: \(b)") }
        }
        if let m = migrationsPath {
            y.append("")
            y.append("migrations:")
            y.append("  path: \(m)    # the backend's, found beside it")
        }
        if let script = s.script {
            y.append("")
            y.append("# k6 scripts found: \(s.scripts.joined(separator: ", ")); this one: \(s.scriptWhy).")
            y.append("load:")
            y.append("  script: \(script)")
            let written = s.scriptEnv.filter { $0.written != nil }
            if !written.isEmpty {
                y.append("  env:                   # what the test will run with (-e NAME=…); defaults in the script:")
                for e in written { y.append("    \(e.name): \(e.written!)   # script default: \(e.value)") }
            }
            for e in s.scriptEnv where e.written == nil { y.append("  # env: \(e.name) not set: the script's default \(e.value) reaches the target") }
            if let l = s.login {
                let variable = l.tokenVariable ?? "API_TOKEN"
                y.append("  # The script logs in (\(l.inSetup ? "setup() posts to" : "a POST to") \(l.route)): the ramp (load.request) needs a token too,")
                y.append("  # or every answer is a 401 and capacity cannot be judged. Give it one the script can also read:")
                y.append("  # request: GET /path/the/test/reads")
                y.append("  # headers: {Authorization: \"Bearer ${\(variable)}\"}")
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
}
