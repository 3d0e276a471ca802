import Yams

/// A config value with the line it came from, so every problem can name its line.
public indirect enum ConfigNode: Sendable {
    case scalar(String, line: Int)
    case mapping([(key: String, line: Int, value: ConfigNode)], line: Int)
    case sequence([ConfigNode], line: Int)
    case null(line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, let l), .mapping(_, let l), .sequence(_, let l), .null(let l): return l
        }
    }

    var kind: String {
        switch self {
        case .scalar: return "a value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .null: return "empty"
        }
    }

    public subscript(key: String) -> ConfigNode? {
        if case .mapping(let pairs, _) = self { return pairs.last { $0.key == key }?.value }
        return nil
    }

    /// Converts Yams' tree; `${VAR}` and `${VAR:-default}` in scalars are taken from `environment`.
    /// Yams has resolved every alias to its anchor's subtree, shared, and this copies each use: the caller
    /// bounds that with `ConfigBounds.check` first. Merge keys (`<<: *base`, `<<: [*a, *b]`) are expanded here.
    /// What the expansion found goes to `x`: problems, the values of secret-named variables, and which
    /// variables each value came from.
    static func from(_ node: Node, environment: [String: String], path: String, into x: inout Expansion) -> ConfigNode {
        let line = node.mark?.line ?? 0
        switch node {
        case .scalar(let s):
            if s.tag == Tag(.null) || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)) {
                return .null(line: line)
            }
            return .scalar(Interpolation.expand(s.string, environment: environment, line: line, path: path, into: &x), line: line)
        case .mapping(let m):
            var pairs: [(key: String, line: Int, value: ConfigNode)] = []
            var merged: [(key: String, line: Int, value: ConfigNode)] = []
            var keys = Set<String>()
            for (k, v) in m {
                if case .scalar(let s) = k, s.style == .plain, s.string == "<<" {
                    merged += mergedPairs(v, line: k.mark?.line ?? line, environment: environment, path: path, into: &x)
                    continue
                }
                let key = k.string ?? "?"
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if !keys.insert(key).inserted {
                    x.problems.append(ConfigProblem(line: k.mark?.line ?? line, path: childPath, message: "appears twice"))
                }
                pairs.append((key, k.mark?.line ?? line, from(v, environment: environment, path: childPath, into: &x)))
            }
            // The mapping's own keys win over merged ones; of the merged, the first mapping given wins.
            let inherited = merged.filter { keys.insert($0.key).inserted }
            return .mapping(inherited + pairs, line: line)
        case .sequence(let seq):
            return .sequence(seq.enumerated().map { i, n in
                from(n, environment: environment, path: "\(path)[\(i)]", into: &x)
            }, line: line)
        case .alias:
            return .null(line: line)
        }
    }

    /// The pairs a merge key brings in: those of a mapping, or of each mapping in a list, each keeping its line.
    static func mergedPairs(_ value: Node, line: Int, environment: [String: String], path: String,
                            into x: inout Expansion) -> [(key: String, line: Int, value: ConfigNode)] {
        let sources: [Node]
        switch value {
        case .mapping: sources = [value]
        case .sequence(let seq): sources = Array(seq)
        default: sources = [value]
        }
        var pairs: [(key: String, line: Int, value: ConfigNode)] = []
        for source in sources {
            guard case .mapping(let ps, _) = from(source, environment: environment, path: path, into: &x) else {
                x.problems.append(ConfigProblem(line: line, path: path.isEmpty ? "<<" : "\(path).<<",
                                              message: "a merge key takes a mapping or a list of mappings (<<: *name)"))
                continue
            }
            pairs += ps
        }
        return pairs
    }
}

/// What converting the YAML tree found besides the tree itself.
struct Expansion {
    /// The `env_file:` files' variables (name → value, file): read when the environment does not set a name.
    var fileValues: [String: (value: String, file: String)] = [:]
    var problems: [ConfigProblem] = []
    /// Said after "is not set" when the config names env files: which were read, which do not exist.
    var envFileNote = ""
    /// What secret-named variables (`Secrets.isSecretName`: `${API_TOKEN}`, `${DB_PASSWORD:-x}`) expanded to,
    /// fallbacks included: the loader registers them, wherever in the config they land.
    var secrets: [String] = []
    /// By dotted path, the variables a value was made of (for `preflight config`'s sources).
    var variables: [String: [VariableUse]] = [:]
}

/// One `${NAME}` in a config value, and whether the environment or the written default gave its value.
public struct VariableUse: Sendable, Equatable {
    public let name: String
    public let fromEnvironment: Bool
    /// The `env_file:` file that gave the value when the environment did not set it.
    public var file: String? = nil
}

/// `${VAR}`, `${VAR:-default}` and `$$` (a literal dollar) in config values.
enum Interpolation {
    /// Expands `text`, recording in `x` its problems, the values secret-named variables expanded to, and the variables used.
    static func expand(_ text: String, environment: [String: String], line: Int, path: String, into x: inout Expansion) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            let next = text.index(after: i)
            if c == "$", next < text.endIndex, text[next] == "$" {
                out.append("$"); i = text.index(after: next); continue
            }
            if c == "$", next < text.endIndex, text[next] == "{", let close = text[next...].firstIndex(of: "}") {
                let inner = String(text[text.index(after: next)..<close])
                let name: String
                var fallback: String?
                if let r = inner.range(of: ":-") {
                    name = String(inner[..<r.lowerBound]); fallback = String(inner[r.upperBound...])
                } else {
                    name = inner
                }
                if name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    x.problems.append(ConfigProblem(line: line, path: path, message: "bad variable reference ${\(inner)}"))
                } else if let value = environment[name], !(value.isEmpty && fallback != nil) {
                    out += value
                    if Secrets.isSecretName(name) { x.secrets.append(value) }
                    x.variables[path, default: []].append(VariableUse(name: name, fromEnvironment: true))
                } else if let (value, file) = x.fileValues[name], !(value.isEmpty && fallback != nil) {
                    out += value
                    if Secrets.isSecretName(name) { x.secrets.append(value) }
                    x.variables[path, default: []].append(VariableUse(name: name, fromEnvironment: true, file: file))
                } else if let fallback {
                    out += fallback
                    if Secrets.isSecretName(name) { x.secrets.append(fallback) }
                    x.variables[path, default: []].append(VariableUse(name: name, fromEnvironment: false))
                } else {
                    x.problems.append(ConfigProblem(line: line, path: path,
                        message: "environment variable \(name) is not set\(x.envFileNote) (write ${\(name):-default} to give a default)"))
                }
                i = text.index(after: close)
                continue
            }
            out.append(c)
            i = next
        }
        return out
    }
}
