import Foundation
import Yams

/// What route matching needs of an OpenAPI document (2.0, 3.0, 3.1; JSON or YAML), read by hand with Yams (JSON
/// through JSONSerialization, much faster on a large document): the version, the base paths (`servers[].url` in
/// 3.x, `basePath` in 2.0), each path template's methods, and the required properties of each operation's JSON
/// body (3.x `requestBody.content.application/json.schema`, 2.0 the `in: body` parameter's schema; a local
/// `$ref` resolved one level). OpenAPIKit was measured and left out: debug binary 25.5 → 57.1 MB, an incremental
/// build of 707 s, and no Swagger 2.0.
struct OpenAPIDocument: Sendable, Equatable {
    struct Operation: Sendable, Equatable {
        var method: String
        /// Required top-level properties of its JSON body, and the schema's name when it is a `$ref`.
        var requiredBody: [String] = []
        var bodySchema: String?
    }
    struct Route: Sendable, Equatable {
        /// As written in the document: `/conversations/{id}/messages`.
        var template: String
        var operations: [Operation]
        var methods: [String] { operations.map(\.method) }
    }

    /// "OpenAPI 3.1.0", "Swagger 2.0".
    var version: String
    /// The paths every route is under (`/api/v1`), "" for the root; several when `servers` lists several.
    var basePaths: [String]
    var routes: [Route]
    var operationCount: Int { routes.reduce(0) { $0 + $1.operations.count } }

    static let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    enum Problem: Error, Equatable {
        /// Neither JSON nor YAML (the parser's reason, one line).
        case unreadable(String)
        /// A document without `openapi`/`swagger` and `paths`.
        case notOpenAPI(String)
    }

