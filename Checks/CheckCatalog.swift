import PreflightCore

/// What `preflight checks` prints, in each of its formats, from `AllChecks.builtIn` alone: each check's id, title,
/// layer, prerequisites, config keys and examples (status, the config given, the phrase said). The README's checks
/// table is `markdown` (a test keeps them equal).
public enum CheckCatalog {
    public static func text(_ checks: [any BuiltInCheck.Type] = AllChecks.builtIn) -> String {
        var out: [String] = []
        for type in checks {
            let d = type.description
            out.append("\(d.id) — \(d.title)")
            out.append("  prerequisites: \(d.prerequisites.isEmpty ? "none" : d.prerequisites.joined(separator: ", "))")
            if !d.after.isEmpty { out.append("  runs after: \(d.after.joined(separator: ", ")) (whatever their status)") }
            out.append("  layer: \(d.layer.name)")
            out.append("  config: \(type.configKeys.isEmpty ? "none" : type.configKeys.joined(separator: ", "))")
            for e in d.examples {
                out.append("  \(e.status.rawValue): \(e.says)")
                let config = e.given.config.split(separator: "\n").map(String.init)
                let files = e.given.files.isEmpty ? "" : " (with \(e.given.files.keys.sorted().joined(separator: ", ")))"
                if config.count > 1 {
                    out.append("    given\(files):")
                    out += config.map { "      \($0)" }
                } else {
                    out.append("    given\(files): \(config.first ?? "an empty config")")
                }
            }
            out.append("")
        }
        return out.joined(separator: "\n")
    }

    public static func json(_ checks: [any BuiltInCheck.Type] = AllChecks.builtIn) -> String {
        let list: [JSONValue] = checks.map { type in
            let d = type.description
            return .object(Evidence([
                ("id", .string(d.id)), ("title", .string(d.title)), ("layer", .string(d.layer.name)),
                ("prerequisites", .array(d.prerequisites.map { .string($0) })),
                ("after", .array(d.after.map { .string($0) })),
                ("configKeys", .array(type.configKeys.map { .string($0) })),
                ("examples", .array(d.examples.map { e in
                    var o = Evidence([("status", .string(e.status.rawValue))])
                    var g = Evidence([("config", .string(e.given.config))])
                    if !e.given.files.isEmpty { g["files"] = .array(e.given.files.keys.sorted().map { .string($0) }) }
                    o["given"] = .object(g)
                    o["says"] = .string(e.says)
                    return .object(o)
                })),
            ]))
        }
        return JSONValue.object(Evidence([("checks", .array(list))])).serialised + "\n"
    }

    /// The README's table: one row per check, its examples as "status: phrase" lines.
    public static func markdown(_ checks: [any BuiltInCheck.Type] = AllChecks.builtIn) -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        var out = ["| id | layer | needs | config | examples (status: what it says) |", "|---|---|---|---|---|"]
        for type in checks {
            let d = type.description
            var needs = d.prerequisites.isEmpty ? "—" : d.prerequisites.map { "`\($0)`" }.joined(separator: ", ")
            if !d.after.isEmpty { needs += " (after " + d.after.map { "`\($0)`" }.joined(separator: ", ") + ")" }
            let keys = type.configKeys.isEmpty ? "—" : type.configKeys.map { "`\($0)`" }.joined(separator: " ")
            let examples = d.examples.map { "\($0.status.rawValue): \(cell($0.says))" }.joined(separator: "<br>")
            out.append("| `\(d.id)` \(cell(d.title)) | \(d.layer.name) | \(needs) | \(keys) | \(examples) |")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
