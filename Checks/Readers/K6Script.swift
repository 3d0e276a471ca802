/// A piece of a statically evaluated string: known text, an environment variable, or a run-time hole.
public enum URLPiece: Sendable, Equatable {
    case text(String)
    /// `__ENV.NAME`, with the value after `||`/`??` when there is one.
    case env(String, fallback: [URLPiece]?)
    /// An expression only known at run time (token range in the script).
    case hole(Range<Int>)
}

/// One `http.*` call found in the script.
public struct K6Request: Sendable {
    public let method: String
    public let line: Int
    /// The URL argument's possible values (one per branch of a ternary or `let` reassignment).
    public let alternatives: [[URLPiece]]
}

/// `export const options`, as far as it can be read statically.
public struct K6Options: Sendable, Equatable {
    public struct Stage: Sendable, Equatable { public var duration: String?; public var target: Int? }
    public struct Scenario: Sendable, Equatable {
        public var name: String
        public var executor: String?
        public var vus: Int?
        public var startVUs: Int?
        public var maxVUs: Int?
        public var preAllocatedVUs: Int?
        public var stages: [Stage] = []
        public var peakVUs: Int? {
            let candidates = [vus, startVUs, maxVUs, preAllocatedVUs].compactMap { $0 } + stages.compactMap(\.target)
            return candidates.max()
        }
    }
    public struct Threshold: Sendable, Equatable {
        public var metric: String
        public var line: Int
        public var expressions: [String]
    }
    public var found = false
    public var line: Int?
    public var vus: Int?
    public var duration: String?
    public var stages: [Stage] = []
    public var scenarios: [Scenario] = []
    public var thresholds: [Threshold] = []

    /// The most VUs the options ask for: scenarios run side by side, so their peaks add up.
    public var peakVUs: Int? {
        if !scenarios.isEmpty {
            let peaks = scenarios.compactMap(\.peakVUs)
            return peaks.isEmpty ? nil : peaks.reduce(0, +)
        }
        let fromStages = stages.compactMap(\.target).max()
        switch (vus, fromStages) {
        case let (v?, s?): return max(v, s)
        case let (v?, nil): return v
        case let (nil, s?): return s
        default: return nil
        }
    }
}

/// Where a cursor-like value comes from.
public enum ValueOrigin: Sendable, Equatable {
    case response
    case time(String)
    case random(String)
    case counter(String)
    case literal(String)
    case empty
    case unknown

    var isGenerated: Bool {
        switch self {
        case .time, .random, .counter: return true
        default: return false
        }
    }
}

/// A k6 script read statically: its requests with their URL expressions, options and custom metrics.
public final class K6Script {
    public let tokens: [JSToken]
    public let problems: [JSProblem]
    public let problemCount: Int
    public private(set) var requests: [K6Request] = []
    public private(set) var options = K6Options()
    /// Metrics made with `new Rate/Trend/Counter/Gauge("name")`.
    public private(set) var customMetrics: Set<String> = []

    enum BindingKind { case value, element, counter }
    struct Binding { let kind: BindingKind; let range: Range<Int> }

    var bindings: [String: [Binding]] = [:]
    var match: [Int]
    var reverse: [Int]
    let env: [String: String]
    private var evalMemo: [String: [[URLPiece]]] = [:]
    private var classMemo: [String: ValueOrigin] = [:]
    private var inProgress: Set<String> = []
    private var depth = 0
    static let maxDepth = 24
    static let maxAlternatives = 16

    public init(source: String, env: [String: String] = [:]) {
        let t = JSTokenizer.tokenize(source)
        tokens = t.tokens
        problems = t.problems
        problemCount = t.problemCount
        self.env = env
        (match, reverse) = Self.matchBrackets(t.tokens)
        collectBindings()
        collectRequests()
        readOptions()
    }

    // MARK: - structure

