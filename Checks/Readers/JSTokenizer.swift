/// A part of the source the tokenizer could not read, with its line.
public struct JSProblem: Sendable, Equatable {
    public let line: Int
    public let message: String
}

/// Tokenizes the JavaScript k6 scripts use. One pass over the bytes: linear time, never traps,
/// and anything it cannot read becomes a problem with its line instead of a guess.
///
/// It keeps one byte a token (its kind, punctuator or identifier, and whether a line break precedes it) and the
/// offset and line of every 32nd token: a 200,000-request script has ~2.7 million tokens, which as values with their
/// text took 24 bytes each (Checks/Readers/JSTokens.swift reads a token's text and line back from the source).
public struct JSTokenizer {
    public var tokens: JSTokens { result! }
    private var result: JSTokens?
    public private(set) var problems: [JSProblem] = []
    /// Problems past the stored ones are only counted.
    public private(set) var problemCount = 0
    static let maxProblems = 50

    let s: [UInt8]
    var i = 0
    private var line = 1
    private var sawNewline = false
    /// One entry per open `{` (false) or `${` (true).
    private var braces: [Bool] = []
    private var codes: [UInt8] = []
    private var checkpoints: [UInt32] = []
    /// The line of each checkpoint's token; the lines counted at a byte other than a line feed (a line continuation
    /// after a lone carriage return): with them, a token's line is the line feeds before it.
    private var checkpointLines: [UInt32] = []
    private var extraBreaks: [UInt32] = []
    /// The line where the token being read starts.
    private var tokenLine = 1
    /// The last token's code and where it starts and ends (a `/` after it: regex or division).
    private var last: (code: UInt8, start: Int, end: Int)?
    /// Re-reading one token (JSTokens): the cooked value of a string or template is collected here, no lines kept.
    var cooking = false
    /// Re-reading one token: where lines break is already known.
    var rereading = false
    var cooked: [UInt8] = []

    public static func tokenize(_ source: String) -> JSTokenizer {
        tokenize(bytes: Array(source.utf8))
    }

    public static func tokenize(bytes: [UInt8]) -> JSTokenizer {
        var t = JSTokenizer(bytes: bytes)
        t.run()
        t.result = JSTokens(bytes: bytes, codes: t.codes, checkpoints: t.checkpoints, checkpointLines: t.checkpointLines,
                            extraBreaks: t.extraBreaks)
        t.codes = []; t.checkpoints = []; t.checkpointLines = []; t.extraBreaks = []
        return t
    }

    init(bytes: [UInt8]) {
        s = bytes
    }

    private mutating func problem(_ message: String, at l: Int? = nil) {
        problemCount += 1
        if problems.count < Self.maxProblems { problems.append(JSProblem(line: l ?? line, message: message)) }
    }

    private mutating func emit(_ code: UInt8, start: Int) {
        if codes.count % JSTokens.checkpointEvery == 0 {
            checkpoints.append(UInt32(truncatingIfNeeded: start))
            checkpointLines.append(UInt32(truncatingIfNeeded: tokenLine))
        }
        codes.append(sawNewline ? code | JSTokens.newlineBit : code)
        last = (code, start, i)
        sawNewline = false
    }

    private mutating func newLine(at k: Int) {
        line += 1
        if !rereading && s[k] != 0x0A { extraBreaks.append(UInt32(truncatingIfNeeded: k)) }
    }

    func peek(_ k: Int = 0) -> UInt8 { i + k < s.count ? s[i + k] : 0 }

