/// The schema.prisma lexer and recursive-descent parser behind `PrismaSchema`.

// MARK: - Lexer

struct PrismaToken: Equatable {
    enum Kind: Equatable { case identifier, string, number, newline, punct, invalid, end }
    var kind: Kind
    var text: String
    var line: Int
    /// Byte offsets in the source: `start..<end` (a field's or an attribute's text as written).
    var start = 0
    var end = 0
}

enum PrismaLexer {
    /// Every byte is consumed exactly once; comments vanish, newlines stay (fields are one per line).
    static func tokens(_ text: String) -> [PrismaToken] {
        let b = Array(text.utf8)
        var out: [PrismaToken] = []
        var i = 0, line = 1
        func isIdentStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func hex4(_ s: ArraySlice<UInt8>) -> UInt32? {
            var v: UInt32 = 0
            for c in s {
                switch c {
                case 48...57: v = v * 16 + UInt32(c - 48)
                case 65...70: v = v * 16 + UInt32(c - 55)
                case 97...102: v = v * 16 + UInt32(c - 87)
                default: return nil
                }
            }
            return v
        }
        while i < b.count {
            let c = b[i]
            let tokenStart = i, before = out.count
            defer {
                if out.count > before { out[out.count - 1].start = tokenStart; out[out.count - 1].end = i }
            }
            switch c {
            case 10:
                out.append(PrismaToken(kind: .newline, text: "\n", line: line)); line += 1; i += 1
            case 32, 9, 13:
                i += 1
            case 47 where i + 1 < b.count && b[i + 1] == 47:  // `//` and `///` to the end of the line
                while i < b.count && b[i] != 10 { i += 1 }
            case 34:  // "string" with backslash escapes, on one line
                let start = line
                var bytes: [UInt8] = []
                i += 1
                var closed = false
                while i < b.count && b[i] != 10 {
                    if b[i] == 92 && i + 1 < b.count && b[i + 1] != 10 {
                        // JSON's escapes (Prisma's strings follow JSON's grammar), `\uXXXX` included.
                        let e = b[i + 1]
                        if e == 117, i + 5 < b.count, let scalar = hex4(b[(i + 2)..<(i + 6)]).flatMap(UnicodeScalar.init) {
                            bytes += Array(String(Character(scalar)).utf8)
                            i += 6
                            continue
                        }
                        switch e {
                        case 110: bytes.append(10)  // n
                        case 116: bytes.append(9)   // t
                        case 114: bytes.append(13)  // r
                        case 98: bytes.append(8)    // b
                        case 102: bytes.append(12)  // f
                        default: bytes.append(e)
                        }
                        i += 2
                        continue
                    }
                    if b[i] == 34 { closed = true; i += 1; break }
                    bytes.append(b[i]); i += 1
                }
                out.append(closed ? PrismaToken(kind: .string, text: String(decoding: bytes, as: UTF8.self), line: start)
                                  : PrismaToken(kind: .invalid, text: "unterminated string", line: start))
            case _ where isIdentStart(c):
                let s = i
                // Prisma's identifiers may hold `-` after the first character (`ASCII_ALPHANUMERIC ~ ("_" | "-" | …)*`).
                while i < b.count && (isIdentStart(b[i]) || isDigit(b[i]) || b[i] == 45) { i += 1 }
                out.append(PrismaToken(kind: .identifier, text: String(decoding: b[s..<i], as: UTF8.self), line: line))
            case _ where isDigit(c) || (c == 45 && i + 1 < b.count && isDigit(b[i + 1])):
                let s = i
                i += 1
                while i < b.count && (isDigit(b[i]) || b[i] == 46 || b[i] == 101 || b[i] == 69) { i += 1 }
                out.append(PrismaToken(kind: .number, text: String(decoding: b[s..<i], as: UTF8.self), line: line))
            case 64:  // @ or @@
                if i + 1 < b.count && b[i + 1] == 64 {
                    out.append(PrismaToken(kind: .punct, text: "@@", line: line)); i += 2
                } else {
                    out.append(PrismaToken(kind: .punct, text: "@", line: line)); i += 1
                }
            case 123, 125, 40, 41, 91, 93, 44, 58, 61, 63, 46:  // { } ( ) [ ] , : = ? .
                out.append(PrismaToken(kind: .punct, text: String(UnicodeScalar(c)), line: line)); i += 1
            default:
                // One token for a run of unexpected bytes (keeps the scan linear, the error single).
                let s = i
                while i < b.count, !isIdentStart(b[i]), !isDigit(b[i]), ![10, 32, 9, 13, 34, 64, 123, 125, 40, 41, 91, 93, 44, 58, 61, 63, 46, 47].contains(b[i]) { i += 1 }
                if i == s { i += 1 }
                out.append(PrismaToken(kind: .invalid, text: "unexpected character", line: line))
            }
        }
        out.append(PrismaToken(kind: .end, text: "", line: line))
        return out
    }
}

