/// go when nothing failed; no-go otherwise. The verdict owns the exit code.
public enum Verdict: String, Sendable {
    case go
    case noGo = "no-go"

    public var exitCode: Int32 { self == .go ? 0 : 1 }
}

/// The run as a whole: every result, which failures are root causes and which are their consequences.
public struct Report: Sendable {
    public private(set) var results: [CheckResult]
    public let duration: Duration
    /// Failed checks that nothing else explains, in causal order (network first, script last).
    public let rootCauses: [CheckID]

    /// With `strict`, a warning fails the gate: it becomes a failure (evidence `strict: yes`).
    public init(results: [CheckResult], duration: Duration, strict: Bool = false) {
        var results = results
        if strict {
            for i in results.indices where results[i].status == .warn {
                results[i].outcome.status = .fail
                results[i].outcome.evidence["strict"] = .bool(true)
            }
        }
        let failed = Set(results.filter { $0.status == .fail }.map(\.id))
        for i in results.indices where results[i].status == .fail {
            results[i].consequenceOf = results[i].outcome.suspects.first { $0 != results[i].id && failed.contains($0) }
        }
        self.results = results
        self.duration = duration
        let order = Dictionary(results.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        rootCauses = results
            .filter { $0.status == .fail && $0.consequenceOf == nil }
            .sorted { ($0.layer, order[$0.id]!) < ($1.layer, order[$1.id]!) }
            .map(\.id)
    }

    public var verdict: Verdict {
        results.contains { $0.status == .fail || $0.status == .blocked } ? .noGo : .go
    }

    public func result(_ id: CheckID) -> CheckResult? { results.first { $0.id == id } }

    /// Failures explained by `id`.
    public func consequences(of id: CheckID) -> [CheckResult] {
        results.filter { $0.consequenceOf == id }
    }
}
