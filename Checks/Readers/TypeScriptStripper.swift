/// Removes TypeScript's type-only syntax from a token stream so a `.ts` k6 script reads like the JavaScript
/// k6 runs (k6 strips the types the same way, with esbuild): type annotations on declarations, parameters and
/// return types, `as`/`satisfies` casts, `!` non-null assertions, generics on calls and declarations,
/// `interface`, `type` aliases, `declare`, `import type`/`export type` and `type` import specifiers,
/// `implements` clauses. One pass, every loop bounded by the token count; a shape it does not know is kept.
enum TypeScriptStripper {
    static let keywordsBeforeExpression: Set<String> = [
        "return", "typeof", "case", "do", "else", "in", "instanceof", "new", "delete", "void", "throw", "yield",
        "await", "of", "if", "while", "for", "switch", "with", "catch", "const", "let", "var", "export", "import",
        "default", "extends", "function", "class", "async",
    ]
    static let typePrefixes: Set<String> = ["keyof", "typeof", "readonly", "unique", "infer", "asserts"]

    static func strip(_ tokens: JSTokens) -> JSTokens {
        var s = Stripper(tokens)
        s.run()
        return tokens.removing(s.removed)
    }

    struct Stripper {
        let t: JSTokens
        let match: BracketMatch
        var removed: [Bool]
        let n: Int

        init(_ tokens: JSTokens) {
            t = tokens
            n = tokens.count
            match = BracketMatch(tokens)
            removed = [Bool](repeating: false, count: tokens.count)
        }

        func tok(_ k: Int) -> JSToken? { k >= 0 && k < n ? t[k] : nil }
        mutating func remove(_ r: Range<Int>) { for k in r where k >= 0 && k < n { removed[k] = true } }
        func isOpen(_ k: Int) -> Bool { t[k].isPunct("(") || t[k].isPunct("[") || t[k].isPunct("{") || t[k].kind == .templateHead }

        /// Where a statement may start: the file's start, after `;`, `{`, `}`, or on a new line.
        func atStatementStart(_ k: Int) -> Bool {
            guard let p = tok(k - 1) else { return true }
            return t[k].newlineBefore || p.isPunct(";") || p.isPunct("{") || p.isPunct("}")
        }

        /// Ends an expression: what may precede a postfix `!`, `as` or `satisfies`.
        func endsExpression(_ k: Int) -> Bool {
            guard let p = tok(k) else { return false }
            switch p.kind {
            case .identifier: return !keywordsBeforeExpression.contains(p.text)
            case .number, .string, .template, .templateTail, .regex: return true
            case .punctuator: return p.isPunct(")") || p.isPunct("]") || p.isPunct("}")
            default: return false
            }
        }

        /// The end (exclusive) of `<…>` at `k` when it holds only type syntax, else nil.
        func angleEnd(_ k: Int) -> Int? {
            guard tok(k)?.isPunct("<") == true else { return nil }
            var depth = 0, j = k
            while j < n && j < k + 512 {
                let x = t[j]
                switch x.kind {
                case .punctuator:
                    switch x.text {
                    case "<": depth += 1
                    case ">": depth -= 1
                    case ">>": depth -= 2
                    case ">>>": depth -= 3
                    case "(", "[", "{":
                        guard match[j] > j else { return nil }
                        j = match[j]
                    case ",", ".", "|", "&", "?", ":", "=>", "=", "-", "]", ")", "}", "...": break
                    default: return nil
                    }
                    if depth < 0 { return nil }
                    if depth == 0 { return j + 1 }
                case .identifier, .string, .number, .template: break
                default: return nil
                }
                j += 1
            }
            return nil
        }

