import Foundation

/// One thing wrong with the config, with the line it is on (`line` 0: given on the command line).
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let path: String
    public let message: String

    public init(line: Int, path: String, message: String) {
        self.line = line
        self.path = path
        self.message = message
    }

    public var description: String {
        let place = line > 0 ? "line \(line): " : ""
        return path.isEmpty ? "\(place)\(message)" : "\(place)\(path): \(message)"
    }
}

/// Every problem found in a config, reported at once (exit 2).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let file: String?
    public let problems: [ConfigProblem]

    public init(file: String?, problems: [ConfigProblem]) {
        self.file = file
        self.problems = problems.sorted { ($0.line, $0.path) < ($1.line, $1.path) }
    }

    public var description: String {
        let name = file ?? "command line"
        if problems.count == 1 { return "\(name): \(problems[0])" }
        return "\(name): \(problems.count) problems\n" + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}

/// Shared by the readers of one load, so every section adds to one list.
public final class ConfigProblemSink {
    public private(set) var problems: [ConfigProblem] = []
    public init() {}
    public func add(_ p: ConfigProblem) { if !problems.contains(p) { problems.append(p) } }
}

/// The closest candidate within a small edit distance, for "did you mean" hints.
public func nearest(_ word: String, in candidates: [String], maxDistance: Int? = nil) -> String? {
    let limit = maxDistance ?? max(2, word.count / 3)
    let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
    return best.0
}

public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
