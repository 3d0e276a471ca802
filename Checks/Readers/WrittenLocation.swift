import PreflightCore

extension SourceLocation {
    /// A place as the readers write it in sentences: "load.js:12", "load.js:3:1" (line and column) or "load.js".
    init(written: String) {
        var parts = written.split(separator: ":", omittingEmptySubsequences: false)
        var numbers: [Int] = []
        while parts.count > 1, numbers.count < 2, let n = Int(parts.last!) {
            numbers.insert(n, at: 0)
            parts.removeLast()
        }
        self.init(file: parts.joined(separator: ":"), line: numbers.first)
    }
}
