/// A place in one of the user's files that a finding is about (SARIF's physicalLocation, a GitHub annotation).
public struct SourceLocation: Sendable, Equatable {
    public var file: String
    public var line: Int?
    public init(file: String, line: Int? = nil) {
        self.file = file
        self.line = line
    }
}

/// A share of requests (0...1), as a range: what a finding is predicted to cost the run.
public struct ShareRange: Sendable, Equatable {
    public var low: Double
    public var high: Double
    public init(low: Double, high: Double) {
        self.low = min(low, high)
        self.high = max(low, high)
    }
    public static func exactly(_ v: Double) -> ShareRange { ShareRange(low: v, high: v) }
}

/// Iterations an arrival-rate executor will not start for want of a free VU (k6's `dropped_iterations`, a counter):
/// in all, and per second of the run (the counter's `rate`), each as a range.
public struct IterationDrops: Sendable, Equatable {
    public var count: ClosedRange<Double>
    public var perSecond: ClosedRange<Double>
    public init(count: ClosedRange<Double>, perSecond: ClosedRange<Double>) {
        self.count = count
        self.perSecond = perSecond
    }
}

/// What a finding will do to the k6 run (issue 29): which of the script's requests it hits, from when,
/// how k6 will see it, and roughly what share, with its basis in one clause. `share == nil` is "unknown share".
public struct Effect: Sendable, Equatable {
    /// The script's requests it hits, by name tag or "METHOD url-template"; empty = every request.
    public var requests: [String]
    public var share: ShareRange?
    /// "start", a number of seconds into the run, or "peak".
    public var from: String
    /// How k6 reports it: a status ("500") or an error code and text ("1212 connection refused").
    public var k6: String
    /// The model behind the share, one clause.
    public var basis: String
    /// Iterations k6 will drop (issue 31). A dropped iteration sends no request, so an effect with drops and no
    /// share predicts nothing about `http_req_failed` (it is not an unknown share of failed requests).
    public var droppedIterations: IterationDrops?
    /// Every request's latency grows (a CPU-bound generator queues its own requests): with no share, it predicts
    /// nothing about `http_req_failed`, and `http_req_duration` thresholds become undecided.
    public var addsLatency: Bool
    /// Iterations that never start because the scenario ends first (maxDuration): no request of theirs fails.
    public var cutsIterations: Bool
    /// The calls it fails are gRPC calls (issue 33): k6 counts none in `http_req_failed`, so `share` is the share of
    /// the `checks` metric's samples that fail (the conditions on gRPC answers), and no HTTP request fails.
    public var grpc: Bool

    public init(requests: [String] = [], share: ShareRange?, from: String = "start", k6: String, basis: String,
                droppedIterations: IterationDrops? = nil, addsLatency: Bool = false, cutsIterations: Bool = false,
                grpc: Bool = false) {
        self.grpc = grpc
        self.addsLatency = addsLatency
        self.cutsIterations = cutsIterations
        self.requests = requests
        self.share = share
        self.from = from
        self.k6 = k6
        self.basis = basis
        self.droppedIterations = droppedIterations
    }

    /// True for an effect that only drops iterations or slows requests: it fails no request.
    public var failsNoRequest: Bool { share == nil && (droppedIterations != nil || addsLatency || cutsIterations) }
}

/// One thing a check found: data until a reporter renders it (flutter doctor's ValidationMessage).
public struct Finding: Sendable, Equatable {
    /// pass (information), warn or fail; skipped and crash are a check's, not a finding's.
    public var severity: Status
    /// One line, no trailing period, evidence in numbers.
    public var sentence: String
    public var fix: String?
    public var evidence: Evidence
    public var location: SourceLocation?
    public var effect: Effect?

    public init(_ severity: Status, _ sentence: String, fix: String? = nil, evidence: Evidence = Evidence(),
                location: SourceLocation? = nil, effect: Effect? = nil) {
        self.severity = severity
        self.sentence = sentence
        self.fix = fix
        self.evidence = evidence
        self.location = location
        self.effect = effect
    }
}

extension CheckOutcome {
    /// The same outcome with its headline finding's predicted effect on the run.
    public func effect(_ e: Effect?) -> CheckOutcome {
        var o = self
        if !o.findings.isEmpty { o.findings[0].effect = e }
        return o
    }
}
