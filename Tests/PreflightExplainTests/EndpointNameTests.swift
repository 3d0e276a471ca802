import Foundation
import Testing
@testable import PreflightExplain

/// The reader redacts each endpoint's name once and remembers up to 1,000 of them by the tag's bytes; names past
/// that are redacted every time they come. Both paths must count alike and never let a URL's password through.
@Suite struct EndpointNameTests {
    @Test func repeatedAndLateEndpointsCountAlikeAndStayRedacted() throws {
        let metric = #"{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}"#
        func point(_ url: String) -> String {
            #"{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-22T16:32:31.195416397Z","value":1,"tags":{"expected_response":"false","method":"GET","name":"\#(url)","status":"500","url":"\#(url)"}}}"#
        }
        var lines = [metric]
        let base = "http://bob:hunter2@api.test"
        for i in 0..<1_500 {
            lines.append(point("\(base)/item/\(i)"))
            if i % 75 == 0 { lines.append(point("\(base)/hot")) }          // 20 times, cached from the start
            if i >= 1_200 && i % 60 == 0 { lines.append(point("\(base)/late")) }  // 5 times, after the cache is full
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-endpoints-\(getpid()).out.json").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let e = try Explainer.explain(path: path)
        let json = ExplanationRenderer.json(e)
        #expect(!json.contains("hunter2"))
        let errors = try #require(e.diagnosis.first { $0.signature == .serverErrors })
        let endpoints = errors.evidence.entries.filter { $0.key.hasPrefix("endpoint ") }
        #expect(errors.evidence["failed_requests"] == .int(1_525))
        #expect(endpoints.first?.key.hasSuffix("/hot") == true, "\(endpoints)")
        #expect(endpoints.first?.value == .string("20 of 20 (100%)"))
        #expect(endpoints.dropFirst().first?.key.hasSuffix("/late") == true, "\(endpoints)")
        #expect(endpoints.dropFirst().first?.value == .string("5 of 5 (100%)"))
    }
}
