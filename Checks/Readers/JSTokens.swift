/// One token of a JavaScript source (comments and whitespace are dropped): a view of `JSTokens`, which reads its
/// text and line back from the source only when asked.
public struct JSToken: Equatable {
    public enum Kind: Sendable, Equatable {
        case identifier, number, string, punctuator, regex
        /// A template literal without substitutions: `text`.
        case template
        /// The pieces of a template with `${}`: head `a${, middle }b${, tail }c`.
        case templateHead, templateMiddle, templateTail
    }
    let tokens: JSTokens
    let index: Int

    public var kind: Kind { tokens.kind(index) }
    /// Source text for identifiers, numbers, punctuators and regexes; the cooked value for strings and templates.
    public var text: String { tokens.text(index) }
    /// 1-based line where the token starts.
    public var line: Int { tokens.line(index) }
    /// A line break separates this token from the previous one (automatic semicolon insertion).
    public var newlineBefore: Bool { tokens.newlineBefore(index) }

    public func isPunct(_ p: String) -> Bool { tokens.isPunct(index, p) }
    public func isIdent(_ s: String) -> Bool { tokens.isIdent(index, s) }
    func isIdent(_ name: JSName) -> Bool { tokens.isIdent(index, name) }

    public static func == (a: JSToken, b: JSToken) -> Bool {
        a.kind == b.kind && a.text == b.text && a.line == b.line && a.newlineBefore == b.newlineBefore
    }
}

/// A name with its identifier code, for the names looked for in every token.
struct JSName {
    let text: String
    let code: UInt8
    init(_ text: String) { self.text = text; code = JSTokens.identifierCode(text) }

    static let `import` = JSName("import"), export = JSName("export"), new = JSName("new"), from = JSName("from")
    static let const = JSName("const"), `let` = JSName("let"), `var` = JSName("var")
}

/// The tokens of one source, compactly: a code byte each (kind, punctuator or identifier; bit 7 a line break before
/// it), and the start and line of every 32nd token. A token's start and end are found again by reading forward from
/// its block's first token (the tokenizer's own functions read each token; `nextStart` skips what lies between them as
/// its main loop does), its line by counting line feeds from there; a small cache keeps the blocks last read. A
/// stream with tokens removed (TypeScript's types) keeps every start and line instead.
public final class JSTokens: RandomAccessCollection {
    public let bytes: [UInt8]
    let codes: [UInt8]
    let checkpoints: [UInt32]
    /// Every token's start, when the tokens are not the source's consecutive ones.
    let starts: [UInt32]?
    /// The line of every 32nd token, and where a line was counted at a byte other than a line feed.
    let checkpointLines: [UInt32]
    let extraBreaks: [UInt32]
    /// Every token's line, when every start is kept.
    let lines: [UInt32]?

    static let checkpointEvery = 32
    static let newlineBit: UInt8 = 0x80

