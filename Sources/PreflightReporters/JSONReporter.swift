import Foundation
import Foundation
import PreflightCore

/// `--format json`: the stable shape other tools parse (schema 1, documented in the README).
public struct JSONReporter {
    /// Where the run ran (`runner`); a merged report names every runner instead (`runners`).
    public var runner: Runner?
    public var runners: [Runner]?
    /// The config's target, redacted (`target`): `preflight merge` refuses reports of different targets.
    public var target: String?

    public init(runner: Runner? = nil, runners: [Runner]? = nil, target: String? = nil) {
        self.runner = runner
        self.runners = runners
        self.target = target
    }

    public static func json(_ runner: Runner) -> JSONValue {
        .object(Evidence(["hostname": .string(runner.hostname), "addresses": .array(runner.addresses.map { .string($0) })]))
    }

    public func render(_ report: Report) -> String {
        let checks: [JSONValue] = report.results.map { r in
            var evidence = r.outcome.evidence
            if let cause = r.consequenceOf { evidence["explainedBy"] = .string(cause) }
            return .object(Evidence([
                "id": .string(r.id), "title": .string(r.title), "status": .string(r.status.rawValue),
                "layer": .string(r.layer.name),
                "summary": .string(r.outcome.summary), "blockedBy": .array(r.blockedBy.map { .string($0) }),
                "evidence": .object(evidence), "fix": r.outcome.fix.map { .string($0) } ?? .null,
            ]))
        }
        var root = Evidence([
            "schema": 1, "verdict": .string(report.verdict.rawValue),
            "durationMs": .int(Int(report.duration.milliseconds.rounded())),
            "rootCauses": .array(report.rootCauses.map { .string($0) }),
            "crashes": .array(report.crashes.map { .string($0) }),
            "exitCode": .int(Int(report.exitCode)),
            "checks": .array(checks),
        ])
        if let runner { root["runner"] = Self.json(runner) }
        if let target { root["target"] = .string(redactURL(target)) }
        if let runners { root["runners"] = .array(runners.map(Self.json)) }
        return Self.serialise(.object(root)) + "\n"
    }

    /// Keys sorted, no insignificant whitespace: byte-stable for golden files and diffs (`JSONValue.serialised`).
    public static func serialise(_ value: JSONValue) -> String { value.serialised }

    static func quote(_ s: String) -> String { JSONValue.quoted(s) }
}
