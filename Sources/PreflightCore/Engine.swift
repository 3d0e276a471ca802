import Foundation

/// Runs checks as a DAG: everything whose prerequisites passed starts at once, each under its budget.
public struct Engine: Sendable {
    public let checks: [any Check]

    public init(checks: [any Check]) {
        self.checks = checks
    }

    /// Grace added to every budget: the engine's watchdog is a safety net behind the probes' own deadlines.
    static let grace: Duration = .milliseconds(750)

    /// `running` hears the set of checks in flight each time it changes (for a progress line); `facts` are the run's
    /// (a fresh store by default; a caller that reads them after the run, as exec does, hands in its own).
    public func run(config: Config, timeout: Duration, only: Set<CheckID> = [], skip: Set<CheckID> = [],
                    facts: FactStore? = nil, running: (@Sendable ([CheckID]) -> Void)? = nil) async -> Report {
        let clock = ContinuousClock()
        let start = clock.now
        let byID = Dictionary(checks.map { ($0.description.id, $0) }, uniquingKeysWith: { a, _ in a })
        var results: [CheckID: CheckResult] = [:]
        var pending = checks.map { $0.description }
        let facts = facts ?? FactStore(config: config)

        // --only brings in what the selected checks need (`--only health` runs port first): leaving a
        // prerequisite out would skip its dependants too and end in a "go" with nothing checked.
        var selected = only
        if !only.isEmpty {
            let descriptions = Dictionary(checks.map { ($0.description.id, $0.description) }, uniquingKeysWith: { a, _ in a })
            var queue = Array(only)
            while let id = queue.popLast() {
                // Prerequisites only: `after` orders, it never brings a check (and its traffic) into the run.
                for p in descriptions[id]?.prerequisites ?? [] where !selected.contains(p) {
                    selected.insert(p)
                    queue.append(p)
                }
            }
        }
        // Checks left out by --only/--skip end as skipped before anything runs.
        pending.removeAll { d in
            let excluded = (!selected.isEmpty && !selected.contains(d.id)) || skip.contains(d.id)
            if excluded {
                results[d.id] = CheckResult(id: d.id, title: d.title, layer: d.layer,
                                            outcome: .skipped("not selected (--only/--skip)"))
            }
            return excluded
        }

        var inFlight: [CheckID] = []
        await withTaskGroup(of: CheckResult.self) { group in
            func schedule() {
                var progress = true
                while progress {
                    progress = false
                    for d in pending {
                        let prereqs = d.prerequisites.compactMap { results[$0] }
                        guard prereqs.count == d.prerequisites.count else { continue }
                        // `after`: the checks of this run it follows must have ended, whatever their status (left-out
                        // ones already have, as skipped); their results join the prerequisites' in its context.
                        let after = d.after.filter { byID[$0] != nil }.compactMap { results[$0] }
                        guard after.count == d.after.filter({ byID[$0] != nil }).count else { continue }
                        pending.removeAll { $0.id == d.id }
                        progress = true
                        if let settled = Engine.settle(d, prerequisites: prereqs) {
                            results[d.id] = settled
                            continue
                        }
                        let check = byID[d.id]!
                        let context = CheckContext(config: config, timeout: timeout,
                                                   prerequisites: Dictionary((prereqs + after).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
                                                   facts: facts)
                        inFlight.append(d.id)
                        group.addTask { await Engine.runOne(check, context: context) }
                    }
                }
            }
            schedule()
            running?(inFlight)
            while !inFlight.isEmpty, let done = await group.next() {
                inFlight.removeAll { $0 == done.id }
                results[done.id] = done
                schedule()
                running?(inFlight)
            }
        }
        // A prerequisite id that no check provides leaves its dependants unresolved: say so.
        for d in pending {
            results[d.id] = CheckResult(id: d.id, title: d.title, layer: d.layer,
                                        outcome: .skipped("needs \(d.prerequisites.joined(separator: ", ")), which is not available"))
        }
        let ordered = checks.compactMap { results[$0.description.id] }
        let elapsed = start.duration(to: clock.now)
        return Report(results: ordered, duration: elapsed)
    }

    /// A check whose prerequisite did not pass never runs: blocked by the failures, or skipped with them.
    static func settle(_ d: CheckDescription, prerequisites: [CheckResult]) -> CheckResult? {
        let failed = prerequisites.filter { $0.status == .fail || $0.status == .blocked || $0.status == .crash }
        if !failed.isEmpty {
            // Point at the failures themselves, not at checks that were only blocked by them.
            var roots: [CheckID] = []
            for r in failed {
                for id in (r.status == .blocked ? r.blockedBy : [r.id]) where !roots.contains(id) { roots.append(id) }
            }
            let crashed = failed.contains { $0.status == .crash }
            return CheckResult(id: d.id, title: d.title, layer: d.layer,
                               outcome: CheckOutcome(.blocked, "not run: \(roots.joined(separator: ", ")) \(crashed ? "crashed or failed" : "failed")"),
                               blockedBy: roots)
        }
        if let skipped = prerequisites.first(where: { $0.status == .skipped }) {
            return CheckResult(id: d.id, title: d.title, layer: d.layer,
                               outcome: .skipped("not run: \(skipped.id) was skipped (\(skipped.outcome.summary))"))
        }
        return nil
    }

    static func runOne(_ check: any Check, context: CheckContext) async -> CheckResult {
        let d = check.description
        let clock = ContinuousClock()
        let start = clock.now
        let budget = context.timeout * d.timeoutBudget + grace
        let outcome: CheckOutcome = await withDeadline(budget) {
            do {
                return try await check.run(context)
            } catch {
                return .crash("the \(d.id) check threw an error: \(describe(error))")
            }
        } ?? .crash("the \(d.id) check overran the engine's watchdog (\(format(budget)) = \(d.timeoutBudget) × --timeout \(format(context.timeout)) + grace): "
                    + "its own deadlines should have ended it first")
        let ms = Int(start.duration(to: clock.now).milliseconds)
        return CheckResult(id: d.id, title: d.title, layer: d.layer, outcome: outcome, durationMs: ms)
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? LocalizedError, let text = e.errorDescription { return text }
        return String(describing: error)
    }
}

extension Duration {
    public var milliseconds: Double {
        let (s, atto) = components
        return Double(s) * 1000 + Double(atto) / 1e15
    }
    public var seconds: Double { milliseconds / 1000 }
}

/// "3 s", "250 ms", "1.5 s": how durations read in messages.
public func format(_ d: Duration) -> String {
    let ms = d.milliseconds
    if ms < 1000 { return "\(Int(ms.rounded())) ms" }
    let s = ms / 1000
    return s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
}

/// 56250 → "56,250": counts in messages read like the k6 end-of-test summary.
public func formatCount(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return n < 0 ? "-" + out : out
}