    static func matchBrackets(_ tokens: [JSToken]) -> ([Int], [Int]) {
        var match = [Int](repeating: -1, count: tokens.count)
        var reverse = [Int](repeating: -1, count: tokens.count)
        var stack: [(Int, String)] = []
        for (i, t) in tokens.enumerated() {
            let open: String?
            let close: String?
            switch t.kind {
            case .punctuator where t.text == "(" || t.text == "[" || t.text == "{": open = t.text; close = nil
            case .templateHead: open = "`"; close = nil
            case .punctuator where t.text == ")": open = nil; close = "("
            case .punctuator where t.text == "]": open = nil; close = "["
            case .punctuator where t.text == "}": open = nil; close = "{"
            case .templateTail: open = nil; close = "`"
            default: open = nil; close = nil
            }
            if let open { stack.append((i, open)) }
            if let close, let top = stack.last, top.1 == close {
                stack.removeLast()
                match[top.0] = i
                reverse[i] = top.0
            }
        }
        return (match, reverse)
    }

    func tok(_ i: Int) -> JSToken? { i >= 0 && i < tokens.count ? tokens[i] : nil }

    static let continuation: Set<String> = [".", "?.", "?", ":", "+", "-", "*", "/", "%", "**", "||", "&&", "??", "==",
                                            "===", "!=", "!==", "<", ">", "<=", ">=", "=>", "(", "[", "&", "|", "^",
                                            "instanceof", "in", "="]

    /// End (exclusive) of the expression starting at `start`, JavaScript-style.
    func exprEnd(_ start: Int, _ limit: Int) -> Int {
        var j = start
        while j < limit {
            let t = tokens[j]
            if j > start && t.newlineBefore {
                let prev = tokens[j - 1]
                let prevOpen = prev.kind == .punctuator && ![")", "]", "}", "++", "--"].contains(prev.text)
                let nextCont = (t.kind == .punctuator && Self.continuation.contains(t.text)) || t.kind == .template
                    || t.kind == .templateHead
                if !prevOpen && !nextCont { return j }
            }
            switch t.kind {
            case .punctuator:
                switch t.text {
                case ";", ",", ")", "]", "}": return j
                case "(", "[", "{":
                    let m = match[j]
                    if m < 0 || m >= limit { return limit }
                    j = m + 1
                    continue
                default: break
                }
            case .templateHead:
                let m = match[j]
                if m < 0 || m >= limit { return limit }
                j = m + 1
                continue
            case .templateMiddle, .templateTail: return j
            default: break
            }
            j += 1
        }
        return limit
    }

    /// Indices of the tokens in `r` that are not inside brackets.
    func topLevel(_ r: Range<Int>) -> [Int] {
        var out: [Int] = []
        var j = r.lowerBound
        while j < r.upperBound {
            out.append(j)
            let t = tokens[j]
            if (t.kind == .punctuator && (t.text == "(" || t.text == "[" || t.text == "{")) || t.kind == .templateHead {
                let m = match[j]
                if m < 0 || m >= r.upperBound { break }
                j = m + 1
                continue
            }
            j += 1
        }
        return out
    }

    func stripParens(_ r: Range<Int>) -> Range<Int> {
        var r = r
        while r.count >= 2, tokens[r.lowerBound].isPunct("("), match[r.lowerBound] == r.upperBound - 1 {
            r = (r.lowerBound + 1)..<(r.upperBound - 1)
        }
        return r
    }

    /// Splits at top-level commas.
    func arguments(_ open: Int) -> [Range<Int>] {
        let close = match[open]
        guard close > open else { return [] }
        var out: [Range<Int>] = []
        var start = open + 1
        for j in topLevel((open + 1)..<close) where tokens[j].isPunct(",") {
            if j > start { out.append(start..<j) }
            start = j + 1
        }
        if close > start { out.append(start..<close) }
        return out
    }

    /// Readable source for a token range (for messages).
    public func source(_ r: Range<Int>) -> String {
        var out = ""
        var prev: JSToken?
        for j in r where j < tokens.count {
            let t = tokens[j]
            let text: String
            switch t.kind {
            case .string: text = "\"\(t.text)\""
            case .template: text = "`\(t.text)`"
            case .templateHead: text = "`\(t.text)${"
            case .templateMiddle: text = "}\(t.text)${"
            case .templateTail: text = "}\(t.text)`"
            default: text = t.text
            }
            if let p = prev, (p.kind == .identifier || p.kind == .number) && (t.kind == .identifier || t.kind == .number) {
                out += " "
            } else if let p = prev, p.kind == .punctuator, [",", "?", ":", "<", ">", "||", "&&", "??", "=", "*", "+", "-"].contains(p.text) {
                out += " "
            } else if t.kind == .punctuator, ["?", ":", "<", ">", "||", "&&", "??", "=", "*", "+", "-"].contains(t.text) {
                out += " "
            }
            out += text
            prev = t
            if out.count > 200 { return out + "…" }
        }
        return out
    }