    static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x24 || c >= 0x80
    }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isIdentPart(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }

    static let regexKeywords: Set<String> = ["return", "typeof", "case", "do", "else", "in", "instanceof", "new",
                                             "delete", "void", "throw", "yield", "await", "of"]

    /// Whether a `/` here starts a regular expression rather than a division.
    private var regexAllowed: Bool {
        guard let last else { return true }
        switch JSTokens.kinds[Int(last.code)] {
        case .identifier: return Self.regexKeywords.contains(String(decoding: s[last.start..<last.end], as: UTF8.self))
        case .number, .string, .regex, .template, .templateTail: return false
        case .templateHead, .templateMiddle: return true
        case .punctuator:
            let p = JSTokens.punctuatorTexts[Int(last.code)]
            return !(p == ")" || p == "]" || p == "++" || p == "--")
        }
    }

    static let singles: Set<UInt8> = Set("{}()[];,<>+-*/%&|^!~?:=.@".utf8)

    private mutating func run() {
        // Tokens never outnumber bytes: reserving that much is address space, not memory, until it is written.
        codes.reserveCapacity(s.count + 1)
        if peek() == 0x23 && peek(1) == 0x21 { skipLine() }  // #! hashbang
        while i < s.count {
            let c = s[i]
            tokenLine = line
            switch c {
            case 0x0A: newLine(at: i); sawNewline = true; i += 1
            case 0x20, 0x09, 0x0D, 0x0B, 0x0C: i += 1
            case 0x2F where peek(1) == 0x2F: skipLine()
            case 0x2F where peek(1) == 0x2A: blockComment()
            case 0x2F where regexAllowed: regex()
            case 0x22, 0x27:
                let start = i, startLine = line
                if !string(quote: c) { problem("unterminated string", at: startLine) }
                emit(JSTokens.stringCode, start: start)
            case 0x60:
                let start = i, startLine = line
                i += 1
                emitTemplate(template(), start: start, startLine: startLine, isHead: true)
            case 0x7D:  // }
                if braces.popLast() == true {
                    let start = i, startLine = line
                    i += 1
                    emitTemplate(template(), start: start, startLine: startLine, isHead: false)
                } else {
                    i += 1; emit(JSTokens.code(ofSingle: c), start: i - 1)
                }
            case 0x7B: braces.append(false); i += 1; emit(JSTokens.code(ofSingle: c), start: i - 1)
            case 0x23 where Self.isIdentStart(peek(1)):
                let start = i
                i += 1; identifier(); emit(JSTokens.identifierCode(s, start..<i), start: start)
            case _ where Self.isIdentStart(c): let start = i; identifier(); emit(JSTokens.identifierCode(s, start..<i), start: start)
            case _ where Self.isDigit(c) || (c == 0x2E && Self.isDigit(peek(1))): let start = i; number(); emit(JSTokens.numberCode, start: start)
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
            if s[i] == 0x0A { newLine(at: i); sawNewline = true }
            i += 1
        }
        problem("unterminated /* comment", at: start)
    }

    /// From i past the identifier's characters (a `#` before them is already passed).
    mutating func identifier() { i = Self.identifierEnd(s, i) }

    static func identifierEnd(_ s: [UInt8], _ start: Int) -> Int {
        var i = start
        while i < s.count && isIdentPart(s[i]) { i += 1 }
        return i
    }

    mutating func number() { i = Self.numberEnd(s, i) }

    static func numberEnd(_ s: [UInt8], _ start: Int) -> Int {
        var i = start
        let hex = s[i] == 0x30 && i + 1 < s.count && (s[i + 1] | 0x20) == 0x78
        while i < s.count {
            let c = s[i]
            if isIdentPart(c) || c == 0x2E { i += 1; continue }
            if (c == 0x2B || c == 0x2D) && !hex && i > start && (s[i - 1] | 0x20) == 0x65 { i += 1; continue }
            break
        }
        return i
    }

    private mutating func punctuator() {
        for (p, code) in JSTokens.punctuatorsByFirst[Int(s[i])] where i + p.count <= s.count {
            if s[i..<(i + p.count)].elementsEqual(p) {
                i += p.count
                emit(code, start: i - p.count)
                return
            }
        }
        let c = s[i]
        if Self.singles.contains(c) {
            i += 1
            emit(JSTokens.code(ofSingle: c), start: i - 1)
        } else {
            problem("unexpected character \(c < 0x20 || c == 0x7F ? "0x" + String(c, radix: 16) : String(UnicodeScalar(c)))")
            i += 1
        }
    }

    /// Reads one escape after a backslash (i at the backslash), cooking it when `cooking`; keeps line counts right.
    mutating func escape() {
        i += 1
        guard i < s.count else { return }
        let c = s[i]
        i += 1
        switch c {
        case 0x6E: cook(0x0A)
        case 0x74: cook(0x09)
        case 0x72: cook(0x0D)
        case 0x62: cook(0x08)
        case 0x66: cook(0x0C)
        case 0x76: cook(0x0B)
        case 0x30 where !Self.isDigit(peek()): cook(0)
        case 0x0A: newLine(at: i - 1)  // line continuation
        case 0x0D: if peek() == 0x0A { i += 1 }; newLine(at: i - 1)
        case 0x78:  // \xHH
            if let v = hexValue(count: 2) { appendScalar(v) } else { cook(c) }
        case 0x75:  // \uHHHH or \u{H…}
            if peek() == 0x7B {
                var j = i + 1, v: UInt32 = 0, digits = 0
                while j < s.count, let d = Self.hexDigit(s[j]), digits < 8 { v = v &* 16 &+ d; j += 1; digits += 1 }
                if j < s.count && s[j] == 0x7D && digits > 0 { i = j + 1; appendScalar(v) } else { cook(c) }
            } else if let v = hexValue(count: 4) { appendScalar(v) } else { cook(c) }
        default: cook(c)
        }
    }

    private mutating func cook(_ c: UInt8) { if cooking { cooked.append(c) } }

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

    private mutating func appendScalar(_ v: UInt32) {
        guard cooking else { return }
        cooked.append(contentsOf: Array(String(UnicodeScalar(v).map(Character.init) ?? "\u{FFFD}").utf8))
    }

    /// Reads a quoted string from i (at the quote) to past its closing quote; false when a line or the file ends first.
    mutating func string(quote: UInt8) -> Bool {
        i += 1
        while i < s.count {
            let c = s[i]
            if c == quote { i += 1; return true }
            if c == 0x5C { escape(); continue }
            if c == 0x0A { return false }
            cook(c)
            i += 1
        }
        return false
    }

    enum TemplateEnd { case closed, substitution, unterminated }

    /// Reads template text after ` or after the } closing a substitution, up to and past ` or ${.
    mutating func template() -> TemplateEnd {
        while i < s.count {
            let c = s[i]
            if c == 0x60 { i += 1; return .closed }
            if c == 0x24 && peek(1) == 0x7B { i += 2; return .substitution }
            if c == 0x5C { escape(); continue }
            if c == 0x0A { newLine(at: i) }
            cook(c)
            i += 1
        }
        return .unterminated
    }

    private mutating func emitTemplate(_ end: TemplateEnd, start: Int, startLine: Int, isHead: Bool) {
        switch end {
        case .closed: emit(isHead ? JSTokens.templateCode : JSTokens.templateTailCode, start: start)
        case .substitution:
            braces.append(true)
            emit(isHead ? JSTokens.templateHeadCode : JSTokens.templateMiddleCode, start: start)
        case .unterminated:
            problem("unterminated template literal", at: startLine)
            emit(isHead ? JSTokens.templateCode : JSTokens.templateTailCode, start: start)
        }
    }

    /// The end (exclusive) of the regular expression at `start`, or nil when it is not terminated on its line.
    static func regexEnd(_ s: [UInt8], _ start: Int) -> Int? {
        var j = start + 1, inClass = false
        while j < s.count {
            let c = s[j]
            if c == 0x0A { break }
            if c == 0x5C {
                if j + 1 < s.count && s[j + 1] == 0x0A { break }
                j += 2; continue
            }
            if c == 0x5B { inClass = true } else if c == 0x5D { inClass = false } else if c == 0x2F && !inClass {
                j += 1
                while j < s.count && isIdentPart(s[j]) { j += 1 }  // flags
                return j
            }
            j += 1
        }
        return nil
    }

    private mutating func regex() {
        let start = i
        if let end = Self.regexEnd(s, start) {
            i = end
            emit(JSTokens.regexCode, start: start)
            return
        }
        problem("unterminated regular expression")
        i += 1
        emit(JSTokens.code(ofSingle: 0x2F), start: start)
    }
}