// MARK: - Parser

/// Recursive descent over the tokens; an error skips to the end of the line (or block) and goes on.
struct PrismaParser {
    let tokens: [PrismaToken]
    /// The source bytes the tokens' offsets point into (for a field's declaration as written).
    let source: [UInt8]
    var i = 0
    var schema = PrismaSchema()
    static let maxDepth = 32
    static let maxProblems = 50

    init(text: String) {
        source = Array(text.utf8)
        tokens = PrismaLexer.tokens(text)
    }

    /// The source from `start` to the end of the last token consumed.
    func written(from start: Int) -> String {
        let end = i > 0 ? tokens[i - 1].end : start
        guard start < end, end <= source.count else { return "" }
        return String(decoding: source[start..<end], as: UTF8.self)
    }

    var current: PrismaToken { tokens[i] }
    mutating func advance() { if i < tokens.count - 1 { i += 1 } }
    func isPunct(_ p: String) -> Bool { current.kind == .punct && current.text == p }

    mutating func skipNewlines() { while current.kind == .newline { advance() } }
    mutating func skipLine() { while current.kind != .newline && current.kind != .end { advance() } }

    mutating func problem(_ message: String, line: Int? = nil) {
        guard schema.problems.count < Self.maxProblems else { return }
        schema.problems.append(PrismaSyntaxError(line: line ?? current.line, message: message))
    }

    func describe(_ t: PrismaToken) -> String {
        switch t.kind {
        case .end: return "end of file"
        case .newline: return "end of line"
        case .invalid: return t.text
        case .string: return "a string"
        default: return "'\(t.text)'"
        }
    }

    mutating func parseSchema() -> PrismaSchema {
        while true {
            skipNewlines()
            if current.kind == .end { break }
            guard current.kind == .identifier else {
                problem("expected a block (model, enum, view, type, datasource, generator), found \(describe(current))")
                skipLine()
                continue
            }
            let keyword = current.text
            let line = current.line
            advance()
            guard current.kind == .identifier else {
                problem("expected a name after \(keyword), found \(describe(current))")
                skipLine(); continue
            }
            let name = current.text
            advance()
            guard isPunct("{") else {
                problem("expected '{' after \(keyword) \(name), found \(describe(current))")
                skipLine(); continue
            }
            advance()
            switch keyword {
            case "model", "view", "type":
                var model = PrismaModel(kind: PrismaModel.Kind(rawValue: keyword)!, name: name, line: line)
                parseModelBody(&model)
                schema.models.append(model)
            case "enum":
                var e = PrismaEnum(name: name, line: line)
                parseEnumBody(&e)
                schema.enums.append(e)
            case "datasource":
                schema.datasources.append(name)
                skipBlock()
            case "generator":
                skipBlock()
            default:
                problem("unknown block type '\(keyword)'", line: line)
                skipBlock()
            }
        }
        return schema
    }

    /// Skips to the matching `}` (config blocks hold only key = value lines).
    mutating func skipBlock() {
        var depth = 1
        while current.kind != .end {
            if isPunct("{") { depth += 1 }
            if isPunct("}") { depth -= 1; if depth == 0 { advance(); return } }
            advance()
        }
        problem("block is not closed: '}' missing before the end of the file")
    }

    mutating func parseModelBody(_ model: inout PrismaModel) {
        while true {
            skipNewlines()
            if current.kind == .end { problem("\(model.kind.rawValue) \(model.name) is not closed: '}' missing before the end of the file", line: model.line); return }
            if isPunct("}") { advance(); return }
            if isPunct("@@") {
                if let a = parseAttribute() { model.attributes.append(a) }
                endOfLine()
                continue
            }
            guard current.kind == .identifier else {
                problem("expected a field name in \(model.name), found \(describe(current))")
                skipLine(); continue
            }
            let name = current.text, line = current.line, start = current.start
            advance()
            guard current.kind == .identifier else {
                problem("field \(model.name).\(name) has no type", line: line)
                skipLine(); continue
            }
            var field = PrismaField(name: name, type: current.text, isOptional: false, isList: false, line: line)
            advance()
            if field.type == "Unsupported" && isPunct("(") {
                advance()
                if current.kind == .string { advance() }
                if isPunct(")") { advance() } else { problem("expected ')' after Unsupported(\"…\")"); skipLine(); continue }
            }
            if isPunct("[") {
                advance()
                if isPunct("]") { advance(); field.isList = true } else { problem("expected ']' after \(field.type)["); skipLine(); continue }
            }
            if isPunct("?") { advance(); field.isOptional = true }
            var ok = true
            while isPunct("@") {
                guard let a = parseAttribute() else { ok = false; break }
                field.attributes.append(a)
            }
            field.declaration = written(from: start)
            if ok { endOfLine() }
            model.fields.append(field)
        }
    }