    // MARK: - bindings

    static let declarators: Set<String> = ["const", "let", "var"]

    private func add(_ name: String, _ kind: BindingKind, _ r: Range<Int>) {
        bindings[name, default: []].append(Binding(kind: kind, range: r))
    }

    private func collectBindings() {
        let n = tokens.count
        var j = 0
        while j < n {
            let t = tokens[j]
            defer { j += 1 }
            guard t.kind == .identifier || t.kind == .punctuator else { continue }
            if t.kind == .identifier && Self.declarators.contains(t.text) {
                var k = j + 1
                while let name = tok(k) {
                    if name.kind == .identifier, tok(k + 1)?.isPunct("=") == true {
                        let end = exprEnd(k + 2, n)
                        add(name.text, .value, (k + 2)..<end)
                        if tok(end)?.isPunct(",") == true { k = end + 1; continue }
                    } else if name.isPunct("{") || name.isPunct("["), match[k] > k, tok(match[k] + 1)?.isPunct("=") == true {
                        let end = exprEnd(match[k] + 2, n)
                        for p in (k + 1)..<match[k] where tokens[p].kind == .identifier && tok(p + 1)?.isPunct(":") != true {
                            add(tokens[p].text, .value, (match[k] + 2)..<end)
                        }
                        if tok(end)?.isPunct(",") == true { k = end + 1; continue }
                    } else if name.kind == .identifier, tok(k + 1)?.isIdent("of") == true {
                        let end = exprEnd(k + 2, n)
                        add(name.text, .element, (k + 2)..<end)
                    }
                    break
                }
                continue
            }
            if t.kind == .identifier, let next = tok(j + 1), next.kind == .punctuator {
                let prev = tok(j - 1)
                let afterDot = prev?.isPunct(".") == true || prev?.isPunct("?.") == true
                switch next.text {
                case "=" where !afterDot && !(prev.map { Self.declarators.contains($0.text) } ?? false):
                    add(t.text, .value, (j + 2)..<exprEnd(j + 2, n))
                case "+=", "-=":
                    let end = exprEnd(j + 2, n)
                    if end == j + 3 && tokens[j + 2].kind == .number { add(t.text, .counter, (j + 2)..<end) }
                    else { add(t.text, .value, (j + 2)..<end) }
                case "++", "--": add(t.text, .counter, j..<(j + 1))
                case "." where !afterDot:
                    // NAME.push(x) / NAME.unshift(x); NAME.a.b = x
                    if let m = tok(j + 2), m.isIdent("push") || m.isIdent("unshift"), tok(j + 3)?.isPunct("(") == true {
                        for a in arguments(j + 3) { add(t.text, .value, a) }
                    } else {
                        var k = j + 1
                        while tok(k)?.isPunct(".") == true, tok(k + 1)?.kind == .identifier { k += 2 }
                        if k > j + 1, tok(k)?.isPunct("=") == true { add(t.text, .value, (k + 1)..<exprEnd(k + 1, n)) }
                    }
                default: break
                }
                if prev?.isPunct("++") == true || prev?.isPunct("--") == true { add(t.text, .counter, j..<(j + 1)) }
            }
            if t.isPunct("]"), tok(j + 1)?.isPunct("=") == true, let root = tok(reverse[j] - 1), reverse[j] > 0,
               root.kind == .identifier {
                add(root.text, .value, (j + 2)..<exprEnd(j + 2, n))
            }
            // new Rate("name"), new metrics.Trend("name")
            if t.isIdent("new") {
                var k = j + 1
                if tok(k + 1)?.isPunct(".") == true { k += 2 }
                if let kind = tok(k), ["Rate", "Trend", "Counter", "Gauge"].contains(kind.text),
                   tok(k + 1)?.isPunct("(") == true, let name = tok(k + 2), name.kind == .string || name.kind == .template {
                    customMetrics.insert(name.text)
                }
            }
        }
    }

    // MARK: - evaluation of string expressions

