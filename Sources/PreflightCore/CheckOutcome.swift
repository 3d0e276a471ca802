/// The state a check ends in. `crash` is preflight's own failure (a thrown error, a check that
/// overran the engine's watchdog): it says nothing about the stack and is never a root cause.
public enum Status: String, Sendable, Codable, CaseIterable {
    case pass, warn, fail, blocked, skipped, crash
}

/// What a check found: status, its findings (the first is the headline), the numbers behind them.
public struct CheckOutcome: Sendable, Equatable {
    public var status: Status
    /// What the check found, most important first. Never empty: `summary` and `fix` are the first finding's.
    public var findings: [Finding]
    public var evidence: Evidence
    /// Checks whose failure would explain this one (health reporting its database down
    /// points at `database`); the engine turns this failure into a consequence when one of them failed.
    public var suspects: [CheckID]

    public init(_ status: Status, _ summary: String, evidence: Evidence = Evidence(),
                fix: String? = nil, suspects: [CheckID] = []) {
        self.status = status
        self.findings = [Finding(status, summary, fix: fix)]
        self.evidence = evidence
        self.suspects = suspects
    }

    /// An outcome made of several findings; the status is the worst finding's unless given.
    public init(_ status: Status? = nil, findings: [Finding], evidence: Evidence = Evidence(), suspects: [CheckID] = []) {
        precondition(!findings.isEmpty, "an outcome has at least one finding")
        self.status = status ?? findings.map(\.severity).max { Self.rank($0) < Self.rank($1) }!
        self.findings = findings
        self.evidence = evidence
        self.suspects = suspects
    }

    /// The headline: the first finding's sentence.
    public var summary: String {
        get { findings.first?.sentence ?? "" }
        set { if findings.isEmpty { findings = [Finding(status, newValue)] } else { findings[0].sentence = newValue } }
    }

    /// The first finding's fix.
    public var fix: String? {
        get { findings.first?.fix }
        set { if findings.isEmpty { findings = [Finding(status, "", fix: newValue)] } else { findings[0].fix = newValue } }
    }

    static func rank(_ s: Status) -> Int {
        switch s { case .pass: 0; case .skipped: 1; case .warn: 2; case .blocked: 3; case .fail: 4; case .crash: 5 }
    }

    public static func pass(_ summary: String, evidence: Evidence = Evidence()) -> CheckOutcome {
        CheckOutcome(.pass, summary, evidence: evidence)
    }
    public static func warn(_ summary: String, evidence: Evidence = Evidence(), fix: String? = nil) -> CheckOutcome {
        CheckOutcome(.warn, summary, evidence: evidence, fix: fix)
    }
    public static func fail(_ summary: String, evidence: Evidence = Evidence(), fix: String? = nil,
                            suspects: [CheckID] = []) -> CheckOutcome {
        CheckOutcome(.fail, summary, evidence: evidence, fix: fix, suspects: suspects)
    }
    public static func skipped(_ summary: String) -> CheckOutcome { CheckOutcome(.skipped, summary) }
    /// preflight's own failure, with the one fix that applies: report it.
    public static func crash(_ summary: String, evidence: Evidence = Evidence()) -> CheckOutcome {
        CheckOutcome(.crash, summary, evidence: evidence, fix: crashFix)
    }
    public static let crashFix = "this is preflight's fault, not your stack's: please report it with this output (the other checks' results stand)"
}

/// A check's outcome once the engine has placed it in the run.
public struct CheckResult: Sendable, Equatable {
    public let id: CheckID
    public let title: String
    public let layer: Layer
    public var outcome: CheckOutcome
    public var blockedBy: [CheckID]
    /// Set when another failed check explains this failure.
    public var consequenceOf: CheckID?
    public var durationMs: Int

    public init(id: CheckID, title: String, layer: Layer, outcome: CheckOutcome,
                blockedBy: [CheckID] = [], consequenceOf: CheckID? = nil, durationMs: Int = 0) {
        self.id = id
        self.title = title
        self.layer = layer
        self.outcome = outcome
        self.blockedBy = blockedBy
        self.consequenceOf = consequenceOf
        self.durationMs = durationMs
    }

    public var status: Status { outcome.status }
}
