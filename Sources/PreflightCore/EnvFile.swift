import Foundation
import Yams

/// `env_file:` (Compose's convention): files of `NAME=value` lines a run reads `${VAR}` from when the
/// environment does not set it. Paths are relative to the config file's folder; the environment always wins.
public enum EnvFile {
    /// `NAME=value` lines as Compose and python-dotenv read them: `#` comments, `export NAME=…`, quotes stripped.
    public static func parse(_ text: String) -> [(name: String, value: String)] {
        var out: [(String, String)] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || !line.contains("=") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            var value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            if value.count >= 2, let f = value.first, f == value.last, f == "\"" || f == "'" {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = String(value[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
            out.append((name, value))
        }
        return out
    }

    /// The files named by the top-level `env_file:` of a composed config, read: their variables (a later file
    /// wins, as in Compose), the problems met, and the note an unset variable's message carries.
    static func read(_ node: Node?, configFile: String?) -> (values: [String: (value: String, file: String)], problems: [ConfigProblem], note: String) {
        guard let node else { return ([:], [], "") }
        let line = node.mark?.line ?? 0
        var names: [String] = []
        switch node {
        case .scalar(let s): names = [s.string]
        case .sequence(let seq):
            for item in seq {
                guard case .scalar(let s) = item else {
                    return ([:], [ConfigProblem(line: item.mark?.line ?? line, path: "env_file", message: "expected a file name")], "")
                }
                names.append(s.string)
            }
        default:
            return ([:], [ConfigProblem(line: line, path: "env_file", message: "expected a file name or a list of them")], "")
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let folder = configFile.map { URL(fileURLWithPath: $0, relativeTo: cwd).deletingLastPathComponent() } ?? cwd
        var values: [String: (value: String, file: String)] = [:]
        var problems: [ConfigProblem] = []
        var missing: [String] = []
        for name in names where !name.isEmpty {
            let path = name.hasPrefix("/") ? name : folder.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path) else { missing.append(name); continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            // A FIFO or a device (/dev/zero) would block or never end: only regular files are read.
            guard attributes?[.type] as? FileAttributeType == .typeRegular else {
                problems.append(ConfigProblem(line: line, path: "env_file", message: "env_file \(name) is not a regular file")); continue
            }
            if let size = attributes?[.size] as? NSNumber,
               let problem = ConfigBounds.sizeProblem(bytes: size.intValue, what: "env_file \(name)") {
                problems.append(ConfigProblem(line: line, path: "env_file", message: problem.message)); continue
            }
            // Read up to the bound, whatever the size said (a /proc file says 0 and may be endless).
            let data = FileHandle(forReadingAtPath: path).flatMap { h in defer { try? h.close() }; return try? h.read(upToCount: ConfigBounds.maxBytes + 1) } ?? Data()
            if data.count > ConfigBounds.maxBytes {
                problems.append(ConfigProblem(line: line, path: "env_file", message: "env_file \(name) is over 1 MiB; the limit is 1 MiB")); continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                problems.append(ConfigProblem(line: line, path: "env_file", message: "env_file \(name) cannot be read as UTF-8 text"))
                continue
            }
            for (n, v) in parse(text) { values[n] = (v, name) }
        }
        let read = names.filter { !missing.contains($0) && !$0.isEmpty }
        var parts: [String] = []
        if !read.isEmpty { parts.append("nor in env_file \(read.joined(separator: ", "))") }
        if !missing.isEmpty { parts.append("env_file \(missing.joined(separator: ", ")) does not exist") }
        return (values, problems, parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")")
    }
}
