/// The one reader of JavaScript object literals (`{ key: value, … }`) and lists over the shared tokens and their
/// bracket matches: the k6 script's options and requests and the Prisma code scanner's call arguments read with it.
/// A field it cannot attribute (a spread, a computed key, a method) is left out, never guessed.
struct JSObjectLiteral {
    let tokens: JSTokens
    let match: BracketMatch

    struct Field {
        let key: String
        let line: Int
        /// The value's tokens; for a shorthand `{ vus }`, the key itself.
        let value: Range<Int>
        let shorthand: Bool
    }

    func tok(_ i: Int) -> JSToken? { i >= 0 && i < tokens.count ? tokens[i] : nil }

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

    /// The items between the bracket at `open` and its match, split at top-level commas (empty items dropped).
    func items(_ open: Int) -> [Range<Int>] {
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

    /// The fields of the object literal at `open`, in order. A key is a name, a string or a number, as JavaScript
    /// allows (a template literal is not a key).
    func fields(_ open: Int) -> [Field] {
        guard tok(open)?.isPunct("{") == true, match[open] > open else { return [] }
        var out: [Field] = []
        for item in items(open) {
            let key = tokens[item.lowerBound]
            guard key.kind == .identifier || key.kind == .string || key.kind == .number else { continue }
            if item.count == 1 {
                if key.kind == .identifier { out.append(Field(key: key.text, line: key.line, value: item, shorthand: true)) }
                continue
            }
            if tok(item.lowerBound + 1)?.isPunct(":") == true {
                out.append(Field(key: key.text, line: key.line, value: (item.lowerBound + 2)..<item.upperBound, shorthand: false))
            }
        }
        return out
    }

    /// The range is exactly one bracketed literal opened by `opener` (`{` or `[`): its opening index.
    func literal(_ r: Range<Int>, opener: String) -> Int? {
        guard !r.isEmpty, tokens[r.lowerBound].isPunct(opener), match[r.lowerBound] == r.upperBound - 1 else { return nil }
        return r.lowerBound
    }
}
