import Foundation

/// What the grpc check needs from a `.proto` file: its package, its imports and its services' methods. Not a
/// compiler: messages are not read (a method's types are qualified with the package, as protoc would for a name
/// declared in the same file). Bounded and total: a hostile file gives an error with its line, never a trap.
public struct ProtoFile: Sendable, Equatable {
    public var package = ""
    public var imports: [(line: Int, path: String)] = []
    public var services: [GRPCService] = []

    public static func == (a: ProtoFile, b: ProtoFile) -> Bool {
        a.package == b.package && a.services == b.services && a.imports.map(\.path) == b.imports.map(\.path)
    }

    public struct Problem: Error, Sendable, Equatable {
        public var line: Int
        public var message: String
    }

    static let tokenCap = 2_000_000

    enum Token: Equatable { case word(String), string(String), punct(Character) }

    public static func parse(_ text: String) -> Result<ProtoFile, Problem> {
        var tokens: [(Token, Int)] = []
        let chars = Array(text.unicodeScalars)
        var i = 0, line = 1
        while i < chars.count {
            guard tokens.count < tokenCap else { return .failure(Problem(line: line, message: "more than \(tokenCap) tokens")) }
            let c = chars[i]
            if c == "\n" { line += 1; i += 1; continue }
            if c.properties.isWhitespace { i += 1; continue }
            if c == "/", i + 1 < chars.count, chars[i + 1] == "/" {
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            }
            if c == "/", i + 1 < chars.count, chars[i + 1] == "*" {
                let start = line
                i += 2
                while i < chars.count, !(chars[i] == "*" && i + 1 < chars.count && chars[i + 1] == "/") {
                    if chars[i] == "\n" { line += 1 }
                    i += 1
                }
                guard i < chars.count else { return .failure(Problem(line: start, message: "comment is not closed")) }
                i += 2
                continue
            }
            if c == "\"" || c == "'" {
                let start = line
                var s = String.UnicodeScalarView()
                i += 1
                while i < chars.count, chars[i] != c {
                    if chars[i] == "\n" { return .failure(Problem(line: start, message: "unterminated string")) }
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    s.append(chars[i]); i += 1
                }
                guard i < chars.count else { return .failure(Problem(line: start, message: "unterminated string")) }
                i += 1
                tokens.append((.string(String(s)), start))
                continue
            }
            if c.properties.isAlphabetic || c == "_" || c == "." || ("0"..."9").contains(c) {
                var s = String.UnicodeScalarView()
                while i < chars.count, chars[i].properties.isAlphabetic || chars[i] == "_" || chars[i] == "."
                        || ("0"..."9").contains(chars[i]) {
                    s.append(chars[i]); i += 1
                }
                tokens.append((.word(String(s)), line))
                continue
            }
            tokens.append((.punct(Character(c)), line))
            i += 1
        }

        var file = ProtoFile()
        var k = 0
        func word(_ j: Int) -> String? { if j < tokens.count, case .word(let w) = tokens[j].0 { return w }; return nil }
        func isPunct(_ j: Int, _ p: Character) -> Bool { j < tokens.count && tokens[j].0 == .punct(p) }
        func lineAt(_ j: Int) -> Int { j < tokens.count ? tokens[j].1 : line }
        /// Skips a `{ … }` block starting at j (an opening brace); returns the index after it, or nil when unclosed.
        func skipBlock(_ j: Int) -> Int? {
            var depth = 0, m = j
            while m < tokens.count {
                if isPunct(m, "{") { depth += 1 }
                if isPunct(m, "}") { depth -= 1; if depth == 0 { return m + 1 } }
                m += 1
            }
            return nil
        }
        var depth = 0
        while k < tokens.count {
            if isPunct(k, "{") { depth += 1; k += 1; continue }
            if isPunct(k, "}") {
                depth -= 1
                guard depth >= 0 else { return .failure(Problem(line: lineAt(k), message: "'}' without its '{'")) }
                k += 1; continue
            }
            guard depth == 0, let w = word(k) else { k += 1; continue }
            switch w {
            case "package":
                guard let name = word(k + 1) else { return .failure(Problem(line: lineAt(k), message: "package has no name")) }
                file.package = name
                k += 2
            case "import":
                var j = k + 1
                if let m = word(j), m == "public" || m == "weak" { j += 1 }
                guard j < tokens.count, case .string(let path) = tokens[j].0 else {
                    return .failure(Problem(line: lineAt(k), message: "import has no file name"))
                }
                file.imports.append((lineAt(k), path))
                k = j + 1
            case "service":
                guard let name = word(k + 1), isPunct(k + 2, "{") else {
                    return .failure(Problem(line: lineAt(k), message: "service has no name or no '{'"))
                }
                var service = GRPCService(name: file.package.isEmpty ? name : "\(file.package).\(name)", methods: [])
                var j = k + 3
                while j < tokens.count, !isPunct(j, "}") {
                    if word(j) == "rpc" {
                        guard let m = word(j + 1), isPunct(j + 2, "(") else {
                            return .failure(Problem(line: lineAt(j), message: "rpc has no name or no '('"))
                        }
                        var p = j + 3
                        let clientStreams = word(p) == "stream" && word(p + 1) != nil
                        if clientStreams { p += 1 }
                        guard let input = word(p), isPunct(p + 1, ")"), word(p + 2) == "returns", isPunct(p + 3, "(") else {
                            return .failure(Problem(line: lineAt(j), message: "rpc \(m): expected '(Request) returns (Response)'"))
                        }
                        p += 4
                        let serverStreams = word(p) == "stream" && word(p + 1) != nil
                        if serverStreams { p += 1 }
                        guard let output = word(p), isPunct(p + 1, ")") else {
                            return .failure(Problem(line: lineAt(j), message: "rpc \(m): expected '(Response)' after returns"))
                        }
                        service.methods.append(GRPCMethod(name: m, input: GRPCMethod.qualified(input, package: file.package),
                                                          output: GRPCMethod.qualified(output, package: file.package),
                                                          clientStreaming: clientStreams, serverStreaming: serverStreams))
                        j = p + 2
                        if isPunct(j, "{") {
                            guard let after = skipBlock(j) else { return .failure(Problem(line: lineAt(j), message: "'{' is not closed")) }
                            j = after
                        }
                        continue
                    }
                    if isPunct(j, "{") {
                        guard let after = skipBlock(j) else { return .failure(Problem(line: lineAt(j), message: "'{' is not closed")) }
                        j = after
                        continue
                    }
                    j += 1
                }
                guard j < tokens.count else { return .failure(Problem(line: lineAt(k), message: "service \(name) is not closed")) }
                file.services.append(service)
                k = j + 1
            default:
                k += 1
            }
        }
        guard depth == 0 else { return .failure(Problem(line: line, message: "'{' is not closed")) }
        return .success(file)
    }
}