    init(bytes: [UInt8], codes: [UInt8], checkpoints: [UInt32], checkpointLines: [UInt32], extraBreaks: [UInt32],
         starts: [UInt32]? = nil, lines: [UInt32]? = nil) {
        self.bytes = bytes
        self.codes = codes
        self.checkpoints = checkpoints
        self.checkpointLines = checkpointLines
        self.extraBreaks = extraBreaks
        self.lines = lines
        self.starts = starts
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { codes.count }
    public subscript(i: Int) -> JSToken {
        precondition(i >= 0 && i < codes.count, "token index out of range")
        return JSToken(tokens: self, index: i)
    }

    // MARK: codes

    static let numberCode: UInt8 = 2, stringCode: UInt8 = 3, regexCode: UInt8 = 4
    static let templateCode: UInt8 = 5, templateHeadCode: UInt8 = 6, templateMiddleCode: UInt8 = 7, templateTailCode: UInt8 = 8
    static let firstPunctuator: UInt8 = 9
    /// Identifiers take the codes from here to 127: the keywords looked for in every token one code each (an exact
    /// test), any other name a code by a hash of its text (most `isIdent` tests need not read it).
    static let firstIdentifier: UInt8 = 67
    static let keywords = ["const", "let", "var", "import", "export", "new", "from"]
    private static let keywordBytes = keywords.map { Array($0.utf8) }
    static let firstHashed = firstIdentifier + UInt8(keywords.count)

    static func identifierCode(_ s: [UInt8], _ r: Range<Int>) -> UInt8 {
        if r.count >= 3 && r.count <= 6 {
            for (k, w) in keywordBytes.enumerated() where w.count == r.count && s[r].elementsEqual(w) { return firstIdentifier + UInt8(k) }
        }
        var h: UInt32 = 2_166_136_261
        for k in r { h = (h ^ UInt32(s[k])) &* 16_777_619 }
        return firstHashed + UInt8(h % UInt32(128 - Int(firstHashed)))
    }

    static func identifierCode(_ text: String) -> UInt8 {
        var text = text
        return text.withUTF8 { b in
            if b.count >= 3 && b.count <= 6 {
                for (k, w) in keywordBytes.enumerated() where w.count == b.count && b.elementsEqual(w) { return firstIdentifier + UInt8(k) }
            }
            var h: UInt32 = 2_166_136_261
            for x in b { h = (h ^ UInt32(x)) &* 16_777_619 }
            return firstHashed + UInt8(h % UInt32(128 - Int(firstHashed)))
        }
    }

    /// Longest first, as the tokenizer tries them; then the single characters.
    static let multiPunctuators = [
        ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
        "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=",
        "&=", "|=", "^=", "**", "<<", ">>",
    ]
    static let singlePunctuators = "{}()[];,<>+-*/%&|^!~?:=.@".map(String.init)

    /// Text of each code (empty for the kinds that are not punctuators).
    static let punctuatorTexts: [String] = {
        var t = [String](repeating: "", count: 128)
        for (k, p) in (multiPunctuators + singlePunctuators).enumerated() { t[Int(firstPunctuator) + k] = p }
        precondition(Int(firstPunctuator) + multiPunctuators.count + singlePunctuators.count <= Int(firstIdentifier))
        return t
    }()
    static let kinds: [JSToken.Kind] = (0..<128).map { c -> JSToken.Kind in
        switch UInt8(c) {
        case firstIdentifier...127: return .identifier
        case numberCode: return .number
        case stringCode: return .string
        case regexCode: return .regex
        case templateCode: return .template
        case templateHeadCode: return .templateHead
        case templateMiddleCode: return .templateMiddle
        case templateTailCode: return .templateTail
        default: return .punctuator
        }
    }
    static let singleCodes: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 256)
        for (k, p) in singlePunctuators.enumerated() { t[Int(p.utf8.first!)] = firstPunctuator + UInt8(multiPunctuators.count + k) }
        return t
    }()
    static func code(ofSingle c: UInt8) -> UInt8 { singleCodes[Int(c)] }
    /// The multi-character punctuators by first byte, with their codes (longest first).
    static let punctuatorsByFirst: [[([UInt8], UInt8)]] = {
        var table = [[([UInt8], UInt8)]](repeating: [], count: 256)
        for (k, p) in multiPunctuators.enumerated() { table[Int(p.utf8.first!)].append((Array(p.utf8), firstPunctuator + UInt8(k))) }
        return table
    }()
    static let punctuatorLengths: [Int] = punctuatorTexts.map(\.utf8.count)

    func code(_ i: Int) -> UInt8 { codes[i] & 0x7F }
    public func kind(_ i: Int) -> JSToken.Kind { Self.kinds[Int(code(i))] }
    public func newlineBefore(_ i: Int) -> Bool { codes[i] & Self.newlineBit != 0 }
    public func isPunct(_ i: Int, _ p: String) -> Bool {
        let c = code(i)
        return c >= Self.firstPunctuator && c < Self.firstIdentifier && Self.punctuatorTexts[Int(c)] == p
    }
    public func isIdent(_ i: Int, _ s: String) -> Bool {
        let c = code(i)
        guard c >= Self.firstIdentifier, c == Self.identifierCode(s) else { return false }
        return c < Self.firstHashed || spells(i, s)
    }
    /// `isIdent` for a name whose code is worked out once (the names looked for in every token of a script).
    func isIdent(_ i: Int, _ name: JSName) -> Bool {
        code(i) == name.code && (name.code < Self.firstHashed || spells(i, name.text))
    }

    private func spells(_ i: Int, _ s: String) -> Bool {
        let (start, end) = span(i)
        var k = start
        for b in s.utf8 {
            guard k < end, bytes[k] == b else { return false }
            k += 1
        }
        return k == end
    }

    /// 1-based line where token `i` starts: its block's line and the line feeds from there.
    public func line(_ i: Int) -> Int {
        if let lines { return Int(lines[i]) }
        let block = i / Self.checkpointEvery
        let from = Int(checkpoints[block]), to = span(i).start
        var l = Int(checkpointLines[block])
        var k = from
        while k < to { if bytes[k] == 0x0A { l += 1 }; k += 1 }
        if !extraBreaks.isEmpty { l += Self.below(UInt32(to), extraBreaks) - Self.below(UInt32(from), extraBreaks) }
        return l
    }

    /// How many of the sorted `values` are below `x`.
    private static func below(_ x: UInt32, _ values: [UInt32]) -> Int {
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public func text(_ i: Int) -> String {
        let c = code(i)
        if c >= Self.firstPunctuator && c < Self.firstIdentifier { return Self.punctuatorTexts[Int(c)] }
        let (start, end) = span(i)
        switch c {
        case Self.stringCode, Self.templateCode, Self.templateHeadCode, Self.templateMiddleCode, Self.templateTailCode:
            guard start < end else { return "" }
            if let raw = uncooked(code: c, start: start, end: end) { return String(decoding: bytes[raw], as: UTF8.self) }
            var t = JSTokenizer(bytes: bytes)
            t.cooking = true
            t.rereading = true
            t.i = start
            if c == Self.stringCode { _ = t.string(quote: bytes[start]) } else { t.i += 1; _ = t.template() }
            return String(decoding: t.cooked, as: UTF8.self)
        default:
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
    }

    /// The text between a string's or template piece's delimiters when it has no escape: its cooked value as it is.
    private func uncooked(code c: UInt8, start: Int, end: Int) -> Range<Int>? {
        var k = start + 1
        while k < end { if bytes[k] == 0x5C { return nil }; k += 1 }
        if c == Self.stringCode { return (start + 1)..<(end - 1 > start && bytes[end - 1] == bytes[start] ? end - 1 : end) }
        if end - 1 > start && bytes[end - 1] == 0x60 { return (start + 1)..<(end - 1) }
        if end - 2 > start && bytes[end - 2] == 0x24 && bytes[end - 1] == 0x7B { return (start + 1)..<(end - 2) }
        return (start + 1)..<end
    }

    // MARK: where tokens are

    private static let cacheSlots = 8
    // Raw buffers, not arrays: a class's array property pays an exclusivity check on every write.
    private let cachedBlock: UnsafeMutablePointer<Int> = {
        let p = UnsafeMutablePointer<Int>.allocate(capacity: JSTokens.cacheSlots)
        p.initialize(repeating: -1, count: JSTokens.cacheSlots)
        return p
    }()
    private let cachedSpans: UnsafeMutablePointer<UInt32> = {
        let n = 2 * JSTokens.cacheSlots * JSTokens.checkpointEvery
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        p.initialize(repeating: 0, count: n)
        return p
    }()

    deinit {
        cachedBlock.deallocate()
        cachedSpans.deallocate()
    }

    /// Start and end (exclusive) of token `i` in `bytes`.
    func span(_ i: Int) -> (start: Int, end: Int) {
        if let starts {
            let start = Int(starts[i])
            return (start, end(of: code(i), at: start))
        }
        let block = i / Self.checkpointEvery, slot = block % Self.cacheSlots
        if cachedBlock[slot] != block { read(block: block, into: slot) }
        let k = 2 * (slot * Self.checkpointEvery + i % Self.checkpointEvery)
        return (Int(cachedSpans[k]), Int(cachedSpans[k + 1]))
    }

    private func read(block: Int, into slot: Int) {
        var start = Int(checkpoints[block])
        let first = block * Self.checkpointEvery
        for j in first..<Swift.min(codes.count, first + Self.checkpointEvery) {
            if j > first { start = nextStart(after: start) }
            let e = end(of: code(j), at: start)
            let k = 2 * (slot * Self.checkpointEvery + j - first)
            cachedSpans[k] = UInt32(truncatingIfNeeded: start)
            cachedSpans[k + 1] = UInt32(truncatingIfNeeded: e)
            start = e
        }
        cachedBlock[slot] = block
    }

    /// Where the token with this code that starts at `start` ends, read the way the tokenizer read it.
    func end(of c: UInt8, at start: Int) -> Int {
        guard start < bytes.count else { return bytes.count }  // never past the source, whatever the codes say
        if c >= Self.firstIdentifier { return JSTokenizer.identifierEnd(bytes, bytes[start] == 0x23 ? start + 1 : start) }
        if c >= Self.firstPunctuator { return start + Self.punctuatorLengths[Int(c)] }
        switch c {
        case Self.numberCode: return JSTokenizer.numberEnd(bytes, start)
        case Self.regexCode: return JSTokenizer.regexEnd(bytes, start) ?? start + 1
        default:
            var t = JSTokenizer(bytes: bytes)
            t.rereading = true
            t.i = start
            if c == Self.stringCode { _ = t.string(quote: bytes[start]) } else { t.i += 1; _ = t.template() }
            return t.i
        }
    }

    /// The start of the token after the one that ends at `end`: past blanks, comments and the characters the tokenizer
    /// reported and skipped.
    private func nextStart(after end: Int) -> Int {
        let s = bytes
        var j = end
        while j < s.count {
            let c = s[j]
            switch c {
            case 0x0A, 0x20, 0x09, 0x0D, 0x0B, 0x0C: j += 1
            case 0x2F where j + 1 < s.count && s[j + 1] == 0x2F:
                while j < s.count && s[j] != 0x0A { j += 1 }
            case 0x2F where j + 1 < s.count && s[j + 1] == 0x2A:
                j += 2
                while j < s.count && !(s[j] == 0x2A && j + 1 < s.count && s[j + 1] == 0x2F) { j += 1 }
                j = Swift.min(s.count, j + 2)
            default:
                if JSTokenizer.isIdentStart(c) || JSTokenizer.isDigit(c) || c == 0x22 || c == 0x27 || c == 0x60
                    || JSTokenizer.singles.contains(c) || (c == 0x23 && j + 1 < s.count && JSTokenizer.isIdentStart(s[j + 1])) {
                    return j
                }
                j += 1
            }
        }
        return j
    }

    /// The same tokens without those `removed` marks; a removed token's line break passes to the next one kept.
    func removing(_ removed: [Bool]) -> JSTokens {
        var codes: [UInt8] = [], starts: [UInt32] = [], lines: [UInt32] = []
        codes.reserveCapacity(self.codes.count)
        starts.reserveCapacity(self.codes.count)
        var pendingNewline = false
        for k in indices {
            if removed[k] { pendingNewline = pendingNewline || newlineBefore(k); continue }
            codes.append(pendingNewline ? self.codes[k] | Self.newlineBit : self.codes[k])
            starts.append(UInt32(truncatingIfNeeded: span(k).start))
            lines.append(UInt32(truncatingIfNeeded: line(k)))
            pendingNewline = false
        }
        return JSTokens(bytes: bytes, codes: codes, checkpoints: [], checkpointLines: [], extraBreaks: [], starts: starts, lines: lines)
    }
}
