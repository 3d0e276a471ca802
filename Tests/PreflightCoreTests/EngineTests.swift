import Foundation
import Synchronization
import Testing
@testable import PreflightCore

/// A check whose behaviour a test chooses.
struct FakeCheck: Check {
    let description: CheckDescription
    let body: @Sendable (CheckContext) async throws -> CheckOutcome

    init(_ id: CheckID, layer: Layer = .service, needs: [CheckID] = [], after: [CheckID] = [],
         _ body: @escaping @Sendable (CheckContext) async throws -> CheckOutcome) {
        description = CheckDescription(id: id, title: "Fake \(id)", layer: layer, prerequisites: needs, after: after, examples: [])
        self.body = body
    }

    func run(_ context: CheckContext) async throws -> CheckOutcome { try await body(context) }
}

/// Opens once `open()` is called; waiters before that are suspended.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    func open() { isOpen = true; waiters.forEach { $0.resume() }; waiters = [] }
    func wait() async { if !isOpen { await withCheckedContinuation { waiters.append($0) } } }
}

struct Boom: Error {}

@Suite struct EngineTests {
    let config = Config()

    @Test func independentChecksRunAtTheSameTime() async {
        // a waits for b to start: if the engine ran them one after the other, a would overrun its deadline.
        let gate = Gate()
        let report = await Engine(checks: [
            FakeCheck("a") { _ in await gate.wait(); return .pass("b started while a ran") },
            FakeCheck("b") { _ in await gate.open(); return .pass("ok") },
        ]).run(config: config, timeout: .seconds(2))
        #expect(report.result("a")?.status == .pass)
        #expect(report.verdict == .go)
    }

    @Test func overrunningCheckIsACrashNotARootCauseAndTheRunStillEnds() async {
        let report = await Engine(checks: [
            // A blocking call that never returns, on its own thread: the engine must not wait for it.
            FakeCheck("stuck") { _ in await Blocking.run { sleep(3600); return .pass("never") } },
            FakeCheck("fine") { _ in .pass("ok") },
        ]).run(config: config, timeout: .milliseconds(100))
        let stuck = report.result("stuck")
        #expect(stuck?.status == .crash)
        #expect(stuck?.outcome.summary.contains("overran the engine's watchdog") == true)
        #expect(stuck?.outcome.fix == CheckOutcome.crashFix)
        #expect(report.result("fine")?.status == .pass)
        #expect(report.rootCauses.isEmpty)
        #expect(report.crashes == ["stuck"])
        #expect(report.verdict == .noGo)
        #expect(report.exitCode == ExitStatus.crashed)
    }

    @Test func afterOrdersWithoutSkippingAndReadsOnlyMeasurementsTaken() async {
        // "late" starts once "sender" ended (whatever it ended in) and reads the measurement it took; "reader"
        // runs after a check that failed, and after one that is not in the run, and finds nothing measured.
        let report = await Engine(checks: [
            FakeCheck("sender") { c in
                _ = await c.measured(Int.self) { 42 }
                return .fail("the service failed, but the measurement was taken")
            },
            FakeCheck("late", after: ["sender"]) { c in
                let m = await c.taken(Int.self)
                return m == 42 ? .pass("read \(m!)") : .fail("nothing measured")
            },
            FakeCheck("reader", after: ["nobody", "sender"]) { c in
                await c.taken(String.self) == nil ? .pass("nothing taken, nothing sent") : .fail("a measurement appeared")
            },
        ]).run(config: config, timeout: .seconds(2))
        #expect(report.result("late")?.status == .pass, "\(String(describing: report.result("late")))")
        #expect(report.result("late")?.outcome.summary == "read 42")
        #expect(report.result("reader")?.status == .pass)
    }

    @Test func withoutAfterAMeasurementNotYetTakenIsNil() async {
        let facts = FactStore(config: config)
        #expect(await facts.taken(Int.self) == nil)
        _ = await facts.measured(Int.self) { 7 }
        #expect(await facts.taken(Int.self) == 7)
    }

