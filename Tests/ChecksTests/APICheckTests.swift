import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

// The api check: the OpenAPI reader and matcher (pure), then a real FastAPI service (Tests/Fixtures/openapi-fixture.py)
// and the real k6 against it.

@Suite struct OpenAPIReading {
    static let swagger = """
        swagger: "2.0"
        info: {title: legacy, version: "1"}
        basePath: /legacy/
        paths:
          /pets/{petId}:
            get: {responses: {"200": {description: ok}}}
          /pets:
            post:
              parameters:
                - {name: pet, in: body, schema: {$ref: "#/definitions/Pet"}}
        definitions:
          Pet: {type: object, required: [name, kind]}
        """

    @Test func swagger2YAMLWithBasePathAndBodyParameter() throws {
        let d = try OpenAPIDocument.read(Data(Self.swagger.utf8)).get()
        #expect(d.version == "Swagger 2.0")
        #expect(d.basePaths == ["/legacy"])
        #expect(d.routes.map(\.template) == ["/pets", "/pets/{petId}"])
        let post = try #require(d.routes.first?.operations.first)
        #expect(post.method == "POST" && post.requiredBody == ["name", "kind"] && post.bodySchema == "Pet")
        #expect(d.match(method: "GET", path: "/legacy/pets/${id}") == .matched(d.routes[1], base: "/legacy"))
        #expect(d.match(method: "DELETE", path: "/legacy/pets/7") == .methodNotAllowed(d.routes[1], base: "/legacy"))
        guard case .noRoute(let n) = d.match(method: "GET", path: "/legacy/pet/7") else { Issue.record("matched"); return }
        #expect(n?.method == "GET" && n?.path == "/legacy/pets/{petId}")
    }