        /// The end (exclusive) of a type starting at `k`. `arrowEnds`: a `=>` after a complete type ends it
        /// (an arrow function's return type) instead of continuing a function type.
        func typeEnd(_ k: Int, arrowEnds: Bool = false) -> Int {
            var j = k
            var expecting = true
            var steps = 0
            while j < n && steps < n {
                steps += 1
                let x = t[j]
                if expecting {
                    if x.kind == .identifier {
                        j += 1
                        if !typePrefixes.contains(x.text) { expecting = false }
                        continue
                    }
                    if x.kind == .string || x.kind == .number || x.kind == .template { j += 1; expecting = false; continue }
                    if x.kind == .templateHead, match[j] > j { j = match[j] + 1; expecting = false; continue }
                    if x.isPunct("-"), tok(j + 1)?.kind == .number { j += 2; expecting = false; continue }
                    if x.isPunct("|") || x.isPunct("&") { j += 1; continue }
                    if x.isPunct("<"), let e = angleEnd(j) { j = e; continue }  // <T>(a: T) => T
                    if isOpen(j), match[j] > j {
                        let wasParen = x.isPunct("(")
                        j = match[j] + 1
                        expecting = false
                        if wasParen, tok(j)?.isPunct("=>") == true { j += 1; expecting = true }  // (a: A) => R
                        continue
                    }
                    return j
                }
                if x.newlineBefore && !(x.isPunct("|") || x.isPunct("&") || x.isPunct(".")) { return j }
                if x.isPunct(".") { j += 1; expecting = true; continue }
                if x.isPunct("["), match[j] > j { j = match[j] + 1; continue }
                if x.isPunct("<"), let e = angleEnd(j) { j = e; continue }
                if x.isPunct("|") || x.isPunct("&") { j += 1; expecting = true; continue }
                if x.isIdent("is") || x.isIdent("extends") { j += 1; expecting = true; continue }
                if x.isPunct("=>") && !arrowEnds { j += 1; expecting = true; continue }
                return j
            }
            return min(j, n)
        }

        /// The end of a statement starting at `k` that holds no braces of its own: up to `;` (inclusive) or the line's end.
        func statementEnd(_ k: Int) -> Int {
            var j = k + 1
            while j < n {
                if t[j].isPunct(";") { return j + 1 }
                if t[j].newlineBefore { return j }
                if isOpen(j), match[j] > j { j = match[j] + 1; continue }
                j += 1
            }
            return n
        }

        mutating func run() {
            var k = 0
            var importClause = -1  // the end of the import/export statement being read (its `as` are not casts)
            while k < n {
                let x = t[k]
                if x.kind == .identifier && atStatementStart(k) {
                    if let e = typeOnlyStatement(k) { remove(k..<e); k = e; continue }
                    if x.text == "export", let e = typeOnlyStatement(k + 1) { remove(k..<e); k = e; continue }
                    // `import … as x` and `export { a as b }` / `export * as ns`: their `as` renames, it is no cast.
                    if x.text == "import" || (x.text == "export" && (tok(k + 1)?.isPunct("{") == true || tok(k + 1)?.isPunct("*") == true)) {
                        importClause = statementEnd(k)
                        if let open = (k + 1..<min(n, k + 4)).first(where: { t[$0].isPunct("{") }), match[open] > open {
                            stripTypeSpecifiers(open)
                        }
                    }
                }
                if x.isIdent("const") || x.isIdent("let") || x.isIdent("var") {
                    declarator(k + 1)
                }
                if x.isIdent("function") {
                    var j = k + 1
                    if tok(j)?.isPunct("*") == true { j += 1 }
                    if tok(j)?.kind == .identifier { j += 1 }
                    if tok(j)?.isPunct("<") == true, let e = angleEnd(j) { remove(j..<e); j = e }
                    if tok(j)?.isPunct("(") == true { parameters(j) }
                }
                if x.isIdent("class") {
                    var j = k + 1
                    if tok(j)?.kind == .identifier, tok(j)?.isIdent("extends") == false, tok(j)?.isIdent("implements") == false { j += 1 }
                    if tok(j)?.isPunct("<") == true, let e = angleEnd(j) { remove(j..<e); j = e }
                    var h = j
                    while h < n && h < j + 64 && !t[h].isPunct("{") {
                        if t[h].isIdent("implements") {
                            var e = h + 1
                            while e < n && !t[e].isPunct("{") { e += 1 }
                            remove(h..<e)
                            break
                        }
                        if t[h].isPunct("<"), let e = angleEnd(h) { remove(h..<e); h = e; continue }  // extends Base<T>
                        h += 1
                    }
                }
                if x.isPunct("(") && match[k] > k {
                    let close = match[k]
                    let prev = tok(k - 1)
                    let isCallOrControl = prev.map { p in
                        (p.kind == .identifier && ["if", "while", "for", "switch", "with", "return", "typeof", "await"].contains(p.text))
                    } ?? false
                    if prev?.isIdent("catch") == true || (!isCallOrControl && (isArrowParameters(close) || isMethodParameters(k, close))) {
                        parameters(k)
                    }
                }
                // Generic call or construction: f<T>(…), new Map<string, number>().
                if x.kind == .identifier, tok(k + 1)?.isPunct("<") == true, let e = angleEnd(k + 1), tok(e)?.isPunct("(") == true,
                   !keywordsBeforeExpression.contains(x.text) || x.text == "function" {
                    remove((k + 1)..<e)
                }
                if (x.isIdent("as") || x.isIdent("satisfies")) && k > importClause && endsExpression(k - 1) && !x.newlineBefore {
                    let e = typeEnd(k + 1)
                    if e > k + 1 { remove(k..<e); k = e; continue }
                }
                if x.isPunct("!"), endsExpression(k - 1), !x.newlineBefore, let next = tok(k + 1),
                   next.newlineBefore || [".", "?.", ")", "]", ",", ";", "[", "}", ":", "="].contains(next.text) && next.kind == .punctuator {
                    removed[k] = true
                }
                k += 1
            }
        }

