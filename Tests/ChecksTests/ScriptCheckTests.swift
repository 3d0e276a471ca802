import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

func scriptConfig(_ script: String?, target: String? = "http://127.0.0.1:3001/api/v1", env: [String: String] = [:], vus: Int? = nil) -> Config {
    var c = config(target: target)
    var load = LoadSettings()
    load.script = script.map { $0.hasPrefix("/") ? $0 : packageRoot.appendingPathComponent("Tests/Fixtures/k6-scripts/\($0)").path }
    load.env = env
    load.vus = vus
    c.set(load)
    return c
}


/// The static part: no target reachable (the live GETs go to a closed port or are not tried).
@Suite struct ScriptCheckStatic {
    let check = ScriptCheck(probes: staticProbes)
    func run(_ c: Config) async throws -> CheckOutcome { try await check.run(context(c, timeout: .seconds(1))) }

    @Test func seedCursorBugFailsWithLine() async throws {
        let o = try await run(scriptConfig("seed-bug.js", target: nil))
        #expect(o.status == .fail)
        #expect(o.summary.contains("seed-bug.js:10 sends cursor=${Date.now()}"), "\(o.summary)")
        #expect(o.summary.contains("a timestamp"))
        #expect(o.fix?.contains("take the cursor from the previous response's message id, or omit it") == true)
        #expect(o.findings.first?.location?.file.hasSuffix("seed-bug.js") == true, "\(o.findings)")
        #expect(o.findings.first?.location?.line == 10, "\(o.findings)")
    }

    @Test func seedFixAndFutureEnhancementPass() async throws {
        let env = ["CHAT_BASE_URL": "http://127.0.0.1:3001/api/v1/chat"]
        let fixed = try await run(scriptConfig("seed-fix.js", env: env))
        #expect(fixed.status == .pass, "\(fixed.summary)")
        let future = try await run(scriptConfig("seed-future.js", env: env))
        #expect(future.status == .pass, "\(future.summary)")
        #expect(future.evidence["requests"] == .int(2))
    }

    @Test func defaultURLMismatchFails() async throws {
        let o = try await run(scriptConfig("seed-fix.js"))
        #expect(o.status == .fail)
        #expect(o.summary.contains("the script falls back to http://localhost:3000 when CHAT_BASE_URL is unset"), "\(o.summary)")
        #expect(o.summary.contains("target is 127.0.0.1:3001"))
        let other = try await run(scriptConfig("seed-fix.js", env: ["CHAT_BASE_URL": "http://127.0.0.1:4000/api/v1/chat"]))
        #expect(other.summary.contains("load.env sets CHAT_BASE_URL=http://127.0.0.1:4000"), "\(other.summary)")
    }

