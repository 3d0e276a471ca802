import Foundation

/// Typed access to one mapping of the config. Nothing throws: every problem goes to the sink
/// with its line, and the reader returns nil for that value.
public struct SectionReader {
    public let node: ConfigNode?
    public let path: String
    public let sink: ConfigProblemSink

    public init(node: ConfigNode?, path: String, sink: ConfigProblemSink) {
        self.node = node
        self.path = path
        self.sink = sink
    }

    public var isPresent: Bool {
        if case .null = node { return false }
        return node != nil
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func problem(_ key: String?, _ message: String, line: Int? = nil) {
        let at = line ?? key.flatMap { node?[$0]?.line } ?? node?.line ?? 0
        sink.add(ConfigProblem(line: at, path: key.map(keyPath) ?? path, message: message))
    }

    /// Reports keys this section does not know, with a suggestion; also checks it is a mapping.
    public func allowKeys(_ known: [String]) {
        guard let node else { return }
        switch node {
        case .null: return
        case .mapping(let pairs, _):
            for p in pairs where !known.contains(p.key) {
                let hint = nearest(p.key, in: known).map { " (did you mean \($0)?)" } ?? ""
                sink.add(ConfigProblem(line: p.line, path: keyPath(p.key),
                                       message: "unknown key\(hint); known here: \(known.joined(separator: ", "))"))
            }
        default:
            sink.add(ConfigProblem(line: node.line, path: path, message: "expected a mapping, found \(node.kind)"))
        }
    }

    public func child(_ key: String) -> SectionReader {
        SectionReader(node: node?[key], path: keyPath(key), sink: sink)
    }

    public func string(_ key: String) -> String? {
        guard let value = node?[key] else { return nil }
        switch value {
        case .scalar(let s, _): return s
        case .null: return nil
        default:
            problem(key, "expected a value, found \(value.kind)")
            return nil
        }
    }

    public func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let s = string(key) else { return nil }
        guard let v = Int(s.replacingOccurrences(of: "_", with: "")) else {
            problem(key, "expected a whole number, found \"\(s)\"")
            return nil
        }
        guard range.contains(v) else {
            problem(key, "\(v) is out of range (\(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return v
    }

    public func bool(_ key: String) -> Bool? {
        guard let s = string(key) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(key, "expected true or false, found \"\(s)\"")
            return nil
        }
    }

    public func duration(_ key: String, in range: ClosedRange<Duration> = .milliseconds(1)...(.seconds(3600))) -> Duration? {
        guard let s = string(key) else { return nil }
        guard let d = parseDuration(s) else {
            problem(key, "expected a duration like 3s, 500ms or 2m, found \"\(s)\"")
            return nil
        }
        guard range.contains(d) else {
            problem(key, "\(format(d)) is out of range (\(format(range.lowerBound))…\(format(range.upperBound)))")
            return nil
        }
        return d
    }

    /// This node as a list, each item read by `read` (for sections that are lists, like `checks:`).
    public func elements<T>(_ read: (SectionReader) -> T?) -> [T] {
        guard let node else { return [] }
        switch node {
        case .null: return []
        case .sequence(let items, _):
            return items.enumerated().compactMap { i, item in read(SectionReader(node: item, path: "\(path)[\(i)]", sink: sink)) }
        default:
            sink.add(ConfigProblem(line: node.line, path: path, message: "expected a list, found \(node.kind)"))
            return []
        }
    }

    /// A scalar or a list of scalars, as strings.
    public func strings(_ key: String) -> [String]? {
        guard let value = node?[key] else { return nil }
        switch value {
        case .null: return nil
        case .scalar(let s, _): return [s]
        case .sequence(let items, _):
            var out: [String] = []
            for item in items {
                guard case .scalar(let s, _) = item else { problem(key, "expected a list of values"); return nil }
                out.append(s)
            }
            return out
        default:
            problem(key, "expected a value or a list, found \(value.kind)")
            return nil
        }
    }

    /// A mapping of scalars (headers, environment values).
    public func stringMap(_ key: String) -> [String: String] {
        let child = child(key)
        guard case .mapping(let pairs, _)? = child.node else {
            if child.isPresent { child.allowKeys([]) }
            return [:]
        }
        var out: [String: String] = [:]
        for p in pairs { if let v = child.string(p.key) { out[p.key] = v } }
        return out
    }

    /// A list of mappings, each read by `read`.
    public func list<T>(_ key: String, _ read: (SectionReader) -> T?) -> [T] {
        guard let value = node?[key] else { return [] }
        switch value {
        case .null: return []
        case .sequence(let items, _):
            return items.enumerated().compactMap { i, item in
                read(SectionReader(node: item, path: "\(keyPath(key))[\(i)]", sink: sink))
            }
        default:
            problem(key, "expected a list, found \(value.kind)")
            return []
        }
    }
}

/// "3s", "250ms", "1.5s", "2m", "1h" or a bare number of seconds.
public func parseDuration(_ text: String) -> Duration? {
    let s = text.trimmingCharacters(in: .whitespaces).lowercased()
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, factor) in units where s.hasSuffix(suffix) {
        let number = s.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
        guard let v = Double(number), v.isFinite, v >= 0, v * factor < 1e7 else { return nil }
        return .milliseconds(Int64((v * factor * 1000).rounded()))
    }
    guard let v = Double(s), v.isFinite, v >= 0, v < 1e7 else { return nil }
    return .milliseconds(Int64((v * 1000).rounded()))
}
