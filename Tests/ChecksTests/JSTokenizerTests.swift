import Foundation
import Testing
import TestSupport
@testable import PreflightChecks

@Suite struct JSTokenizerExamples {
    func kinds(_ s: String) -> [JSToken.Kind] { JSTokenizer.tokenize(s).tokens.map(\.kind) }

    @Test func stringsCommentsAndLines() {
        let t = JSTokenizer.tokenize("// http://x\nconst a = 'it\\'s' /* c\n */ + \"b\\n\"")
        #expect(t.tokens.map(\.text) == ["const", "a", "=", "it's", "+", "b\n"])
        #expect(t.tokens.first?.line == 2)
        #expect(t.tokens.last?.line == 3)
        #expect(t.problems.isEmpty)
    }

    @Test func templateWithNestedSubstitutions() {
        let t = JSTokenizer.tokenize("`a${`b${c}d`}e${ {x:1}.x }f`")
        #expect(t.tokens.map(\.kind) == [.templateHead, .templateHead, .identifier, .templateTail, .templateMiddle,
                                         .punctuator, .identifier, .punctuator, .number, .punctuator, .punctuator,
                                         .identifier, .templateTail])
        #expect(t.tokens.first?.text == "a")
        #expect(t.tokens.last?.text == "f")
        #expect(t.problems.isEmpty)
    }

    @Test func regexVersusDivision() {
        #expect(kinds("a = b / c / d") == [.identifier, .punctuator, .identifier, .punctuator, .identifier, .punctuator, .identifier])
        #expect(kinds("x = /ab+c\\/[/]/gi.test(y)").contains(.regex))
        #expect(JSTokenizer.tokenize("x = /ab+c\\/[/]/gi").tokens.last?.text == "/ab+c\\/[/]/gi")
        #expect(kinds("f(a) / 2")[4] == .punctuator)
        #expect(kinds("return /x/")[1] == .regex)
    }

    @Test func unterminatedPartsAreReportedNotGuessed() {
        let t = JSTokenizer.tokenize("const a = \"open\nconst b = `never closed")
        #expect(t.problems.map(\.message) == ["unterminated string", "unterminated template literal"])
        #expect(t.problems.map(\.line) == [1, 2])
        #expect(JSTokenizer.tokenize("/* open").problems.first?.message == "unterminated /* comment")
    }

    @Test func randomBytesNeverCrash() {
        var rng = SeededRandom(state: 42)
        let alphabet = Array("`${}()[]/\\*'\"\n abc=+-.?:;,#0x9e+".utf8)
        for round in 0..<400 {
            let n = Int(rng.next() % 600)
            let bytes: [UInt8] = (0..<n).map { _ in
                round % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            let t = JSTokenizer.tokenize(bytes: bytes)
            #expect(t.tokens.count <= bytes.count + 1)
            // Every token reads back (text, line), from the end first so that each block is read cold.
            for k in t.tokens.indices.reversed() { _ = (t.tokens[k].text, t.tokens[k].line) }
            // The script reader on top must not trap either.
            _ = K6Script(source: String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func largeInputIsLinear() {
        let chunk = "const u$ = `${BASE}/a/${id}?x=${`y${1 / 2}`}`; // http://c\nhttp.get(u$ + \"/q?cursor=\" + next); /re+/g.test(s);\n"
        var s = ""
        var k = 0
        while s.utf8.count < 1_000_000 { s += chunk.replacingOccurrences(of: "$", with: String(k)); k += 1 }
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            let script = K6Script(source: s)
            #expect(script.requests.count == k)
        }
        // A guard against a hang or a quadratic blow-up, not a speed test (a 2-core CI machine may be busy).
        #expect(elapsed < .seconds(120), "1 MB took \(elapsed)")
    }
    /// Tokens are kept as a code byte each and read back from the source: texts, cooked values and lines must come out
    /// the same whichever order they are asked in (the block cache), past the first block of 32 tokens.
    @Test func textsAndLinesReadBackFromTheSource() {
        let src = "const a = 'x\\ny\\x41\\u0042\\u{1F600}\\'q' /* one\ntwo */ + `p${ {k: `in${1}` }.k }q\nr${b / 2}s`;\n"
            + "let c = \"line\\\ncontinued\" + /re[/]x/g.source; // comment\n"
            + String(repeating: "f(g[1], h.i) / 2;\n", count: 12) + "z"
        let t = JSTokenizer.tokenize(src)
        #expect(t.problems.isEmpty, "\(t.problems)")
        let forward = t.tokens.map { ($0.kind, $0.text, $0.line, $0.newlineBefore) }
        let backward = t.tokens.indices.reversed().map { k in (t.tokens[k].kind, t.tokens[k].text, t.tokens[k].line, t.tokens[k].newlineBefore) }.reversed()
        #expect(forward.count > 3 * 32)
        for (f, b) in zip(forward, backward) { #expect(f == b) }
        #expect(forward[3].1 == "x\nyAB\u{1F600}'q")
        #expect(forward[3].2 == 1)
        #expect(forward[4] == (.punctuator, "+", 2, true))  // after a comment that spans a line break
        #expect(forward[5] == (.templateHead, "p", 2, false))
        #expect(forward.contains { $0 == (.templateTail, "s", 3, false) })
        #expect(forward.contains { $0 == (.string, "linecontinued", 4, false) })
        #expect(forward.contains { $0 == (.regex, "/re[/]x/g", 5, false) })  // after the line continuation
        #expect(forward.filter { $0.1 == "/" }.count == 13)  // the divisions
        #expect(forward.last! == (.identifier, "z", 18, true))
    }

    @Test func aTokenAtTheVeryEndOfTheFile() {
        #expect(JSTokenizer.tokenize("x = abc").tokens.last?.text == "abc")
        #expect(JSTokenizer.tokenize("x = 1e+5").tokens.last?.text == "1e+5")
        #expect(JSTokenizer.tokenize("x = /a/gi").tokens.last?.text == "/a/gi")
        #expect(JSTokenizer.tokenize("f(x)\n}").tokens.last.map { "\($0.text)@\($0.line)" } == "}@2")
        let open = JSTokenizer.tokenize("a = \"abc")
        #expect(open.tokens.last?.kind == .string && open.tokens.last?.text == "abc")
        let template = JSTokenizer.tokenize("a = `x${y}z")
        #expect(template.tokens.last?.kind == .templateTail && template.tokens.last?.text == "z")
        #expect(template.problems.map(\.message) == ["unterminated template literal"])
        #expect(JSTokenizer.tokenize("a = 'q").tokens.map(\.text) == ["a", "=", "q"])
        #expect(JSTokenizer.tokenize("a = \"").tokens.last?.text == "")
    }

    /// A line continuation after a lone carriage return counts a line, as the tokenizer always did.
    @Test func linesCountedAtALoneCarriageReturnContinuation() {
        let t = JSTokenizer.tokenize("a = 'x\\\ry'\nb\n'\\\r\n'\nc")
        #expect(t.tokens.map(\.text) == ["a", "=", "xy", "b", "", "c"])
        #expect(t.tokens.map(\.line) == [1, 1, 1, 3, 4, 6])
    }

    /// Brackets matched on demand (only spans past `BracketMatch.near` kept) agree with one stack over the whole
    /// stream, for nested, far and mismatched brackets.
    @Test func bracketsMatchedOnDemandAgreeWithOneStack() {
        var rng = SeededRandom(state: 7)
        let pieces = ["(", ")", "[", "]", "{", "}", "x", "`a${", "}b`", ";"]
        for round in 0..<60 {
            var src = ""
            let n = round < 30 ? 200 : 3000
            for _ in 0..<n { src += pieces[Int(rng.next() % UInt64(pieces.count))] + " " }
            if round % 3 == 0 { src = String(repeating: "( ", count: 300) + src + String(repeating: ") ", count: 300) }
            let tokens = JSTokenizer.tokenize(src).tokens
            let match = BracketMatch(tokens)
            // The reference: one stack, a close pops only an open of its kind.
            var expected = [Int](repeating: -1, count: tokens.count), opening = [Int](repeating: -1, count: tokens.count)
            var stack: [(Int, String)] = []
            for (i, t) in tokens.enumerated() {
                let kind: (open: String?, close: String?)
                switch (t.kind, t.text) {
                case (.punctuator, "("), (.punctuator, "["), (.punctuator, "{"): kind = (t.text, nil)
                case (.templateHead, _): kind = ("`", nil)
                case (.punctuator, ")"): kind = (nil, "(")
                case (.punctuator, "]"): kind = (nil, "[")
                case (.punctuator, "}"): kind = (nil, "{")
                case (.templateTail, _): kind = (nil, "`")
                default: kind = (nil, nil)
                }
                if let o = kind.open { stack.append((i, o)) }
                if let c = kind.close, let top = stack.last, top.1 == c { stack.removeLast(); expected[top.0] = i; opening[i] = top.0 }
            }
            for i in tokens.indices {
                #expect(match[i] == expected[i], "round \(round) token \(i)")
                #expect(match.opening(i) == opening[i], "round \(round) token \(i)")
            }
        }
    }
}
