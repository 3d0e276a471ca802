import Foundation
import Testing
import TestSupport
@testable import PreflightChecks

/// One reader of JavaScript object literals (JSObjectLiteral), used by the k6 script reader and the Prisma code
/// scanner; the scanner had its own parser over its own tokens, which gave up on cases the k6 reader read.
@Suite struct JSObjectLiteralReading {
    @Test func fieldsAsJavaScriptWritesThem() {
        let tokens = JSTokenizer.tokenize("({ a: 1, 'b': [1, { c: 2 }], ...rest, [k]: 3, m() { return 1 }, d, 4: 'x', `t`: 5 })").tokens
        let literal = JSObjectLiteral(tokens: tokens, match: BracketMatch(tokens))
        let open = 1
        let fields = literal.fields(open)
        // Spreads, computed keys and methods are not attributed; a template literal is no key in JavaScript.
        #expect(fields.map(\.key) == ["a", "b", "d", "4"])
        #expect(fields.map(\.shorthand) == [false, false, true, false])
        let b = fields[1].value
        #expect(literal.literal(b, opener: "[") == b.lowerBound)
        #expect(literal.items(b.lowerBound).count == 2)
    }

    /// The k6 options and the scanner read the same literal through the one reader.
    @Test func theK6ReaderAndTheScannerAgree() throws {
        let script = K6Script(source: "export const options = { vus: 3, `duration`: '1m', stages: [{ duration: '10s', target: 5 }] };\n")
        #expect(script.options.vus == 3)
        #expect(script.options.duration == nil, "a template literal is not a key")
        #expect(script.options.stages.first?.target == 5)
    }

    /// Where the scanner's own parser gave up on the whole call: a generator method beside the arguments.
    @Test func theScannerReadsWhatItsOwnParserGaveUpOn() {
        let schema = PrismaSchema.parse("model Message {\n  id Int @id\n  content String\n}\n")
        let code = """
            await prisma.message.create({ *ids() { yield 1 }, data: { conent: 'x' } });
            await prisma.message.count({ where: { contnet: 'y' }, ...extra });
            """
        let r = PrismaCodeScanner(schema: schema).scan(code, file: "src/a.ts")
        #expect(r.calls == 2)
        #expect(r.findings.map(\.key) == ["conent", "contnet"])
        #expect(r.findings.map(\.line) == [1, 2])
    }
}
