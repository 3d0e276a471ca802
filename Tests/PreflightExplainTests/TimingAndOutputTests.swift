import Foundation
import Testing
@testable import PreflightExplain

@Suite struct TimingAndOutputTests {
    /// Hand-made `--out json` lines: failures only in the first 2 s of a 20 s run.
    @Test func thunderingHerdAtStart() throws {
        var lines = [#"{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}"#]
        for s in 0..<20 {
            let failed = s < 2
            let tags = failed
                ? #""error":"dial: i/o timeout","error_code":"1211","expected_response":"false","name":"login","status":"0","url":"http://127.0.0.1:9/login""#
                : #""expected_response":"true","name":"login","status":"200","url":"http://127.0.0.1:9/login""#
            lines.append(#"{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-22T16:27:"# + String(format: "%02d", s) + #".000Z","value":1,"tags":{"# + tags + "}}}")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("herd-\(UUID()).json")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let e = try Explainer.explain(path: url.path)
        let d = try #require(e.first(.dialTimeout))
        #expect(d.share == 1)
        #expect(d.summary == "2 of 20 requests (10%) timed out connecting to 127.0.0.1:9; all failures in the first 5 s of 19.0 s: a thundering herd at start")
        #expect(d.evidence["last_failure_s"] == .double(1))
    }

    /// Hand-made lines: a genuine DNS failure would need a lookup of a name that does not exist, which tests never do.
    @Test func dnsFailuresAreNamed() throws {
        var lines: [String] = []
        for s in 0..<10 {
            let tags = s % 2 == 0
                ? #""error":"lookup api.example.invalid: no such host","error_code":"1101","expected_response":"false","name":"send","status":"0","url":"http://api.example.invalid/send""#
                : #""expected_response":"true","name":"send","status":"200","url":"http://127.0.0.1:9/send""#
            lines.append(#"{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-22T16:27:"# + String(format: "%02d", s) + #".000Z","value":1,"tags":{"# + tags + "}}}")
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dns-\(UUID()).json")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let e = try Explainer.explain(path: url.path)
        let d = try #require(e.first(.dns))
        #expect(d.share == 1)
        #expect(d.summary.contains("5 of 10 requests"), "\(d.summary)")
    }

    @Test func dnsCodesMapToDNS() {
        #expect(Diagnoser.signature(forCode: 1100) == .dns)
        #expect(Diagnoser.signature(forCode: 1101) == .dns)
        #expect(Diagnoser.signature(forCode: 1211) == .dialTimeout)
        #expect(Diagnoser.signature(forCode: 1429) == .rateLimited)
        #expect(Diagnoser.signature(forCode: 1404) == .clientErrors)
        #expect(Diagnoser.signature(forCode: 1503) == .serverErrors)
        #expect(Diagnoser.signature(forCode: 1000) == .otherErrors)  // every code has a signature now
    }

    @Test func jsonShapeIsStable() throws {
        let e = try Fixture.explain("cursor.out.json")
        let json = ExplanationRenderer.json(e)
        #expect(json.hasPrefix(#"{"diagnosis":[{"evidence":{"#))
        #expect(json.hasSuffix(#""schema":1,"verdict":"fail"}"#))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(obj.keys) == ["schema", "verdict", "diagnosis"])
        let first = try #require((obj["diagnosis"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["signature", "share", "summary", "evidence", "fix"])
        #expect(first["signature"] as? String == "client-errors")
        #expect(ExplanationRenderer.json(try Fixture.explain("pass.out.json")) == #"{"diagnosis":[],"schema":1,"verdict":"pass"}"#)
    }

    @Test func textPutsTheVerdictFirst() throws {
        let text = ExplanationRenderer.text(try Fixture.explain("refused.out.json"), color: false)
        #expect(text.hasPrefix("FAIL: 2 signatures: connection-refused, thresholds\n"))
        #expect(text.contains("  fix: start the server before the run"))
        #expect(!text.contains("\u{1B}["))
    }
}
