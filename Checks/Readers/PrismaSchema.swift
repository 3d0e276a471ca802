/// A parsed schema.prisma: models, views, enums and the syntax problems found on the way.
public struct PrismaSchema: Sendable, Equatable {
    public var models: [PrismaModel] = []
    public var enums: [PrismaEnum] = []
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
        var parser = PrismaParser(tokens: PrismaLexer.tokens(text))
        return parser.parseSchema()
    }
}

public struct PrismaSyntaxError: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let message: String
    public var description: String { "line \(line): \(message)" }
}

/// A `model`, `view` or composite `type` block.
public struct PrismaModel: Sendable, Equatable {
    public enum Kind: String, Sendable { case model, view, type }
    public var kind: Kind
    public var name: String
    public var line: Int
    public var fields: [PrismaField] = []
    public var attributes: [PrismaAttribute] = []

    /// The table: `@@map("…")`, else the model's own name.
    public var tableName: String { attribute("map")?.firstString ?? name }
    /// `@@schema("…")`, else nil (the datasource's default, usually public).
    public var schemaName: String? { attribute("schema")?.firstString }
    public var isIgnored: Bool { attribute("ignore") != nil }
    /// `prisma.<delegate>`: the model name with a lowercase first letter.
    public var delegateName: String { name.prefix(1).lowercased() + name.dropFirst() }
    /// Field lists of `@@id` and every `@@unique`, for compound where keys (`messageId_userId`).
    public var compoundUniqueKeys: [String] {
        attributes.filter { $0.name == "id" || $0.name == "unique" }.compactMap { a in
            if let named = a.argument("name")?.stringValue { return named }
            guard case .array(let items)? = a.firstPositional else { return nil }
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

    /// The column: `@map("…")`, else the field's own name.
    public var columnName: String { attribute("map")?.firstString ?? name }
    public var isId: Bool { attribute("id") != nil }
    public var isIgnored: Bool { attribute("ignore") != nil }
    /// `@default(…)` as written, e.g. `uuid()` or `"SENT"`.
    public var defaultValue: PrismaValue? { attribute("default")?.firstPositional }
    public var relation: PrismaAttribute? { attribute("relation") }

    public func attribute(_ name: String) -> PrismaAttribute? { attributes.first { $0.name == name } }
}

public struct PrismaEnum: Sendable, Equatable {
    public var name: String
    public var line: Int
    public var values: [PrismaEnumValue] = []
    public var attributes: [PrismaAttribute] = []

    /// The database type: `@@map("…")`, else the enum's name.
    public var typeName: String { attributes.first { $0.name == "map" }?.firstString ?? name }
    public var schemaName: String? { attributes.first { $0.name == "schema" }?.firstString }
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

    public var firstPositional: PrismaValue? { arguments.first { $0.name == nil }?.value }
    public var firstString: String? { firstPositional?.stringValue }
    public func argument(_ name: String) -> PrismaValue? { arguments.first { $0.name == name }?.value }
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
}

/// Scalar types of Prisma's PostgreSQL connector: a field of any other type is an enum, a relation or a composite.
let prismaScalarTypes: Set<String> = ["String", "Boolean", "Int", "BigInt", "Float", "Decimal", "DateTime", "Json", "Bytes", "Unsupported"]