    @Test func openAPI3ServersLiteralsBeforeTemplatesAndHoles() throws {
        let json = #"""
            {"openapi": "3.0.3", "servers": [{"url": "https://api.example.com/v1/"}, {"url": "/v1"}],
             "paths": {"/posts/{id}": {"get": {}}, "/posts/latest": {"post": {}}, "/files/{path}": {"get": {}}}}
            """#
        let d = try OpenAPIDocument.read(Data(json.utf8)).get()
        #expect(d.basePaths == ["/v1"])
        // A hole stands for one segment or more; a {param} for exactly one.
        #expect(d.match(method: "GET", path: "/v1/posts/${id}?x=1") != .noRoute(nearest: nil))
        if case .matched(let r, _) = d.match(method: "GET", path: "/v1/files/${a}") { #expect(r.template == "/files/{path}") } else { Issue.record("no match") }
        if case .noRoute = d.match(method: "GET", path: "/v1/posts/1/2") {} else { Issue.record("a {param} took two segments") }
        // `/posts/latest` is literal: POST there matches it, not /posts/{id} (which has no POST).
        if case .matched(let r, _) = d.match(method: "POST", path: "/v1/posts/latest") { #expect(r.template == "/posts/latest") } else { Issue.record("no match") }
        // Under no base at all (a proxy strips /v1): still matched, never a false fail.
        if case .matched = d.match(method: "GET", path: "/posts/3") {} else { Issue.record("not matched without the base") }
    }

    @Test func notOpenAPIAndUnreadable() {
        #expect(OpenAPIDocument.read(Data(#"{"name": "x"}"#.utf8)) == .failure(.notOpenAPI("no openapi or swagger field")))
        #expect(OpenAPIDocument.read(Data("<html><body>docs</body></html>".utf8)) == .failure(.notOpenAPI("an HTML or XML page")))
        #expect(OpenAPIDocument.read(Data(#"{"openapi": "3.1.0", "#.utf8)) == .failure(.unreadable("not valid JSON")))
        #expect(OpenAPIDocument.read(Data("openapi: 3.1.0\ninfo: {}\n".utf8)) == .failure(.notOpenAPI("OpenAPI 3.1.0 without paths")))
    }

    @Test func runTimeMethodsOtherHostsAndOPTIONSAreNeverFailed() throws {
        let d = try OpenAPIDocument.read(Data(#"{"openapi": "3.1.0", "paths": {"/posts/{id}": {"get": {}}}}"#.utf8)).get()
        let target = try #require(ServiceURL.parse("http://127.0.0.1:3001").0)
        let shapes = [RequestShape(method: "?", url: "", resolvedURL: "http://127.0.0.1:3001/nowhere"),
                      RequestShape(method: "OPTIONS", url: "", resolvedURL: "http://127.0.0.1:3001/posts/${id}"),
                      RequestShape(method: "POST", url: "", resolvedURL: "http://auth.example:443/token"),
                      RequestShape(method: "GET", url: "", resolvedURL: "${base}/nowhere"),
                      RequestShape(method: "GET", url: "", resolvedURL: "http://127.0.0.1:3001${path}")]
        let o = APICheck(probes: .live).judge(shapes, requestCount: 5, against: d, source: "spec.json", target: target, evidence: Evidence())
        #expect(o.status == .pass, "\(o.findings)")
        #expect(o.summary == "1 request matches the API description (OpenAPI 3.1.0 at spec.json, 1 operation); 4 not compared")
    }

    @Test func scriptBodyKeysAreReadFromJSONStringify() {
        let s = K6Script(source: """
            import http from 'k6/http';
            const payload = { text: 'hi', author: 'k6' };
            export default function () {
              http.post('http://h/a', JSON.stringify({ title: 't', 'body': 'b' }));
              http.post('http://h/b', JSON.stringify(payload));
              http.post('http://h/c', JSON.stringify({ ...payload, x: 1 }));
              http.post('http://h/d', 'raw');
              http.get('http://h/e', { headers: {} });
            }
            """)
        #expect(s.requests.map(\.bodyKeys) == [["title", "body"], ["text", "author"], nil, nil, nil])
    }
}

/// A real FastAPI app (PyPI fastapi==0.115.6, uvicorn==0.32.1 for /usr/bin/python3, scripts/install-deps.sh)
/// whose generated /openapi.json the check discovers, and k6 against it.
let fastAPIInstalled = (try? runProcess("/usr/bin/python3", ["-c", "import fastapi, uvicorn"], limit: 20).status) == 0

/// k6's reason, as the smoke check reads it from `k6 run`'s log: the message, and the list a line ending in ":"
/// announces (k6 prints a configuration problem that way), never the stack under it.
@Suite struct SmokeReason {
    @Test func theListAfterAColonIsTheReason() {
        let stderr = #"time="2026-12-07T15:00:00Z" level=error msg="There were problems with the specified script configuration:\n\t- executor default: function 'nope' not found in exports" hint="script exception""#
        #expect(SmokeCheck.reason(stderr) == "There were problems with the specified script configuration: executor default: function 'nope' not found in exports")
        let thrown = #"time="2026-12-07T15:00:00Z" level=error msg="GoError: boom\n\tat file:///w/load.js:3:9(4)\n" executor=per-vu-iterations"#
        #expect(SmokeCheck.reason(thrown) == "boom")
    }
}

/// The smoke run's iteration as the generator reads it: setup()'s and teardown()'s requests and durations are theirs
/// (k6 tags them group ::setup and ::teardown), the iteration's are the rest.
@Suite struct SmokeIterationCount {
    static func point(_ metric: String, _ group: String, value: Double = 1) -> String {
        #"{"metric":"\#(metric)","type":"Point","data":{"time":"2026-12-07T11:47:20Z","value":\#(value),"tags":{"group":"\#(group)","method":"GET","url":"http://x/","status":"200"}}}"#
    }

    @Test func setupAndTeardownAreNotTheIteration() {
        let lines = [Self.point("http_reqs", "::setup"), Self.point("iteration_duration", "::setup", value: 900),
                     Self.point("http_reqs", ""), Self.point("http_reqs", "::messages"), Self.point("iteration_duration", "", value: 120),
                     Self.point("http_reqs", "::teardown"), Self.point("iteration_duration", "::teardown", value: 50)]
        let run = K6SmokeRun(jsonLines: Data(lines.joined(separator: "\n").utf8))
        #expect(run.requests.count == 4)
        #expect(run.iterationRequests == 2)
        #expect(run.iterationMs == 120)
    }

    /// chat.js's shape: two requests written (70 % send, 30 % history), one sent an iteration. With the smoke's
    /// count the arrival rate's iteration is 1 request + its sleep, not 2.
    @Test func theGeneratorCountsTheRealIterationsRequests() async throws {
        let dir = try temporaryDirectory("pf-smoke-count")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            import http from 'k6/http';
            import { sleep } from 'k6';
            export const options = { scenarios: { chat: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1m', preAllocatedVUs: 5, maxVUs: 5 } } };
            export default function () {
              if (Math.random() < 0.7) { http.post('http://127.0.0.1:1/messages', '{}'); } else { http.get('http://127.0.0.1:1/messages'); }
              sleep(1);
            }
            """.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        var c = Config()
        var load = LoadSettings()
        load.script = dir.appendingPathComponent("load.js").path
        c.set(load)
        let plan = LoadPlan.derive(from: c)
        #expect(plan.requests.count == 2)
        var f = Findings(), e = Evidence()
        GeneratorCheck.arrivalRates(plan, latency: 0.5, perIteration: 1, &f, &e)
        #expect(e["iterationTime"]?.display.hasPrefix("1.5 s = 1 request × 0.5 s measured + 1 s of sleep()") == true, "\(e)")
        var g = Findings(), h = Evidence()
        GeneratorCheck.arrivalRates(plan, latency: 0.5, &g, &h)
        #expect(h["iterationTime"]?.display.hasPrefix("2 s = 2 requests × 0.5 s measured") == true, "\(h)")
        // In a run: the smoke check's measurement, taken by the generator ordered after it.
        let ctx = CheckContext(config: c, timeout: .seconds(2))
        _ = await ctx.measured(SmokeIteration.self) { SmokeIteration(requests: 1, milliseconds: 1_012) }
        let o = try await GeneratorCheck(probes: ProbeAnswers().probes).run(ctx)
        #expect(o.evidence["requestsPerIteration"]?.display.hasPrefix("1, counted in one real iteration") == true, "\(o.evidence)")
        // Without a ramp the latency is not measured: the iteration is its sleep (a lower bound), whatever the count.
        #expect(o.evidence["iterationTime"]?.display.hasPrefix("1 s = at least 1 s of sleep()") == true, "\(o.evidence)")
    }
}