    func envName(_ r: Range<Int>) -> String? {
        let r = stripParens(r)
        guard r.count >= 3, tokens[r.lowerBound].isIdent("__ENV") else { return nil }
        let a = tokens[r.lowerBound + 1], b = tokens[r.lowerBound + 2]
        if r.count == 3, a.isPunct(".") || a.isPunct("?."), b.kind == .identifier { return b.text }
        if r.count == 4, a.isPunct("["), b.kind == .string, tokens[r.lowerBound + 3].isPunct("]") { return b.text }
        return nil
    }

    static let transparentCalls: Set<String> = ["String", "Number", "parseInt", "parseFloat", "encodeURIComponent", "encodeURI"]

    private func cap(_ a: [[URLPiece]]) -> [[URLPiece]] { Array(a.prefix(Self.maxAlternatives)) }

    /// The values a string expression can take, with run-time parts left as holes.
    func evaluate(_ range: Range<Int>) -> [[URLPiece]] {
        let r = stripParens(range)
        guard !r.isEmpty else { return [[.hole(range)]] }
        guard depth < Self.maxDepth else { return [[.hole(r)]] }
        depth += 1
        defer { depth -= 1 }
        let top = topLevel(r)
        if let q = top.firstIndex(where: { tokens[$0].isPunct("?") }) {
            var nest = 0
            for k in top[(q + 1)...] {
                if tokens[k].isPunct("?") { nest += 1 }
                if tokens[k].isPunct(":") {
                    if nest == 0 { return cap(evaluate((top[q] + 1)..<k) + evaluate((k + 1)..<r.upperBound)) }
                    nest -= 1
                }
            }
            return [[.hole(r)]]
        }
        if let k = top.first(where: { tokens[$0].isPunct("||") || tokens[$0].isPunct("??") }) {
            let left = r.lowerBound..<k, right = (k + 1)..<r.upperBound
            if let name = envName(left) { return evaluate(right).map { [.env(name, fallback: $0)] } }
            return cap(evaluate(left) + evaluate(right))
        }
        let plus = top.filter { k in
            guard tokens[k].isPunct("+"), k > r.lowerBound else { return false }
            let p = tokens[k - 1]
            return p.kind != .punctuator || [")", "]", "}"].contains(p.text)
        }
        if !plus.isEmpty {
            var parts: [Range<Int>] = []
            var start = r.lowerBound
            for k in plus { parts.append(start..<k); start = k + 1 }
            parts.append(start..<r.upperBound)
            var result: [[URLPiece]] = [[]]
            for p in parts {
                let values = evaluate(p)
                result = cap(result.flatMap { a in values.map { a + $0 } })
            }
            return result
        }
        if let name = envName(r) { return [[.env(name, fallback: nil)]] }
        let first = tokens[r.lowerBound]
        if r.count == 1 {
            switch first.kind {
            case .string, .template, .number: return [[.text(first.text)]]
            case .identifier: return evaluateName(first.text, r)
            default: return [[.hole(r)]]
            }
        }
        if first.kind == .templateHead, match[r.lowerBound] == r.upperBound - 1 { return evaluateTemplate(r) }
        if first.kind == .identifier, Self.transparentCalls.contains(first.text), tok(r.lowerBound + 1)?.isPunct("(") == true,
           match[r.lowerBound + 1] == r.upperBound - 1, let a = arguments(r.lowerBound + 1).first {
            return evaluate(a)
        }
        return [[.hole(r)]]
    }

    private func evaluateTemplate(_ r: Range<Int>) -> [[URLPiece]] {
        var result: [[URLPiece]] = [[.text(tokens[r.lowerBound].text)]]
        var j = r.lowerBound + 1
        let end = r.upperBound - 1
        while j <= end {
            var k = j
            while k < end {
                let t = tokens[k]
                if t.kind == .templateMiddle { break }
                if (t.kind == .punctuator && (t.text == "(" || t.text == "[" || t.text == "{")) || t.kind == .templateHead,
                   match[k] > k, match[k] < end {
                    k = match[k] + 1
                    continue
                }
                k += 1
            }
            let values = k > j ? evaluate(j..<k) : [[]]
            let tail = tokens[min(k, end)].text
            result = cap(result.flatMap { a in values.map { a + $0 + [.text(tail)] } })
            j = k + 1
        }
        return result
    }

