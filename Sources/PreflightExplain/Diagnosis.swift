import PreflightCore

/// A failure signature that `explain` can name: a group of Core's `FailureKind`s that share a next step.
public enum Signature: String, Sendable, Codable, CaseIterable {
    case invalidURL = "invalid-url"
    case generatorLimit = "generator-limit"
    case connectionRefused = "connection-refused"
    case dialTimeout = "dial-timeout"
    case requestTimeout = "request-timeout"
    case dns
    case blocked
    case connectionReset = "connection-reset"
    case tls
    case notHTTP = "not-http"
    case http2
    case networkErrors = "network-errors"
    case rateLimited = "rate-limited"
    case serverErrors = "server-errors"
    case clientErrors = "client-errors"
    case otherErrors = "other-errors"
    /// gRPC calls that ended with a status other than OK (k6 counts them in checks only).
    case grpcErrors = "grpc-errors"
    case uncheckedFailures = "unchecked-failures"
    case droppedIterations = "dropped-iterations"
    case thresholds

    /// Order among signatures of equal share: causes before their symptoms.
    var rank: Int { Signature.allCases.firstIndex(of: self)! }

    /// The signature a failed request's kind belongs to: every kind has one, so no failure goes unnamed.
    public init(_ kind: FailureKind) {
        switch kind {
        case .invalidURL, .unsupportedScheme: self = .invalidURL
        case .fileDescriptorLimit, .ephemeralPorts: self = .generatorLimit
        case .connectionRefused: self = .connectionRefused
        case .dialTimeout: self = .dialTimeout
        case .requestTimeout: self = .requestTimeout
        case .dns, .noSuchHost: self = .dns
        case .blacklistedIP, .blockedHostname: self = .blocked
        case .connectionReset, .brokenPipe: self = .connectionReset
        case .tls, .tlsRecordHeader, .unknownAuthority, .hostnameMismatch, .certificateInvalid: self = .tls
        case .notHTTP: self = .notHTTP
        case .http2, .http2GoAway, .http2Stream, .http2Connection: self = .http2
        case .nonTCPNetwork, .tcp, .tcpErrno, .dial, .dialErrno: self = .networkErrors
        case .rateLimited: self = .rateLimited
        case .serverError: self = .serverErrors
        case .clientError, .authRejected: self = .clientErrors
        default: self = .otherErrors
        }
    }
}

/// How an evidence value reads in the text view: counts with thousands separators.
func evidenceText(_ v: JSONValue) -> String {
    switch v {
    case .int(let n): return formatCount(n)
    case .double(let d): return formatNumber(d)
    default: return v.display
    }
}

/// One named failure signature with its share of failed requests, evidence and next step.
public struct Diagnosis: Sendable, Equatable, Encodable {
    public var signature: Signature
    /// Share of failed requests (0–1; of gRPC calls for grpc-errors); 0 for run-level signatures (dropped iterations, thresholds).
    public var share: Double
    public var summary: String
    public var evidence: Evidence
    public var fix: String
}

/// The verdict on one k6 run: pass only when thresholds held and no signature was found.
public struct Explanation: Sendable, Encodable {
    public enum Verdict: String, Sendable, Encodable { case pass, fail }

    public var schema = 1
    public var verdict: Verdict
    public var diagnosis: [Diagnosis]
    /// Problems met while reading (garbage lines, a truncated last line): for stderr, not for the JSON.
    public var warnings: [String] = []
    /// What was read, for the text view's first line.
    public var source: String = ""
    /// The run second by second (`--out json` only) and the watcher's samples, for the HTML timeline.
    public var timeline: Timeline? { facts?.timeline }
    public internal(set) var samples: WatchSamples?
    var facts: RunFacts?
    /// What a preflight report predicted beside what happened (`explain --preflight`, `exec`); nil without one.
    public internal(set) var comparison: PredictionComparison?

    /// Puts a preflight report's prediction beside the run. A report that predicts nothing (written before
    /// predictions) changes nothing but a warning: the explanation stays as it was.
    public mutating func compare(with prediction: Prediction, report: String) {
        guard !prediction.isEmpty else {
            warnings.append("\(report) has no prediction (a report from before preflight predicted runs): nothing to compare")
            return
        }
        guard let facts else { return }
        comparison = PredictionComparison(prediction, facts: facts)
    }

    /// Adds the watcher's samples: each signature's onset gets what the stack showed at that moment.
    public mutating func attach(_ samples: WatchSamples) {
        self.samples = samples
        guard let facts else { return }
        SampleCorrelation.annotate(&diagnosis, samples: samples, facts: facts)
    }

    /// Where the samples sit on the timeline's clock (seconds from k6's first request).
    public var sampleOffsets: [Double] {
        guard let samples else { return [] }
        return SampleCorrelation.aligned(samples, startUnix: facts?.startUnix).map(\.at)
    }

    private enum CodingKeys: String, CodingKey { case schema, verdict, diagnosis }

    public var exitCode: Int32 { verdict == .pass ? 0 : 1 }
}
