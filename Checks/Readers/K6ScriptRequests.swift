import Foundation
import PreflightCore

/// The requests a script makes and the options it declares.
extension K6Script {
    // MARK: - requests

    static let httpMethods: [String: String] = ["get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH",
                                                "del": "DELETE", "head": "HEAD", "options": "OPTIONS"]

    /// The import at `j` (an `import` token): its default/namespace names, its `{ a as b }` pairs, and the index of
    /// its module specifier (nil when there is none).
    func importClause(_ j: Int) -> (names: [String], named: [(String, String)], module: Int?) {
        var k = j + 1
        var names: [String] = []
        var named: [(String, String)] = []
        while let t = tok(k), !t.isIdent(.from), t.kind != .string, k < j + 64 {
            if t.isPunct("{"), match[k] > k {
                var p = k + 1
                while p < match[k] {
                    if tokens[p].kind == .identifier {
                        if tok(p + 1)?.isIdent("as") == true, let local = tok(p + 2) {
                            named.append((tokens[p].text, local.text)); p += 3
                        } else { named.append((tokens[p].text, tokens[p].text)); p += 1 }
                    } else { p += 1 }
                }
                k = match[k] + 1
                continue
            }
            if t.kind == .identifier && t.text != "as" && t.text != "import" { names.append(t.text) }
            k += 1
        }
        if tok(k)?.isIdent("from") == true { k += 1 }
        return (names, named, tok(k)?.kind == .string ? k : nil)
    }

    func collectRequests(_ onRequest: (K6Script, K6Request) -> Void) {
        // Names k6/http is imported as (default `http`).
        var namespaces: Set<String> = []
        var direct: [String: String] = [:]
        for j in tokens.indices where tokens.isIdent(j, .import) {
            let (names, named, moduleAt) = importClause(j)
            guard let k = moduleAt, let module = tok(k) else { continue }
            modules.append((tokens[j].line, module.text))
            if module.text != "k6" && !module.text.hasPrefix("k6/") {
                for n in names { importedNames[n] = module.text }
                for (_, local) in named { importedNames[local] = module.text }
            }
            guard module.text == "k6/http" else { continue }
            namespaces.formUnion(names)
            for (imported, local) in named where Self.httpMethods[imported] != nil || imported == "request" || imported == "batch" {
                direct[local] = imported
            }
        }
        if namespaces.isEmpty { namespaces = ["http"] }
        let sessions = httpxSessions()

        var sleep: Double? = 0
        for j in tokens.indices where tokens.kind(j) == .identifier {
            if tok(j + 1)?.isPunct("(") == true, tok(j - 1)?.isPunct(".") != true, tokens[j].text == "sleep",
               tok(j - 1)?.text != "function", match[j + 1] > j + 1 {
                let args = arguments(j + 1)
                let mean = args.first.flatMap { SleepMean.of(source($0)) }
                sleep = sleep.flatMap { s in mean.map { s + $0 } }
                continue
            }
            var fn: String?
            var open = j + 1
            // The shape first (codes only), the name last: most identifiers are not calls of k6/http.
            if tok(j + 1)?.isPunct(".") == true, let f = tok(j + 2), f.kind == .identifier, tok(j + 3)?.isPunct("(") == true,
               namespaces.contains(tokens[j].text) {
                fn = f.text
                open = j + 3
            } else if !direct.isEmpty, tok(j + 1)?.isPunct("(") == true, tok(j - 1)?.isPunct(".") != true, let d = direct[tokens[j].text] {
                fn = d
            }
            // A jslib httpx session: `session.get('/posts')` is its baseURL + the path.
            if fn == nil, let base = sessions[tokens[j].text], tok(j - 1)?.isPunct(".") != true, tok(j + 1)?.isPunct(".") == true,
               let f = tok(j + 2), f.kind == .identifier, tok(j + 3)?.isPunct("(") == true, match[j + 3] > j + 3 {
                let args = arguments(j + 3)
                let method: String?, url: Range<Int>?
                if f.text == "request" || f.text == "asyncRequest", args.count >= 2 {
                    method = evaluate(args[0]).first.flatMap(Self.plainText)?.uppercased() ?? "?"; url = args[1]
                } else {
                    let name = f.text.hasPrefix("async") ? String(f.text.dropFirst(5)).lowercased() : f.text
                    method = Self.httpxMethods[name]; url = args.first
                }
                if let method, let url {
                    let paths = evaluate(url)
                    let joined = cap(base.flatMap { b in paths.map { p in Self.isAbsolute(p) ? p : Self.merged(b + p) } })
                    onRequest(self, K6Request(method: method, line: tokens[j].line, alternatives: joined))
                }
                continue
            }
            guard let fn, match[open] > open else { continue }
            let args = arguments(open)
            let line = tokens[j].line
            if let m = Self.httpMethods[fn], let url = args.first {
                // k6's http.get/head take (url, params); the others (url, body, params).
                let body = fn == "get" || fn == "head" || args.count < 2 ? nil : jsonBodyKeys(args[1])
                onRequest(self, K6Request(method: m, line: line, alternatives: evaluate(url), bodyKeys: body))
            } else if fn == "request", args.count >= 2 {
                let m = evaluate(args[0]).first.flatMap(Self.plainText)?.uppercased() ?? "?"
                onRequest(self, K6Request(method: m, line: line, alternatives: evaluate(args[1])))
            } else if fn == "batch", let list = args.first {
                let listed = batch(stripParens(list), onRequest)
                batchSizes.append(listed)
                if listed == nil { opaqueBatches.append((line, source(list))) }
            }
        }
        options.iterationSleep = sleep
    }

