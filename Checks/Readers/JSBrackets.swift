/// Which bracket closes which: `(`/`)`, `[`/`]`, `{`/`}` and a template's head and tail. A closing bracket
/// closes the innermost open one only when they are of a kind; otherwise it is ignored.
///
/// Most brackets close within a few tokens, so only those that span more than `near` tokens are stored; the others
/// are found again by reading forward at most `near` tokens (the same rule, from the opening bracket on, gives the
/// same answer). Two tables of one entry a token took 16 bytes a token.
struct BracketMatch {
    private let codes: [UInt8]
    private var far: [Int32: Int32] = [:]
    private var farOpen: [Int32: Int32] = [:]
    static let near = 256

    /// Per code: 1…4 opens a paren, bracket, brace, template; -1…-4 closes one; 0 neither.
    static let roles: [Int8] = (0..<128).map { c -> Int8 in
        let code = UInt8(c)
        if code == JSTokens.templateHeadCode { return 4 }
        if code == JSTokens.templateTailCode { return -4 }
        guard code >= JSTokens.firstPunctuator else { return 0 }
        switch JSTokens.punctuatorTexts[c] {
        case "(": return 1
        case "[": return 2
        case "{": return 3
        case ")": return -1
        case "]": return -2
        case "}": return -3
        default: return 0
        }
    }

    init(_ tokens: JSTokens) {
        codes = tokens.codes
        var stack: [(Int, Int8)] = []
        for (i, c) in codes.enumerated() {
            let r = Self.roles[Int(c & 0x7F)]
            if r > 0 { stack.append((i, r)) }
            if r < 0, let top = stack.last, top.1 == -r {
                stack.removeLast()
                if i - top.0 > Self.near { far[Int32(top.0)] = Int32(i); farOpen[Int32(i)] = Int32(top.0) }
            }
        }
    }

    /// The closing bracket of the one opening at `i`; -1 when `i` opens none or nothing closes it.
    subscript(i: Int) -> Int {
        guard i >= 0, i < codes.count else { return -1 }
        let role = Self.roles[Int(codes[i] & 0x7F)]
        guard role > 0 else { return -1 }
        if let f = far[Int32(i)] { return Int(f) }
        let limit = min(codes.count, i + Self.near + 1)
        return withUnsafeTemporaryAllocation(of: Int8.self, capacity: Self.near + 1) { stack in
            stack[0] = role
            var depth = 1, k = i + 1
            while k < limit {
                let r = Self.roles[Int(codes[k] & 0x7F)]
                if r > 0 { stack[depth] = r; depth += 1 } else if r < 0 && stack[depth - 1] == -r {
                    depth -= 1
                    if depth == 0 { return k }
                }
                k += 1
            }
            return -1
        }
    }

    /// The opening bracket of the one closing at `i`; -1 when none.
    func opening(_ i: Int) -> Int {
        guard i >= 0, i < codes.count, Self.roles[Int(codes[i] & 0x7F)] < 0 else { return -1 }
        if let f = farOpen[Int32(i)] { return Int(f) }
        var k = i - 1
        while k >= 0 && k >= i - Self.near {
            if Self.roles[Int(codes[k] & 0x7F)] > 0 && self[k] == i { return k }
            k -= 1
        }
        return -1
    }
}
