import Foundation

/// Bindings, the static evaluation of string expressions, and where each value comes from.
extension K6Script {
    // MARK: - bindings

    static let declarators: Set<String> = ["const", "let", "var"]
    /// `const`, `let`, `var` (an identifier's text is compared in place; a string's cooked value as before).
    static func isDeclarator(_ t: JSToken) -> Bool {
        switch t.kind {
        case .identifier: return t.isIdent(.const) || t.isIdent(.let) || t.isIdent(.var)
        case .string, .template, .templateHead, .templateMiddle, .templateTail: return declarators.contains(t.text)
        default: return false
        }
    }

    func add(_ name: String, _ kind: BindingKind, _ r: Range<Int>) {
        bindings[name, default: []].append(Binding(kind: kind, range: r))
    }

    func collectBindings() {
        let n = tokens.count
        var j = 0
        while j < n {
            defer { j += 1 }
            let kind = tokens.kind(j)
            guard kind == .identifier || kind == .punctuator else { continue }
            let t = tokens[j]
            if t.kind == .identifier && Self.isDeclarator(t) {
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
                case "=" where !afterDot && !(prev.map(Self.isDeclarator) ?? false):
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
            if t.isPunct("]"), tok(j + 1)?.isPunct("=") == true, let root = tok(match.opening(j) - 1), match.opening(j) > 0,
               root.kind == .identifier {
                add(root.text, .value, (j + 2)..<exprEnd(j + 2, n))
            }
            // new Rate("name"), new metrics.Trend("name")
            if t.isIdent(.new) {
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

    func cap(_ a: [[URLPiece]]) -> [[URLPiece]] { Array(a.prefix(Self.maxAlternatives)) }

    /// The values a string expression can take, with run-time parts left as holes.
    func evaluate(_ range: Range<Int>) -> [[URLPiece]] {
        let r = stripParens(range)
        guard !r.isEmpty else { return [[.hole(range)]] }
        guard depth < Self.maxDepth else { return [[.hole(r)]] }
        depth += 1
        defer { depth -= 1 }
        let top = topLevel(r)
        if let t = ternary(r, top: top) {
            guard let (yes, no) = t else { return [[.hole(r)]] }
            return cap(evaluate(yes) + evaluate(no))
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
        // k6's http.url`…${x}…`: a tagged template that builds the URL (and names it for the metrics) like the plain template.
        if first.kind == .identifier, r.count >= 4, tokens[r.lowerBound + 1].isPunct("."), tokens[r.lowerBound + 2].isIdent("url") {
            let t = r.lowerBound + 3
            if tokens[t].kind == .template, r.count == 4 { return [[.text(tokens[t].text)]] }
            if tokens[t].kind == .templateHead, match[t] == r.upperBound - 1 { return evaluateTemplate(t..<r.upperBound) }
        }
        if first.kind == .identifier, Self.transparentCalls.contains(first.text), tok(r.lowerBound + 1)?.isPunct("(") == true,
           match[r.lowerBound + 1] == r.upperBound - 1, let a = arguments(r.lowerBound + 1).first {
            return evaluate(a)
        }
        return [[.hole(r)]]
    }

    func evaluateTemplate(_ r: Range<Int>) -> [[URLPiece]] {
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

    func evaluateName(_ name: String, _ r: Range<Int>) -> [[URLPiece]] {
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
        if let t = ternary(r, top: top) {
            guard let (yes, no) = t else { return .unknown }
            return Self.either([origin(yes), origin(no)])
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

    func originOfName(_ name: String) -> ValueOrigin {
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

}
