import Foundation

/// What a config value may be: enough for the JSON Schema of preflight.yml (`preflight schema`), which editors
/// use to complete and check keys. The loader stays the judge; the schema describes what it accepts.
public indirect enum ValueSchema: Sendable {
    /// Anything (a section that has not described the key yet).
    case any
    case string
    /// Text, a number or a boolean: what a YAML scalar may be when the key reads it as text (`expect: 1`).
    case scalar
    /// A whole number in range (YAML's `10`), or text for the loader to read (`1_000`, `${VUS}`).
    case integer(ClosedRange<Int>)
    /// true/false; also yes/no/on/off, which YAML 1.2 editors see as text.
    case boolean
    /// "3s", "500ms", "2m", "1h" (or a plain number of seconds).
    case duration
    case oneOf([String])
    /// A value, or a list of them (`sources: src` or `sources: [src, lib]`).
    case scalarOrList
    /// A mapping of names to text (headers, environment values).
    case stringMap
    case list(ValueSchema)
    /// A mapping with these keys only.
    case object([SchemaKey], required: [String] = [])
    /// Any one of these shapes.
    case anyOf([ValueSchema])
}

/// One key of a mapping, with the one line an editor shows beside it.
public struct SchemaKey: Sendable {
    public let key: String
    public let description: String
    public let value: ValueSchema

    public init(_ key: String, _ description: String, _ value: ValueSchema) {
        self.key = key
        self.description = description
        self.value = value
    }
}

extension ConfigSection {
    /// By default every key in `keys`, of any value: a section describes its keys' values by giving its own.
    public static var schema: ValueSchema { .object(keys.map { SchemaKey($0, "", .any) }) }
    /// One line on the section as a whole.
    public static var schemaDescription: String { "" }
}

/// The JSON Schema (draft-07) of preflight.yml, generated from the config sections: what `preflight schema`
/// prints and what the repository ships as schema/preflight.schema.json.
public enum ConfigSchema {
    public static func document(sections: [any ConfigSection.Type]) -> JSONValue {
        var properties: [(String, JSONValue)] = [
            ("target", json(SchemaKey("target", "Base URL of the service under test, e.g. http://127.0.0.1:3001/api/v1", .string))),
            ("timeout", json(SchemaKey("timeout", "Deadline for each network operation (default 3s)", .duration))),
            ("env_file", json(SchemaKey("env_file", "Files of NAME=value lines (relative to this file) that ${VAR} is read from when the environment does not set it", .anyOf([.string, .list(.string)])))),
        ]
        // Sections sharing a top-level key (database.url, database.pools) are one mapping: the union of their keys.
        var order: [String] = []
        var merged: [String: (keys: [SchemaKey], required: [String], other: ValueSchema?, description: [String])] = [:]
        for s in sections {
            if merged[s.key] == nil { order.append(s.key); merged[s.key] = ([], [], nil, []) }
            if !s.schemaDescription.isEmpty { merged[s.key]!.description.append(s.schemaDescription) }
            if case .object(let keys, let required) = s.schema {
                merged[s.key]!.keys += keys
                merged[s.key]!.required += required
            } else {
                merged[s.key]!.other = s.schema
            }
        }
        for key in order {
            let m = merged[key]!
            let value: ValueSchema = m.other ?? .object(m.keys, required: m.required)
            properties.append((key, json(SchemaKey(key, m.description.joined(separator: "; "), value))))
        }
        return .object(Evidence([
            ("$schema", "http://json-schema.org/draft-07/schema#"),
            ("title", "preflight.yml"),
            ("description", "preflight's config, generated from its config sections by `preflight schema`. Values may use ${VAR} and ${VAR:-default}; top-level x- keys hold blocks for YAML aliases."),
            ("type", "object"),
            ("properties", .object(Evidence(properties))),
            ("patternProperties", .object(Evidence([("^x-", .object(Evidence()))]))),
            ("additionalProperties", false),
        ]))
    }

    /// `${NAME}` or `${NAME:-default}` somewhere in a value: the loader substitutes it before reading.
    static let interpolated: JSONValue = .object(Evidence([("type", "string"), ("pattern", "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}")]))

    static func json(_ k: SchemaKey) -> JSONValue {
        var o = schema(k.value)
        if !k.description.isEmpty, case .object(var e) = o {
            e = Evidence([("description", .string(k.description))] + e.entries.map { ($0.key, $0.value) })
            o = .object(e)
        }
        return o
    }

    static func schema(_ v: ValueSchema) -> JSONValue {
        switch v {
        case .any:
            return .object(Evidence())
        case .string:
            return .object(Evidence([("type", "string")]))
        case .scalar:
            return .object(Evidence([("type", .array(["string", "number", "boolean"]))]))
        case .integer(let r):
            return .object(Evidence([("anyOf", .array([
                .object(Evidence([("type", "integer"), ("minimum", .int(r.lowerBound)), ("maximum", .int(r.upperBound))])),
                .object(Evidence([("type", "string"), ("pattern", "^[0-9][0-9_]*$")])),
                interpolated,
            ]))]))
        case .boolean:
            return .object(Evidence([("anyOf", .array([
                .object(Evidence([("type", "boolean")])),
                .object(Evidence([("enum", .array(["true", "false", "yes", "no", "on", "off"].map { .string($0) }))])),
                interpolated,
            ]))]))
        case .duration:
            return .object(Evidence([("anyOf", .array([
                .object(Evidence([("type", "string"), ("pattern", "^ *[0-9]+(\\.[0-9]+)? *(ms|s|m|h|MS|S|M|H)? *$")])),
                .object(Evidence([("type", "number"), ("minimum", 0)])),
                interpolated,
            ]))]))
        case .oneOf(let values):
            return .object(Evidence([("anyOf", .array([
                .object(Evidence([("enum", .array(values.map { .string($0) }))])),
                interpolated,
            ]))]))
        case .scalarOrList:
            let scalar = JSONValue.object(Evidence([("type", .array(["string", "number", "boolean"]))]))
            return .object(Evidence([("anyOf", .array([scalar, .object(Evidence([("type", "array"), ("items", scalar)]))]))]))
        case .stringMap:
            return .object(Evidence([("type", "object"), ("additionalProperties", .object(Evidence([("type", .array(["string", "number", "boolean"]))])))]))
        case .list(let item):
            return .object(Evidence([("type", "array"), ("items", schema(item))]))
        case .object(let keys, let required):
            var e = Evidence([("type", .array(["object", "null"])),
                              ("properties", .object(Evidence(keys.map { ($0.key, json($0)) }))),
                              ("additionalProperties", false)])
            if !required.isEmpty { e["required"] = .array(required.map { .string($0) }) }
            return .object(e)
        case .anyOf(let shapes):
            return .object(Evidence([("anyOf", .array(shapes.map(schema)))]))
        }
    }

    /// Two-space indented JSON in the schema's own key order (a file people read and diff).
    public static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let a) where a.isEmpty: return "[]"
        case .array(let a):
            if a.allSatisfy({ if case .object = $0 { return false } else if case .array = $0 { return false } else { return true } }) {
                return "[" + a.map { pretty($0) }.joined(separator: ", ") + "]"
            }
            return "[\n" + a.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let o) where o.isEmpty: return "{}"
        case .object(let o):
            return "{\n" + o.entries.map { inner + quote($0.key) + ": " + pretty($0.value, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "}"
        case .string(let s): return quote(s)
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    static func quote(_ s: String) -> String { JSONValue.quoted(s) }
}
