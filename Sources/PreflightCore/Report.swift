/// go when nothing failed; no-go otherwise. The report owns the exit code (`Report.exitCode`).
public enum Verdict: String, Sendable {
    case go
    case noGo = "no-go"
}

/// The documented exit codes of a run.
public enum ExitStatus {
    public static let go: Int32 = 0
    /// A check found the stack not ready.
    public static let noGo: Int32 = 1
    /// Bad usage or config.
    public static let usage: Int32 = 2
    /// preflight itself failed (a check crashed) and no check found a real no-go: the verdict is incomplete.
    public static let crashed: Int32 = 3
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
        results.contains { $0.status == .fail || $0.status == .blocked || $0.status == .crash } ? .noGo : .go
    }

    /// Checks that crashed (preflight's own failure), in run order: never root causes.
    public var crashes: [CheckID] { results.filter { $0.status == .crash }.map(\.id) }

    /// 1 when a check found a real no-go (a crash elsewhere does not hide it), 3 when only preflight itself failed.
    public var exitCode: Int32 {
        if results.contains(where: { $0.status == .fail }) { return ExitStatus.noGo }
        if !crashes.isEmpty { return ExitStatus.crashed }
        return verdict == .go ? ExitStatus.go : ExitStatus.noGo
    }

    public func result(_ id: CheckID) -> CheckResult? { results.first { $0.id == id } }

    /// Failures explained by `id`.
    public func consequences(of id: CheckID) -> [CheckResult] {
        results.filter { $0.consequenceOf == id }
    }
}
