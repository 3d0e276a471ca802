/// One token of a JavaScript source (comments and whitespace are dropped).
public struct JSToken: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case identifier, number, string, punctuator, regex
        /// A template literal without substitutions: `text`.
        case template
        /// The pieces of a template with `${}`: head `a${, middle }b${, tail }c`.
        case templateHead, templateMiddle, templateTail
    }
    // Stored text first, then the line as 32 bits, then the small fields: 24 bytes a token instead of 40
    // (a 200,000-request script has ~2.4 million tokens).
    /// Source text for identifiers, numbers, punctuators and regexes; the cooked value for strings and templates.
    public let text: String
    private let storedLine: UInt32
    public let kind: Kind
    /// A line break separates this token from the previous one (automatic semicolon insertion).
    public let newlineBefore: Bool
    /// 1-based line where the token starts.
    public var line: Int { Int(storedLine) }

    public init(kind: Kind, text: String, line: Int, newlineBefore: Bool) {
        self.text = text
        self.storedLine = UInt32(clamping: line)
        self.kind = kind
        self.newlineBefore = newlineBefore
    }

    public func isPunct(_ p: String) -> Bool { kind == .punctuator && text == p }
    public func isIdent(_ s: String) -> Bool { kind == .identifier && text == s }
}

/// A part of the source the tokenizer could not read, with its line.
public struct JSProblem: Sendable, Equatable {
    public let line: Int
    public let message: String
}

/// Tokenizes the JavaScript k6 scripts use. One pass over the bytes: linear time, never traps,
/// and anything it cannot read becomes a problem with its line instead of a guess.
public struct JSTokenizer {
    public private(set) var tokens: [JSToken] = []
    public private(set) var problems: [JSProblem] = []
    /// Problems past the stored ones are only counted.
    public private(set) var problemCount = 0
    static let maxProblems = 50

    private let s: [UInt8]
    private var i = 0
    private var line = 1
    private var sawNewline = false
    /// One entry per open `{` (false) or `${` (true).
    private var braces: [Bool] = []

    public static func tokenize(_ source: String) -> JSTokenizer {
        var t = JSTokenizer(bytes: Array(source.utf8))
        t.run()
        return t
    }

    public static func tokenize(bytes: [UInt8]) -> JSTokenizer {
        var t = JSTokenizer(bytes: bytes)
        t.run()
        return t
    }

    private init(bytes: [UInt8]) { s = bytes }

    private mutating func problem(_ message: String, at l: Int? = nil) {
        problemCount += 1
        if problems.count < Self.maxProblems { problems.append(JSProblem(line: l ?? line, message: message)) }
    }

    private mutating func emit(_ kind: JSToken.Kind, _ text: String, line l: Int) {
        tokens.append(JSToken(kind: kind, text: text, line: l, newlineBefore: sawNewline))
        sawNewline = false
    }

    private func peek(_ k: Int = 0) -> UInt8 { i + k < s.count ? s[i + k] : 0 }