    /// httpx's request methods (jslib.k6.io/httpx): `session.get(url)`, … and their `async` forms.
    static let httpxMethods: [String: String] = ["get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH",
                                                 "delete": "DELETE", "head": "HEAD", "options": "OPTIONS"]

    /// `const session = new Httpx({ baseURL: BASE })` for an `Httpx` imported from a jslib httpx module: each
    /// session's name and its base URL's possible values (no baseURL: the empty text, paths are whole URLs).
    func httpxSessions() -> [String: [[URLPiece]]] {
        let classes = Set(importedNames.filter { $0.value.contains("/httpx") }.keys)
        guard !classes.isEmpty else { return [:] }
        var out: [String: [[URLPiece]]] = [:]
        for (name, list) in bindings {
            guard let b = list.first(where: { $0.kind == .value }), b.range.count >= 3,
                  tokens[b.range.lowerBound].isIdent("new"), classes.contains(tokens[b.range.lowerBound + 1].text),
                  tok(b.range.lowerBound + 2)?.isPunct("(") == true else { continue }
            let args = arguments(b.range.lowerBound + 2)
            if let first = args.first, let o = objectStart(first, opener: "{"), let base = objectFields(o)["baseURL"] {
                out[name] = evaluate(base)
            } else {
                out[name] = [[.text("")]]
            }
        }
        return out
    }

    /// Adjacent text pieces as one (a base URL's text and the path's).
    static func merged(_ pieces: [URLPiece]) -> [URLPiece] {
        var out: [URLPiece] = []
        for p in pieces {
            if case .text(let b) = p, case .text(let a)? = out.last { out[out.count - 1] = .text(a + b) } else { out.append(p) }
        }
        return out
    }

    /// A URL that names its own scheme (httpx ignores the base URL for it).
    static func isAbsolute(_ pieces: [URLPiece]) -> Bool {
        guard case .text(let t)? = pieces.first else { return false }
        return t.hasPrefix("http://") || t.hasPrefix("https://")
    }

    /// Reads the requests of an `http.batch` list: how many it lists, nil when the list is not written out (built at run time).
    func batch(_ r: Range<Int>, _ onRequest: (K6Script, K6Request) -> Void) -> Int? {
        guard !r.isEmpty, match[r.lowerBound] == r.upperBound - 1 else { return nil }
        let open = r.lowerBound
        let isObject = tokens[open].isPunct("{")
        guard isObject || tokens[open].isPunct("[") else { return nil }
        var listed = 0
        for item in arguments(open) {
            var value = item
            if isObject {  // { name: request }
                if let colon = topLevel(item).first(where: { tokens[$0].isPunct(":") }) { value = (colon + 1)..<item.upperBound }
            }
            let v = stripParens(value)
            guard !v.isEmpty else { continue }
            let first = tokens[v.lowerBound]
            let itemLine = first.line
            if first.isPunct("["), match[v.lowerBound] == v.upperBound - 1 {
                let parts = arguments(v.lowerBound)
                guard parts.count >= 2 else { continue }
                let m = evaluate(parts[0]).first.flatMap(Self.plainText)?.uppercased() ?? "?"
                listed += 1; onRequest(self, K6Request(method: m, line: itemLine, alternatives: evaluate(parts[1])))
            } else if first.isPunct("{"), match[v.lowerBound] == v.upperBound - 1 {
                let fields = objectFields(v.lowerBound)
                guard let url = fields["url"] else { continue }
                let m = fields["method"].flatMap { evaluate($0).first.flatMap(Self.plainText) }?.uppercased() ?? "GET"
                listed += 1; onRequest(self, K6Request(method: m, line: itemLine, alternatives: evaluate(url)))
            } else {
                listed += 1; onRequest(self, K6Request(method: "GET", line: itemLine, alternatives: evaluate(v)))
            }
        }
        return listed
    }

    static func plainText(_ pieces: [URLPiece]) -> String? {
        var s = ""
        for p in pieces { guard case .text(let t) = p else { return nil }; s += t }
        return s
    }

