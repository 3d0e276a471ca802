import Foundation
import Testing
import TestSupport

/// One genuine k6 run written both ways at once (`--out json` and `--out csv`, as exec now adds it): explain tells
/// the same story from either file, the failure kinds, their onsets and endpoints (issue 36).
@Suite(.serialized, .tags(.live), .runsLive) struct K6OutputAgreementTests {
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func csvAndJSONOfOneRunExplainAlike() async throws {
        let k6 = try #require(k6OnPath)
        let ok = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { ok.stop() }
        let busy = try await FixtureServer.start("json", ["503", #"{"error":"busy"}"#])
        defer { busy.stop() }
        let dir = try temporaryDirectory("pf-k6-outputs")
        defer { try? FileManager.default.removeItem(at: dir) }
        // From its 40th iteration each VU also asks a closed port (named, with a comma and quotes) and a 503 endpoint.
        let script = """
            import http from 'k6/http';
            export const options = { vus: 2, iterations: 120, thresholds: { http_req_failed: ['rate<0.01'] } };
            export default function () {
              http.get('\(ok.url)/health');
              if (__ITER >= 40) {
                http.get('http://127.0.0.1:\(closedLoopbackPort())/gone', { tags: { name: 'dead "svc", x' } });
                http.get('\(busy.url)/busy');
              }
            }
            """
        try script.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        let k6run = try await run(k6, ["run", "--no-usage-report", "-q", "--summary-export", "summary.json", "--out", "json=run.json",
                                       "--out", "csv=fileName=run.csv,timeFormat=unix_nano", "load.js"],
                                  currentDirectory: dir, limit: 60)
        #expect(k6run.status == 99, "\(k6run.stderr.suffix(1000))")
        func explained(_ args: [String]) async throws -> (object: NSDictionary, text: String) {
            let out = try await run(preflightBinary, ["explain"] + args + ["--format", "json"], currentDirectory: dir, limit: 60)
            #expect(out.status == 1, "\(out.stderr)")
            var object = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(out.stdout)")
            object["source"] = nil
            return (NSDictionary(dictionary: object), out.stdout)
        }
        let fromJSON = try await explained(["run.json"])
        let fromCSV = try await explained(["run.csv", "--summary", "summary.json"])
        #expect(fromCSV.object == fromJSON.object, "csv: \(fromCSV.text)\njson: \(fromJSON.text)")
        for phrase in ["connection-refused", "server-errors", #"endpoint dead \"svc\", x"#, "first_failure_s", "/busy", "http_req_failed"] {
            #expect(fromCSV.text.contains(phrase), "\(phrase): \(fromCSV.text)")
        }
    }
}
