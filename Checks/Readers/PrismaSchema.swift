import Foundation
import PreflightCore

/// A parsed schema.prisma: models, views, enums and the syntax problems found on the way.
public struct PrismaSchema: Sendable, Equatable {
    public var models: [PrismaModel] = []
    public var enums: [PrismaEnum] = []
    /// The `datasource` blocks' names: native type attributes are `@<name>.Type` (`@db.VarChar(255)` for `datasource db`).
    public var datasources: [String] = []
    /// Syntax problems, each with its line; parsing goes on after each one.
    public var problems: [PrismaSyntaxError] = []

    public init() {}

    public func model(named name: String) -> PrismaModel? { models.first { $0.name == name } }
    public func enumType(named name: String) -> PrismaEnum? { enums.first { $0.name == name } }

    /// The model behind a client delegate (`prisma.messageRead` → MessageRead).
    public func model(delegate: String) -> PrismaModel? {
        models.first { $0.kind != .type && $0.delegateName == delegate }
    }

    /// Parses schema.prisma text; never throws, never traps, linear in the input.
    public static func parse(_ text: String) -> PrismaSchema {
        var parser = PrismaParser(text: text)
        return parser.parseSchema()
    }

    /// A multi-file schema (`prismaSchemaFolder`): each file parsed on its own, then one schema; every model,
    /// enum and problem keeps its file.
    public static func parse(files: [(name: String, text: String)]) -> PrismaSchema {
        var all = PrismaSchema()
        for (name, text) in files {
            var one = parse(text)
            for k in one.models.indices { one.models[k].file = name }
            for k in one.enums.indices { one.enums[k].file = name }
            for k in one.problems.indices { one.problems[k].file = name }
            all.models += one.models
            all.enums += one.enums
            all.datasources += one.datasources
            all.problems += one.problems.prefix(max(0, PrismaParser.maxProblems - all.problems.count))
        }
        return all
    }

    /// The field's native type attribute (`@db.VarChar(255)`), if any: `@<datasource>.<Type>`.
    public func nativeType(of field: PrismaField) -> PrismaAttribute? {
        let prefixes = (datasources.isEmpty ? ["db"] : datasources).map { $0 + "." }
        return field.attributes.first { a in prefixes.contains { a.name.hasPrefix($0) } }
    }
}

public struct PrismaSyntaxError: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let message: String
    /// The file, in a multi-file schema.
    public var file: String?
    public var description: String { "line \(line): \(message)" }
}

/// A `model`, `view` or composite `type` block.
public struct PrismaModel: Sendable, Equatable {
    public enum Kind: String, Sendable { case model, view, type }
    public var kind: Kind
    public var name: String
    public var line: Int
    /// The file it was declared in (set for a schema read from files).
    public var file: String?
    public var fields: [PrismaField] = []
    public var attributes: [PrismaAttribute] = []

    /// The table: `@@map("…")` or `@@map(name: "…")`, else the model's own name.
    public var tableName: String { attribute("map")?.value("name")?.stringValue ?? name }
    /// `@@schema("…")` or `@@schema(map: "…")`, else nil (the datasource's default, usually public).
    public var schemaName: String? { attribute("schema")?.value("map")?.stringValue }
    public var isIgnored: Bool { attribute("ignore") != nil }
    /// `prisma.<delegate>`: the model name with a lowercase first letter.
    public var delegateName: String { name.prefix(1).lowercased() + name.dropFirst() }
    /// Field lists of `@@id` and every `@@unique`, for compound where keys (`messageId_userId`).
    public var compoundUniqueKeys: [String] {
        attributes.filter { $0.name == "id" || $0.name == "unique" }.compactMap { a in
            if let named = a.argument("name")?.stringValue { return named }
            guard case .array(let items)? = a.value("fields") else { return nil }
            let names = items.compactMap { v -> String? in
                switch v {
                case .identifier(let n): return n
                case .call(let n, _): return n  // `createdAt(sort: Desc)`
                default: return nil
                }
            }
            return names.count > 1 ? names.joined(separator: "_") : nil
        }
    }

    public func field(_ name: String) -> PrismaField? { fields.first { $0.name == name } }
    public func attribute(_ name: String) -> PrismaAttribute? { attributes.first { $0.name == name } }
}

public struct PrismaField: Sendable, Equatable {
    public var name: String
    /// The type's name (`String`, `MessageType`, `Message`, `Unsupported`).
    public var type: String
    public var isOptional: Bool
    public var isList: Bool
    public var line: Int
    public var attributes: [PrismaAttribute] = []
    /// The declaration as written, from the name to its last attribute (no comment): `createdAt DateTime? @db.Timestamptz(6)`.
    public var declaration = ""

