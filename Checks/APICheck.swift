import Foundation
import PreflightCore
import PreflightProbes

/// `api.spec` in preflight.yml: the service's OpenAPI description, a file or a URL; unset, it is looked for on the target.
public struct APISettings: ConfigSection {
    public static let key = "api"
    public static let keys = ["spec"]
    /// A file (relative to the config file's folder) or an http(s) URL.
    public var spec: String?

    public init() {}
    public init(reading r: SectionReader) {
        if let s = r.string("spec") {
            if s.isEmpty { r.problem("spec", "expected the path or URL of the service's OpenAPI document") }
            else if s.hasPrefix("http://") || s.hasPrefix("https://") {
                let (_, why) = ServiceURL.parse(s)
                if let why { r.problem("spec", why) } else { spec = s }
            } else { spec = s }
        }
    }

    public var secrets: [String] { spec.map { Secrets.inURL($0) } ?? [] }

    public static let schemaDescription = "The service's API description (OpenAPI), which the script's requests are matched against"
    public static let schema: ValueSchema = .object([
        SchemaKey("spec", "The OpenAPI document (2.0, 3.0 or 3.1; JSON or YAML): a file (relative to the config file's folder) or an http(s) URL; unset, it is looked for on the target (/openapi.json, /openapi.yaml, /v3/api-docs, /swagger.json, /api-docs, /docs/openapi.json, also under the target's base path)", .string),
    ])
}