        /// `type A = …`, `interface I {…}`, `declare …`, `import type …`, `export type {…}`: their end, else nil.
        func typeOnlyStatement(_ k: Int) -> Int? {
            guard let x = tok(k), x.kind == .identifier else { return nil }
            switch x.text {
            case "type":
                guard let name = tok(k + 1), name.kind == .identifier else {
                    if tok(k + 1)?.isPunct("{") == true, match[k + 1] > k { return statementEnd(match[k + 1]) }  // export type { A }
                    return nil
                }
                var j = k + 2
                if tok(j)?.isPunct("<") == true, let e = angleEnd(j) { j = e }
                guard tok(j)?.isPunct("=") == true else { return nil }
                var e = typeEnd(j + 1)
                if tok(e)?.isPunct(";") == true { e += 1 }
                return e
            case "interface":
                guard tok(k + 1)?.kind == .identifier else { return nil }
                var j = k + 2
                while j < n && j < k + 256 && !t[j].isPunct("{") {
                    if isOpen(j), match[j] > j { j = match[j] + 1; continue }
                    j += 1
                }
                guard j < n, match[j] > j else { return nil }
                return match[j] + 1
            case "declare":
                guard let next = tok(k + 1), next.kind == .identifier, !next.newlineBefore else { return nil }
                var j = k + 1
                while j < n {
                    if t[j].isPunct(";") { return j + 1 }
                    if j > k + 1 && t[j].newlineBefore { return j }
                    if t[j].isPunct("{"), match[j] > j { return match[j] + 1 }
                    if isOpen(j), match[j] > j { j = match[j] + 1; continue }
                    j += 1
                }
                return n
            case "import":
                // import type X from '…' / import type { X } from '…' (not `import type from '…'`, a default named type)
                guard let next = tok(k + 1), next.isIdent("type"), let after = tok(k + 2), !after.isIdent("from"),
                      after.kind == .identifier || after.isPunct("{") || after.isPunct("*") else { return nil }
                return statementEnd(k)
            default:
                return nil
            }
        }

        /// `{ type A, b, type C as D }` in an import or export: the type specifiers go.
        mutating func stripTypeSpecifiers(_ open: Int) {
            var j = open + 1
            let close = match[open]
            while j < close {
                if t[j].isIdent("type"), let next = tok(j + 1), next.kind == .identifier, !next.isIdent("as") || tok(j + 2)?.kind == .identifier {
                    var e = j + 1
                    while e < close && !t[e].isPunct(",") { e += 1 }
                    if e < close { e += 1 }
                    remove(j..<e)
                    j = e
                    continue
                }
                j += 1
            }
        }

        /// After `const`/`let`/`var`: `name: Type`, `name!: Type`, `{ a, b }: Type`, and further `, name: Type` without initializers.
        mutating func declarator(_ start: Int) {
            var j = start
            var rounds = 0
            while j < n && rounds < 64 {
                rounds += 1
                if t[j].kind == .identifier {
                    j += 1
                } else if (t[j].isPunct("{") || t[j].isPunct("[")), match[j] > j {
                    j = match[j] + 1
                } else { return }
                if tok(j)?.isPunct("!") == true, tok(j + 1)?.isPunct(":") == true { removed[j] = true; j += 1 }
                guard tok(j)?.isPunct(":") == true else { return }
                let e = typeEnd(j + 1)
                guard e > j + 1 else { return }
                remove(j..<e)
                j = e
                if tok(j)?.isPunct("=") == true { j = initializerEnd(j + 1) }
                guard tok(j)?.isPunct(",") == true else { return }
                j += 1
            }
        }