    /// The column: `@map("…")` or `@map(name: "…")`, else the field's own name.
    public var columnName: String { attribute("map")?.value("name")?.stringValue ?? name }
    public var isId: Bool { attribute("id") != nil }
    public var isIgnored: Bool { attribute("ignore") != nil }
    /// `@default(…)` (or `@default(value: …)`) as written, e.g. `uuid()` or `"SENT"`.
    public var defaultValue: PrismaValue? { attribute("default")?.value("value") }
    public var relation: PrismaAttribute? { attribute("relation") }
    /// `@relation("Name", …)` or `@relation(name: "Name", …)`.
    public var relationName: String? { relation?.value("name")?.stringValue }
    /// `@relation(fields: [a, b])` and `references: [x, y]`: the field names.
    public var relationFields: [String] { relation?.argument("fields")?.names ?? [] }
    public var relationReferences: [String] { relation?.argument("references")?.names ?? [] }

    /// The declaration with `@map("column")` in place of its own `@map` (or added at the end): type, `?`,
    /// `@db.*` and every other attribute as written.
    public func declaration(mappedTo column: String) -> String {
        let map = "@map(\(prismaStringLiteral(column)))"
        let text = declaration.isEmpty ? "\(name) \(type)\(isList ? "[]" : "")\(isOptional ? "?" : "")" : declaration
        let result: String
        if let old = attribute("map"), !old.written.isEmpty, let r = text.range(of: old.written) {
            result = text.replacingCharacters(in: r, with: map)
        } else {
            result = "\(text) \(map)"
        }
        return collapsingBlanks(result)
    }

    /// One space for each run of blanks outside string literals (the alignment of a schema's columns).
    func collapsingBlanks(_ text: String) -> String {
        var out = "", inString = false, escaped = false, blank = false
        for c in text {
            if inString {
                out.append(c)
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                continue
            }
            if c == " " || c == "\t" || c == "\n" || c == "\r" { blank = true; continue }
            if blank && !out.isEmpty { out.append(" ") }
            blank = false
            if c == "\"" { inString = true }
            out.append(c)
        }
        return out
    }

    public func attribute(_ name: String) -> PrismaAttribute? { attributes.first { $0.name == name } }
}

public struct PrismaEnum: Sendable, Equatable {
    public var name: String
    public var line: Int
    public var file: String?
    public var values: [PrismaEnumValue] = []
    public var attributes: [PrismaAttribute] = []

    /// The database type: `@@map("…")` or `@@map(name: "…")`, else the enum's name.
    public var typeName: String { attributes.first { $0.name == "map" }?.value("name")?.stringValue ?? name }
    public var schemaName: String? { attributes.first { $0.name == "schema" }?.value("map")?.stringValue }
}

public struct PrismaEnumValue: Sendable, Equatable {
    public var name: String
    public var line: Int
    /// The database label: `@map("…")`, else the value's name.
    public var label: String
}

/// `@name(args)` or `@@name(args)`; `@db.VarChar(255)` has the name `db.VarChar`.
public struct PrismaAttribute: Sendable, Equatable {
    public var name: String
    public var arguments: [PrismaArgument] = []
    public var line: Int
    /// The attribute as written (`@map(name: "created_at")`).
    public var written = ""

    public var firstPositional: PrismaValue? { arguments.first { $0.name == nil }?.value }
    public var firstString: String? { firstPositional?.stringValue }
    public func argument(_ name: String) -> PrismaValue? { arguments.first { $0.name == name }?.value }
    /// Prisma's "default argument" (parser-database's `visit_default_arg`): the argument named `name`, else the
    /// first unnamed one. `@map("x")` ≡ `@map(name: "x")`, `@@id([a, b])` ≡ `@@id(fields: [a, b])`,
    /// `@@schema("s")` ≡ `@@schema(map: "s")`, `@default(1)` ≡ `@default(value: 1)`, `@relation("R")` ≡ `@relation(name: "R")`.
    public func value(_ name: String) -> PrismaValue? { argument(name) ?? firstPositional }
}

public struct PrismaArgument: Sendable, Equatable {
    public var name: String?
    public var value: PrismaValue
}

public indirect enum PrismaValue: Sendable, Equatable {
    case string(String)
    case number(String)
    case identifier(String)
    case call(String, [PrismaArgument])
    case array([PrismaValue])

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// Field names in a list: `[a, b(sort: Desc)]` → a, b.
    public var names: [String]? {
        guard case .array(let items) = self else { return nil }
        return items.compactMap { v in
            switch v {
            case .identifier(let n): n
            case .call(let n, _): n
            default: nil
            }
        }
    }
}

/// A Prisma string literal: Prisma reads JSON's escapes, so JSON's quoting (Core's one string encoder).
func prismaStringLiteral(_ s: String) -> String { JSONValue.quoted(s) }

/// Scalar types of Prisma's PostgreSQL connector: a field of any other type is an enum, a relation or a composite.
let prismaScalarTypes: Set<String> = ["String", "Boolean", "Int", "BigInt", "Float", "Decimal", "DateTime", "Json", "Bytes", "Unsupported"]
