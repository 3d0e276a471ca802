/// What a migration adds to the schema: tables, columns and enum types, by name. Read statically from a
/// migration's SQL (Prisma's migration.sql) or its Python (an Alembic revision's `upgrade()`), so the schema
/// check can tell "this missing column is added by a migration in the project" without running anything.
public struct MigrationChanges: Sendable, Equatable {
    /// Table names as PostgreSQL stores them (quoted names kept, unquoted ones folded to lower case).
    public var tables: [String] = []
    /// `table.column`
    public var columns: [String] = []
    public var enumTypes: [String] = []

    public init() {}

    public var isEmpty: Bool { tables.isEmpty && columns.isEmpty && enumTypes.isEmpty }

    mutating func add(table: String) { if !tables.contains(table) { tables.append(table) } }
    mutating func add(column: String, of table: String) {
        let key = "\(table).\(column)"
        if !columns.contains(key) { columns.append(key) }
    }
    mutating func add(enumType: String) { if !enumTypes.contains(enumType) { enumTypes.append(enumType) } }

    /// Every column a list of changes names, `table.column`.
    public var summary: [String] { tables.map { "table \($0)" } + columns + enumTypes.map { "enum \($0)" } }
}

/// The DDL statements of a SQL script that add tables, columns and enum types (PostgreSQL syntax, as Prisma
/// writes it: `CREATE TABLE "t" ("c" TEXT, …)`, `ALTER TABLE "t" ADD COLUMN "c" …, ADD COLUMN …`,
/// `ALTER TABLE "t" RENAME COLUMN "a" TO "b"`, `CREATE TYPE "E" AS ENUM (…)`). Comments, string literals and
/// dollar-quoted bodies are skipped; anything else is ignored rather than guessed.
enum MigrationSQL {
    enum Token: Equatable {
        case word(String)          // unquoted: lower-cased
        case quoted(String)        // "Name": kept as written
        case symbol(Character)
    }

    static func changes(_ sql: String) -> MigrationChanges {
        var out = MigrationChanges()
        for statement in statements(tokens(sql)) { read(statement, into: &out) }
        return out
    }

    static func tokens(_ sql: String) -> [Token] {
        var out: [Token] = []
        let s = Array(sql.unicodeScalars)
        var i = 0
        func isIdent(_ c: Unicode.Scalar) -> Bool { c == "_" || c == "$" || c.properties.isAlphabetic || ("0"..."9").contains(c) }
        while i < s.count {
            let c = s[i]
            if c == "-", i + 1 < s.count, s[i + 1] == "-" {
                while i < s.count, s[i] != "\n" { i += 1 }
            } else if c == "/", i + 1 < s.count, s[i + 1] == "*" {
                i += 2
                var depth = 1
                while i < s.count, depth > 0 {
                    if s[i] == "*", i + 1 < s.count, s[i + 1] == "/" { depth -= 1; i += 2 }
                    else if s[i] == "/", i + 1 < s.count, s[i + 1] == "*" { depth += 1; i += 2 }
                    else { i += 1 }
                }
            } else if c == "'" {
                i += 1
                while i < s.count {
                    if s[i] == "'" { if i + 1 < s.count, s[i + 1] == "'" { i += 2; continue }; break }
                    i += 1
                }
                i += 1
                out.append(.symbol("'"))
            } else if c == "\"" {
                var name = ""
                i += 1
                while i < s.count {
                    if s[i] == "\"" { if i + 1 < s.count, s[i + 1] == "\"" { name += "\""; i += 2; continue }; break }
                    name.unicodeScalars.append(s[i])
                    i += 1
                }
                i += 1
                out.append(.quoted(name))
            } else if c == "$" {
                // $tag$ … $tag$ (a function body): skipped whole. `$1` is a parameter.
                var j = i + 1
                while j < s.count, s[j] != "$", isIdent(s[j]) { j += 1 }
                let startsWithDigit = j > i + 1 && ("0"..."9").contains(s[i + 1])
                if j < s.count, s[j] == "$", !startsWithDigit {
                    let tag = Array(s[i...j])
                    var k = j + 1
                    var end = s.count
                    while k + tag.count <= s.count {
                        if Array(s[k..<(k + tag.count)]) == tag { end = k + tag.count; break }
                        k += 1
                    }
                    i = end
                    out.append(.symbol("'"))
                } else {
                    i += 1
                }
            } else if isIdent(c) {
                var word = ""
                while i < s.count, isIdent(s[i]) { word.unicodeScalars.append(s[i]); i += 1 }
                out.append(.word(word.lowercased()))
            } else {
                if !c.properties.isWhitespace { out.append(.symbol(Character(c))) }
                i += 1
            }
        }
        return out
    }

