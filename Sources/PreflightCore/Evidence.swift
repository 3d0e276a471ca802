import Foundation

/// A JSON value, for evidence that reporters print and serialise.
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case array([JSONValue])
    case object(Evidence)
    case null
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// The numbers and facts behind a verdict, in the order the check recorded them.
public struct Evidence: Sendable, Equatable {
    public private(set) var entries: [(key: String, value: JSONValue)] = []

    public init() {}
    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        for (k, v) in pairs { self[k] = v }
    }

    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var isEmpty: Bool { entries.isEmpty }

    public subscript(key: String) -> JSONValue? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public static func == (a: Evidence, b: Evidence) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSONValue {
    /// Compact, human-readable rendering for the text report.
    public var display: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(format: "%.2f", d)
        case .bool(let b): return b ? "yes" : "no"
        case .array(let a): return a.isEmpty ? "none" : a.map(\.display).joined(separator: ", ")
        case .object(let o): return o.entries.map { "\($0.key)=\($0.value.display)" }.joined(separator: " ")
        case .null: return "-"
        }
    }
}

/// Encodes as plain JSON: evidence as an object, in the order it was gathered.
extension JSONValue: Encodable {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let v): try c.encode(v)
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        case .null: try c.encodeNil()
        }
    }
}

extension Evidence: Encodable {
    private struct Key: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (k, v) in entries { try c.encode(v, forKey: Key(stringValue: k)) }
    }
}

extension JSONValue {
    /// A JSON string literal: quotes, backslashes and control characters escaped, everything else as is
    /// (the one encoder of JSON strings: reports, the config schema, `preflight config --format json`).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += "\\u00" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

extension JSONValue {
    /// Keys sorted, no insignificant whitespace: byte-stable for golden files and diffs. The one JSON writer of
    /// reports, `explain --format json`, the SARIF log and `preflight config --format json` (no Codable: the
    /// encoder's generic machinery is a megabyte of code pages for a few hundred bytes of output; issue 22).
    public var serialised: String {
        switch self {
        case .string(let s): return JSONValue.quoted(s)
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)) : "null"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.serialised).joined(separator: ",") + "]"
        case .object(let o):
            return "{" + o.entries.sorted { $0.key < $1.key }.map { JSONValue.quoted($0.key) + ":" + $0.value.serialised }.joined(separator: ",") + "}"
        }
    }
}