    /// `{ key: value, … }` at `open`: each key with its value's range (shorthand `{ vus }` maps to itself).
    func objectFields(_ open: Int) -> [String: Range<Int>] {
        var out: [String: Range<Int>] = [:]
        for f in orderedFields(open) { out[f.key] = f.value }
        return out
    }

    func orderedFields(_ open: Int) -> [(key: String, value: Range<Int>, line: Int)] {
        literal.fields(open).map { ($0.key, $0.value, $0.line) }
    }

    /// The top-level keys of `JSON.stringify({ … })` (the object written there or the const it names); nil for any
    /// other body, and for an object with a spread or a computed key (its keys are not all known).
    func jsonBodyKeys(_ r: Range<Int>) -> [String]? {
        let r = stripParens(r)
        let s = r.lowerBound
        guard r.count >= 4, tokens[s].text == "JSON", tok(s + 1)?.isPunct(".") == true, tok(s + 2)?.text == "stringify",
              tok(s + 3)?.isPunct("(") == true, match[s + 3] == r.upperBound - 1,
              let arg = arguments(s + 3).first, let open = objectStart(arg, opener: "{") else { return nil }
        for i in literal.topLevel((open + 1)..<match[open]) where tokens[i].isPunct("...") || tokens[i].isPunct("[") { return nil }
        return literal.fields(open).map(\.key)
    }

    // MARK: - options

    /// The object literal an expression stands for: itself, or a const it names.
    func objectStart(_ r: Range<Int>, opener: String) -> Int? {
        let r = stripParens(r)
        guard !r.isEmpty else { return nil }
        if tokens[r.lowerBound].isPunct(opener), match[r.lowerBound] == r.upperBound - 1 { return r.lowerBound }
        if r.count == 1, tokens[r.lowerBound].kind == .identifier, let b = bindings[tokens[r.lowerBound].text]?.first,
           b.kind == .value, depth < Self.maxDepth {
            depth += 1
            defer { depth -= 1 }
            return objectStart(b.range, opener: opener)
        }
        return nil
    }

    func resolvedText(_ r: Range<Int>) -> String? {
        guard let first = evaluate(r).first else { return nil }
        var s = ""
        for p in K6Script.resolve(first, env: env) { guard case .text(let t) = p else { return nil }; s += t }
        return s
    }

    func int(_ r: Range<Int>) -> Int? {
        guard let s = resolvedText(r) else { return nil }
        return Int(s) ?? Double(s).flatMap { $0.isFinite && abs($0) < 1e9 ? Int($0) : nil }
    }

    /// `true`/`false` written out, or a value that resolves to one (`__ENV.NO_REUSE || "true"`).
    func bool(_ r: Range<Int>) -> Bool? {
        let r = stripParens(r)
        if r.count == 1, tokens[r.lowerBound].kind == .identifier {
            if tokens[r.lowerBound].text == "true" { return true }
            if tokens[r.lowerBound].text == "false" { return false }
        }
        switch resolvedText(r) {
        case "true"?: return true
        case "false"?: return false
        default: return nil
        }
    }

    func stages(_ r: Range<Int>) -> [K6Options.Stage] {
        guard let open = objectStart(r, opener: "[") else { return [] }
        return arguments(open).compactMap { item in
            guard let o = objectStart(item, opener: "{") else { return nil }
            let f = objectFields(o)
            return K6Options.Stage(duration: f["duration"].flatMap(resolvedText), target: f["target"].flatMap(int))
        }
    }

    /// The first module whose import the range uses, following the local names it mentions (bounded).
    func importedModule(in r: Range<Int>, visited: inout Set<String>) -> String? {
        for j in r where j < tokens.count && tokens[j].kind == .identifier {
            let prev = tok(j - 1)
            if prev?.isPunct(".") == true || prev?.isPunct("?.") == true { continue }
            if tok(j + 1)?.isPunct(":") == true && !(prev?.isPunct("?") ?? false) { continue }  // a key
            let name = tokens[j].text
            if let m = importedNames[name] { return m }
            guard visited.count < 256, visited.insert(name).inserted, let bs = bindings[name] else { continue }
            for b in bs { if let m = importedModule(in: b.range, visited: &visited) { return m } }
        }
        return nil
    }