    static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x24 || c >= 0x80
    }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isIdentPart(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }

    static let regexKeywords: Set<String> = ["return", "typeof", "case", "do", "else", "in", "instanceof", "new",
                                             "delete", "void", "throw", "yield", "await", "of"]

    /// Whether a `/` here starts a regular expression rather than a division.
    private var regexAllowed: Bool {
        guard let last = tokens.last else { return true }
        switch last.kind {
        case .identifier: return Self.regexKeywords.contains(last.text)
        case .number, .string, .regex, .template, .templateTail: return false
        case .templateHead, .templateMiddle: return true
        case .punctuator: return !(last.text == ")" || last.text == "]" || last.text == "++" || last.text == "--")
        }
    }

    static let punctuators: [[UInt8]] = [
        ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
        "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=",
        "&=", "|=", "^=", "**", "<<", ">>",
    ].map { Array($0.utf8) }
    static let singles: Set<UInt8> = Set("{}()[];,<>+-*/%&|^!~?:=.@".utf8)
    /// `punctuators` by first byte, in the same order (longest first): most tokens try none or two, not 33.
    static let punctuatorsByFirst: [[[UInt8]]] = {
        var table = [[[UInt8]]](repeating: [], count: 256)
        for p in punctuators { table[Int(p[0])].append(p) }
        return table
    }()

    private mutating func run() {
        if peek() == 0x23 && peek(1) == 0x21 { skipLine() }  // #! hashbang
        while i < s.count {
            let c = s[i]
            switch c {
            case 0x0A: line += 1; sawNewline = true; i += 1
            case 0x20, 0x09, 0x0D, 0x0B, 0x0C: i += 1
            case 0x2F where peek(1) == 0x2F: skipLine()
            case 0x2F where peek(1) == 0x2A: blockComment()
            case 0x2F where regexAllowed: regex()
            case 0x22, 0x27: string(quote: c)
            case 0x60: i += 1; template(startLine: line, isHead: true)
            case 0x7D:  // }
                if braces.popLast() == true {
                    i += 1
                    template(startLine: line, isHead: false)
                } else {
                    emit(.punctuator, "}", line: line); i += 1
                }
            case 0x7B: braces.append(false); emit(.punctuator, "{", line: line); i += 1
            case 0x23 where Self.isIdentStart(peek(1)): i += 1; identifier(prefix: "#")
            case _ where Self.isIdentStart(c): identifier(prefix: "")
            case _ where Self.isDigit(c) || (c == 0x2E && Self.isDigit(peek(1))): number()
            default: punctuator()
            }
        }
        if !braces.isEmpty && braces.contains(true) { problem("unterminated template literal substitution at end of file") }
    }

    private mutating func skipLine() {
        while i < s.count && s[i] != 0x0A { i += 1 }
    }

    private mutating func blockComment() {
        let start = line
        i += 2
        while i < s.count {
            if s[i] == 0x2A && peek(1) == 0x2F { i += 2; return }
            if s[i] == 0x0A { line += 1; sawNewline = true }
            i += 1
        }
        problem("unterminated /* comment", at: start)
    }

    private mutating func identifier(prefix: String) {
        let start = i
        while i < s.count && Self.isIdentPart(s[i]) { i += 1 }
        emit(.identifier, prefix + String(decoding: s[start..<i], as: UTF8.self), line: line)
    }

    private mutating func number() {
        let start = i
        let hex = s[i] == 0x30 && (peek(1) | 0x20) == 0x78
        while i < s.count {
            let c = s[i]
            if Self.isIdentPart(c) || c == 0x2E { i += 1; continue }
            if (c == 0x2B || c == 0x2D) && !hex && i > start && (s[i - 1] | 0x20) == 0x65 { i += 1; continue }
            break
        }
        emit(.number, String(decoding: s[start..<i], as: UTF8.self), line: line)
    }

    private mutating func punctuator() {
        for p in Self.punctuatorsByFirst[Int(s[i])] where i + p.count <= s.count {
            if s[i..<(i + p.count)].elementsEqual(p) {
                emit(.punctuator, String(decoding: p, as: UTF8.self), line: line)
                i += p.count
                return
            }
        }
        let c = s[i]
        if Self.singles.contains(c) {
            emit(.punctuator, String(UnicodeScalar(c)), line: line)
        } else {
            problem("unexpected character \(c < 0x20 || c == 0x7F ? "0x" + String(c, radix: 16) : String(UnicodeScalar(c)))")
        }
        i += 1
    }

    /// Reads one escape after a backslash (i at the backslash) into `out`; keeps line counts right.
    private mutating func escape(into out: inout [UInt8]) {
        i += 1
        guard i < s.count else { return }
        let c = s[i]
        i += 1
        switch c {
        case 0x6E: out.append(0x0A)
        case 0x74: out.append(0x09)
        case 0x72: out.append(0x0D)
        case 0x62: out.append(0x08)
        case 0x66: out.append(0x0C)
        case 0x76: out.append(0x0B)
        case 0x30 where !Self.isDigit(peek()): out.append(0)
        case 0x0A: line += 1  // line continuation
        case 0x0D: if peek() == 0x0A { i += 1 }; line += 1
        case 0x78:  // \xHH
            if let v = hexValue(count: 2) { appendScalar(v, &out) } else { out.append(c) }
        case 0x75:  // \uHHHH or \u{H…}
            if peek() == 0x7B {
                var j = i + 1, v: UInt32 = 0, digits = 0
                while j < s.count, let d = Self.hexDigit(s[j]), digits < 8 { v = v &* 16 &+ d; j += 1; digits += 1 }
                if j < s.count && s[j] == 0x7D && digits > 0 { i = j + 1; appendScalar(v, &out) } else { out.append(c) }
            } else if let v = hexValue(count: 4) { appendScalar(v, &out) } else { out.append(c) }
        default: out.append(c)
        }
    }

    static func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        default: return nil
        }
    }

    private mutating func hexValue(count: Int) -> UInt32? {
        guard i + count <= s.count else { return nil }
        var v: UInt32 = 0
        for k in 0..<count {
            guard let d = Self.hexDigit(s[i + k]) else { return nil }
            v = v * 16 + d
        }
        i += count
        return v
    }

    private func appendScalar(_ v: UInt32, _ out: inout [UInt8]) {
        out.append(contentsOf: Array(String(UnicodeScalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
    }

    private mutating func string(quote: UInt8) {
        let startLine = line
        i += 1
        var out: [UInt8] = []
        while i < s.count {
            let c = s[i]
            if c == quote { i += 1; emit(.string, String(decoding: out, as: UTF8.self), line: startLine); return }
            if c == 0x5C { escape(into: &out); continue }
            if c == 0x0A { break }
            out.append(c)
            i += 1
        }
        problem("unterminated string", at: startLine)
        emit(.string, String(decoding: out, as: UTF8.self), line: startLine)
    }

    /// Reads template text after ` or after the } closing a substitution, up to ` or ${.
    private mutating func template(startLine: Int, isHead: Bool) {
        var out: [UInt8] = []
        while i < s.count {
            let c = s[i]
            if c == 0x60 {
                i += 1
                emit(isHead ? .template : .templateTail, String(decoding: out, as: UTF8.self), line: startLine)
                return
            }
            if c == 0x24 && peek(1) == 0x7B {
                i += 2
                braces.append(true)
                emit(isHead ? .templateHead : .templateMiddle, String(decoding: out, as: UTF8.self), line: startLine)
                return
            }
            if c == 0x5C { escape(into: &out); continue }
            if c == 0x0A { line += 1 }
            out.append(c)
            i += 1
        }
        problem("unterminated template literal", at: startLine)
        emit(isHead ? .template : .templateTail, String(decoding: out, as: UTF8.self), line: startLine)
    }

    private mutating func regex() {
        let start = i, startLine = line
        var j = i + 1, inClass = false
        while j < s.count {
            let c = s[j]
            if c == 0x0A { break }
            if c == 0x5C {
                if j + 1 < s.count && s[j + 1] == 0x0A { break }
                j += 2; continue
            }
            if c == 0x5B { inClass = true } else if c == 0x5D { inClass = false } else if c == 0x2F && !inClass {
                j += 1
                while j < s.count && Self.isIdentPart(s[j]) { j += 1 }  // flags
                i = j
                emit(.regex, String(decoding: s[start..<j], as: UTF8.self), line: startLine)
                return
            }
            j += 1
        }
        problem("unterminated regular expression", at: startLine)
        emit(.punctuator, "/", line: startLine)
        i += 1
    }
}
