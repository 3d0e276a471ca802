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
}

