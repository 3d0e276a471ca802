import Foundation
import PreflightCore

/// A low-high range of a predicted value: a share (0-1) for a rate, milliseconds for a duration.
public struct PredictedRange: Sendable, Equatable {
    public var low: Double
    public var high: Double
    public init(low: Double, high: Double) {
        self.low = min(low, high)
        self.high = max(low, high)
    }
}

/// What a preflight JSON report predicted for the k6 run (issue 29's contract): the top-level
/// `prediction` and each finding's `effect` under `checks[].findings[]`. A report written before predictions
/// has neither, and then nothing is compared.
public struct Prediction: Sendable, Equatable {
    /// `prediction.thresholds[]`: one threshold of the script and what preflight expected of it.
    public struct Threshold: Sendable, Equatable {
        public var metric: String
        public var expression: String
        public var predicted: PredictedRange?
        /// nil: preflight could not tell (a custom metric, say).
        public var crossed: Bool?
        /// The checks the prediction comes from.
        public var from: [String]
    }

    /// One finding's `effect`: how k6 will see it and on what share of the requests.
    public struct Effect: Sendable, Equatable {
        /// The check whose finding it is.
        public var check: String
        /// As the report says it ("1212 dial: connection refused", "429"), and its kind in Core's vocabulary.
        public var k6: String
        public var kind: FailureKind?
        public var requests: [String]
        public var share: PredictedRange?
        /// "start", seconds into the run, or "peak".
        public var from: String?
    }

    public var thresholds: [Threshold] = []
    public var httpReqFailed: PredictedRange?
    public var basis: String?
    public var effects: [Effect] = []

    /// True for a report that predicts nothing (one written before predictions).
    public var isEmpty: Bool { thresholds.isEmpty && httpReqFailed == nil && effects.isEmpty }

    public init(thresholds: [Threshold] = [], httpReqFailed: PredictedRange? = nil, basis: String? = nil, effects: [Effect] = []) {
        self.thresholds = thresholds
        self.httpReqFailed = httpReqFailed
        self.basis = basis
        self.effects = effects
    }

    /// Reads a preflight JSON report (`preflight --format json`, or `--report json=FILE`).
    public static func read(path: String) throws(ExplainError) -> Prediction {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path, error.localizedDescription)
        }
        return try Prediction(reportJSON: data, path: path)
    }

    /// Parses the report's JSON; throws when it is not a preflight report at all.
    public init(reportJSON data: Data, path: String = "the report") throws(ExplainError) {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .notReport(path, "not a JSON object")
        }
        guard let checks = root["checks"] as? [[String: Any]] else {
            throw .notReport(path, "no \"checks\" list: expected the JSON report of `preflight --format json`")
        }
        if let p = root["prediction"] as? [String: Any] {
            for t in p["thresholds"] as? [[String: Any]] ?? [] {
                guard let metric = t["metric"] as? String, let expression = t["expression"] as? String else { continue }
                thresholds.append(Threshold(metric: metric, expression: expression, predicted: Self.range(t["predicted"]),
                                            crossed: t["crossed"] as? Bool, from: t["from"] as? [String] ?? []))
            }
            httpReqFailed = Self.range(p["httpReqFailed"])
            basis = p["basis"] as? String
        }
        for c in checks {
            let id = c["id"] as? String ?? "?"
            for f in c["findings"] as? [[String: Any]] ?? [] {
                guard let e = f["effect"] as? [String: Any], let k6 = e["k6"] as? String else { continue }
                let from: String? = (e["from"] as? String) ?? (e["from"] as? NSNumber).map { formatNumber($0.doubleValue) }
                effects.append(Effect(check: id, k6: k6, kind: FailureKind.classify(k6: k6), requests: e["requests"] as? [String] ?? [],
                                      share: Self.range(e["share"]), from: from))
            }
        }
    }

    private static func range(_ v: Any?) -> PredictedRange? {
        guard let o = v as? [String: Any], let low = (o["low"] as? NSNumber)?.doubleValue,
              let high = (o["high"] as? NSNumber)?.doubleValue, low.isFinite, high.isFinite else { return nil }
        return PredictedRange(low: low, high: high)
    }
}