    @Test func localhostVersusLoopbackIsANoteNotAFailure() async throws {
        let o = try await run(scriptConfig("seed-fix.js", env: ["CHAT_BASE_URL": "http://localhost:3001/api/v1/chat"]))
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["notes"]?.display.contains("same machine") == true)
    }

    @Test func batchRequestsOptionsAndThresholds() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/k6-scripts/batch-and-options.js"), encoding: .utf8)
        let s = K6Script(source: text)
        #expect(s.requests.map(\.method) == ["GET", "GET", "GET", "GET"])
        #expect(s.options.scenarios.map(\.name) == ["readers", "writers"])
        #expect(s.options.peakVUs == 75)  // 50 ramping + 25 arrival-rate
        #expect(s.customMetrics == ["pages_read"])
        let a = ScriptAnalysis(script: s, path: "b.js", load: LoadSettings(), target: ServiceURL.parse("http://127.0.0.1:3001").0)
        // since_id from Date.now() fails; page=counter (numeric paging) and cursor from a response pass.
        #expect(a.cursorFindings.map(\.param) == ["since_id"])
        #expect(a.cursorFindings.first?.location == "b.js:25")
        #expect(a.targetFailures.isEmpty)
        let warnings = a.thresholdWarnings.map(\.message)
        #expect(warnings.contains { $0.contains("made_up_metric") })
        #expect(warnings.contains { $0.contains("\"count>=0\"") && $0.contains("never fail") })
        #expect(warnings.contains { $0.contains("\"rate<=1\"") })
        #expect(warnings.count == 3)
    }

    @Test func templatesRegexesAndCommentsAreReadRight() async throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/k6-scripts/tricky-syntax.js"), encoding: .utf8)
        let s = K6Script(source: text)
        #expect(s.problems.isEmpty, "\(s.problems)")
        #expect(s.requests.count == 2)  // the ones in comments do not count
        #expect(K6Script.plainText(K6Script.resolve(s.requests[0].alternatives[0], env: [:])) == "http://127.0.0.1:3001/a/inner-deep-5/b")
        let o = try await run(scriptConfig("tricky-syntax.js", target: nil))
        #expect(o.status == .fail)
        #expect(o.summary.contains("tricky-syntax.js:15 sends after="), "\(o.summary)")
    }

    @Test func typeScriptScriptReadsAsJavaScript() async throws {
        let path = packageRoot.appendingPathComponent("Tests/Fixtures/k6-scripts/typescript.ts").path
        let text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        let s = K6Script(source: text, typescript: true)
        #expect(s.problems.isEmpty, "\(s.problems)")
        #expect(s.options.found)
        #expect(s.options.scenarios.map(\.name) == ["readers"])
        #expect(s.options.peakVUs == 30)
        #expect(s.options.thresholds.map(\.metric) == ["http_req_failed"])
        #expect(s.requests.count == 1)
        #expect(K6Script.plainText(K6Script.resolve(s.requests[0].alternatives[1], env: [:])) == "http://127.0.0.1:3001/api/rooms/general/messages?limit=20")
        // Read as plain JavaScript, the annotations hide the options and the base URL.
        #expect(K6Script(source: text).options.peakVUs == nil)
        let o = try await run(scriptConfig(path))
        #expect(o.status == .pass, "\(o.summary) \(o.evidence)")
        #expect(o.evidence["peakVUs"] == .int(30))
    }

    @Test func typeScriptCursorBugThroughHttpURLFails() async throws {
        let o = try await run(scriptConfig(packageRoot.appendingPathComponent("Tests/Fixtures/k6-scripts/typescript-bug.ts").path, target: nil))
        #expect(o.status == .fail)
        #expect(o.summary.contains("typescript-bug.ts:10 sends cursor=${Date.now()} (a timestamp"), "\(o.summary)")
        #expect(o.evidence["peakVUs"] == .int(5))
    }

    @Test func httpURLTaggedTemplateIsThePlainTemplate() {
        let plain = K6Script(source: "import http from 'k6/http';\nconst B = 'http://h:1';\nexport default function () { http.get(`${B}/items?cursor=${Date.now()}`) }\n")
        let tagged = K6Script(source: "import http from 'k6/http';\nconst B = 'http://h:1';\nexport default function () { http.get(http.url`${B}/items?cursor=${Date.now()}`) }\n")
        let a = ScriptAnalysis(script: plain, path: "p.js", load: LoadSettings(), target: nil)
        let b = ScriptAnalysis(script: tagged, path: "t.js", load: LoadSettings(), target: nil)
        #expect(a.cursorFindings.map(\.valueSource) == ["${Date.now()}"])
        #expect(b.cursorFindings.map(\.valueSource) == a.cursorFindings.map(\.valueSource))
        let noSubstitution = K6Script(source: "import http from 'k6/http';\nhttp.get(http.url`http://h:1/a`)\n")
        #expect(K6Script.plainText(noSubstitution.requests[0].alternatives[0]) == "http://h:1/a")
    }

    /// Each TypeScript form, stripped, gives the tokens of the JavaScript k6 would run.
    @Test(arguments: [
        ("const BASE_URL: string = __ENV.BASE_URL || 'x';", "const BASE_URL = __ENV.BASE_URL || 'x';"),
        ("export const options: Options = { vus: 1 };", "export const options = { vus: 1 };"),
        ("let a: number, b: Array<Map<string, number>>;", "let a, b;"),
        ("let c!: string;", "let c;"),
        ("const { x, y }: Point = p;", "const { x, y } = p;"),
        ("const f: (a: number) => string = g;", "const f = g;"),
        ("const o = { vus: 10 as number, d: '1m' } satisfies Options;", "const o = { vus: 10, d: '1m' };"),
        ("const v = (r.json() as unknown as Page).next!;", "const v = (r.json()).next;"),
        ("const k = x as const;", "const k = x;"),
        ("function f<T extends string>(a: T, b?: number, ...rest: string[]): Promise<void> { return g(a); }", "function f(a, b, ...rest) { return g(a); }"),
        ("const h = async (r: Response, n = 1): Promise<string> => r.body;", "const h = async (r, n = 1) => r.body;"),
        ("const m = new Map<string, number>(); const s = parse<Page>(t);", "const m = new Map(); const s = parse(t);"),
        ("import type { Options } from 'k6/options';\nimport http from 'k6/http';", "import http from 'k6/http';"),
        ("import { check, type Checkers, sleep } from 'k6';", "import { check, sleep } from 'k6';"),
        ("import * as http from 'k6/http';\nexport { a as b };", "import * as http from 'k6/http';\nexport { a as b };"),
        ("interface A<T> extends B { x: T; y?: { z: string } }\nconst a = 1;", "const a = 1;"),
        ("export type Pair<A, B> = [A, B];\ntype U = 'a' | 'b'\nconst b = 2;", "const b = 2;"),
        ("export type { A, B } from './t';\ndeclare const X: number;\ndeclare module 'm' { const y: 1 }\nconst c = 3;", "const c = 3;"),
        ("class C<T> extends D<T> implements E, F { run(a: T): void { go(a!); } }", "class C extends D { run(a) { go(a); } }"),
        ("const t = a ? b : c; const u = a < b ? (c) : d; if (!ok) { x = y > (z) }", "const t = a ? b : c; const u = a < b ? (c) : d; if (!ok) { x = y > (z) }"),
        ("const obj = { type: 'x', as: 1, get(k: string): number { return 1 } }; type = 5;", "const obj = { type: 'x', as: 1, get(k) { return 1 } }; type = 5;"),
        ("try { f() } catch (e: unknown) { g(e as Error) }", "try { f() } catch (e) { g(e) }"),
    ])
    func typeScriptFormsStripToJavaScript(ts: String, js: String) {
        let stripped = TypeScriptStripper.strip(JSTokenizer.tokenize(ts).tokens).map(\.text)
        #expect(stripped == JSTokenizer.tokenize(js).tokens.map(\.text), "\(stripped.joined(separator: " "))")
    }

    @Test func peakVUsPrefersLoadVus() {
        #expect(LoadPlan.derive(from: scriptConfig("batch-and-options.js")).peakVUs == 75)
        #expect(LoadPlan.derive(from: scriptConfig("batch-and-options.js", vus: 7)).peakVUs == 7)
        let chat = scriptConfig(packageRoot.appendingPathComponent("Tests/SampleStack/k6/chat.js").path, env: ["VUS": "12"])
        #expect(LoadPlan.derive(from: chat).peakVUs == 12)
    }

    @Test func unreadablePartsWarn() async throws {
        let o = try await run(scriptConfig("unterminated.js"))
        #expect(o.status == .warn)
        #expect(o.summary.contains("unterminated.js:4: unterminated string"), "\(o.summary)")
    }

    @Test func missingScriptFailsAndNoScriptSkips() async throws {
        let o = try await run(scriptConfig("does-not-exist.js"))
        #expect(o.status == .fail)
        #expect(o.summary.contains("does not exist"))
        #expect(try await run(scriptConfig(nil)).status == .skipped)
        let dir = try await run(scriptConfig(packageRoot.appendingPathComponent("Tests").path))
        #expect(dir.status == .fail)
    }

    @Test func sampleStackScripts() async throws {
        let env = ["CHAT_BASE_URL": "http://127.0.0.1:3001/api/v1/chat"]
        let good = try await run(scriptConfig(packageRoot.appendingPathComponent("Tests/SampleStack/k6/chat.js").path, env: env))
        #expect(good.status == .pass, "\(good.summary) \(good.evidence)")
        let bug = try await run(scriptConfig(packageRoot.appendingPathComponent("Tests/SampleStack/k6/chat-cursor-bug.js").path, target: nil, env: env))
        #expect(bug.status == .fail)
        #expect(bug.summary.contains("chat-cursor-bug.js:64 sends cursor=${Date.now()}"), "\(bug.summary)")
    }
}

