import Foundation
import PreflightCore

/// A script's use of `k6/net/grpc`, read statically (issue 33): the clients, the `.proto` files they load, where
/// they connect and with which options, the methods they invoke, and how many of the script's checks look at a
/// gRPC answer (k6 counts no gRPC call in `http_req_failed`: a failed call shows in `checks` only).
public struct K6GRPCUse: Sendable, Equatable {
    public struct Load: Sendable, Equatable {
        public var line: Int
        /// The file it is in, as shown (the script, or a local module it imports).
        public var file = ""
        /// `client.load(importPaths, ...files)`'s first argument; nil when it is only known at run time, [] for null or [].
        public var importPaths: [String]?
        public var files: [String]
        /// `loadProtoset(file)`: a compiled descriptor set (not read).
        public var protoset = false
    }
    public struct Connect: Sendable, Equatable {
        public var line: Int
        /// The file it is in, as shown (the script, or a local module it imports).
        public var file = ""
        /// The address as k6 would get it (load.env applied); nil when only known at run time.
        public var address: String?
        /// The argument's source, for messages.
        public var source: String
        /// The `__ENV` variable the address comes from, when it does.
        public var envName: String?
        public var plaintext: Bool?
        public var reflect = false
        /// A `tls: {…}` object is given (client certificates, a CA).
        public var tls = false
    }
    public struct Invoke: Sendable, Equatable {
        public var line: Int
        /// The file it is in, as shown (the script, or a local module it imports).
        public var file = ""
        /// "events.Events/Send" (a leading slash removed); nil when only known at run time.
        public var method: String?
        public var source: String
        /// `new grpc.Stream(client, method)`.
        public var stream = false
        /// Started without waiting for its answer (`asyncInvoke` not awaited where it is called, or a stream, open
        /// until it ends): such calls are in flight at once on the VU's one connection.
        public var concurrent = false
        /// Inside a loop's body (`for`, `while`, `do`, or a callback of map/forEach/Array.from…): how many start at
        /// once is not known statically.
        public var inLoop = false
    }
    public var imported = false
    public var loads: [Load] = []
    public var connects: [Connect] = []
    public var invokes: [Invoke] = []
    /// `check(answer, {…})` calls whose answer comes from an invoke, and all `check` calls: a failed gRPC call fails
    /// that share of the checks (each assumed to run once an iteration).
    public var grpcChecks = 0
    public var allChecks = 0
    /// Conditions inside those checks' objects (a check with three conditions adds three samples to `checks`).
    public var grpcConditions = 0
    public var allConditions = 0
    /// `r.status === 0` (or `!==`) in a check on a gRPC answer: k6's `response.status` is an object, so `===` with a
    /// number never holds (measured on k6 1.1.0; `==` and `grpc.StatusOK` work).
    public struct StrictStatus: Sendable, Equatable {
        public var line: Int
        public var file = ""
        public var source: String
        /// `===`: the condition fails on every call; `!==`: it never fails.
        public var equals: Bool
    }
    public var strictStatus: [StrictStatus] = []

    public var isEmpty: Bool { !imported && invokes.isEmpty && connects.isEmpty }

    /// Adds a module's use (its items already carry their file).
    public mutating func merge(_ other: K6GRPCUse) {
        imported = imported || other.imported
        loads += other.loads; connects += other.connects; invokes += other.invokes
        grpcChecks += other.grpcChecks; allChecks += other.allChecks
        grpcConditions += other.grpcConditions; allConditions += other.allConditions
        strictStatus += other.strictStatus
    }

    /// Sets every item's file.
    public mutating func placed(in file: String) {
        for i in loads.indices { loads[i].file = file }
        for i in connects.indices { connects[i].file = file }
        for i in invokes.indices { invokes[i].file = file }
        for i in strictStatus.indices { strictStatus[i].file = file }
    }
    public init() {}

    /// The share of the `checks` metric's samples a failed gRPC call fails: conditions on gRPC answers over all conditions.
    public var checkShare: Double? {
        allConditions > 0 ? Double(grpcConditions) / Double(allConditions) : nil
    }
}

extension K6Script {
    static let grpcModules: Set<String> = ["k6/net/grpc", "k6/experimental/grpc"]

