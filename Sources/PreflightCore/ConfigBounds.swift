import Foundation
// libyaml, as vendored by Yams (its CYaml target): Yams offers no way to see aliases before it composes.
internal import CYaml

/// Limits on a config's size and on what its aliases expand to. A config file is input too: in CI it
/// comes from the branch under test. Aliases and merge keys reuse a block; they may not multiply it.
public enum ConfigBounds {
    /// The file (or text), before it is parsed.
    public static let maxBytes = 1 << 20
    /// Every scalar, list and mapping in the document with its aliases expanded (keys count too).
    public static let maxNodes = 10_000
    /// Alias uses (`*name`, also in `<<: *name`) with aliases expanded: an alias inside a block that is
    /// itself used three times counts three times.
    public static let maxAliasUses = 1_000
    /// The scalars' text with aliases expanded: a long value aliased many times is a bomb of few nodes.
    public static let maxExpandedBytes = 4 << 20

    static func sizeProblem(bytes: Int, what: String) -> ConfigProblem? {
        guard bytes > maxBytes else { return nil }
        let mib = String(format: "%.1f", Double(bytes) / Double(1 << 20))
        return ConfigProblem(line: 0, path: "", message: "\(what) is \(mib) MiB (\(bytes) bytes); the limit is 1 MiB")
    }

    /// Walks libyaml's events once, adding up what each alias would expand to from the sizes its anchor
    /// had when it was defined, and stops at the first alias (or node) that takes the document past a
    /// limit. Nothing is expanded or built, so this costs the file's length whatever the aliases say.
    ///
    /// Yams' composer shares an alias's subtree rather than copying it, but it hashes every mapping key to
    /// find duplicates, and a key that is an alias (`? *big : 1`) hashes its whole expansion: that hang is
    /// inside `Yams.compose`, so the bound has to come before it. Syntax errors and undefined aliases
    /// are left to Yams, which reports them with their line.
    public static func check(_ yaml: String) -> ConfigProblem? {
        let bytes = Array(yaml.utf8)
        guard !bytes.isEmpty else { return nil }  // libyaml asserts on a NULL input
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeBufferPointer { buffer -> ConfigProblem? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var walk = Walk()
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                switch walk.step(event) {
                case .next: continue
                case .done: return nil
                case .over(let problem): return problem
                }
            }
            return nil
        }
    }

    /// What an anchored node expands to.
    struct Size {
        var nodes = 0, aliases = 0, bytes = 0
        static func + (a: Size, b: Size) -> Size {
            Size(nodes: a.nodes + b.nodes, aliases: a.aliases + b.aliases, bytes: a.bytes + b.bytes)
        }
        static func - (a: Size, b: Size) -> Size {
            Size(nodes: a.nodes - b.nodes, aliases: a.aliases - b.aliases, bytes: a.bytes - b.bytes)
        }
    }

    enum Step { case next, done, over(ConfigProblem) }

    struct Walk {
        /// The document so far, aliases expanded.
        var total = Size()
        var anchors: [String: Size] = [:]
        /// Open lists and mappings: their anchor and the total when they opened.
        var open: [(anchor: String?, start: Size)] = []

        mutating func step(_ event: yaml_event_t) -> Step {
            let line = Int(event.start_mark.line) + 1
            switch event.type {
            case YAML_SCALAR_EVENT:
                let s = Size(nodes: 1, aliases: 0, bytes: Int(event.data.scalar.length))
                total = total + s
                if let a = name(event.data.scalar.anchor) { anchors[a] = s }
                return limit(line: line, alias: nil)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let anchor = event.type == YAML_SEQUENCE_START_EVENT
                    ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                open.append((anchor, total))
                total.nodes += 1
                return limit(line: line, alias: nil)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                if let (anchor, start) = open.popLast(), let anchor { anchors[anchor] = total - start }
                return .next
            case YAML_ALIAS_EVENT:
                guard let a = name(event.data.alias.anchor), let size = anchors[a] else { return .done }
                total = total + size
                total.aliases += 1
                return limit(line: line, alias: a)
            case YAML_STREAM_END_EVENT:
                return .done
            default:
                return .next
            }
        }

        func limit(line: Int, alias: String?) -> Step {
            let over: String
            if total.nodes > maxNodes {
                over = "the limit of \(maxNodes) values, lists and mappings"
            } else if total.aliases > maxAliasUses {
                over = "the limit of \(maxAliasUses) alias uses (uses inside an expanded alias count too)"
            } else if total.bytes > maxExpandedBytes {
                over = "the limit of \(maxExpandedBytes >> 20) MiB of text"
            } else {
                return .next
            }
            let message = alias.map { "alias *\($0) expands the config past \(over); aliases and merge keys may reuse a block, not multiply it" }
                ?? "the config is past \(over)"
            return .over(ConfigProblem(line: line, path: "", message: message))
        }

        func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            p.map { String(cString: $0) }
        }
    }
}