/// The live probes on a machine without k6 on PATH: the static reading alone (the real-k6 suite is ScriptCheckK6).
let staticProbes: Probes = {
    var p = Probes.live
    p.host = quietHost(programs: [:])
    return p
}()

/// A script written for the test, in a folder of its own (removed by the caller).
func writeScript(_ text: String, name: String = "load.js") throws -> (dir: URL, path: String) {
    let dir = try temporaryDirectory("pf-script")
    let url = dir.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return (dir, url.path)
}

/// Base URLs that are not on the target, cursor wording, and the peak of overlapping scenarios.
/// A base URL the static reading cannot resolve, read in the URLs the smoke check's one real iteration sent
/// (issue 34): on the target's origin it is a pass saying so; elsewhere the warning names where they went.
@Suite struct ScriptCheckSmokeURLs {
    func run(_ urls: [String]) async throws -> CheckOutcome {
        let dir = try temporaryDirectory("pf-script-smoke")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("load.js")
        try "import http from 'k6/http';\nexport const options = { vus: 10 };\nfunction url(p) { return __ENV.BASE + p; }\nexport default function () { http.get(url('/messages')); }\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let ctx = CheckContext(config: scriptConfig(file.path, target: "http://127.0.0.1:3001/api/v1"), timeout: .seconds(2))
        if !urls.isEmpty { _ = await ctx.measured(SmokeIteration.self) { SmokeIteration(requests: urls.count, milliseconds: 3, urls: urls) } }
        return try await ScriptCheck(probes: ProbeAnswers().probes).run(ctx)
    }