    /// The script's gRPC use; empty when it does not import k6/net/grpc.
    public func grpcUse() -> K6GRPCUse {
        var use = K6GRPCUse()
        var namespaces: Set<String> = []
        var clientClass: Set<String> = [], streamClass: Set<String> = []
        for j in tokens.indices where tokens.isIdent(j, .import) {
            let (names, named, moduleAt) = importClause(j)
            guard let k = moduleAt, let m = tok(k), Self.grpcModules.contains(m.text) else { continue }
            use.imported = true
            namespaces.formUnion(names)
            for (imported, local) in named {
                if imported == "Client" { clientClass.insert(local) }
                if imported == "Stream" { streamClass.insert(local) }
            }
        }
        guard use.imported else { return use }

        /// `new grpc.Client(` / `new Client(` at j (the `new`): the index of the `(`.
        func constructs(_ j: Int, _ cls: String, _ local: Set<String>) -> Int? {
            guard tok(j)?.isIdent("new") == true else { return nil }
            if let ns = tok(j + 1), namespaces.contains(ns.text), tok(j + 2)?.isPunct(".") == true, tok(j + 3)?.isIdent(cls) == true,
               tok(j + 4)?.isPunct("(") == true { return j + 4 }
            if let c = tok(j + 1), local.contains(c.text), tok(j + 2)?.isPunct("(") == true { return j + 2 }
            return nil
        }
        func text(_ r: Range<Int>) -> String? {
            for alternative in evaluate(r) {
                if let t = Self.plainText(Self.resolve(alternative, env: env)) { return t }
            }
            return nil
        }
        func bool(_ r: Range<Int>) -> Bool? {
            let r = stripParens(r)
            guard r.count == 1 else { return nil }
            if tokens[r.lowerBound].isIdent("true") { return true }
            if tokens[r.lowerBound].isIdent("false") { return false }
            return nil
        }

        /// The `(` that `close` (a `)`) closes, walking back at most 50,000 tokens.
        func opener(of close: Int) -> Int? {
            var depth = 0
            var k = close
            while k >= max(0, close - 50_000), let t = tok(k) {
                if t.isPunct(")") || t.isPunct("]") || t.isPunct("}") { depth += 1 }
                else if t.isPunct("(") || t.isPunct("[") || t.isPunct("{") {
                    depth -= 1
                    if depth == 0 { return t.isPunct("(") ? k : nil }
                }
                k -= 1
            }
            return nil
        }
        /// Whether token j is in a loop's body: each enclosing bracket, walked back (at most 50,000 tokens), is a
        /// `for (…) {`/`while (…) {`/`do {` block or a map/forEach/from/flatMap call's arguments; or j's statement is
        /// the single statement right after a `for (…)`/`while (…)` header.
        func inLoop(_ j: Int) -> Bool {
            let loopCalls: Set<String> = ["map", "forEach", "flatMap", "from"]
            var depth = 0, boundary = false
            var k = j - 1
            while k >= max(0, j - 50_000), let t = tok(k) {
                defer { k -= 1 }
                guard t.kind == .punctuator else { continue }
                if t.isPunct(")") || t.isPunct("]") || t.isPunct("}") {
                    depth += 1
                    if depth == 1, t.isPunct("}") { boundary = true }
                } else if t.isPunct("(") || t.isPunct("[") || t.isPunct("{") {
                    if depth > 0 {
                        depth -= 1
                        if depth == 0, t.isPunct("("), !boundary, let kw = tok(k - 1), kw.isIdent("for") || kw.isIdent("while") { return true }
                        continue
                    }
                    boundary = false
                    if t.isPunct("{") {
                        if tok(k - 1)?.isIdent("do") == true { return true }
                        if tok(k - 1)?.isPunct(")") == true, let open = opener(of: k - 1),
                           let kw = tok(open - 1), kw.isIdent("for") || kw.isIdent("while") { return true }
                    } else if t.isPunct("("), let f = tok(k - 1), loopCalls.contains(f.text), tok(k - 2)?.isPunct(".") == true {
                        return true
                    }
                } else if depth == 0, t.isPunct(";") {
                    boundary = true
                }
            }
            return false
        }

        var clients: Set<String> = []
        var answers: Set<String> = []
        for j in tokens.indices where tok(j)?.isIdent("new") == true {
            if constructs(j, "Client", clientClass) != nil, tok(j - 1)?.isPunct("=") == true, let name = tok(j - 2), name.kind == .identifier {
                clients.insert(name.text)
            }
            if let open = constructs(j, "Stream", streamClass), match[open] > open {
                let args = arguments(open)
                if args.count >= 2 {
                    use.invokes.append(.init(line: tokens[j].line, file: "", method: text(args[1]).map(Self.methodName), source: source(args[1]), stream: true,
                                             concurrent: true, inLoop: inLoop(j)))
                }
            }
        }
        if clients.isEmpty && !namespaces.isEmpty { clients = ["client"] }

        for j in tokens.indices where tokens.kind(j) == .identifier && clients.contains(tokens[j].text) {
            guard tok(j + 1)?.isPunct(".") == true, let f = tok(j + 2), tok(j + 3)?.isPunct("(") == true, match[j + 3] > j + 3 else { continue }
            let args = arguments(j + 3)
            switch f.text {
            case "load":
                guard let first = args.first else { continue }
                var paths: [String]? = nil
                let r = stripParens(first)
                if r.count == 1, tokens[r.lowerBound].isIdent("null") { paths = [] }
                else if let open = r.first, tokens[open].isPunct("["), match[open] == r.upperBound - 1 {
                    let items = literal.items(open)
                    let texts = items.compactMap(text)
                    paths = texts.count == items.count ? texts : nil
                }
                use.loads.append(.init(line: f.line, file: "", importPaths: paths, files: args.dropFirst().compactMap(text)))
            case "loadProtoset":
                use.loads.append(.init(line: f.line, file: "", importPaths: [], files: args.first.flatMap(text).map { [$0] } ?? [], protoset: true))
            case "connect":
                guard let first = args.first else { continue }
                var c = K6GRPCUse.Connect(line: f.line, file: "", address: text(first), source: source(first))
                for alternative in evaluate(first) {
                    if case .env(let name, _)? = alternative.first { c.envName = name; break }
                }
                if args.count > 1, let open = objectStart(args[1], opener: "{") {
                    let fields = objectFields(open)
                    c.plaintext = fields["plaintext"].flatMap(bool)
                    c.reflect = fields["reflect"].flatMap(bool) ?? false
                    c.tls = fields["tls"] != nil
                }
                use.connects.append(c)
            case "invoke", "asyncInvoke":
                guard let first = args.first else { continue }
                let concurrent = f.text == "asyncInvoke" && tok(j - 1)?.isIdent("await") != true
                use.invokes.append(.init(line: f.line, file: "", method: text(first).map(Self.methodName), source: source(first),
                                         concurrent: concurrent, inLoop: concurrent && inLoop(j)))
                // `const answer = client.invoke(…)` / `= await client.asyncInvoke(…)`: checks on `answer` are on gRPC.
                var b = j - 1
                if tok(b)?.isIdent("await") == true { b -= 1 }
                if tok(b)?.isPunct("=") == true, let name = tok(b - 1), name.kind == .identifier { answers.insert(name.text) }
            default: continue
            }
        }

        for j in tokens.indices where tokens[j].isIdent("check") && tok(j + 1)?.isPunct("(") == true && tok(j - 1)?.isPunct(".") != true
                                        && tok(j - 1)?.isIdent("function") != true && match[j + 1] > j + 1 {
            let args = arguments(j + 1)
            guard let subject = args.first else { continue }
            let conditions = args.count > 1 ? objectStart(args[1], opener: "{").map { max(1, objectFields($0).count) } ?? 1 : 1
            use.allChecks += 1
            use.allConditions += conditions
            let s = stripParens(subject)
            let onGRPC = (s.count == 1 && answers.contains(tokens[s.lowerBound].text))
                || s.contains { tokens[$0].kind == .identifier && ["invoke", "asyncInvoke"].contains(tokens[$0].text) && tok($0 - 1)?.isPunct(".") == true }
            if onGRPC { use.grpcChecks += 1; use.grpcConditions += conditions }
            if onGRPC, args.count > 1 {
                for k in args[1] where tokens[k].isIdent("status") && tok(k - 1)?.isPunct(".") == true {
                    guard let op = tok(k + 1), op.isPunct("===") || op.isPunct("!=="), tok(k + 2)?.kind == .number else { continue }
                    use.strictStatus.append(.init(line: tokens[k].line, source: source(max(args[1].lowerBound, k - 2)..<(k + 3)), equals: op.isPunct("===")))
                }
            }
        }
        return use
    }

    /// "/events.Events/Send" → "events.Events/Send"
    static func methodName(_ s: String) -> String { s.hasPrefix("/") ? String(s.dropFirst()) : s }
}
