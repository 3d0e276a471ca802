import Foundation
import PreflightCore

/// The kind of k6 output a file holds, told by its content, never by its name.
public enum K6OutputKind: String, Sendable {
    case summaryExport = "--summary-export"
    case handleSummary = "handleSummary data"
    case outJSON = "--out json"
    case outCSV = "--out csv"
}

/// Reads one k6 output file and explains the run.
public enum Explainer {
    static let maxSummaryBytes = 256 << 20

    public static func explain(path: String) throws(ExplainError) -> Explanation {
        try explain(path: path, samples: nil)
    }

    /// With the watcher's samples (`preflight exec`), each signature's onset is tied to what the stack showed then.
    /// `summary`: the run's `--summary-export` (or handleSummary JSON), whose thresholds a `--out csv` file lacks.
    public static func explain(path: String, samples samplesPath: String?, summary: String? = nil) throws(ExplainError) -> Explanation {
        var samples: WatchSamples?
        var sampleWarnings: [String] = []
        if let samplesPath { (samples, sampleWarnings) = try WatchSamples.read(path: samplesPath) }
        var e = try explainFile(path: path, summary: summary)
        e.warnings += sampleWarnings
        if let samples { e.attach(samples) }
        return e
    }

    static func explainFile(path: String, summary: String? = nil) throws(ExplainError) -> Explanation {
        let kind = try detect(path: path)
        var facts: RunFacts
        var warnings: [String] = []
        switch kind {
        case .outJSON, .outCSV:
            let result = kind == .outJSON ? try OutJSONReader.read(ChunkedInput(path: path), displayPath: path)
                                          : try OutCSVReader.read(ChunkedInput(path: path), displayPath: path)
            facts = result.facts
            warnings = result.warnings
        case .summaryExport, .handleSummary:
            facts = try summaryFacts(path: path, kind: kind)
        }
        // A CSV file holds no thresholds: the summary's, as k6 judged them.
        if let summary, facts.thresholds.isEmpty {
            let other = try detect(path: summary)
            guard other == .summaryExport || other == .handleSummary else {
                throw .notK6(summary, "not a --summary-export or handleSummary file (it holds \(other.rawValue))")
            }
            facts.thresholds = try summaryFacts(path: summary, kind: other).thresholds
        }
        return explanation(facts, warnings: warnings, path: path)
    }

    private static func summaryFacts(path: String, kind: K6OutputKind) throws(ExplainError) -> RunFacts {
        SummaryReader.read(try wholeJSON(path: path), as: kind == .summaryExport ? .summaryExport : .handleSummary)
    }

    static func explanation(_ facts: RunFacts, warnings: [String] = [], path: String = "") -> Explanation {
        let diagnosis = Diagnoser.diagnose(facts)
        var e = Explanation(verdict: diagnosis.isEmpty ? .pass : .fail, diagnosis: diagnosis)
        e.facts = facts
        e.warnings = warnings
        e.source = "\(path) (\(facts.source.rawValue)): \(formatCount(facts.requests)) requests, \(formatCount(facts.failedRequests)) failed"
        if facts.grpcCalls > 0 {
            e.source += "; \(formatCount(facts.grpcCalls)) gRPC calls, \(formatCount(facts.grpcFailures.reduce(0) { $0 + $1.count })) failed"
        }
        return e
    }

    /// Tells the kind from the first bytes (inflated when gzipped) and, for a summary, the whole JSON.
    public static func detect(path: String) throws(ExplainError) -> K6OutputKind {
        let input = try ChunkedInput(path: path)
        var head = [UInt8](repeating: 0, count: 64 << 10)
        var n = 0
        while n < head.count {
            let got = try head.withUnsafeMutableBufferPointer { b throws(ExplainError) in
                try input.read(into: UnsafeMutableBufferPointer(rebasing: b[n...]))
            }
            if got == 0 { break }
            n += got
        }
        head.removeSubrange(n...)
        guard n > 0 else { throw .empty(path) }
        if let what = binaryKind(head) { throw .binary(path, what) }

        var start = 0
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < head.count, [0x20, 0x09, 0x0A, 0x0D].contains(head[start]) { start += 1 }
        guard start < head.count else { throw .empty(path) }
        if head[start...].starts(with: Array("metric_name,timestamp,metric_value".utf8)) { return .outCSV }
        guard head[start] == 0x7B else {
            throw .notK6(path, "it does not start with a JSON object")
        }
        // --out json: one of the first complete lines is a Metric or Point record
        var record = K6Record()
        var lineStart = start, checked = 0
        let isRecord: Bool = head.withUnsafeBufferPointer { b in
            while checked < 10, let nl = b[lineStart...].firstIndex(of: 0x0A) {
                if K6RecordScanner.scan(UnsafeBufferPointer(rebasing: b[lineStart..<nl]), into: &record), record.kind != .other { return true }
                lineStart = nl + 1
                checked += 1
            }
            // a file of one record without a final newline
            if lineStart < b.count, n < 64 << 10,
               K6RecordScanner.scan(UnsafeBufferPointer(rebasing: b[lineStart...]), into: &record), record.kind != .other { return true }
            return false
        }
        if isRecord { return .outJSON }
        let object = try wholeJSON(path: path)
        switch SummaryReader.kind(of: object) {
        case .summaryExport: return .summaryExport
        case .handleSummary: return .handleSummary
        default: throw .notK6(path, "a JSON object without k6 metrics (keys: \(object.keys.sorted().prefix(5).joined(separator: ", ")))")
        }
    }

    private static func binaryKind(_ head: [UInt8]) -> String? {
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "binary data (a PNG image)" }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "binary data (a zip archive)" }
        let sample = head.prefix(4096)
        let control = sample.filter { $0 < 0x09 || ($0 > 0x0D && $0 < 0x20) }.count
        if control > 0 { return "binary data (\(formatCount(control)) control bytes in the first \(formatCount(sample.count)))" }
        return nil
    }

    private static func wholeJSON(path: String) throws(ExplainError) -> [String: Any] {
        let input = try ChunkedInput(path: path)
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = try chunk.withUnsafeMutableBufferPointer { b throws(ExplainError) in try input.read(into: b) }
            if got == 0 { break }
            data.append(contentsOf: chunk[0..<got])
            guard data.count <= maxSummaryBytes else {
                throw .notK6(path, "not --out json lines, and too large (over 256 MiB) for a summary")
            }
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw .notK6(path, "neither --out json lines nor one JSON document (\(jsonErrorLine(error)))")
        }
        guard let object = parsed as? [String: Any] else { throw .notK6(path, "a JSON value that is not an object") }
        return object
    }

    private static func jsonErrorLine(_ error: Error) -> String {
        let ns = error as NSError
        let text = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
        return text.split(separator: "\n").first.map(String.init) ?? "invalid JSON"
    }
}