    func readOptions() {
        // `import { options } from "./config.js"`, or `export { options } from "./config.js"`.
        if let module = importedNames["options"] ?? reexportedOptions() {
            options.peakUnknown = "imports \(module)"
        }
        guard let decl = bindings["options"]?.first(where: { $0.kind == .value }),
              let open = objectStart(decl.range, opener: "{") else { return }
        options.found = true
        options.line = tokens[open].line
        let f = objectFields(open)
        options.vus = f["vus"].flatMap(int)
        options.duration = f["duration"].flatMap(resolvedText)
        if let s = f["stages"] { options.stages = stages(s) }
        options.batch = f["batch"].flatMap(int)
        options.batchPerHost = f["batchPerHost"].flatMap(int)
        options.noConnectionReuse = f["noConnectionReuse"].flatMap(bool)
        options.noVUConnectionReuse = f["noVUConnectionReuse"].flatMap(bool)
        options.maxRedirects = f["maxRedirects"].flatMap(int)
        options.tls = readTLSOptions(f)
        if let sc = f["scenarios"], let o = objectStart(sc, opener: "{") {
            for (name, value, _) in orderedFields(o) {
                guard let so = objectStart(value, opener: "{") else { continue }
                let g = objectFields(so)
                options.scenarios.append(K6Options.Scenario(
                    name: name, executor: g["executor"].flatMap(resolvedText), vus: g["vus"].flatMap(int),
                    startVUs: g["startVUs"].flatMap(int), maxVUs: g["maxVUs"].flatMap(int),
                    preAllocatedVUs: g["preAllocatedVUs"].flatMap(int), stages: g["stages"].map(stages) ?? [],
                    rate: g["rate"].flatMap(int), timeUnit: g["timeUnit"].flatMap(resolvedText),
                    startTime: g["startTime"].flatMap(resolvedText), duration: g["duration"].flatMap(resolvedText),
                    maxDuration: g["maxDuration"].flatMap(resolvedText), gracefulStop: g["gracefulStop"].flatMap(resolvedText),
                    gracefulRampDown: g["gracefulRampDown"].flatMap(resolvedText), startRate: g["startRate"].flatMap(int),
                    iterations: g["iterations"].flatMap(int)))
            }
        }
        // A value read from another module: k6 knows it, this reading does not; the peak is unknown, never understated.
        var visited: Set<String> = []
        if let module = importedModule(in: open..<(match[open] + 1), visited: &visited) {
            options.peakUnknown = "imports \(module)"
        }
        if let th = f["thresholds"], let o = objectStart(th, opener: "{") {
            for (metric, value, line) in orderedFields(o) {
                var exprs: [String] = []
                var declared: [ScriptThreshold] = []
                if let a = objectStart(value, opener: "[") {
                    for item in arguments(a) {
                        if let obj = objectStart(item, opener: "{") {
                            let g = objectFields(obj)
                            if let t = g["threshold"].flatMap(resolvedText) {
                                exprs.append(t)
                                declared.append(ScriptThreshold(key: metric, source: t, abortOnFail: g["abortOnFail"].flatMap(bool) ?? false,
                                                                delayAbortEval: g["delayAbortEval"].flatMap(resolvedText), line: line))
                            }
                        } else if let t = resolvedText(item) {
                            exprs.append(t)
                            declared.append(ScriptThreshold(key: metric, source: t, line: line))
                        }
                    }
                } else if let t = resolvedText(value) {
                    exprs.append(t)
                    declared.append(ScriptThreshold(key: metric, source: t, line: line))
                }
                options.thresholds.append(K6Options.Threshold(metric: metric, line: line, expressions: exprs, declared: declared))
            }
        }
    }

    /// `export { options } from "…"` / `export * from "…"`: the module, else nil.
    func reexportedOptions() -> String? {
        for j in tokens.indices where tokens.isIdent(j, .export) {
            var k = j + 1
            var names: Set<String> = []
            if tok(k)?.isPunct("*") == true { names.insert("*"); k += 1 }
            else if tok(k)?.isPunct("{") == true, match[k] > k {
                for p in (k + 1)..<match[k] where tokens[p].kind == .identifier { names.insert(tokens[p].text) }
                k = match[k] + 1
            } else { continue }
            guard tok(k)?.isIdent("from") == true, let m = tok(k + 1), m.kind == .string else { continue }
            if names.contains("options") || names.contains("*") { return m.text }
        }
        return nil
    }

    // MARK: - helpers for the check

    /// Replaces environment variables with their values from `env`, or their fallbacks.
    /// A variable that is unset and has no fallback reads as k6 would make it: "undefined".
    public static func resolve(_ pieces: [URLPiece], env: [String: String]) -> [URLPiece] {
        var out: [URLPiece] = []
        for p in pieces {
            switch p {
            case .env(let name, let fallback):
                if let v = env[name], !v.isEmpty { out.append(.text(v)) }
                else if let fallback { out += resolve(fallback, env: env) }
                else { out.append(.text("undefined")) }
            default: out.append(p)
            }
        }
        // Merge adjacent text.
        var merged: [URLPiece] = []
        for p in out {
            if case .text(let b) = p, case .text(let a)? = merged.last { merged[merged.count - 1] = .text(a + b) }
            else { merged.append(p) }
        }
        return merged
    }
}