    /// Reads a document; `.notOpenAPI` when it parses but is something else (an HTML page, another JSON).
    static func read(_ data: Data) -> Result<OpenAPIDocument, Problem> {
        let first = data.first { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        let root: Any
        if first == UInt8(ascii: "{") {
            guard let j = try? JSONSerialization.jsonObject(with: data) else { return .failure(.unreadable("not valid JSON")) }
            root = j
        } else if first == UInt8(ascii: "<") {
            return .failure(.notOpenAPI("an HTML or XML page"))
        } else {
            guard let text = String(data: data, encoding: .utf8) else { return .failure(.unreadable("not UTF-8 text")) }
            do {
                guard let y = try Yams.load(yaml: text) else { return .failure(.notOpenAPI("an empty document")) }
                root = y
            } catch {
                return .failure(.unreadable("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")"))
            }
        }
        guard let doc = root as? [String: Any] else { return .failure(.notOpenAPI("not a mapping")) }
        let version: String
        if let v = scalar(doc["openapi"]) { version = "OpenAPI \(v)" }
        else if let v = scalar(doc["swagger"]) { version = "Swagger \(v)" }
        else { return .failure(.notOpenAPI("no openapi or swagger field")) }
        guard let paths = doc["paths"] as? [String: Any] else { return .failure(.notOpenAPI("\(version) without paths")) }
        let swagger2 = version.hasPrefix("Swagger")

        var bases: [String] = []
        if swagger2 {
            bases = [trimmedBase(scalar(doc["basePath"]) ?? "")]
        } else {
            for s in doc["servers"] as? [Any] ?? [] {
                if let url = scalar((s as? [String: Any])?["url"]) { bases.append(trimmedBase(pathOf(url))) }
            }
            if bases.isEmpty { bases = [""] }
        }
        var seen: Set<String> = []
        bases = bases.filter { seen.insert($0).inserted }

        let schemas = ((doc["components"] as? [String: Any])?["schemas"] as? [String: Any]) ?? (doc["definitions"] as? [String: Any]) ?? [:]
        var routes: [Route] = []
        for template in paths.keys.sorted() {
            guard let item = paths[template] as? [String: Any] else { continue }
            let shared = item["parameters"] as? [Any] ?? []
            var ops: [Operation] = []
            for m in methods {
                guard let op = item[m] as? [String: Any] else { continue }
                var o = Operation(method: m.uppercased())
                let schema: [String: Any]?
                if swagger2 {
                    let params = (op["parameters"] as? [Any] ?? []) + shared
                    schema = params.lazy.compactMap { $0 as? [String: Any] }.first { scalar($0["in"]) == "body" }?["schema"] as? [String: Any]
                } else {
                    let content = ((op["requestBody"] as? [String: Any])?["content"] as? [String: Any]) ?? [:]
                    let json = content["application/json"] ?? content.first { $0.key.hasPrefix("application/") && $0.key.hasSuffix("json") }?.value
                    schema = (json as? [String: Any])?["schema"] as? [String: Any]
                }
                if let schema {
                    let (resolved, name) = resolve(schema, in: schemas)
                    o.bodySchema = name
                    o.requiredBody = (resolved["required"] as? [Any] ?? []).compactMap(scalar)
                }
                ops.append(o)
            }
            routes.append(Route(template: template, operations: ops))
        }
        return .success(OpenAPIDocument(version: version, basePaths: bases, routes: routes))
    }

    /// A local `$ref` (`#/components/schemas/X`, `#/definitions/X`) resolved one level.
    static func resolve(_ schema: [String: Any], in schemas: [String: Any]) -> ([String: Any], String?) {
        guard let ref = scalar(schema["$ref"]) else { return (schema, nil) }
        let name = String(ref.split(separator: "/").last ?? "")
        guard ref.hasPrefix("#/"), let target = schemas[name] as? [String: Any] else { return ([:], name) }
        return (target, name)
    }

    static func scalar(_ v: Any?) -> String? {
        switch v {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        case let i as Int: return String(i)
        case let d as Double: return String(d)
        default: return nil
        }
    }

    /// The path of a server URL: `http://x:8000/api/` → `/api/`, `/v1` → `/v1`, `{scheme}://h/base` → `/base`.
    static func pathOf(_ url: String) -> String {
        guard let sep = url.range(of: "://") else { return url }
        let rest = url[sep.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "" }
        return String(rest[slash...])
    }

    static func trimmedBase(_ p: String) -> String {
        var s = p.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        while s.hasSuffix("/") { s.removeLast() }
        if !s.isEmpty, !s.hasPrefix("/") { s = "/" + s }
        return s
    }
}

/// One request's path against the document's routes: which route it is, or what is nearest.
enum RouteMatch: Equatable {
    case matched(OpenAPIDocument.Route, base: String)
    /// The path is there, the method is not: the methods it allows.
    case methodNotAllowed(OpenAPIDocument.Route, base: String)
    /// No route has that path: the nearest operation (by the path's edit distance, the same method first).
    case noRoute(nearest: (method: String, path: String)?)

    static func == (a: RouteMatch, b: RouteMatch) -> Bool {
        switch (a, b) {
        case (.matched(let x, let p), .matched(let y, let q)), (.methodNotAllowed(let x, let p), .methodNotAllowed(let y, let q)):
            return x == y && p == q
        case (.noRoute(let x), .noRoute(let y)): return x?.method == y?.method && x?.path == y?.path
        default: return false
        }
    }
}

extension OpenAPIDocument {
    /// A path segment of the script's URL: text, or one with a `${…}` hole (any value at run time).
    enum Segment: Equatable { case text(String), hole }

    /// `/api/posts/${id}?x=1` → [api, posts, hole]. The query and fragment are dropped; a segment with a hole in it
    /// (`item-${id}`) is a hole.
    static func segments(ofPath path: String) -> [Segment] {
        let p = path.prefix { $0 != "?" && $0 != "#" }
        return p.split(separator: "/").map { $0.contains("${") ? .hole : .text(String($0)) }
    }

    /// Matches a path (no scheme or host) under one of the document's base paths (or the target's, or none: a
    /// server URL a proxy adds must not make every request fail). A hole matches one segment or more (its value
    /// may hold slashes); a `{param}` segment matches any one segment.
    func match(method: String, path: String, extraBases: [String] = []) -> RouteMatch {
        let request = Self.segments(ofPath: path)
        var bases = basePaths
        for b in extraBases + [""] where !bases.contains(b) { bases.append(b) }
        var methodMiss: (Route, String)?
        for base in bases {
            let baseSegs = Self.segments(ofPath: base)
            guard request.count >= baseSegs.count,
                  zip(request, baseSegs).allSatisfy({ r, b in r == .hole || b == r || Self.isParam(b) }) else { continue }
            let rest = Array(request.dropFirst(baseSegs.count))
            // A literal route beats a templated one (OpenAPI's rule): `/posts/latest` before `/posts/{id}`.
            let candidates = routes.filter { Self.matches(rest[...], Self.segments(ofPath: $0.template)[...]) }
                .sorted { Self.paramCount($0.template) < Self.paramCount($1.template) }
            if let r = candidates.first(where: { $0.methods.contains(method) }) ?? (method == "HEAD" ? candidates.first(where: { $0.methods.contains("GET") }) : nil) {
                return .matched(r, base: base)
            }
            if methodMiss == nil, let r = candidates.first { methodMiss = (r, base) }
        }
        if let (r, base) = methodMiss { return .methodNotAllowed(r, base: base) }
        return .noRoute(nearest: nearest(method: method, path: path))
    }

    static func isParam(_ s: Segment) -> Bool {
        if case .text(let t) = s { return t.hasPrefix("{") && t.hasSuffix("}") }
        return false
    }

    static func paramCount(_ template: String) -> Int { template.filter { $0 == "{" }.count }

    static func matches(_ r: ArraySlice<Segment>, _ t: ArraySlice<Segment>) -> Bool {
        guard let head = r.first else { return t.isEmpty }
        if head == .hole {
            // One segment or more; bounded by the template's length.
            guard !t.isEmpty else { return false }
            var k = t.startIndex + 1
            while k <= t.endIndex {
                if matches(r.dropFirst(), t[k...]) { return true }
                k += 1
            }
            return false
        }
        guard let th = t.first else { return false }
        guard th == head || isParam(th) else { return false }
        return matches(r.dropFirst(), t.dropFirst())
    }

    /// The operation whose full path (base + template) is nearest the request's: an edit distance over segments,
    /// where a hole or a `{param}` costs nothing against any one segment, two names cost their character edits, and
    /// a segment more or less costs more than any rename (`/pet/7` is nearer `/pets/{id}` than `/pets`).
    func nearest(method: String, path: String) -> (method: String, path: String)? {
        let want = Self.segments(ofPath: path)
        var best: (score: Int, method: String, path: String)?
        let base = basePaths.first ?? ""
        for r in routes {
            let full = base + r.template
            let d = Self.segmentDistance(want, Self.segments(ofPath: full))
            for m in r.methods {
                let score = d * 2 + (m == method ? 0 : 1)
                if best == nil || score < best!.score { best = (score, m, full) }
            }
        }
        return best.map { ($0.method, $0.path) }
    }

    static func segmentDistance(_ a: [Segment], _ b: [Segment]) -> Int {
        let a = Array(a.prefix(64)), b = Array(b.prefix(64))
        func name(_ s: Segment) -> [Character]? {
            if case .text(let t) = s, !(t.hasPrefix("{") && t.hasSuffix("}")) { return Array(t) }
            return nil
        }
        func indel(_ s: Segment) -> Int { 10 + (name(s)?.count ?? 1) }
        func sub(_ x: Segment, _ y: Segment) -> Int {
            guard let p = name(x), let q = name(y) else { return 0 }
            return distance(p, q)
        }
        var prev = [0], cur: [Int] = []
        for j in b.indices { prev.append(prev[j] + indel(b[j])) }
        for i in a.indices {
            cur = [prev[0] + indel(a[i])]
            for j in b.indices {
                cur.append(min(prev[j + 1] + indel(a[i]), cur[j] + indel(b[j]), prev[j] + sub(a[i], b[j])))
            }
            prev = cur
        }
        return prev[b.count]
    }

    /// Levenshtein distance, on at most 200 characters each (paths are short; a huge one is not worth more).
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        let a = Array(a.prefix(200)), b = Array(b.prefix(200))
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