    static func statements(_ tokens: [Token]) -> [[Token]] {
        var out: [[Token]] = [[]]
        for t in tokens {
            if t == .symbol(";") { out.append([]) } else { out[out.count - 1].append(t) }
        }
        return out.filter { !$0.isEmpty }
    }

    static func name(_ t: Token?) -> String? {
        switch t {
        case .word(let w)?: w
        case .quoted(let q)?: q
        default: nil
        }
    }

    /// A possibly schema-qualified name at `i`: its last part, and the index after it.
    static func qualifiedName(_ t: [Token], _ i: Int) -> (String, Int)? {
        guard var last = name(t[safe: i]) else { return nil }
        var j = i + 1
        while t[safe: j] == .symbol("."), let next = name(t[safe: j + 1]) { last = next; j += 2 }
        return (last, j)
    }

    static func skip(_ t: [Token], _ i: Int, words: [String]) -> Int {
        var j = i
        for w in words where t[safe: j] == .word(w) { j += 1 }
        return j
    }

    static func read(_ t: [Token], into out: inout MigrationChanges) {
        guard t.first == .word("create") || t.first == .word("alter") else { return }
        if t.first == .word("create") {
            var i = 1
            while let w = t[safe: i], [.word("unlogged"), .word("temporary"), .word("temp"), .word("global"), .word("local")].contains(w) { i += 1 }
            if t[safe: i] == .word("table") {
                i = skip(t, i + 1, words: ["if", "not", "exists"])
                guard let (table, j) = qualifiedName(t, i) else { return }
                out.add(table: table)
                guard t[safe: j] == .symbol("(") else { return }
                for element in elements(t, from: j + 1) {
                    guard let first = element.first, let column = name(first) else { continue }
                    if case .word(let w) = first, ["constraint", "primary", "unique", "foreign", "check", "exclude", "like"].contains(w) { continue }
                    out.add(column: column, of: table)
                }
            } else if t[safe: i] == .word("type"), let (type, j) = qualifiedName(t, i + 1),
                      t[safe: j] == .word("as"), t[safe: j + 1] == .word("enum") {
                out.add(enumType: type)
            }
            return
        }
        // ALTER TABLE [IF EXISTS] [ONLY] name action, action, …
        guard t[safe: 1] == .word("table") else { return }
        let i = skip(t, 2, words: ["if", "exists", "only"])
        guard let (table, j) = qualifiedName(t, i) else { return }
        for action in topLevel(t, from: j) {
            if action.first == .word("add") {
                var k = skip(action, 1, words: ["column"])
                k = skip(action, k, words: ["if", "not", "exists"])
                guard let first = action[safe: k], let column = name(first) else { continue }
                if case .word(let w) = first, ["constraint", "primary", "unique", "foreign", "check", "exclude"].contains(w) { continue }
                out.add(column: column, of: table)
            } else if action.first == .word("rename") {
                if action[safe: 1] == .word("to"), let newName = name(action[safe: 2]) {
                    out.add(table: newName)
                } else {
                    let k = skip(action, 1, words: ["column"])
                    if action[safe: k + 1] == .word("to"), let newName = name(action[safe: k + 2]) { out.add(column: newName, of: table) }
                }
            }
        }
    }

    /// The comma-separated elements inside the parenthesis that opens before `from`, up to its close.
    static func elements(_ t: [Token], from: Int) -> [[Token]] {
        var out: [[Token]] = [[]]
        var depth = 0
        var i = from
        while i < t.count {
            let tok = t[i]
            if tok == .symbol("(") { depth += 1 }
            if tok == .symbol(")") {
                if depth == 0 { break }
                depth -= 1
            }
            if tok == .symbol(","), depth == 0 { out.append([]) } else { out[out.count - 1].append(tok) }
            i += 1
        }
        return out.filter { !$0.isEmpty }
    }

    /// The comma-separated parts of the rest of a statement (commas inside parentheses belong to their part).
    static func topLevel(_ t: [Token], from: Int) -> [[Token]] {
        var out: [[Token]] = [[]]
        var depth = 0
        for tok in t[min(from, t.count)...] {
            if tok == .symbol("(") { depth += 1 }
            if tok == .symbol(")") { depth = max(0, depth - 1) }
            if tok == .symbol(","), depth == 0 { out.append([]) } else { out[out.count - 1].append(tok) }
        }
        return out.filter { !$0.isEmpty }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}

/// A migration file of a tool that numbers its migrations (Rails, golang-migrate): one type for both readers.
struct VersionedMigration: Sendable, Equatable {
    /// The version without leading zeros, as the tool compares it.
    let version: String
    /// The file's name without its extension.
    let name: String
    let file: String
    let changes: MigrationChanges
}