@Suite(.serialized, .tags(.live), .runsLive) struct APICheckFastAPI {
    /// The check on `script` with `api` lines added to the config, against the fixture.
    func check(_ script: String, api: String = "", files: [String: String] = [:], server: FixtureServer) async throws -> CheckOutcome {
        let dir = try temporaryDirectory("pf-api")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, text) in files.merging(["load.js": script], uniquingKeysWith: { a, _ in a }) {
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let yml = dir.appendingPathComponent("preflight.yml")
        try "target: \(server.url)\nload:\n  script: load.js\n  env:\n    BASE_URL: \(server.url)\n\(api)".write(to: yml, atomically: true, encoding: .utf8)
        let c = try ConfigLoader(sections: AllChecks.sections, secrets: Secrets()).load(file: yml.path, environment: [:])
        return try await APICheck(probes: .live).run(CheckContext(config: c, timeout: .seconds(5)))
    }

    static func script(_ body: String) -> String {
        "import http from 'k6/http';\nconst BASE = __ENV.BASE_URL;\nexport default function () {\n  const id = Math.ceil(Math.random() * 5);\n\(body)\n}\n"
    }

    @Test(.enabled(if: fastAPIInstalled, "fastapi/uvicorn are not installed for /usr/bin/python3 (scripts/install-deps.sh)"))
    func discoveredDocumentJudgesEachRequest() async throws {
        let server = try await FixtureServer.start(script: "openapi-fixture.py")
        defer { server.stop() }
        let healthy = try await check(Self.script("""
              http.get(`${BASE}/api/v1/conversations/${id}/messages`);
              http.post(`${BASE}/api/v1/conversations/${id}/messages`, JSON.stringify({ text: 'hi' }), { headers: { 'Content-Type': 'application/json' } });
              http.del(`${BASE}/api/v1/conversations/${id}`);
            """), server: server)
        #expect(healthy.status == .pass, "\(healthy.findings)")
        #expect(healthy.summary == "3 requests match the API description (OpenAPI 3.1.0 at \(server.url)/openapi.json, 6 operations)", "\(healthy.summary)")
        #expect(healthy.evidence["traffic"] == .string("sent 1 GET: /openapi.json → 200"))

        let renamed = try await check(Self.script("  http.post(`${BASE}/api/v1/conversations/${id}/message`, JSON.stringify({ text: 'hi' }));"), server: server)
        #expect(renamed.status == .fail)
        #expect(renamed.summary == "load.js:5: POST /api/v1/conversations/${id}/message: no such route in the API description; the nearest is POST /api/v1/conversations/{conversation_id}/messages", "\(renamed.summary)")
        #expect(renamed.findings.first?.location == SourceLocation(file: "load.js", line: 5))

        let method = try await check(Self.script("  http.put(`${BASE}/api/v1/conversations/${id}`, JSON.stringify({}));"), server: server)
        #expect(method.status == .fail)
        #expect(method.summary.contains("PUT /api/v1/conversations/${id}: the API allows GET, DELETE there, not PUT"), "\(method.summary)")
        #expect(method.findings.first?.effect?.k6.hasPrefix("405") == true)

        let body = try await check(Self.script("  http.post(`${BASE}/api/v1/conversations/${id}/messages`, JSON.stringify({ author: 'me' }));"), server: server)
        #expect(body.status == .warn)
        #expect(body.summary.contains("sends a JSON body without text, which the API requires (NewMessage)"), "\(body.summary)")
    }

    @Test(.enabled(if: fastAPIInstalled, "fastapi/uvicorn are not installed for /usr/bin/python3 (scripts/install-deps.sh)"))
    func swagger2AndSpecsThatCannotBeHadWarn() async throws {
        let server = try await FixtureServer.start(script: "openapi-fixture.py")
        defer { server.stop() }
        let pets = Self.script("  http.get(`${BASE}/legacy/pets/${id}`);\n  http.get(`${BASE}/legacy/pet/${id}`);")
        let legacy = try await check(pets, api: "api:\n  spec: \(server.url)/legacy/swagger.json", server: server)
        #expect(legacy.status == .fail)
        #expect(legacy.summary == "load.js:6: GET /legacy/pet/${id}: no such route in the API description; the nearest is GET /legacy/pets/{petId}", "\(legacy.summary)")
        #expect(legacy.evidence["matched"] == .int(1))

        let notOpenAPI = try await check(pets, api: "api:\n  spec: \(server.url)/health", server: server)
        #expect(notOpenAPI.status == .warn)
        #expect(notOpenAPI.summary == "\(server.url)/health is not an OpenAPI document (no openapi or swagger field); routes not compared")

        let port = closedLoopbackPort()
        let unreachable = try await check(pets, api: "api:\n  spec: http://127.0.0.1:\(port)/openapi.json", server: server)
        #expect(unreachable.status == .warn)
        #expect(unreachable.summary.hasPrefix("the API description at http://127.0.0.1:\(port)/openapi.json could not be had: curl 7"), "\(unreachable.summary)")

        let big = "{\"openapi\": \"3.1.0\", \"x\": \"" + String(repeating: "a", count: 9 << 20) + "\", \"paths\": {}}"
        let tooLarge = try await check(pets, api: "api:\n  spec: big.json", files: ["big.json": big], server: server)
        #expect(tooLarge.status == .warn)
        #expect(tooLarge.summary == "api.spec big.json is 9 MiB, over the 8 MiB cap: not read; routes not compared")
    }

    /// The renamed route's predicted share against what k6 sees: one of two requests, 404 on every iteration.
    @Test(.enabled(if: fastAPIInstalled && k6OnPath != nil, "needs fastapi/uvicorn for /usr/bin/python3 and k6 on PATH (scripts/install-deps.sh)"))
    func k6SeesThePredictedShareOf404s() async throws {
        let server = try await FixtureServer.start(script: "openapi-fixture.py")
        defer { server.stop() }
        let script = Self.script("  http.get(`${BASE}/api/v1/conversations/${id}/messages`);\n  http.get(`${BASE}/api/v1/conversations/${id}/message`);")
        let o = try await check(script, server: server)
        #expect(o.status == .fail)
        let predicted = try #require(o.findings.first?.effect?.share)
        #expect(predicted == .exactly(0.5))

        let dir = try temporaryDirectory("pf-api-k6")
        defer { try? FileManager.default.removeItem(at: dir) }
        try script.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        let summary = dir.appendingPathComponent("summary.json")
        let r = try await run(k6OnPath!, ["run", "--quiet", "--no-color", "--no-usage-report", "--vus", "2", "--iterations", "20",
                                          "-e", "BASE_URL=\(server.url)", "--summary-export", summary.path, dir.appendingPathComponent("load.js").path], limit: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any])
        let metrics = try #require(json["metrics"] as? [String: Any])
        let failed = try #require(metrics["http_req_failed"] as? [String: Any])
        let rate = try #require(failed["value"] as? Double)
        let reqs = try #require((metrics["http_reqs"] as? [String: Any])?["count"] as? Int)
        FileHandle.standardError.write(Data("api check: predicted 404 share \(predicted.low), k6 http_req_failed \(rate) of \(reqs) requests\n".utf8))
        #expect(reqs == 40)
        #expect(abs(rate - predicted.low) < 0.001)
    }
}

