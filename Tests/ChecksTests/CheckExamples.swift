import Foundation
import Testing
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// One example of one built-in check: the parameterized test's argument, named by check, number and phrase.
struct CheckExampleCase: Sendable, CustomTestStringConvertible {
    let check: any BuiltInCheck.Type
    let index: Int
    var example: CheckExample { check.description.examples[index] }
    var testDescription: String { "\(check.description.id) #\(index + 1) \(example.status.rawValue): \(example.says)" }

    static var all: [CheckExampleCase] {
        BuiltInCase.selected.flatMap { c in c.description.examples.indices.map { CheckExampleCase(check: c, index: $0) } }
    }
}

/// A built-in check as a test argument.
struct BuiltInCase: Sendable, CustomTestStringConvertible {
    let check: any BuiltInCheck.Type
    var testDescription: String { check.description.id }
    static var all: [BuiltInCase] { selected.map(BuiltInCase.init) }

    /// Every built-in check, or those named in CHECK_EXAMPLES (ids, comma-separated): Swift Testing's --filter
    /// selects tests, not the arguments of one, so `CHECK_EXAMPLES=port swift test --filter CheckExamples` runs one check's.
    static var selected: [any BuiltInCheck.Type] {
        guard let only = ProcessInfo.processInfo.environment["CHECK_EXAMPLES"], !only.isEmpty else { return AllChecks.builtIn }
        let ids = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return AllChecks.builtIn.filter { ids.contains($0.description.id) }
    }
}

/// Runs an example's world: its files and preflight.yml in a fresh folder, the config loaded as a run loads it,
/// the check run once against the scripted fake probes (each operation under the config's timeout, 3 s unless it
/// says), with a recorder on what it reads.
enum ExampleRunner {
    struct Ran {
        var outcome: CheckOutcome
        var reads: [ConfigReads.Read]
    }

    static func run(_ check: any BuiltInCheck.Type, in world: World) async throws -> Ran {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-example-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, text) in world.files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let file = folder.appendingPathComponent("preflight.yml").path
        try Data(world.config.utf8).write(to: URL(fileURLWithPath: file))
        var config = try ConfigLoader(sections: AllChecks.sections, secrets: Secrets()).load(file: file, environment: [:])
        let reads = ConfigReads()
        config.reads = reads
        let answers = world.answers as? ProbeAnswers ?? ProbeAnswers()
        let outcome = try await check.init(probes: answers.probes).run(CheckContext(config: config, timeout: config.effectiveTimeout))
        return Ran(outcome: outcome, reads: reads.all)
    }

    /// What is wrong with an outcome for an example: its status, or no finding (sentence or fix) saying the phrase.
    static func problems(_ outcome: CheckOutcome, expected: CheckExample) -> [String] {
        var out: [String] = []
        if outcome.status != expected.status { out.append("status \(outcome.status.rawValue), expected \(expected.status.rawValue)") }
        let said = outcome.findings.contains { $0.sentence.contains(expected.says) || ($0.fix?.contains(expected.says) ?? false) }
        if !said {
            let findings = outcome.findings.map { "\($0.sentence) / fix: \($0.fix ?? "-")" }.joined(separator: " | ")
            out.append("no finding says \"\(expected.says)\"; it said: \(findings)")
        }
        return out
    }

    /// What differs between what a check read over its examples and what it declares (keys and facts).
    static func undeclared(_ check: any BuiltInCheck.Type, reads: [ConfigReads.Read]) -> [String] {
        var out: [String] = []
        let read = Set(ConfigKeys.of(reads)), declared = Set(check.configKeys)
        if !read.subtracting(declared).isEmpty { out.append("reads undeclared \(read.subtracting(declared).sorted())") }
        if !declared.subtracting(read).isEmpty { out.append("declares unread \(declared.subtracting(read).sorted())") }
        let readFacts = Set(reads.compactMap { if case .fact(let f) = $0 { f.name } else { nil } })
        let declaredFacts = Set(check.facts.map { $0.name })
        if readFacts != declaredFacts { out.append("facts read \(readFacts.sorted()), declared \(declaredFacts.sorted())") }
        return out
    }
}