    private func evaluateName(_ name: String, _ r: Range<Int>) -> [[URLPiece]] {
        if let m = evalMemo[name] { return m }
        guard let bs = bindings[name], bs.allSatisfy({ $0.kind == .value }), !inProgress.contains(name) else { return [[.hole(r)]] }
        inProgress.insert(name)
        defer { inProgress.remove(name) }
        var out: [[URLPiece]] = []
        for b in bs { out += evaluate(b.range) }
        // A value made only of one run-time hole says nothing more than the name: keep the name.
        if out.allSatisfy({ $0.count == 1 && { if case .hole = $0[0] { return true }; return false }($0) }) { out = [[.hole(r)]] }
        out = cap(out)
        evalMemo[name] = out
        return out
    }

    // MARK: - where a value comes from

    static let randomCalls: Set<String> = ["uuidv4", "randomString", "randomIntBetween", "randomUUID", "randomItem"]

    /// Where the value of an expression comes from; `.unknown` when it cannot be attributed.
    public func origin(_ range: Range<Int>) -> ValueOrigin {
        let r = stripParens(range)
        guard !r.isEmpty, depth < Self.maxDepth else { return .unknown }
        depth += 1
        defer { depth -= 1 }
        let top = topLevel(r)
        if let q = top.firstIndex(where: { tokens[$0].isPunct("?") }) {
            var nest = 0
            for k in top[(q + 1)...] {
                if tokens[k].isPunct("?") { nest += 1 }
                if tokens[k].isPunct(":") {
                    if nest == 0 { return Self.either([origin((top[q] + 1)..<k), origin((k + 1)..<r.upperBound)]) }
                    nest -= 1
                }
            }
            return .unknown
        }
        if let k = top.first(where: { tokens[$0].isPunct("||") || tokens[$0].isPunct("??") }) {
            return Self.either([origin(r.lowerBound..<k), origin((k + 1)..<r.upperBound)])
        }
        let ops: Set<String> = ["+", "-", "*", "/", "%", "**"]
        let binary = top.filter { k in
            guard tokens[k].kind == .punctuator, ops.contains(tokens[k].text), k > r.lowerBound else { return false }
            let p = tokens[k - 1]
            return p.kind != .punctuator || [")", "]", "}"].contains(p.text)
        }
        if !binary.isEmpty {
            var parts: [ValueOrigin] = []
            var start = r.lowerBound
            for k in binary { parts.append(origin(start..<k)); start = k + 1 }
            parts.append(origin(start..<r.upperBound))
            return Self.combined(parts)
        }
        let t0 = tokens[r.lowerBound]
        let t1 = tok(r.lowerBound + 1), t2 = tok(r.lowerBound + 2)
        let text = source(r)
        if t0.isIdent("new"), t1?.isIdent("Date") == true { return .time(text) }
        if t0.isIdent("Date"), t1?.isPunct("(") == true || (t1?.isPunct(".") == true && t2?.isIdent("now") == true) { return .time(text) }
        if t0.isIdent("performance"), t2?.isIdent("now") == true { return .time(text) }
        if t0.isIdent("Math") {
            if t2?.isIdent("random") == true { return .random(text) }
            if let open = tok(r.lowerBound + 3), open.isPunct("("), match[r.lowerBound + 3] > 0 {
                return Self.combined(arguments(r.lowerBound + 3).map(origin))
            }
            return .unknown
        }
        if r.count == 1, t0.isIdent("__ITER") || t0.isIdent("__VU") { return .counter(t0.text) }
        if t0.isIdent("JSON"), t2?.isIdent("parse") == true { return .response }
        if t0.isIdent("http"), t1?.isPunct(".") == true { return .response }
        if Self.randomCalls.contains(t0.text) || (t0.isIdent("crypto") && t2?.isIdent("randomUUID") == true) { return .random(text) }
        if t0.kind == .identifier, Self.transparentCalls.contains(t0.text), t1?.isPunct("(") == true {
            return arguments(r.lowerBound + 1).first.map(origin) ?? .unknown
        }
        if r.count == 1 {
            switch t0.kind {
            case .string, .template: return t0.text.isEmpty ? .empty : .literal(t0.text)
            case .number: return .literal(t0.text)
            case .identifier:
                if t0.text == "null" || t0.text == "undefined" { return .empty }
                return originOfName(t0.text)
            default: return .unknown
            }
        }
        if t0.kind == .templateHead, match[r.lowerBound] == r.upperBound - 1 {
            var parts: [ValueOrigin] = []
            var j = r.lowerBound + 1
            while j < r.upperBound - 1 {
                let k = exprEnd(j, r.upperBound - 1)
                if k > j { parts.append(origin(j..<k)) }
                j = k + 1
            }
            let c = Self.combined(parts)
            return c == .empty ? .literal(t0.text) : c
        }
        if t0.isPunct("[") && match[r.lowerBound] == r.upperBound - 1 {
            let elements = arguments(r.lowerBound)
            return elements.isEmpty ? .empty : Self.assigned(elements.map(origin))
        }
        if t0.kind == .identifier {
            // r.json("next"), res.body, res.headers[...]: read from a response.
            for (a, b) in zip(top, top.dropFirst()) where tokens[a].isPunct(".") || tokens[a].isPunct("?.") {
                if ["json", "body", "headers", "cookies"].contains(tokens[b].text) { return .response }
            }
            if t1?.isPunct("(") == true { return .unknown }  // a function of ours: not followed
            return originOfName(t0.text)
        }
        return .unknown
    }