    @Test func onTheTargetItIsAPass() async throws {
        let alone = try await run([])
        #expect(alone.status == .warn && alone.summary.hasPrefix("the base URL could not be resolved statically"), "\(alone.summary)")
        let o = try await run(["http://127.0.0.1:3001/api/v1/messages"])
        #expect(o.status == .pass, "\(o.findings.map(\.sentence))")
        #expect(o.findings.contains { $0.sentence == "the base URL was not resolved statically; one real iteration built http://127.0.0.1:3001/api/v1/messages: on the target" },
                "\(o.findings.map(\.sentence))")
        let elsewhere = try await run(["http://127.0.0.1:3001/api/v1/messages", "http://10.9.9.9:8080/messages"])
        #expect(elsewhere.status == .warn)
        #expect(elsewhere.summary.hasSuffix("; one real iteration sent http://127.0.0.1:3001/api/v1/messages (+1 more)"), "\(elsewhere.summary)")
    }

    @Test func origins() throws {
        let t = try #require(ServiceURL.parse("http://127.0.0.1:3001/api").0)
        #expect(ScriptCheck.sameOrigin("http://127.0.0.1:3001/x?y=1", t))
        #expect(!ScriptCheck.sameOrigin("https://127.0.0.1:3001/x", t))
        #expect(!ScriptCheck.sameOrigin("http://127.0.0.1:3002/x", t))
        let https = try #require(ServiceURL.parse("https://chat.local").0)
        #expect(ScriptCheck.sameOrigin("https://CHAT.local/messages", https))
        let v6 = try #require(ServiceURL.parse("http://[::1]:8000").0)
        #expect(ScriptCheck.sameOrigin("http://[::1]:8000/x", v6))
    }
}

@Suite struct ScriptCheckPlan {
    func run(_ text: String, env: [String: String] = [:], target: String? = "http://127.0.0.1:3001/api/v1") async throws -> CheckOutcome {
        let (dir, _) = try writeScript(text)
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = scriptConfig("/load.js", target: target, env: env)
        c.file = dir.appendingPathComponent("preflight.yml").path
        var load = c.section(LoadSettings.self)
        load.script = "load.js"
        c.set(load)
        return try await ScriptCheck(probes: staticProbes).run(context(c, timeout: .seconds(1)))
    }