/// The smoke check: one real iteration with the real k6 against the same FastAPI service.
@Suite(.serialized, .tags(.live), .runsLive) struct SmokeCheckK6 {
    func check(_ script: String, smoke: Bool = true, server: FixtureServer) async throws -> CheckOutcome {
        let dir = try temporaryDirectory("pf-smoke")
        defer { try? FileManager.default.removeItem(at: dir) }
        try script.write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        let yml = dir.appendingPathComponent("preflight.yml")
        try "target: \(server.url)\nload:\n  script: load.js\n  smoke: \(smoke)\n  env:\n    BASE_URL: \(server.url)\n".write(to: yml, atomically: true, encoding: .utf8)
        let c = try ConfigLoader(sections: AllChecks.sections, secrets: Secrets()).load(file: yml.path, environment: [:])
        return try await SmokeCheck(probes: .live).run(CheckContext(config: c, timeout: .seconds(5)))
    }

    @Test(.enabled(if: fastAPIInstalled && k6OnPath != nil, "needs fastapi/uvicorn for /usr/bin/python3 and k6 on PATH (scripts/install-deps.sh)"))
    func oneIterationFindsTheRenamedRouteAndCountsItsTraffic() async throws {
        let server = try await FixtureServer.start(script: "openapi-fixture.py")
        defer { server.stop() }
        // The URL is built by a helper (static reading cannot resolve it); setup() sends one request too.
        let script = """
            import http from 'k6/http';
            const url = (p) => __ENV.BASE_URL + p;
            export function setup() { http.get(url('/health')); }
            export default function () {
              http.get(url('/api/v1/conversations/3/messages'));
              http.post(`${__ENV.BASE_URL}/api/v1/conversations/3/message`, JSON.stringify({ text: 'hi' }), { headers: { 'Content-Type': 'application/json' } });
            }
            """
        let o = try await check(script, server: server)
        #expect(o.status == .fail, "\(o.findings)")
        #expect(o.summary == "load.js:6: POST \(server.url)/api/v1/conversations/3/message answered 404 in one real iteration (1 of its 3 requests)", "\(o.summary)")
        #expect(o.evidence["traffic"] == .string("sent 3 requests: 2 GET, 1 POST"))
        #expect(o.findings.count == 1)

        let healthy = try await check(script.replacingOccurrences(of: "/3/message`", with: "/3/messages`"), server: server)
        #expect(healthy.status == .pass, "\(healthy.findings)")
        #expect(healthy.summary.hasPrefix("one iteration of load.js (k6 run --vus 1 --iterations 1): sent 3 requests: 2 GET, 1 POST; all answered in "), "\(healthy.summary)")

        let off = try await check(script, smoke: false, server: server)
        #expect(off.status == .skipped)
    }
}