    private func originOfName(_ name: String) -> ValueOrigin {
        if let m = classMemo[name] { return m }
        guard let bs = bindings[name], !inProgress.contains(name) else { return .unknown }
        inProgress.insert(name)
        defer { inProgress.remove(name) }
        var parts: [ValueOrigin] = []
        var counted = false
        for b in bs {
            switch b.kind {
            case .counter: counted = true
            case .value, .element:
                let mentionsSelf = b.range.contains { tokens[$0].isIdent(name) }
                let o = origin(b.range)
                if mentionsSelf && o != .response { counted = true } else { parts.append(o) }
            }
        }
        var result = Self.assigned(parts)
        if counted && result != .response { result = .counter(name) }
        classMemo[name] = result
        return result
    }

    /// Branches of `?:` or `||`: a generated value on any branch is reported.
    static func either(_ parts: [ValueOrigin]) -> ValueOrigin {
        if let bad = parts.first(where: \.isGenerated) { return bad }
        if parts.contains(.response) { return .response }
        if parts.contains(.unknown) { return .unknown }
        return parts.first { if case .literal = $0 { return true }; return false } ?? .empty
    }

    /// Operands of arithmetic or concatenation.
    static func combined(_ parts: [ValueOrigin]) -> ValueOrigin {
        if parts.contains(.response) { return .response }
        if let bad = parts.first(where: \.isGenerated) { return bad }
        if parts.contains(.unknown) { return .unknown }
        return parts.first { if case .literal = $0 { return true }; return false } ?? .empty
    }

    /// Every value a variable is given over time: once one comes from a response, the variable does
    /// (the others are its starting value).
    static func assigned(_ parts: [ValueOrigin]) -> ValueOrigin {
        if parts.isEmpty { return .unknown }
        return either(parts)
    }

    // MARK: - requests

    static let httpMethods: [String: String] = ["get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH",
                                                "del": "DELETE", "head": "HEAD", "options": "OPTIONS"]