    @Test func unsetBaseURLWithoutDefaultFails() async throws {
        let script = "import http from 'k6/http';\nexport default function () {\n  http.get(`${__ENV.API_URL}/posts`);\n}\n"
        let o = try await run(script)
        #expect(o.status == .fail)
        #expect(o.summary == "load.js:3: k6 will request `undefined/posts`: API_URL is unset (load.env does not set it) and the script has no default", "\(o.summary)")
        let set = try await run(script, env: ["API_URL": "http://127.0.0.1:3001/api/v1"])
        #expect(set.status == .pass, "\(set.summary)")
        #expect(set.summary.contains("base URL on the target"))
    }

    /// Issue 34's measured false pass: the same script without a target passed ("1 request, no invented cursors").
    @Test func unsetBaseURLFailsWithoutATargetTooAndPredictsItsShare() async throws {
        let script = "import http from 'k6/http';\nexport default function () {\n  http.get(`${__ENV.API_URL}/posts`);\n  http.get('http://127.0.0.1:3001/api/v1/health');\n}\n"
        let o = try await run(script, target: nil)
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary == "load.js:3: k6 will request `undefined/posts`: API_URL is unset (load.env does not set it) and the script has no default", "\(o.summary)")
        #expect(o.fix == "set API_URL in load.env and pass it to k6 (-e API_URL=…), or give the script a default (`__ENV.API_URL || '…'`)")
        let effect = try #require(o.findings.first?.effect)
        #expect(effect.share == .exactly(0.5))
        #expect(effect.k6 == "1000 unsupported protocol scheme \"\"")
        #expect(try await run(script, env: ["API_URL": "http://127.0.0.1:3001/api/v1"], target: nil).status == .pass)
    }

    @Test func anUnsetVariableInTheQueryIsNamed() async throws {
        let script = "import http from 'k6/http';\nexport default function () {\n  http.get(`http://127.0.0.1:3001/api/v1/posts?limit=10&offset=${__ENV.OFFSET}`);\n}\n"
        for target in ["http://127.0.0.1:3001/api/v1", nil] {
            let o = try await run(script, target: target)
            #expect(o.status == .warn, "\(o.summary)")
            #expect(o.summary == "load.js:3: k6 will send `offset=undefined`: OFFSET is unset (load.env does not set it) and the script has no default", "\(o.summary)")
            #expect(o.fix?.hasPrefix("set OFFSET in load.env") == true)
        }
        #expect(try await run(script, env: ["OFFSET": "20"]).status == .pass)
        #expect(try await run(script.replacingOccurrences(of: "${__ENV.OFFSET}", with: "${__ENV.OFFSET || 0}")).status == .pass)
    }

    @Test func aHardCodedHostIsNotToldToSetAVariable() async throws {
        let o = try await run("import http from 'k6/http';\nexport default function () {\n  http.get('http://localhost:8080/api/v1/posts');\n}\n")
        #expect(o.status == .fail)
        #expect(o.summary == "load.js:3: the script requests http://localhost:8080; target is 127.0.0.1:3001", "\(o.summary)")
        #expect(o.fix?.hasPrefix("change the host the script requests to the target (127.0.0.1:3001)") == true, "\(o.fix ?? "")")
        #expect(o.fix?.contains("load.env and pass it") == false)
        let variable = try await run("import http from 'k6/http';\nconst B = __ENV.BASE || 'http://localhost:8080';\nexport default function () {\n  http.get(`${B}/x`);\n}\n")
        #expect(variable.fix?.hasPrefix("set BASE in load.env to the target (BASE=http://127.0.0.1:3001/api/v1)") == true, "\(variable.fix ?? "")")
    }

    @Test func k6sListOfConfigurationProblemsIsKeptWhole() {
        let stderr = #"time="2026-12-07T05:57:00Z" level=error msg="There were problems with the specified script configuration:\n\t- scenario a has configuration errors: the number of VUs must be more than 0\n\t- scenario b has configuration errors: at least one stage has to be specified""# + "\n"
        let f = K6Inspection.failure(stderr: stderr, folder: "/x", shown: "")
        #expect(f?.message == "There were problems with the specified script configuration: scenario a has configuration errors: the number of VUs must be more than 0; scenario b has configuration errors: at least one stage has to be specified", "\(f?.message ?? "")")
        #expect(K6Inspection.unknownExtension("GoError: unknown module: k6/x/sql\n") == "k6/x/sql")
        #expect(K6Inspection.unknownExtension("GoError: unknown module: k6/foo\n") == nil)
    }

    @Test(arguments: [
        "import http from 'k6/http';\nconst BASE = 'http://127.0.0.1:3001';\nfunction url(p) { return BASE + p; }\nexport default function () {\n  http.get(url('/api/v1/items'));\n}\n",
        "import http from 'k6/http';\nconst BASE = 'http://127.0.0.1:3001';\nconst req = { method: 'GET', url: `${BASE}/x` };\nexport default function () {\n  http.request(req.method, req.url);\n}\n",
        "import http from 'k6/http';\nconst reqs = [];\nreqs.push(['GET', 'http://127.0.0.1:3001/x']);\nexport default function () {\n  http.batch(reqs);\n}\n",
    ])
    func unresolvableBaseURLWarns(script: String) async throws {
        let o = try await run(script)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.hasPrefix("the base URL could not be resolved statically (load.js:5: "), "\(o.summary)")
        #expect(!o.summary.contains("on the target"))
    }

    @Test func noTargetMakesNoClaimAboutTheBaseURL() async throws {
        let o = try await run("import http from 'k6/http';\nexport default function () { http.get('http://127.0.0.1:9/x'); }\n", target: nil)
        #expect(o.status == .pass)
        #expect(o.summary == "load.js: 1 request, no invented cursors")
    }

    @Test func cursorFromLoadEnvIsFineAFixedOneWarns() async throws {
        let script = "import http from 'k6/http';\nconst B = 'http://127.0.0.1:3001/api/v1';\nexport default function () {\n  http.get(`${B}/messages?cursor=${__ENV.CURSOR}`);\n}\n"
        let set = try await run(script, env: ["CURSOR": "msg_0042"])
        #expect(set.status == .pass, "\(set.summary)")
        let unset = try await run(script)
        #expect(unset.status == .warn, "\(unset.summary)")
        #expect(unset.summary == "load.js:4 sends cursor=\"undefined\" on every iteration: a fixed value, so every request reads the same page (CURSOR is unset in load.env, so the script's default is used)", "\(unset.summary)")
        let literal = try await run("import http from 'k6/http';\nexport default function () {\n  http.get('http://127.0.0.1:3001/api/v1/messages?after=msg_17');\n}\n")
        #expect(literal.status == .warn, "\(literal.summary)")
        #expect(literal.summary == "load.js:3 sends after=\"msg_17\" on every iteration: a fixed value, so every request reads the same page")
        let invented = try await run("import http from 'k6/http';\nexport default function () {\n  http.get(`http://127.0.0.1:3001/api/v1/messages?cursor=${Math.random()}`);\n}\n")
        #expect(invented.status == .fail)
        #expect(invented.summary.contains("(a random number, not a value from an earlier response)"), "\(invented.summary)")
    }

    @Test func onlyOverlappingScenariosAddUp() {
        func peak(_ scenarios: String) -> Int? {
            K6Script(source: "export const options = { scenarios: { \(scenarios) } };\nexport default function () {}\n").options.peakVUs
        }
        // 50 VUs for 1m (+30s graceful stop), then 40 from 2m: never together.
        #expect(peak("a: { executor: 'constant-vus', vus: 50, duration: '1m' }, b: { executor: 'constant-vus', vus: 40, duration: '1m', startTime: '2m' }") == 50)
        // b starts at 1m, while a's graceful stop still holds its VUs.
        #expect(peak("a: { executor: 'constant-vus', vus: 50, duration: '1m' }, b: { executor: 'constant-vus', vus: 40, duration: '1m', startTime: '1m' }") == 90)
        #expect(peak("a: { executor: 'constant-vus', vus: 50, duration: '1m', gracefulStop: '0s' }, b: { executor: 'constant-vus', vus: 40, duration: '1m', startTime: '1m' }") == 50)
        // Ramping: the stages' durations plus gracefulRampDown; three phases, the middle two overlap.
        #expect(peak("""
            warm: { executor: 'ramping-vus', stages: [{ duration: '30s', target: 10 }, { duration: '1m30s', target: 20 }], gracefulRampDown: '0s', gracefulStop: '0s' },
            soak: { executor: 'constant-vus', vus: 100, duration: '10m', startTime: '1m' },
            spike: { executor: 'constant-arrival-rate', rate: 50, preAllocatedVUs: 30, maxVUs: 60, duration: '1m', startTime: '20m' }
            """) == 120)
        // A duration that cannot be read overlaps everything (never understated).
        #expect(peak("a: { executor: 'constant-vus', vus: 5, duration: __ENV.D }, b: { executor: 'constant-vus', vus: 7, duration: '1m', startTime: '1h' }") == 12)
        #expect(K6Options.seconds("1h2m3.5s") == 3723.5)
        #expect(K6Options.seconds("250ms") == 0.25)
        #expect(K6Options.seconds("2d") == 172_800)
        #expect(K6Options.seconds("1x") == nil)
    }

    @Test func optionsFromAnImportMakeThePeakUnknown() async throws {
        let imported = "import http from 'k6/http';\nimport { readers } from './lib/scenarios.js';\nexport const options = { scenarios: { readers, writers: { executor: 'constant-vus', vus: 5, duration: '1m' } } };\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"
        let s = K6Script(source: imported)
        #expect(s.options.peakUnknown == "imports ./lib/scenarios.js")
        #expect(s.options.peakVUs == nil)
        let o = try await run(imported)
        #expect(o.evidence["peakVUs"] == .string("unknown (imports ./lib/scenarios.js)"))
        #expect(o.summary.hasSuffix("peak VUs unknown (imports ./lib/scenarios.js)"), "\(o.summary)")
        let viaConst = K6Script(source: "import cfg from './cfg.js';\nconst VUS = cfg.vus;\nexport const options = { vus: VUS };\n")
        #expect(viaConst.options.peakVUs == nil)
        #expect(viaConst.options.peakUnknown == "imports ./cfg.js")
        let reexported = K6Script(source: "export { options } from './lib/options.js';\nexport default function () {}\n")
        #expect(reexported.options.peakUnknown == "imports ./lib/options.js")
        let remoteLibrary = K6Script(source: "import { uuidv4 } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';\nexport const options = { vus: 3 };\n")
        #expect(remoteLibrary.options.peakVUs == 3)
    }
}

/// Requests in the script's own modules (issue 34: four of 65 real scripts passed with "0 requests").
@Suite struct ScriptCheckModules {
    func run(_ files: [String: String], target: String? = "http://127.0.0.1:3001/api/v1") async throws -> CheckOutcome {
        let dir = try temporaryDirectory("pf-modules")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        var c = scriptConfig("/load.js", target: target)
        c.file = dir.appendingPathComponent("preflight.yml").path
        var load = c.section(LoadSettings.self)
        load.script = "tests/load.js"
        c.set(load)
        return try await ScriptCheck(probes: staticProbes).run(context(c, timeout: .seconds(1)))
    }

    @Test func requestsInLocalModulesCountWithTheirOwnFileAndLine() async throws {
        let o = try await run([
            "tests/load.js": "import { gql } from './lib/gql.js';\nimport { uuidv4 } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';\nexport default function () { gql('{ posts { id } }'); }\n",
            "tests/lib/gql.js": "import http from 'k6/http';\nimport { list } from '../shared/list.js';\nexport function gql(q) {\n  return http.post('http://127.0.0.1:3001/api/v1/graphql', JSON.stringify({ query: q }));\n}\n",
            "tests/shared/list.js": "import http from 'k6/http';\nimport { gql } from '../lib/gql.js';\nexport function list() {\n  return http.get(`http://127.0.0.1:3001/api/v1/posts?cursor=${Math.random()}`);\n}\n",
        ])
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.hasPrefix("tests/shared/list.js:4 sends cursor=${Math.random()}"), "\(o.summary)")
        #expect(o.evidence["requests"] == .int(2))
        #expect(o.evidence["modules"] == .array([.string("tests/lib/gql.js"), .string("tests/shared/list.js")]))
        let healthy = try await run([
            "tests/load.js": "import { gql } from './lib/gql.js';\nexport default function () { gql('{ posts { id } }'); }\n",
            "tests/lib/gql.js": "import http from 'k6/http';\nexport function gql(q) {\n  return http.post(`${__ENV.API || 'http://127.0.0.1:3001/api/v1'}/graphql`, q);\n}\n",
        ])
        #expect(healthy.status == .pass, "\(healthy.summary)")
        #expect(healthy.summary == "tests/load.js: 1 request (with 1 local module), no invented cursors, base URL on the target")
    }

    @Test func modulesAreBoundedInDepthAndCount() async throws {
        // A chain of 10 modules, each importing the next and sending one request: 4 levels are read.
        var files = ["tests/load.js": "import http from 'k6/http';\nimport './m0.js';\nexport default function () { http.get('http://127.0.0.1:3001/api/v1/x'); }\n"]
        for i in 0..<10 {
            files["tests/m\(i).js"] = "import http from 'k6/http';\nimport './m\(i + 1).js';\nexport function f() { http.get('http://127.0.0.1:3001/api/v1/m\(i)'); }\n"
        }
        let o = try await run(files)
        #expect(o.evidence["requests"] == .int(1 + LoadPlan.moduleDepth), "\(o.evidence)")
        #expect(LoadPlan.joined("tests/lib/gql.js", "../shared/./list.js") == "tests/shared/list.js")
        #expect(LoadPlan.joined("load.js", "../up.js") == "../up.js")
    }
}

/// jslib httpx sessions (issue 34): `session.get('/posts')` is the session's baseURL + the path.
@Suite struct ScriptCheckHttpx {
    @Test func sessionRequestsAreTheBaseURLPlusThePath() {
        let script = K6Script(source: """
            import { Httpx } from 'https://jslib.k6.io/httpx/0.1.0/index.js';
            const session = new Httpx({ baseURL: __ENV.BASE || 'http://127.0.0.1:3001/api/v1', timeout: 20000 });
            const other = new Httpx();
            export default function () {
              session.get('/posts?cursor=' + Date.now());
              session.post(`/posts/${__ENV.ID}/comments`, JSON.stringify({ a: 1 }));
              session.request('PATCH', '/posts/1');
              session.asyncGet('/tags');
              other.get('http://127.0.0.1:3001/health');
              session.addHeader('X', 'y');
            }
            """, env: ["ID": "7"])
        let shapes = script.requests.map { r in "\(r.method) \(r.alternatives.map { K6Script.plainText(K6Script.resolve($0, env: ["ID": "7"])) ?? "…" })" }
        #expect(script.requests.map(\.method) == ["GET", "POST", "PATCH", "GET", "GET"], "\(shapes)")
        #expect(script.requests.map(\.line) == [5, 6, 7, 8, 9])
        #expect(K6Script.resolve(script.requests[1].alternatives[0], env: ["ID": "7"]) == [.text("http://127.0.0.1:3001/api/v1/posts/7/comments")])
        #expect(K6Script.resolve(script.requests[4].alternatives[0], env: [:]) == [.text("http://127.0.0.1:3001/health")])
        // Without an import of httpx, `session.get` is nobody's request.
        #expect(K6Script(source: "const session = new Httpx({ baseURL: 'http://x' });\nsession.get('/a');\n").requests.isEmpty)
    }

    @Test func aSessionsInventedCursorFailsAtItsLine() async throws {
        let (dir, _) = try writeScript("import { Httpx } from 'https://jslib.k6.io/httpx/0.1.0/index.js';\nconst session = new Httpx({ baseURL: 'http://127.0.0.1:3001/api/v1' });\nexport default function () {\n  session.get(`/messages?cursor=${Date.now()}`);\n}\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = scriptConfig("/load.js")
        c.file = dir.appendingPathComponent("preflight.yml").path
        var load = c.section(LoadSettings.self)
        load.script = "load.js"
        c.set(load)
        let o = try await ScriptCheck(probes: staticProbes).run(context(c, timeout: .seconds(1)))
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("load.js:4 sends cursor=${Date.now()}"), "\(o.summary)")
    }
}