        /// The end of a declarator's initializer: a top-level `,` or `;`, a closing bracket, or a line break JavaScript ends it at.
        func initializerEnd(_ start: Int) -> Int {
            var j = start
            while j < n {
                let x = t[j]
                if x.isPunct(",") || x.isPunct(";") || x.isPunct(")") || x.isPunct("]") || x.isPunct("}") { return j }
                if j > start, x.newlineBefore, let p = tok(j - 1), !(p.kind == .punctuator && !p.isPunct(")") && !p.isPunct("]")),
                   !(x.kind == .punctuator && [".", "?.", "?", ":", "||", "&&", "??", "+", "-", "*", "/"].contains(x.text)) { return j }
                if isOpen(j), match[j] > j { j = match[j] + 1; continue }
                j += 1
            }
            return n
        }

        /// `(…)` followed by `=>`, or by `: Type =>`.
        func isArrowParameters(_ close: Int) -> Bool {
            guard let next = tok(close + 1) else { return false }
            if next.isPunct("=>") { return true }
            guard next.isPunct(":") else { return false }
            let e = typeEnd(close + 2, arrowEnds: true)
            return e > close + 2 && tok(e)?.isPunct("=>") == true
        }

        /// A method: `name(…) {` or `name(…): Type {` inside an object or class body (the name follows `{`, `,`, `;`, a new line, or `async`/`get`/`set`/`static`).
        func isMethodParameters(_ open: Int, _ close: Int) -> Bool {
            guard let name = tok(open - 1), name.kind == .identifier, !keywordsBeforeExpression.contains(name.text) || name.text == "default" else { return false }
            guard let before = tok(open - 2) else { return false }
            let atMember = before.isPunct("{") || before.isPunct(",") || before.isPunct(";") || before.isPunct("}") || name.newlineBefore
                || ["async", "get", "set", "static", "public", "private", "protected"].contains(before.text)
            guard atMember, let next = tok(close + 1) else { return false }
            if next.isPunct("{") { return true }
            guard next.isPunct(":") else { return false }
            let e = typeEnd(close + 2, arrowEnds: true)
            return e > close + 2 && tok(e)?.isPunct("{") == true
        }

        /// A parameter list at `open`: each parameter's `?`, `: Type` and modifiers go, then the return type.
        mutating func parameters(_ open: Int) {
            let close = match[open]
            guard close > open else { return }
            var j = open + 1
            var expectName = true
            while j < close {
                let x = t[j]
                if expectName {
                    if x.kind == .identifier, ["public", "private", "protected", "readonly", "override"].contains(x.text),
                       tok(j + 1)?.kind == .identifier || tok(j + 1)?.isPunct("{") == true { removed[j] = true; j += 1; continue }
                    if x.isPunct("...") { j += 1; continue }
                    if x.kind == .identifier { j += 1 } else if (x.isPunct("{") || x.isPunct("[")), match[j] > j { j = match[j] + 1 } else { j += 1; expectName = false; continue }
                    expectName = false
                    if tok(j)?.isPunct("?") == true, let after = tok(j + 1), after.isPunct(":") || after.isPunct(",") || after.isPunct(")") || after.isPunct("=") {
                        removed[j] = true; j += 1
                    }
                    if tok(j)?.isPunct(":") == true {
                        let e = min(typeEnd(j + 1), close)
                        remove(j..<e)
                        j = e
                    }
                    continue
                }
                if x.isPunct(",") { expectName = true; j += 1; continue }
                if isOpen(j), match[j] > j, match[j] < close { j = match[j] + 1; continue }
                j += 1
            }
            if tok(close + 1)?.isPunct(":") == true {
                let e = typeEnd(close + 2, arrowEnds: true)
                if e > close + 2, let after = tok(e), after.isPunct("{") || after.isPunct("=>") { remove((close + 1)..<e) }
            }
        }
    }
}