    @Test func throwingCheckIsACrashApartFromRootCauses() async {
        let report = await Engine(checks: [FakeCheck("x") { _ in throw Boom() }]).run(config: config, timeout: .seconds(1))
        #expect(report.result("x")?.status == .crash)
        #expect(report.result("x")?.outcome.summary.hasPrefix("the x check threw an error") == true)
        #expect(report.rootCauses.isEmpty)
        #expect(report.exitCode == 3)
    }

    @Test func aRealNoGoKeepsExitOneBesideACrashAndDependantsOfACrashAreBlocked() async {
        let report = await Engine(checks: [
            FakeCheck("port", layer: .network) { _ in .fail("refused") },
            FakeCheck("x") { _ in throw Boom() },
            FakeCheck("after-x", needs: ["x"]) { _ in .pass("never runs") },
        ]).run(config: config, timeout: .seconds(1))
        #expect(report.rootCauses == ["port"])
        #expect(report.crashes == ["x"])
        #expect(report.result("after-x")?.status == .blocked)
        #expect(report.result("after-x")?.blockedBy == ["x"])
        #expect(report.exitCode == ExitStatus.noGo)
    }

    @Test func dependantsOfAFailureAreBlockedByTheRootFailure() async {
        let ran = Mutex<[String]>([])
        let report = await Engine(checks: [
            FakeCheck("port", layer: .network) { _ in .fail("refused") },
            FakeCheck("health", needs: ["port"]) { _ in ran.withLock { $0.append("health") }; return .pass("") },
            FakeCheck("burst", layer: .limits, needs: ["health"]) { _ in ran.withLock { $0.append("burst") }; return .pass("") },
            FakeCheck("database", layer: .database) { _ in .pass("ok") },
        ]).run(config: config, timeout: .seconds(1))
        #expect(ran.withLock { $0 }.isEmpty)
        #expect(report.result("health")?.status == .blocked)
        #expect(report.result("health")?.blockedBy == ["port"])
        #expect(report.result("burst")?.blockedBy == ["port"])
        #expect(report.rootCauses == ["port"])
        #expect(report.verdict == .noGo)
    }

    @Test func prerequisitesThatPassedLetDependantsRunWithTheirResults() async {
        let report = await Engine(checks: [
            FakeCheck("port", layer: .network) { _ in .warn("one of two addresses") },
            FakeCheck("health", needs: ["port"]) { ctx in
                ctx.prerequisites["port"]?.status == .warn ? .pass("saw port's warning") : .fail("no prerequisite result")
            },
        ]).run(config: config, timeout: .seconds(1))
        #expect(report.result("health")?.status == .pass)
        #expect(report.verdict == .go)
    }

    /// `after`: the check waits for those, sees their results whatever they are, and is not blocked by a failure;
    /// `--only` does not bring them in (they end as not selected, which the check sees); an id no check provides is
    /// not waited for.
    @Test func afterWaitsForAFailureWithoutBeingBlocked() async {
        let checks = [
            FakeCheck("port", layer: .network) { _ in .pass("open") },
            FakeCheck("health", needs: ["port"]) { _ in .fail("500") },
            FakeCheck("server", needs: ["port"], after: ["health", "nonexistent"]) { ctx in
                ctx.prerequisites["health"]?.status == .fail ? .pass("saw health fail, ran anyway") : .fail("ran before health ended")
            },
        ]
        let all = await Engine(checks: checks).run(config: config, timeout: .seconds(1))
        #expect(all.result("server")?.status == .pass, "\(all.result("server")?.outcome.summary ?? "")")
        let only = await Engine(checks: [
            FakeCheck("port", layer: .network) { _ in .pass("open") },
            FakeCheck("health", needs: ["port"]) { _ in .fail("500") },
            FakeCheck("server", needs: ["port"], after: ["health"]) { ctx in
                ctx.prerequisites["health"]?.status == .skipped ? .pass("health not selected") : .fail("health ran: \(String(describing: ctx.prerequisites["health"]))")
            },
        ]).run(config: config, timeout: .seconds(1), only: ["server"])
        #expect(only.result("health")?.status == .skipped)
        #expect(only.result("server")?.status == .pass, "\(only.result("server")?.outcome.summary ?? "")")
    }