/// Every example of every built-in check, run: `swift test --filter CheckExamples` (one check's:
/// `CHECK_EXAMPLES=port swift test --filter CheckExamples`). The examples are the checks' contract and the text of
/// `preflight checks`.
@Suite struct CheckExamples {
    @Test(arguments: CheckExampleCase.all)
    func example(_ c: CheckExampleCase) async throws {
        let ran = try await ExampleRunner.run(c.check, in: c.example.given)
        for p in ExampleRunner.problems(ran.outcome, expected: c.example) { Issue.record("\(c.testDescription): \(p)") }
    }

    /// What a check reads over all its examples is what it declares (`settings`, `borrowed`, `facts`): the keys
    /// `preflight checks` prints are true.
    @Test(arguments: BuiltInCase.all)
    func readsWhatItDeclares(_ c: BuiltInCase) async throws {
        var reads: [ConfigReads.Read] = []
        for e in c.check.description.examples {
            reads += try await ExampleRunner.run(c.check, in: e.given).reads
        }
        for p in ExampleRunner.undeclared(c.check, reads: reads) { Issue.record("\(c.testDescription): \(p)") }
    }

    /// Pass, warn and fail each have an example, and skipped too when a config without the check's keys skips it.
    @Test(arguments: BuiltInCase.all)
    func everyStatusHasAnExample(_ c: BuiltInCase) async throws {
        var statuses: Set<Status> = [.pass, .warn, .fail]
        let empty = try await ExampleRunner.run(c.check, in: World(config: "")).outcome
        if empty.status == .skipped { statuses.insert(.skipped) }
        let given = Set(c.check.description.examples.map(\.status))
        #expect(statuses.subtracting(given).isEmpty, "\(c.testDescription) has no example for \(statuses.subtracting(given).map(\.rawValue).sorted())")
    }
}

/// The test above can fail: a phrase the check does not say, and a check reading a key it does not declare.
@Suite struct CheckExamplesCanFail {
    /// Declares nothing, reads the health check's section and the target.
    struct ReadsUndeclared: BuiltInCheck {
        static let description = CheckDescription(id: "reads-undeclared", title: "Test only", layer: .service, examples: [
            CheckExample(.pass, given: World(config: "target: http://127.0.0.1:3001\nhealth:\n  path: /up\n"), says: "/up"),
        ])
        static let settings: [any ConfigSection.Type] = []
        static let facts: [any Fact.Type] = []
        init(probes: Probes) {}
        func run(_ context: CheckContext) async throws -> CheckOutcome {
            .pass("\(context.config.target?.hostPort ?? "-") \(context.config.section(HealthSettings.self).path)")
        }
    }

    @Test func anUndeclaredReadIsCaught() async throws {
        let ran = try await ExampleRunner.run(ReadsUndeclared.self, in: ReadsUndeclared.description.examples[0].given)
        #expect(ExampleRunner.problems(ran.outcome, expected: ReadsUndeclared.description.examples[0]).isEmpty)
        let problems = ExampleRunner.undeclared(ReadsUndeclared.self, reads: ran.reads)
        #expect(problems == ["reads undeclared [\"health.ca\", \"health.path\", \"target\"]"])
    }

    @Test func aDeclaredButUnreadFactIsCaught() {
        struct DeclaresTarget: BuiltInCheck {
            static let description = CheckDescription(id: "declares-target", title: "Test only", layer: .service, examples: [])
            static let settings: [any ConfigSection.Type] = []
            static let facts: [any Fact.Type] = [TargetURL.self]
            init(probes: Probes) {}
            func run(_ context: CheckContext) async throws -> CheckOutcome { .pass("nothing read") }
        }
        #expect(ExampleRunner.undeclared(DeclaresTarget.self, reads: []) == ["declares unread [\"target\"]", "facts read [], declared [\"target\"]"])
    }

    @Test func aPhraseTheCheckDoesNotSayIsCaught() async throws {
        let example = PortCheck.description.examples.first { $0.status == .fail }!
        let ran = try await ExampleRunner.run(PortCheck.self, in: example.given)
        #expect(ExampleRunner.problems(ran.outcome, expected: example).isEmpty)
        let changed = CheckExample(example.status, given: example.given, says: example.says + " (changed)")
        #expect(ExampleRunner.problems(ran.outcome, expected: changed).count == 1)
        let wrongStatus = CheckExample(.pass, given: example.given, says: example.says)
        #expect(ExampleRunner.problems(ran.outcome, expected: wrongStatus) == ["status fail, expected pass"])
    }
}
