import Foundation
import Testing
@testable import PreflightExplain

/// `--out csv` (what `preflight exec` asks k6 for since issue 36) must tell explain what `--out json` tells it:
/// the same requests written both ways give the same explanation, byte for byte but for the source line.
@Suite struct OutCSVTests {
    /// One sample: metric, microseconds after 16:32:00 UTC on 2026-11-22, value, tags.
    struct Sample {
        var metric: String, micros: Int, value: Double, tags: [String: String]
    }

    static let start = 1_795_451_520  // 2026-11-22T16:32:00Z
    static let columns = ["check", "error", "error_code", "expected_response", "group", "method", "name", "proto",
                          "scenario", "service", "status", "subproto", "tls_version", "url"]

    /// A run: requests to /ok succeed, then /gone is refused from +2 s, then /busy answers 503; with the dozen
    /// other metrics k6 writes for each request, a check and the VU gauge.
    static func run() -> [Sample] {
        var out: [Sample] = []
        for i in 0..<400 {
            let t = i * 10_000
            var tags = ["method": "GET", "proto": "HTTP/1.1", "scenario": "default", "group": ""]
            switch i % 4 {
            case 0 where t >= 2_000_000:
                tags["name"] = #"dead "svc", x"#
                tags["url"] = "http://bob:hunter2@127.0.0.1:1/gone"
                tags["status"] = "0"; tags["error_code"] = "1212"; tags["error"] = "dial: connection refused"
                tags["expected_response"] = "false"
            case 1 where t >= 3_000_000:
                tags["name"] = "http://127.0.0.1:8080/busy"; tags["url"] = tags["name"]
                tags["status"] = "503"; tags["error_code"] = "1503"; tags["expected_response"] = "false"
            default:
                tags["name"] = "http://127.0.0.1:8080/ok"; tags["url"] = tags["name"]
                tags["status"] = "200"; tags["expected_response"] = "true"
            }
            out.append(Sample(metric: "http_reqs", micros: t, value: 1, tags: tags))
            for m in ["http_req_duration", "http_req_blocked", "http_req_waiting", "http_req_failed"] {
                out.append(Sample(metric: m, micros: t, value: m == "http_req_failed" ? (tags["expected_response"] == "false" ? 1 : 0) : 1.5, tags: tags))
            }
            out.append(Sample(metric: "checks", micros: t, value: tags["status"] == "200" ? 1 : 0,
                              tags: ["check": "status 200", "scenario": "default", "group": ""]))
            out.append(Sample(metric: "data_received", micros: t, value: 120, tags: ["scenario": "default", "group": ""]))
            out.append(Sample(metric: "iterations", micros: t, value: 1, tags: ["scenario": "default", "group": ""]))
            if i % 100 == 0 { out.append(Sample(metric: "vus", micros: t, value: 4, tags: [:])) }
        }
        return out
    }