    private func collectRequests() {
        // Names k6/http is imported as (default `http`).
        var namespaces: Set<String> = []
        var direct: [String: String] = [:]
        for j in tokens.indices where tokens[j].isIdent("import") {
            var k = j + 1
            var names: [String] = []
            var named: [(String, String)] = []
            while let t = tok(k), !t.isIdent("from"), t.kind != .string, k < j + 64 {
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
            guard let module = tok(k), module.kind == .string, module.text == "k6/http" else { continue }
            namespaces.formUnion(names)
            for (imported, local) in named where Self.httpMethods[imported] != nil || imported == "request" || imported == "batch" {
                direct[local] = imported
            }
        }
        if namespaces.isEmpty { namespaces = ["http"] }

        for j in tokens.indices where tokens[j].kind == .identifier {
            var fn: String?
            var open = j + 1
            if namespaces.contains(tokens[j].text), tok(j + 1)?.isPunct(".") == true, let f = tok(j + 2), f.kind == .identifier,
               tok(j + 3)?.isPunct("(") == true {
                fn = f.text
                open = j + 3
            } else if let d = direct[tokens[j].text], tok(j + 1)?.isPunct("(") == true, tok(j - 1)?.isPunct(".") != true {
                fn = d
            }
            guard let fn, match[open] > open else { continue }
            let args = arguments(open)
            let line = tokens[j].line
            if let m = Self.httpMethods[fn], let url = args.first {
                requests.append(K6Request(method: m, line: line, alternatives: evaluate(url)))
            } else if fn == "request", args.count >= 2 {
                let m = evaluate(args[0]).first.flatMap(Self.plainText)?.uppercased() ?? "?"
                requests.append(K6Request(method: m, line: line, alternatives: evaluate(args[1])))
            } else if fn == "batch", let list = args.first {
                batch(stripParens(list), line: line)
            }
        }
    }

    private func batch(_ r: Range<Int>, line: Int) {
        guard !r.isEmpty, match[r.lowerBound] == r.upperBound - 1 else { return }
        let open = r.lowerBound
        let isObject = tokens[open].isPunct("{")
        guard isObject || tokens[open].isPunct("[") else { return }
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
                requests.append(K6Request(method: m, line: itemLine, alternatives: evaluate(parts[1])))
            } else if first.isPunct("{"), match[v.lowerBound] == v.upperBound - 1 {
                let fields = objectFields(v.lowerBound)
                guard let url = fields["url"] else { continue }
                let m = fields["method"].flatMap { evaluate($0).first.flatMap(Self.plainText) }?.uppercased() ?? "GET"
                requests.append(K6Request(method: m, line: itemLine, alternatives: evaluate(url)))
            } else {
                requests.append(K6Request(method: "GET", line: itemLine, alternatives: evaluate(v)))
            }
        }
        _ = line
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
        guard tok(open)?.isPunct("{") == true, match[open] > open else { return [] }
        var out: [(key: String, value: Range<Int>, line: Int)] = []
        for item in arguments(open) {
            let key = tokens[item.lowerBound]
            guard key.kind == .identifier || key.kind == .string || key.kind == .number || key.kind == .template else { continue }
            if item.count == 1 { out.append((key.text, item, key.line)); continue }
            if tok(item.lowerBound + 1)?.isPunct(":") == true {
                out.append((key.text, (item.lowerBound + 2)..<item.upperBound, key.line))
            }
        }
        return out
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

    private func stages(_ r: Range<Int>) -> [K6Options.Stage] {
        guard let open = objectStart(r, opener: "[") else { return [] }
        return arguments(open).compactMap { item in
            guard let o = objectStart(item, opener: "{") else { return nil }
            let f = objectFields(o)
            return K6Options.Stage(duration: f["duration"].flatMap(resolvedText), target: f["target"].flatMap(int))
        }
    }

    private func readOptions() {
        guard let decl = bindings["options"]?.first(where: { $0.kind == .value }),
              let open = objectStart(decl.range, opener: "{") else { return }
        options.found = true
        options.line = tokens[open].line
        let f = objectFields(open)
        options.vus = f["vus"].flatMap(int)
        options.duration = f["duration"].flatMap(resolvedText)
        if let s = f["stages"] { options.stages = stages(s) }
        if let sc = f["scenarios"], let o = objectStart(sc, opener: "{") {
            for (name, value, _) in orderedFields(o) {
                guard let so = objectStart(value, opener: "{") else { continue }
                let g = objectFields(so)
                options.scenarios.append(K6Options.Scenario(
                    name: name, executor: g["executor"].flatMap(resolvedText), vus: g["vus"].flatMap(int),
                    startVUs: g["startVUs"].flatMap(int), maxVUs: g["maxVUs"].flatMap(int),
                    preAllocatedVUs: g["preAllocatedVUs"].flatMap(int), stages: g["stages"].map(stages) ?? []))
            }
        }
        if let th = f["thresholds"], let o = objectStart(th, opener: "{") {
            for (metric, value, line) in orderedFields(o) {
                var exprs: [String] = []
                if let a = objectStart(value, opener: "[") {
                    for item in arguments(a) {
                        if let obj = objectStart(item, opener: "{") {
                            if let t = objectFields(obj)["threshold"].flatMap(resolvedText) { exprs.append(t) }
                        } else if let t = resolvedText(item) { exprs.append(t) }
                    }
                } else if let t = resolvedText(value) { exprs.append(t) }
                options.thresholds.append(K6Options.Threshold(metric: metric, line: line, expressions: exprs))
            }
        }
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
