/// A failure signature that `explain` can name.
public enum Signature: String, Sendable, Codable, CaseIterable {
    case connectionRefused = "connection-refused"
    case dialTimeout = "dial-timeout"
    case requestTimeout = "request-timeout"
    case dns
    case connectionReset = "connection-reset"
    case tls
    case rateLimited = "rate-limited"
    case serverErrors = "server-errors"
    case clientErrors = "client-errors"
    case uncheckedFailures = "unchecked-failures"
    case droppedIterations = "dropped-iterations"
    case thresholds

    /// Order among signatures of equal share: causes before their symptoms.
    var rank: Int { Signature.allCases.firstIndex(of: self)! }
}

/// One piece of evidence: a number or a string.
public enum EvidenceValue: Sendable, Equatable, Encodable {
    case int(Int)
    case double(Double)
    case string(String)

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        }
    }

    var text: String {
        switch self {
        case .int(let v): return formatCount(v)
        case .double(let v): return formatNumber(v)
        case .string(let v): return v
        }
    }
}

/// Evidence in the order it was gathered; encoded as a JSON object.
public struct Evidence: Sendable, Equatable, Encodable {
    public private(set) var entries: [(key: String, value: EvidenceValue)] = []

    public init() {}

    public subscript(key: String) -> EvidenceValue? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public static func == (a: Evidence, b: Evidence) -> Bool {
        a.entries.map(\.key) == b.entries.map(\.key) && a.entries.map(\.value) == b.entries.map(\.value)
    }

    private struct Key: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (k, v) in entries { try c.encode(v, forKey: Key(stringValue: k)) }
    }
}

/// One named failure signature with its share of failed requests, evidence and next step.
public struct Diagnosis: Sendable, Equatable, Encodable {
    public var signature: Signature
    /// Share of failed requests (0–1); 0 for run-level signatures (dropped iterations, thresholds).
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

    private enum CodingKeys: String, CodingKey { case schema, verdict, diagnosis }

    public var exitCode: Int32 { verdict == .pass ? 0 : 1 }
}
