/// A key in a Prisma client call that the model does not have, with where it is and what was probably meant.
public struct PrismaCodeFinding: Sendable, Equatable {
    /// File as given to the scanner (relative to the project), and 1-based line.
    public var file: String
    public var line: Int
    public var key: String
    public var model: String
    /// `data`, `where`, `select`, `include` or `orderBy`.
    public var argument: String
    /// `this.db.message.create`
    public var call: String
    public var suggestion: String?

    public var location: String { "\(file):\(line)" }
    public var message: String {
        let hint = suggestion.map { "; did you mean `\($0)`?" } ?? ""
        return "\(location): `\(key)` is not a field of \(model) (\(argument) in \(call))\(hint)"
    }
}

/// Finds `prisma.<model>.<op>({…})` calls (also `this.db.…`, `this.prisma.…`, `tx.…`) in TypeScript/JavaScript
/// and checks the keys of `data`, `where`, `select`, `include` and `orderBy` against the schema.
/// Precise rather than clever: a call whose model is unknown, or a value it cannot read literally, is left alone.
public struct PrismaCodeScanner {
    public let schema: PrismaSchema
    static let receivers: Set<String> = ["prisma", "db", "tx", "prismaService", "prismaClient"]
    static let owners: Set<String> = ["this", "self", "ctx", "context"]
    static let operations: Set<String> = [
        "findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow", "findMany", "create", "createMany",
        "createManyAndReturn", "update", "updateMany", "updateManyAndReturn", "upsert", "delete", "deleteMany",
        "count", "aggregate", "groupBy",
    ]

    public init(schema: PrismaSchema) { self.schema = schema }

    public struct Result: Sendable, Equatable {
        public var calls = 0
        public var findings: [PrismaCodeFinding] = []
    }

    public func scan(_ source: String, file: String) -> Result {
        let tokens = JSTokenizer.tokenize(source).tokens
        let literal = JSObjectLiteral(tokens: tokens, match: BracketMatch(tokens))
        func dot(_ k: Int) -> Bool { tokens[k].isPunct(".") || tokens[k].isPunct("?.") }
        var result = Result()
        var i = 0
        while i + 6 < tokens.count {
            defer { i += 1 }
            // A template literal's substitutions are text to this scanner, as strings and comments are.
            if tokens[i].kind == .templateHead, literal.match[i] > i { i = literal.match[i]; continue }
            // receiver . model . op ( {
            guard tokens[i].kind == .identifier, dot(i + 1), tokens[i + 2].kind == .identifier, dot(i + 3),
                  tokens[i + 4].kind == .identifier, tokens[i + 5].isPunct("("),
                  Self.receivers.contains(tokens[i].text), Self.operations.contains(tokens[i + 4].text) else { continue }
            // `this.db.…` and `ctx.prisma.…` are the client; `cache.db.…` or `f().db.…` may be anything.
            if i > 0, dot(i - 1) {
                guard i > 1, tokens[i - 2].kind == .identifier, Self.owners.contains(tokens[i - 2].text) else { continue }
            }
            guard let model = schema.model(delegate: tokens[i + 2].text) else { continue }
            result.calls += 1
            guard tokens[i + 6].isPunct("{"), let args = Self.object(literal, at: i + 6, depth: 0) else { continue }
            let receiver = (i > 1 && dot(i - 1) ? "\(tokens[i - 2].text)." : "") + tokens[i].text
            var walk = Walk(schema: schema, file: file, call: "\(receiver).\(tokens[i + 2].text).\(tokens[i + 4].text)")
            walk.arguments(args, model: model, operation: tokens[i + 4].text)
            result.findings += walk.findings
        }
        return result
    }

    static let maxDepth = 64

    /// The object literal at `open` as keys and values (JSObjectLiteral's fields; a shorthand's value is not literal).
    static func object(_ literal: JSObjectLiteral, at open: Int, depth: Int) -> JSObject? {
        guard depth < maxDepth, literal.match[open] > open else { return nil }
        var object = JSObject()
        for f in literal.fields(open) {
            object.entries.append((JSKey(name: f.key, line: f.line), f.shorthand ? .other : value(literal, f.value, depth: depth + 1)))
        }
        return object
    }

    /// A value read literally when it is an object or a list, otherwise `.other` (a variable, a call, an expression).
    static func value(_ literal: JSObjectLiteral, _ r: Range<Int>, depth: Int) -> JSValue {
        guard depth < maxDepth else { return .other }
        if let open = literal.literal(r, opener: "{"), let o = object(literal, at: open, depth: depth) { return .object(o) }
        if let open = literal.literal(r, opener: "[") { return .array(literal.items(open).map { value(literal, $0, depth: depth + 1) }) }
        return .other
    }

    /// Walks one call's argument object along the schema's relations.
    struct Walk {
        let schema: PrismaSchema
        let file: String
        let call: String
        var findings: [PrismaCodeFinding] = []

        func related(_ field: PrismaField) -> PrismaModel? {
            let m = schema.model(named: field.type)
            return m?.kind == .type ? nil : m
        }

        mutating func report(_ key: JSKey, _ model: PrismaModel, _ argument: String) {
            findings.append(PrismaCodeFinding(file: file, line: key.line, key: key.name, model: model.name, argument: argument,
                                              call: call, suggestion: suggest(key.name, in: model)))
        }

        func known(_ key: String, in model: PrismaModel) -> PrismaField? { model.field(key) }
        func isOperatorKey(_ key: String) -> Bool { key.hasPrefix("_") || key.hasPrefix("$") }