    @Test func skippedPrerequisiteSkipsItsDependants() async {
        let report = await Engine(checks: [
            FakeCheck("port", layer: .network) { _ in .skipped("no target configured") },
            FakeCheck("health", needs: ["port"]) { _ in .fail("should not run") },
        ]).run(config: config, timeout: .seconds(1))
        #expect(report.result("health")?.status == .skipped)
        #expect(report.verdict == .go)
    }

    /// `--only health` runs port first: without it health would be skipped and the verdict a "go" with nothing
    /// checked; a failing prerequisite still blocks it.
    @Test func onlyBringsInWhatTheSelectedChecksNeed() async {
        func checks(port: CheckOutcome) -> [FakeCheck] {
            [FakeCheck("port", layer: .network) { _ in port },
             FakeCheck("health", needs: ["port"]) { _ in .pass("200") },
             FakeCheck("api-ready", needs: ["health"]) { _ in .pass("ready") },
             FakeCheck("other") { _ in .fail("not selected, must not run") }]
        }
        let up = await Engine(checks: checks(port: .pass("open"))).run(config: config, timeout: .seconds(1), only: ["api-ready"])
        #expect(up.result("port")?.status == .pass)
        #expect(up.result("health")?.status == .pass)
        #expect(up.result("api-ready")?.status == .pass)
        #expect(up.result("other")?.status == .skipped)
        #expect(up.verdict == .go)
        let down = await Engine(checks: checks(port: .fail("refused"))).run(config: config, timeout: .seconds(1), only: ["health"])
        #expect(down.result("health")?.status == .blocked)
        #expect(down.verdict == .noGo)
        #expect(down.rootCauses == ["port"])
    }

    @Test func onlyAndSkipSelectChecks() async {
        let checks = [FakeCheck("a") { _ in .fail("a") }, FakeCheck("b") { _ in .pass("b") }]
        let only = await Engine(checks: checks).run(config: config, timeout: .seconds(1), only: ["b"])
        #expect(only.result("a")?.status == .skipped)
        #expect(only.verdict == .go)
        let skip = await Engine(checks: checks).run(config: config, timeout: .seconds(1), skip: ["b"])
        #expect(skip.result("b")?.status == .skipped)
        #expect(skip.rootCauses == ["a"])
    }
}

@Suite struct ReportTests {
    func result(_ id: CheckID, _ layer: Layer, _ outcome: CheckOutcome) -> CheckResult {
        CheckResult(id: id, title: id, layer: layer, outcome: outcome)
    }

    @Test func rootCausesFollowTheCausalOrder() {
        let r = Report(results: [
            result("script", .script, .fail("cursor")),
            result("database", .database, .fail("refused")),
            result("port", .network, .fail("refused")),
        ], duration: .zero)
        #expect(r.rootCauses == ["port", "database", "script"])
    }

    @Test func failureExplainedByAnotherIsItsConsequence() {
        let r = Report(results: [
            result("health", .service, .fail("503: database disconnected", suspects: ["database"])),
            result("database", .database, .fail("refused")),
        ], duration: .zero)
        #expect(r.rootCauses == ["database"])
        #expect(r.result("health")?.consequenceOf == "database")
        #expect(r.consequences(of: "database").map(\.id) == ["health"])
    }

    @Test func suspectThatPassedLeavesTheFailureARootCause() {
        let r = Report(results: [
            result("health", .service, .fail("503: database disconnected", suspects: ["database"])),
            result("database", .database, .pass("ok")),
        ], duration: .zero)
        #expect(r.rootCauses == ["health"])
    }

    @Test func warningsAloneAreGo() {
        let r = Report(results: [result("port", .network, .warn("partial"))], duration: .zero)
        #expect(r.verdict == .go)
        #expect(r.exitCode == 0)
    }
}
