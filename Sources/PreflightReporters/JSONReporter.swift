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
                "findings": .array(r.outcome.findings.map(Self.json)),
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
        if let p = report.prediction { root["prediction"] = PredictionRendering.json(p) }
        if let runner { root["runner"] = Self.json(runner) }
        if let target { root["target"] = .string(redactURL(target)) }
        if let runners { root["runners"] = .array(runners.map(Self.json)) }
        return Self.serialise(.object(root)) + "\n"
    }

    /// One finding: `{severity, sentence, fix, evidence, location: {file, line} | null, effect: … | null}`.
    public static func json(_ f: Finding) -> JSONValue {
        .object(Evidence([
            "severity": .string(f.severity.rawValue), "sentence": .string(f.sentence),
            "fix": f.fix.map { .string($0) } ?? .null, "evidence": .object(f.evidence),
            "location": f.location.map { l in
                .object(Evidence(["file": .string(l.file), "line": l.line.map { .int($0) } ?? .null]))
            } ?? .null,
            "effect": f.effect.map(json) ?? .null,
        ]))
    }

    /// What a finding will do to the run (issue 29): `{requests, share: {low, high} | null, from, k6, basis}`, and
    /// `droppedIterations: {count: {low, high}, perSecond: {low, high}}` when it drops iterations (issue 31).
    public static func json(_ e: Effect) -> JSONValue {
        var o = Evidence([
            "requests": .array(e.requests.map { .string($0) }),
            "share": e.share.map { .object(Evidence(["low": .double($0.low), "high": .double($0.high)])) } ?? .null,
            "from": .string(e.from), "k6": .string(e.k6), "basis": .string(e.basis),
        ])
        if e.addsLatency { o["addsLatency"] = .bool(true) }
        if e.cutsIterations { o["cutsIterations"] = .bool(true) }
        if e.grpc { o["grpc"] = .bool(true) }
        if let d = e.droppedIterations {
            func range(_ r: ClosedRange<Double>) -> JSONValue {
                .object(Evidence(["low": .double((r.lowerBound * 100).rounded() / 100), "high": .double((r.upperBound * 100).rounded() / 100)]))
            }
            o["droppedIterations"] = .object(Evidence(["count": range(d.count), "perSecond": range(d.perSecond)]))
        }
        return .object(o)
    }

    /// Keys sorted, no insignificant whitespace: byte-stable for golden files and diffs (`JSONValue.serialised`).
    public static func serialise(_ value: JSONValue) -> String { value.serialised }

    static func quote(_ s: String) -> String { JSONValue.quoted(s) }
}