        /// Top-level arguments of a call (also of a nested `select`/`include` of a relation).
        mutating func arguments(_ object: JSObject, model: PrismaModel, operation: String?) {
            for entry in object.entries {
                switch entry.key.name {
                case "data": dataValue(entry.value, model: model)
                case "create" where operation == "upsert", "update" where operation == "upsert":
                    dataValue(entry.value, model: model)
                case "where": whereValue(entry.value, model: model)
                case "select": selection(entry.value, model: model, argument: "select")
                case "include": selection(entry.value, model: model, argument: "include")
                case "orderBy": orderBy(entry.value, model: model)
                default: break
                }
            }
        }

        mutating func dataValue(_ value: JSValue, model: PrismaModel) {
            switch value {
            case .object(let o): data(o, model: model)
            case .array(let items): for case .object(let o) in items { data(o, model: model) }
            case .other: break
            }
        }

        mutating func data(_ object: JSObject, model: PrismaModel) {
            for entry in object.entries {
                guard let field = known(entry.key.name, in: model) else {
                    if !isOperatorKey(entry.key.name) { report(entry.key, model, "data") }
                    continue
                }
                // Nested writes: `messageReads: { create: {…} }` are data of the related model.
                guard let target = related(field), case .object(let nested) = entry.value else { continue }
                for op in nested.entries {
                    switch op.key.name {
                    case "create", "createMany": dataValue(op.value, model: target)
                    case "connect", "connectOrCreate", "disconnect", "delete", "set": whereOrList(op.value, model: target, nestedCreate: op.key.name == "connectOrCreate")
                    default: break
                    }
                }
            }
        }

        mutating func whereOrList(_ value: JSValue, model: PrismaModel, nestedCreate: Bool) {
            switch value {
            case .object(let o):
                if nestedCreate {
                    for e in o.entries {
                        if e.key.name == "where" { whereValue(e.value, model: model) }
                        if e.key.name == "create" { dataValue(e.value, model: model) }
                    }
                } else {
                    whereObject(o, model: model)
                }
            case .array(let items): for item in items { whereOrList(item, model: model, nestedCreate: nestedCreate) }
            case .other: break
            }
        }

        mutating func whereValue(_ value: JSValue, model: PrismaModel) {
            switch value {
            case .object(let o): whereObject(o, model: model)
            case .array(let items): for case .object(let o) in items { whereObject(o, model: model) }
            case .other: break
            }
        }

        mutating func whereObject(_ object: JSObject, model: PrismaModel) {
            for entry in object.entries {
                let name = entry.key.name
                if ["AND", "OR", "NOT"].contains(name) { whereValue(entry.value, model: model); continue }
                guard let field = known(name, in: model) else {
                    if !isOperatorKey(name) && !model.compoundUniqueKeys.contains(name) { report(entry.key, model, "where") }
                    continue
                }
                // Relation filters: `messageReads: { some: { userId } }`, `sender: { is: {…} }` or `sender: { username }`.
                guard let target = related(field), case .object(let filter) = entry.value else { continue }
                let ops: Set<String> = ["some", "every", "none", "is", "isNot"]
                if filter.entries.contains(where: { ops.contains($0.key.name) }) {
                    for op in filter.entries where ops.contains(op.key.name) { whereValue(op.value, model: target) }
                } else if !field.isList {
                    whereObject(filter, model: target)
                }
            }
        }

        mutating func selection(_ value: JSValue, model: PrismaModel, argument: String) {
            guard case .object(let object) = value else { return }
            for entry in object.entries {
                guard let field = known(entry.key.name, in: model) else {
                    if !isOperatorKey(entry.key.name) { report(entry.key, model, argument) }
                    continue
                }
                if let target = related(field), case .object(let nested) = entry.value {
                    arguments(nested, model: target, operation: nil)
                }
            }
        }

        mutating func orderBy(_ value: JSValue, model: PrismaModel) {
            switch value {
            case .array(let items): for item in items { orderBy(item, model: model) }
            case .object(let object):
                for entry in object.entries {
                    guard let field = known(entry.key.name, in: model) else {
                        if !isOperatorKey(entry.key.name) { report(entry.key, model, "orderBy") }
                        continue
                    }
                    if let target = related(field), !field.isList { orderBy(entry.value, model: target) }
                }
            case .other: break
            }
        }
    }
}

/// "Did you mean": the nearest field by edit distance, else the one sharing the most camelCase words once
/// the model's own name is set aside (`messageType` on Message → `type`; `readReceipts` → `messageReads`).
func suggest(_ key: String, in model: PrismaModel) -> String? {
    similarName(key, in: model.fields.map(\.name), ignoring: Set(camelWords(model.name)))
}

/// `messageReads` → ["message", "read"]: lowercased words, a plural `s` dropped.
func camelWords(_ name: String) -> [String] {
    var words: [String] = []
    var current = ""
    for ch in name {
        if ch == "_" || ch == "-" { if !current.isEmpty { words.append(current) }; current = ""; continue }
        if ch.isUppercase, !current.isEmpty, !(current.last?.isUppercase ?? false) { words.append(current); current = "" }
        current.append(ch)
    }
    if !current.isEmpty { words.append(current) }
    return words.map { w in
        let l = w.lowercased()
        return l.count > 3 && l.hasSuffix("s") && !l.hasSuffix("ss") ? String(l.dropLast()) : l
    }
}

// MARK: - object literals, as the scanner walks them (read by JSObjectLiteral)

struct JSKey: Equatable {
    var name: String
    var line: Int
}

struct JSObject: Equatable {
    var entries: [(key: JSKey, value: JSValue)] = []
    static func == (a: JSObject, b: JSObject) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

indirect enum JSValue: Equatable {
    case object(JSObject)
    case array([JSValue])
    /// Anything not read literally: a variable, a call, an expression.
    case other
}
