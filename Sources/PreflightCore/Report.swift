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

    /// The run predicted against the script's thresholds; nil when the report was not made with them (merge, tests).
    public private(set) var prediction: Prediction?

    /// With `thresholds` (the script's, or none for the default), the verdict is the thresholds' (issue 29): a
    /// warning whose predicted effect crosses a threshold fails; a failure whose every finding has a known share
    /// below every request and whose run crosses no threshold is a warning. With `strict`, a warning fails the gate: it becomes a failure
    /// (evidence `strict: yes`).
    public init(results: [CheckResult], duration: Duration, strict: Bool = false, thresholds: [ScriptThreshold]? = nil) {
        var results = results
        var prediction: Prediction?
        if let thresholds {
            Self.placeConsequences(&results)
            let first = Prediction.make(results: results, thresholds: thresholds)
            let crossing = Set(first.crossed.flatMap(\.from))
            let undecided = first.thresholds.contains { $0.crossed == nil && $0.predicted != nil }
            for i in results.indices {
                let findings = results[i].outcome.findings.filter { $0.severity == .fail || $0.severity == .warn }
                if results[i].status == .warn, crossing.contains(results[i].id) {
                    results[i].outcome.status = .fail
                    results[i].outcome.evidence["crosses"] = .array(first.crossed.filter { $0.from.contains(results[i].id) }
                        .map { .string("\($0.threshold.key) \($0.threshold.source)") })
                } else if results[i].status == .fail, first.crossed.isEmpty, !undecided, !findings.isEmpty,
                          findings.allSatisfy({ $0.effect?.share != nil }),
                          // A run whose every request fails (a refused port, an expired token) cannot be the load
                          // test the user plans, whichever thresholds the script declares (one on http_req_duration
                          // alone passes on failed requests): it stays a failure.
                          !findings.contains(where: { ($0.effect?.share?.low ?? 0) >= 1 }) {
                    results[i].outcome.status = .warn
                    results[i].outcome.evidence["withinThresholds"] = .bool(true)
                }
            }
            for i in results.indices { results[i].consequenceOf = nil }
            Self.placeConsequences(&results)
            prediction = Prediction.make(results: results, thresholds: thresholds)
        }
        self.prediction = prediction
        if strict {
            for i in results.indices where results[i].status == .warn {
                results[i].outcome.status = .fail
                for j in results[i].outcome.findings.indices where results[i].outcome.findings[j].severity == .warn {
                    results[i].outcome.findings[j].severity = .fail
                }
                results[i].outcome.evidence["strict"] = .bool(true)
            }
        }
        Self.placeConsequences(&results)
        self.results = results
        self.duration = duration
        let order = Dictionary(results.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        rootCauses = results
            .filter { $0.status == .fail && $0.consequenceOf == nil }
            .sorted { ($0.layer, order[$0.id]!) < ($1.layer, order[$1.id]!) }
            .map(\.id)
    }

    /// A failure that another failed check explains is its consequence.
    static func placeConsequences(_ results: inout [CheckResult]) {
        let failed = Set(results.filter { $0.status == .fail }.map(\.id))
        for i in results.indices where results[i].status == .fail {
            results[i].consequenceOf = results[i].outcome.suspects.first { $0 != results[i].id && failed.contains($0) }
        }
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

// MARK: - Secrets removed once, before any reporter

extension Report {
    /// The report with every string a reporter could print passed through `secrets.scrub` (titles, findings'
    /// sentences, fixes, evidence keys and values, locations, effects): run once before rendering, so no
    /// reporter's escaping can turn a secret into a form the output sink no longer recognises.
    public func redacted(using secrets: Secrets) -> Report {
        var copy = self
        copy.results = results.map { $0.redacted(using: secrets) }
        copy.prediction = prediction.map { p in
            var p = p
            p.basis = secrets.scrub(p.basis)
            p.thresholds = p.thresholds.map { l in
                var l = l
                l.note = l.note.map(secrets.scrub)
                l.threshold.key = secrets.scrub(l.threshold.key)
                l.threshold.source = secrets.scrub(l.threshold.source)
                return l
            }
            return p
        }
        return copy
    }
}

extension CheckResult {
    func redacted(using secrets: Secrets) -> CheckResult {
        CheckResult(id: id, title: secrets.scrub(title), layer: layer, outcome: outcome.redacted(using: secrets),
                    blockedBy: blockedBy, consequenceOf: consequenceOf, durationMs: durationMs)
    }
}

extension CheckOutcome {
    func redacted(using secrets: Secrets) -> CheckOutcome {
        var o = self
        o.findings = findings.map { $0.redacted(using: secrets) }
        o.evidence = evidence.redacted(using: secrets)
        return o
    }
}

extension Finding {
    func redacted(using secrets: Secrets) -> Finding {
        var f = self
        f.sentence = secrets.scrub(sentence)
        f.fix = fix.map(secrets.scrub)
        f.evidence = evidence.redacted(using: secrets)
        f.location = location.map { SourceLocation(file: secrets.scrub($0.file), line: $0.line) }
        // Scrubbed in place: every other field of the effect (drops, latency, cut iterations, gRPC) is kept.
        f.effect = effect.map {
            var e = $0
            e.requests = e.requests.map(secrets.scrub)
            e.from = secrets.scrub(e.from)
            e.k6 = secrets.scrub(e.k6)
            e.basis = secrets.scrub(e.basis)
            return e
        }
        return f
    }
}

extension Evidence {
    func redacted(using secrets: Secrets) -> Evidence {
        Evidence(entries.map { (secrets.scrub($0.key), $0.value.redacted(using: secrets)) })
    }
}

extension JSONValue {
    func redacted(using secrets: Secrets) -> JSONValue {
        switch self {
        case .string(let s): return .string(secrets.scrub(s))
        case .array(let a): return .array(a.map { $0.redacted(using: secrets) })
        case .object(let o): return .object(o.redacted(using: secrets))
        case .int, .double, .bool, .null: return self
        }
    }
}