/// The script's requests against the service's OpenAPI description (issue 34): every request on the target is
/// matched to an operation, method and path template: no such path fails naming the nearest operation, a path
/// without that method fails with the methods it allows, a JSON body without a required property warns.
/// Its own check, after `port`: discovery asks the target, and a spec that cannot be had never fails the run.
public struct APICheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "api", title: "Routes against the API description", layer: .script, prerequisites: ["port"],
        examples: [
            CheckExample(.fail, given: Self.world("http.post(`${BASE}/api/v1/conversations/${id}/message`, JSON.stringify({ text: 'hi' }));"),
                         says: "load.js:4: POST /api/v1/conversations/${id}/message: no such route in the API description; the nearest is POST /api/v1/conversations/{id}/messages"),
            CheckExample(.fail, given: Self.world("http.put(`${BASE}/api/v1/conversations/${id}/messages`, JSON.stringify({ text: 'hi' }));"),
                         says: "the API allows POST there, not PUT"),
            CheckExample(.warn, given: Self.world("http.post(`${BASE}/api/v1/conversations/${id}/messages`, JSON.stringify({ body: 'hi' }));"),
                         says: "sends a JSON body without text, which the API requires (NewMessage)"),
            CheckExample(.pass, given: Self.world("http.post(`${BASE}/api/v1/conversations/${id}/messages`, JSON.stringify({ text: 'hi' }));\n  http.get(`${BASE}/api/v1/conversations/${id}`);"),
                         says: "2 requests match the API description (OpenAPI 3.1.0 at http://127.0.0.1:3001/openapi.json, 3 operations)"),
            CheckExample(.fail, given: Self.world("http.get(`${BASE}/v2/pets/${id}/toys`);", spec: Self.swagger, at: "/swagger.json"),
                         says: "GET /v2/pets/${id}/toys: no such route in the API description; the nearest is GET /v2/pets/{petId}"),
            CheckExample(.warn, given: Self.world("http.get(`${BASE}/api/v1/conversations/${id}`);", config: "\napi:\n  spec: http://127.0.0.1:3001/spec.json"),
                         says: "the API description at http://127.0.0.1:3001/spec.json could not be had: curl 7: Could not connect"),
            CheckExample(.warn, given: Self.world("http.get(`${BASE}/api/v1/conversations/${id}`);", config: "\napi:\n  spec: openapi.json",
                                                  files: ["openapi.json": #"{"name": "not an api", "paths": {}}"#]),
                         says: "openapi.json is not an OpenAPI document (no openapi or swagger field)"),
            CheckExample(.pass, given: Self.world("http.get(`${BASE}/posts`);", spec: nil),
                         says: "no OpenAPI description found on the target (6 paths tried): routes not compared"),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001"), says: "no load.script configured"),
        ],
        timeoutBudget: 4)
    public static let settings: [any ConfigSection.Type] = [APISettings.self]
    public static let facts: [any Fact.Type] = [TargetReach.self, LoadPlan.self]

    /// Documents past 8 MiB are not read (an API description is rarely over 1 MiB).
    static let sizeCap = 8 << 20
    /// Where a service's description usually is (FastAPI, Springdoc, Swagger, express-openapi, …).
    static let discoveryPaths = ["/openapi.json", "/openapi.yaml", "/v3/api-docs", "/swagger.json", "/api-docs", "/docs/openapi.json"]

    static let openAPI = #"""
        {"openapi": "3.1.0", "info": {"title": "chat", "version": "1"},
         "paths": {"/api/v1/conversations/{id}/messages": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewMessage"}}}}}},
                   "/api/v1/conversations/{id}": {"get": {}, "delete": {}}},
         "components": {"schemas": {"NewMessage": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}}
        """#
    static let swagger = """
        swagger: "2.0"
        info: {title: pets, version: "1"}
        basePath: /v2
        paths:
          /pets/{petId}:
            get: {responses: {"200": {description: ok}}}
        """

    /// An example: load.js (BASE and id, then `body` in the default function) against the target :3001, which
    /// publishes `spec` at `at` (nil: nothing anywhere).
    static func world(_ body: String, spec: String? = Self.openAPI, at: String = "/openapi.json", config: String = "",
                      files: [String: String] = [:]) -> World {
        World(config: "target: http://127.0.0.1:3001\nload:\n  script: load.js" + config,
              files: files.merging(["load.js": "import http from 'k6/http';\nconst BASE = 'http://127.0.0.1:3001';\nexport default function () { const id = Math.ceil(Math.random() * 10);\n  \(body)\n}\n"]) { a, _ in a },
              answers: ProbeAnswers {
                  for p in Self.discoveryPaths { $0.http["GET http://127.0.0.1:3001\(p)"] = .answer(404, #"{"detail":"Not Found"}"#) }
                  if let spec, config.isEmpty { $0.http["GET http://127.0.0.1:3001\(at)"] = .answer(200, spec) }
                  $0.http["GET http://127.0.0.1:3001/spec.json"] = .failed(7, "Could not connect")
              })
    }

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let plan = context.fact(LoadPlan.self)
        guard plan.scriptPath != nil else { return .skipped("no load.script configured") }
        let reach = context.fact(TargetReach.self)
        guard let target = reach.target else { return .skipped("no target configured") }
        let settings = context.config.section(APISettings.self)
        let shapes = plan.requests
        var evidence = Evidence()

        let found: Found
        if let spec = settings.spec {
            found = await fetch(spec, configFile: context.config.file, reach: reach, timeout: context.timeout)
        } else {
            found = await discover(reach: reach, context: context)
        }
        if !found.traffic.isEmpty {
            let counts = found.traffic.count
            evidence["traffic"] = .string("sent \(counts) GET\(counts == 1 ? "" : "s"): " + found.traffic.joined(separator: ", "))
        }
        guard case .document(let doc, let source) = found.result else {
            if case .problem(let sentence, let fix) = found.result {
                return CheckOutcome(findings: [Finding(.warn, sentence, fix: fix)], evidence: evidence)
            }
            return .pass("no OpenAPI description found on the target (\(found.traffic.count) paths tried): routes not compared", evidence: evidence)
        }
        evidence["spec"] = .string("\(doc.version) at \(source), \(doc.operationCount) operations, base path\(doc.basePaths.count == 1 ? "" : "s") \(doc.basePaths.map { $0.isEmpty ? "/" : $0 }.joined(separator: ", "))")
        return judge(shapes, requestCount: plan.requestCount, against: doc, source: source, target: target, evidence: evidence)
    }

    /// Every request on the target against the document.
    func judge(_ shapes: [RequestShape], requestCount: Int, against doc: OpenAPIDocument, source: String,
               target: ServiceURL, evidence base: Evidence) -> CheckOutcome {
        var evidence = base
        var failures: [Finding] = [], warnings: [Finding] = []
        var matched = 0, elsewhere: [String] = [], unknown: [String] = []
        let total = max(requestCount, shapes.reduce(0) { $0 + $1.count })
        for shape in shapes {
            let url = shape.resolvedURL ?? shape.url
            let at = shape.location.map { "\($0): " } ?? ""
            // A method only known at run time (`http.request(m, …)`) is not judged.
            guard let path = Self.path(of: url), shape.method != "?" else { unknown.append("\(at)\(shape.label)"); continue }
            guard let o = ScriptAnalysis.origin(of: url), o.port == target.port, ScriptAnalysis.sameMachine(o.host, target.host) else {
                elsewhere.append("\(at)\(shape.method) \(redactURL(url))"); continue
            }
            let share = Double(shape.count) / Double(max(total, 1))
            let requests = ["\(shape.method) at \(shape.location ?? shape.url)"]
            let basis = "\(shape.count) of the script's \(total) requests (branches not weighed)"
            switch doc.match(method: shape.method, path: path, extraBases: [Self.trimmed(target.path)]) {
            case .matched(let route, _):
                matched += 1
                guard let keys = shape.bodyKeys, let op = route.operations.first(where: { $0.method == shape.method }) else { continue }
                let missing = op.requiredBody.filter { !keys.contains($0) }
                guard !missing.isEmpty else { continue }
                let schema = op.bodySchema.map { " (\($0))" } ?? ""
                warnings.append(Finding(.warn, "\(at)\(shape.method) \(path) sends a JSON body without \(missing.joined(separator: ", ")), which the API requires\(schema)",
                                        fix: "add \(missing.joined(separator: ", ")) to the body the script sends, as \(source) describes \(shape.method) \(route.template)",
                                        location: shape.location.map { SourceLocation(written: $0) },
                                        effect: Effect(requests: requests, share: .exactly(share), k6: "422 or 400 (the API refuses the body)", basis: basis)))
            case .methodNotAllowed where shape.method == "OPTIONS":
                matched += 1  // CORS middleware answers OPTIONS on any route, described or not
            case .methodNotAllowed(let route, let b):
                failures.append(Finding(.fail, "\(at)\(shape.method) \(path): the API allows \(route.methods.joined(separator: ", ")) there, not \(shape.method) (\(b)\(route.template))",
                                        fix: "send \(route.methods.joined(separator: " or ")) as \(source) describes \(b)\(route.template), or set api.spec to the description of the API the test runs against",
                                        location: shape.location.map { SourceLocation(written: $0) },
                                        effect: Effect(requests: requests, share: .exactly(share), k6: "405 (method not allowed)", basis: basis)))
            case .noRoute(let nearest):
                let near = nearest.map { "; the nearest is \($0.method) \($0.path)" } ?? ""
                failures.append(Finding(.fail, "\(at)\(shape.method) \(path): no such route in the API description\(near)",
                                        fix: nearest.map { "change the script's URL to the API's route (\($0.method) \($0.path)), or set api.spec to the description of the API the test runs against" }
                                            ?? "set api.spec to the description of the API the test runs against",
                                        location: shape.location.map { SourceLocation(written: $0) },
                                        effect: Effect(requests: requests, share: .exactly(share), k6: "404 (no such route)", basis: basis)))
            }
        }
        if !elsewhere.isEmpty { evidence["notOnTarget"] = .array(elsewhere.prefix(10).map { .string($0) }) }
        if !unknown.isEmpty { evidence["notCompared"] = .array(unknown.prefix(10).map { .string("\($0): its base URL or method is only known at run time") }) }
        evidence["matched"] = .int(matched)
        if !failures.isEmpty || !warnings.isEmpty { return CheckOutcome(findings: failures + warnings, evidence: evidence) }
        let others = elsewhere.count + unknown.count
        return .pass("\(matched) request\(matched == 1 ? "" : "s") match\(matched == 1 ? "es" : "") the API description (\(doc.version) at \(source), \(doc.operationCount) operation\(doc.operationCount == 1 ? "" : "s"))"
                     + (others > 0 ? "; \(others) not compared" : ""), evidence: evidence)
    }

    /// The path of a URL the script builds: after its authority; nil when its start is only known at run time.
    static func path(of url: String) -> String? {
        guard let sep = url.range(of: "://"), !url[..<sep.lowerBound].contains("$") else { return nil }
        let rest = url[sep.upperBound...]
        guard let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else { return rest.contains("${") ? nil : "/" }
        guard !rest[..<end].contains("${") else { return nil }
        let p = String(rest[end...])
        return p.hasPrefix("/") ? p : "/" + p
    }

    static func trimmed(_ p: String) -> String { OpenAPIDocument.trimmedBase(p) }

    // MARK: finding the document

    struct Found {
        enum Result {
            case document(OpenAPIDocument, source: String)
            /// A spec that could not be had or read: a warning, never a fail.
            case problem(String, fix: String)
            case nothing
        }
        var result: Result
        /// "GET /openapi.json → 404", one per request sent.
        var traffic: [String] = []
    }

    /// `api.spec`: a URL (one GET) or a file.
    func fetch(_ spec: String, configFile: String?, reach: TargetReach, timeout: Duration) async -> Found {
        let fix = "set api.spec to the service's OpenAPI document (a file, or a URL preflight can GET), or remove it to look on the target"
        if spec.hasPrefix("http://") || spec.hasPrefix("https://") {
            let shown = redactURL(spec)
            let x = await probes.http.send("GET", url: spec, headers: ["Accept": "application/json, application/yaml"], body: nil, timeout: timeout,
                                           bodyCap: Self.sizeCap + 1, options: reach.requestOptions(for: spec, environment: probes.host.environment))
            let traffic = ["GET \(shown) → \(Self.said(x))"]
            guard let status = x.status, (200...299).contains(status) else {
                return Found(result: .problem("the API description at \(shown) could not be had: \(Self.said(x)); routes not compared", fix: fix), traffic: traffic)
            }
            if x.bodyTruncated || x.body.count > Self.sizeCap {
                return Found(result: .problem("the API description at \(shown) is over \(Self.sizeCap >> 20) MiB: not read; routes not compared", fix: fix), traffic: traffic)
            }
            return Found(result: Self.parse(x.body, shown: shown, fix: fix), traffic: traffic)
        }
        let full = LoadPlan.resolve(spec, configFile: configFile)
        let size = (try? FileManager.default.attributesOfItem(atPath: full))?[.size] as? Int
        guard let size else {
            return Found(result: .problem("api.spec \(spec) cannot be read (\(FileManager.default.fileExists(atPath: full) ? "permission?" : "no such file")); routes not compared", fix: fix))
        }
        if size > Self.sizeCap {
            return Found(result: .problem("api.spec \(spec) is \(size >> 20) MiB, over the \(Self.sizeCap >> 20) MiB cap: not read; routes not compared", fix: fix))
        }
        guard let data = FileManager.default.contents(atPath: full) else {
            return Found(result: .problem("api.spec \(spec) cannot be read; routes not compared", fix: fix))
        }
        return Found(result: Self.parse(data.prefix(Self.sizeCap), shown: spec, fix: fix))
    }

    static func parse(_ data: Data, shown: String, fix: String) -> Found.Result {
        switch OpenAPIDocument.read(data) {
        case .success(let d): return .document(d, source: shown)
        case .failure(.notOpenAPI(let why)): return .problem("\(shown) is not an OpenAPI document (\(why)); routes not compared", fix: fix)
        case .failure(.unreadable(let why)): return .problem("\(shown) cannot be read as an OpenAPI document (\(why)); routes not compared", fix: fix)
        }
    }

    /// The usual places on the target's origin, under its base path first: one GET each, in turn, until one answers
    /// an OpenAPI document. Bounded: at most 12 GETs, none started after twice the check's timeout.
    func discover(reach: TargetReach, context: CheckContext) async -> Found {
        guard let origin = reach.origin else { return Found(result: .nothing) }
        let base = Self.trimmed(reach.basePath)
        var paths = base.isEmpty ? [] : Self.discoveryPaths.map { base + $0 }
        paths += Self.discoveryPaths
        var traffic: [String] = []
        let clock = ContinuousClock(), start = clock.now
        for p in paths.prefix(12) {
            guard clock.now - start < context.timeout * 2 else { break }
            let url = origin + p
            let x = await probes.http.send("GET", url: url, headers: ["Accept": "application/json, application/yaml"], body: nil,
                                           timeout: context.timeout, bodyCap: Self.sizeCap + 1,
                                           options: reach.requestOptions(for: url, environment: probes.host.environment))
            traffic.append("\(p) → \(Self.said(x))")
            guard let s = x.status, (200...299).contains(s) else {
                if x.status == nil { break }  // nothing answers: the rest would not either
                continue
            }
            if x.bodyTruncated || x.body.count > Self.sizeCap {
                return Found(result: .problem("the API description at \(redactURL(url)) is over \(Self.sizeCap >> 20) MiB: not read; routes not compared",
                                              fix: "set api.spec to a smaller description of the API (a file), or leave the routes unchecked"), traffic: traffic)
            }
            if case .success(let d) = OpenAPIDocument.read(x.body) { return Found(result: .document(d, source: redactURL(url)), traffic: traffic) }
        }
        return Found(result: .nothing, traffic: traffic)
    }

    static func said(_ x: HTTPExchange) -> String {
        if let s = x.status { return String(s) }
        return x.failure.map { "curl \($0.code): \($0.message)" } ?? "no answer"
    }
}