    static func json(_ samples: [Sample]) -> String {
        samples.map { s in
            let whole = s.micros / 1_000_000, frac = s.micros % 1_000_000
            let time = String(format: "2026-11-22T16:32:%02d.%06dZ", whole, frac)
            let tags = s.tags.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
                .map { #""\#($0.key)":"\#($0.value.replacingOccurrences(of: "\"", with: "\\\""))""# }.joined(separator: ",")
            return #"{"metric":"\#(s.metric)","type":"Point","data":{"time":"\#(time)","value":\#(s.value),"tags":{\#(tags)}}}"#
        }.joined(separator: "\n") + "\n"
    }

    /// As k6 1.1's CSV output writes it (Go's encoding/csv quoting), the time in unix microseconds.
    static func csv(_ samples: [Sample]) -> String {
        func field(_ v: String) -> String {
            v.contains(",") || v.contains("\"") ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
        }
        let header = (["metric_name", "timestamp", "metric_value"] + columns + ["extra_tags", "metadata"]).joined(separator: ",")
        return ([header] + samples.map { s in
            ([s.metric, String(start * 1_000_000 + s.micros), String(format: "%.6f", s.value)]
                + columns.map { field(s.tags[$0] ?? "") } + ["", ""]).joined(separator: ",")
        }).joined(separator: "\n") + "\n"
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-csv-\(getpid())-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The explanation as JSON without its source line (which names the file and its kind).
    func comparable(_ e: Explanation) -> String {
        var e = e
        e.source = ""
        return ExplanationRenderer.json(e)
    }

    @Test func csvAndJSONOfTheSameRunExplainAlike() throws {
        let samples = Self.run()
        let jsonPath = try write(Self.json(samples), "run.out.json")
        let csvPath = try write(Self.csv(samples), "run.csv")
        defer { for p in [jsonPath, csvPath] { try? FileManager.default.removeItem(atPath: p) } }

        #expect(try Explainer.detect(path: csvPath) == .outCSV)
        let fromJSON = try Explainer.explain(path: jsonPath)
        let fromCSV = try Explainer.explain(path: csvPath)
        #expect(fromCSV.warnings.isEmpty, "\(fromCSV.warnings)")
        #expect(fromCSV.source.contains("--out csv"))
        #expect(fromCSV.source.hasSuffix("400 requests, 75 failed"), "\(fromCSV.source)")
        #expect(comparable(fromCSV) == comparable(fromJSON))

        // What explain must still name: the kind, its onset and the endpoint (quoted, with a comma and quotes).
        let refused = try #require(fromCSV.first(.connectionRefused))
        #expect(refused.evidence["first_failure_s"] == .double(2.0), "\(refused.evidence)")
        #expect(refused.evidence.entries.contains { $0.key == #"endpoint dead "svc", x"# }, "\(refused.evidence)")
        let errors = try #require(fromCSV.first(.serverErrors))
        #expect(errors.evidence.entries.contains { $0.key == "endpoint http://127.0.0.1:8080/busy" }, "\(errors.evidence)")
        #expect(!ExplanationRenderer.json(fromCSV).contains("hunter2"))
    }

    @Test func fewerSystemTagsAndCRLFLinesReadAlike() throws {
        // k6 --system-tags status,error_code,name: fewer columns, found by the header's names.
        let kept = ["error_code", "name", "status"]
        let samples = Self.run().map { s in Sample(metric: s.metric, micros: s.micros, value: s.value, tags: s.tags.filter { kept.contains($0.key) }) }
        let header = "metric_name,timestamp,metric_value,error_code,name,status,extra_tags,metadata"
        let lines = samples.map { s in
            let name = s.tags["name"].map { $0.contains(",") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 } ?? ""
            return "\(s.metric),\(Self.start * 1_000 + s.micros / 1_000),\(s.value),\(s.tags["error_code"] ?? ""),\(name),\(s.tags["status"] ?? ""),,"
        }
        let path = try write(([header] + lines).joined(separator: "\r\n") + "\r\n", "fewer.csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let e = try Explainer.explain(path: path)
        #expect(e.warnings.isEmpty, "\(e.warnings)")
        #expect(e.source.hasSuffix("400 requests, 75 failed"), "\(e.source)")
        let refused = try #require(e.first(.connectionRefused))
        #expect(refused.evidence["first_failure_s"] == .double(2.0), "\(refused.evidence)")
    }

    @Test func garbageAndTruncatedLinesAreCountedNotFatal() throws {
        var text = Self.csv(Array(Self.run().prefix(50)))
        text += "not,a,k6,row\n" + "http_reqs,1795451521000000,1.000000,\"unclosed\n"
        let path = try write(text, "garbage.csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let e = try Explainer.explain(path: path)
        #expect(e.warnings.contains { $0.contains("2 of") && $0.contains("are not k6 records") }, "\(e.warnings)")
    }

    @Test func aHeaderAloneIsNothingParsed() throws {
        let path = try write("metric_name,timestamp,metric_value,status\n", "empty.csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ExplainError.self) { try Explainer.explain(path: path) }
    }

    @Test func theSummaryGivesACSVFileItsThresholds() throws {
        let path = try write(Self.csv(Self.run()), "thresholds.csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Explainer.explain(path: path).facts?.thresholds.isEmpty == true)
        let summary = Fixture.path("refused.summary-export.json")
        let e = try Explainer.explain(path: path, samples: nil, summary: summary)
        #expect(e.facts?.thresholds.isEmpty == false)
        #expect(e.facts?.thresholds == (try Explainer.explain(path: summary)).facts?.thresholds)
        // A summary that is not one: one clear error.
        #expect(throws: ExplainError.self) { try Explainer.explain(path: path, samples: nil, summary: path) }
    }
}