    mutating func parseEnumBody(_ e: inout PrismaEnum) {
        while true {
            skipNewlines()
            if current.kind == .end { problem("enum \(e.name) is not closed: '}' missing before the end of the file", line: e.line); return }
            if isPunct("}") { advance(); return }
            if isPunct("@@") {
                if let a = parseAttribute() { e.attributes.append(a) }
                endOfLine(); continue
            }
            guard current.kind == .identifier else {
                problem("expected an enum value in \(e.name), found \(describe(current))")
                skipLine(); continue
            }
            var value = PrismaEnumValue(name: current.text, line: current.line, label: current.text)
            advance()
            var ok = true
            while isPunct("@") {
                guard let a = parseAttribute() else { ok = false; break }
                if a.name == "map", let s = a.value("name")?.stringValue { value.label = s }
            }
            if ok { endOfLine() }
            e.values.append(value)
        }
    }

    /// After a complete line: anything but a newline, `}` or the end is a problem.
    mutating func endOfLine() {
        if current.kind == .newline || current.kind == .end || isPunct("}") { return }
        problem("unexpected \(describe(current)) at the end of the line")
        skipLine()
    }

    /// `@name`, `@@name`, `@db.Type`, each with optional `(arguments)`. On error: reports, skips the line, returns nil.
    mutating func parseAttribute() -> PrismaAttribute? {
        let line = current.line, start = current.start
        advance()  // @ or @@
        guard current.kind == .identifier else {
            problem("expected an attribute name after '@', found \(describe(current))")
            skipLine(); return nil
        }
        var name = current.text
        advance()
        while isPunct(".") {
            advance()
            guard current.kind == .identifier else { problem("expected a name after '\(name).'"); skipLine(); return nil }
            name += "." + current.text
            advance()
        }
        var attribute = PrismaAttribute(name: name, line: line)
        if isPunct("(") {
            guard let args = parseArguments(depth: 0) else {
                if !isPunct("}") { skipLine() }  // an unclosed `(` stopped at the block's end: keep it
                return nil
            }
            attribute.arguments = args
        }
        attribute.written = written(from: start)
        return attribute
    }

    /// `( [name:] value, … )`; the current token is `(`. Newlines inside are allowed.
    mutating func parseArguments(depth: Int) -> [PrismaArgument]? {
        let open = current.line
        advance()
        var args: [PrismaArgument] = []
        skipNewlines()
        if isPunct(")") { advance(); return args }
        while true {
            skipNewlines()
            // Prisma's grammar: `(argument, …, argument,)` — a trailing comma is allowed.
            if isPunct(")") && !args.isEmpty { advance(); return args }
            var name: String?
            if current.kind == .identifier, i + 1 < tokens.count, tokens[i + 1].kind == .punct, tokens[i + 1].text == ":" {
                name = current.text
                advance(); advance()
                skipNewlines()
                // `name:` with no value parses (the grammar's empty_argument) but never validates.
                if isPunct(",") || isPunct(")") {
                    problem("argument `\(name!):` has no value")
                    return nil
                }
            }
            if isPunct("}") || current.kind == .end { problem("'(' is not closed", line: open); return nil }
            guard let value = parseValue(depth: depth + 1) else { return nil }
            args.append(PrismaArgument(name: name, value: value))
            skipNewlines()
            if isPunct(",") { advance(); continue }
            if isPunct(")") { advance(); return args }
            if isPunct("}") || current.kind == .end || current.line != open { problem("'(' is not closed", line: open); return nil }
            problem("expected ',' or ')' in the arguments, found \(describe(current))")
            return nil
        }
    }

    mutating func parseValue(depth: Int) -> PrismaValue? {
        guard depth < Self.maxDepth else { problem("arguments nested too deeply"); return nil }
        let t = current
        switch t.kind {
        case .string: advance(); return .string(t.text)
        case .number: advance(); return .number(t.text)
        case .identifier:
            var name = t.text
            advance()
            while isPunct(".") {
                advance()
                guard current.kind == .identifier else { problem("expected a name after '\(name).'"); return nil }
                name += "." + current.text
                advance()
            }
            if isPunct("(") {
                guard let args = parseArguments(depth: depth) else { return nil }
                return .call(name, args)
            }
            return .identifier(name)
        case .punct where t.text == "[":
            advance()
            var items: [PrismaValue] = []
            skipNewlines()
            if isPunct("]") { advance(); return .array(items) }
            while true {
                skipNewlines()
                guard let v = parseValue(depth: depth + 1) else { return nil }
                items.append(v)
                skipNewlines()
                if isPunct(",") { advance(); continue }
                if isPunct("]") { advance(); return .array(items) }
                problem("expected ',' or ']' in the list, found \(describe(current))")
                return nil
            }
        default:
            problem("expected a value, found \(describe(t))")
            return nil
        }
    }
}
