import ArgumentParser
import Foundation
import PreflightChecks
import PreflightCore
import PreflightProbes
import PreflightReporters

/// `preflight config`: the effective configuration, without connecting to anything — every value after `${VAR}`,
/// merge keys, flags and defaults, where it came from, secrets redacted, and the database URL as the
/// connection will use it (like `docker compose config` or `goss render`).
struct ShowConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the effective configuration and where each value came from, without connecting to anything.",
        discussion: "Output: text, or --format json. Exit status: 0, or 2 for a config error.")

    @OptionGroup var options: RunOptions

    func run() async throws {
        guard options.format == .text || options.format == .json else {
            throw ValidationError("preflight config prints --format text or json")
        }
        let config = try Gate(options: options).loadConfig(requireInputs: false)
        let effective = EffectiveConfig(config, flags: Dictionary(options.overridingFlags.map { ($0.path, $0.flag) }, uniquingKeysWith: { a, _ in a }))
        Output.stdout(options.format == .json ? effective.json() : effective.text())
    }
}

/// The values of a loaded config with their sources.
struct EffectiveConfig {
    struct Entry {
        var path: String
        var value: String?
        var source: String
    }

    let file: String?
    var entries: [Entry] = []
    let database: DatabaseURL?

    init(_ config: Config, flags: [String: String]) {
        file = config.file
        database = config.section(DatabaseSettings.self).url
        let shownFile = config.file.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "config"
        func source(_ path: String, line: Int) -> String {
            if line == 0 { return flags[path].map { "flag \($0)" } ?? "command line" }
            var s = "\(shownFile):\(line)"
            if let uses = config.variables[path], !uses.isEmpty {
                s += " via " + uses.map { "${\($0.name)}" + ($0.file.map { " (env_file \($0))" } ?? ($0.fromEnvironment ? " (environment)" : " (its default)")) }.joined(separator: ", ")
            }
            return s
        }
        var given = Set<String>()
        func walk(_ node: ConfigNode, _ path: String) {
            switch node {
            case .scalar(let v, let line):
                given.insert(path)
                entries.append(Entry(path: path, value: v, source: source(path, line: line)))
            case .null(let line):
                given.insert(path)
                entries.append(Entry(path: path, value: nil, source: source(path, line: line)))
            case .mapping(let pairs, _):
                for p in pairs { walk(p.value, path.isEmpty ? p.key : "\(path).\(p.key)") }
                if !path.isEmpty { given.insert(path) }
            case .sequence(let items, _):
                given.insert(path)
                for (i, item) in items.enumerated() { walk(item, "\(path)[\(i)]") }
            }
        }
        walk(config.tree, "")
        // What the file does not say: each section's default, as the section itself holds it.
        if !given.contains("timeout") { entries.append(Entry(path: "timeout", value: format(Config.defaultTimeout), source: "default")) }
        // What a run would find by itself where the file is silent (issue 30: the config shows what autodetection
        // finds, with its source): the migrations' folder and tool, read from the project's files only.
        var detected: [String: (value: String, source: String)] = [:]
        if !given.contains("migrations.path") || !given.contains("migrations.tool") {
            let m = ProjectMigrations.derive(from: config)
            if let folder = m.folder, let tool = m.tool {
                let from = "detected: " + (m.source ?? "the project's files")
                detected["migrations.path"] = (folder, from)
                detected["migrations.tool"] = (tool.configName, from)
            }
        }
        for type in AllChecks.sections {
            let defaults = Self.values(of: type.init())
            for key in type.keys where !given.contains("\(type.key).\(key)") && !given.contains(where: { $0.hasPrefix("\(type.key).\(key).") }) {
                let path = "\(type.key).\(key)"
                if let d = detected[path] {
                    entries.append(Entry(path: path, value: d.value, source: d.source))
                } else {
                    entries.append(Entry(path: path, value: defaults[Self.camel(key)] ?? nil, source: "default"))
                }
            }
        }
    }

    /// A section's simple stored values by property name (`probeConnections`), nil for "not set".
    static func values(of section: any ConfigSection) -> [String: String?] {
        var out: [String: String?] = [:]
        for child in Mirror(reflecting: section).children {
            guard let label = child.label else { continue }
            out[label] = display(child.value)
        }
        return out
    }

    static func display(_ value: Any) -> String? {
        let m = Mirror(reflecting: value)
        if m.displayStyle == .optional { return m.children.first.flatMap { display($0.value) } }
        switch value {
        case let s as String: return s
        case let d as Duration: return format(d)
        case let b as Bool: return b ? "true" : "false"
        case let i as Int: return String(i)
        case let a as [Any]: return a.isEmpty ? "[]" : nil
        case let d as [String: Any]: return d.isEmpty ? "{}" : nil
        default: return nil
        }
    }

    /// `probe_connections` → `probeConnections`.
    static func camel(_ key: String) -> String {
        let parts = key.split(separator: "_")
        return (parts.first.map(String.init) ?? "") + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The database URL as libpq and the driver will read it: (JSON key, label, value).
    func databaseParts() -> [(key: String, label: String, value: String)] {
        guard let u = database else { return [] }
        var parts: [(key: String, label: String, value: String)] = [
            ("hosts", "hosts", u.hosts.joined(separator: ", ")),
        ]
        // libpq dials hostaddr without looking the host up (the host then serves TLS and authentication only).
        if let a = u.hostaddr { parts.append(("hostaddr", "hostaddr (what the connection dials; host is not looked up)", a)) }
        parts += [
            ("user", "user", u.user ?? "(libpq's default: the OS user)"),
            ("database", "database", u.database ?? u.user ?? "(libpq's default)"),
            ("conninfo", "libpq conninfo", u.conninfo),
        ]
        if let d = u.dialect { parts.append(("dialect", "driver form", d)) }
        if !u.driverParameters.isEmpty {
            parts.append(("driverParameters", "driver parameters (the application's; not passed to libpq)",
                          u.driverParameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))
        }
        if let t = u.targetSessionAttrs { parts.append(("targetSessionAttrs", "target_session_attrs", t)) }
        parts.append(("readOnlySession", "preflight's read-only session", u.viaPgBouncer || u.choosesAWritableHost
                      ? ReadOnlyMode.readOnlyTransaction.rawValue
                      : ReadOnlyMode.sessionOption.rawValue + " (each query in BEGIN READ ONLY if PgBouncer refuses it)"))
        return parts
    }

    func text() -> String {
        var out = ["# the effective configuration (\(file ?? "no config file")); secrets are redacted; nothing was contacted"]
        let width = min(40, entries.map { $0.path.count + 3 + ($0.value ?? "(not set)").count }.max() ?? 0)
        for e in entries {
            let left = "\(e.path) = \(e.value ?? "(not set)")"
            out.append(left.padding(toLength: max(left.count, width), withPad: " ", startingAt: 0) + "   # \(e.source)")
        }
        let parts = databaseParts()
        if !parts.isEmpty {
            out.append("")
            out.append("# database.url as the connection will use it")
            for p in parts { out.append("\(p.label): \(p.value)") }
        }
        return out.joined(separator: "\n") + "\n"
    }

    func json() -> String {
        var root = Evidence([
            "file": file.map { .string($0) } ?? .null,
            "values": .array(entries.map { e in
                .object(Evidence(["path": .string(e.path), "value": e.value.map { .string($0) } ?? .null, "source": .string(e.source)]))
            }),
        ])
        if database != nil { root["database"] = .object(Evidence(databaseParts().map { ($0.key, JSONValue.string($0.value)) })) }
        return JSONReporter.serialise(.object(root)) + "\n"
    }
}
