import PreflightCore
/// Why a file could not be read as any k6 output; each case prints as one line.
public enum ExplainError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String, String)
    case empty(String)
    case binary(String, String)
    case notK6(String, String)
    case corruptGzip(String, String)
    case nothingParsed(String, Int)
    /// `--preflight FILE` is not a preflight JSON report.
    case notReport(String, String)

    public var description: String {
        switch self {
        case .unreadable(let p, let why): return "cannot read \(p): \(why)"
        case .empty(let p): return "\(p) is empty: expected k6 --summary-export, handleSummary JSON or --out json"
        case .binary(let p, let what): return "\(p) is not k6 output: \(what)"
        case .notK6(let p, let why): return "\(p) is not k6 output: \(why)"
        case .corruptGzip(let p, let why): return "\(p): gzip data is corrupt: \(why)"
        case .nothingParsed(let p, let lines): return "\(p) is not k6 output: none of its \(formatCount(lines)) lines is a k6 --out json record"
        case .notReport(let p, let why): return "\(p) is not a preflight JSON report: \(why)"
        }
    }
}
