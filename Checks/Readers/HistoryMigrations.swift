import Foundation

/// A migration file of a tool that keeps one row per applied migration in a history table, keyed by an id its
/// file's name or text gives (Flyway's version, sqlx's and Diesel's version, EF Core's MigrationId, TypeORM's class
/// name, Sequelize's file name, Liquibase's changeSet id::author). The readers for each tool are below; the
/// tables' shapes, and each tool's notion of failed, are in MigrationsCheck+History.swift.
struct HistoryMigration: Sendable, Equatable {
    /// What the history table holds for it once applied (normalised as the tool compares it).
    let id: String
    /// As the user knows it (the file's or the class's name).
    let name: String
    let file: String
    /// The checksum the tool stores, as preflight reads it back (Flyway: a signed 32-bit integer; sqlx: hex).
    var checksum: String? = nil
    var changes = MigrationChanges()
    /// Flyway's `R__` migrations: applied again whenever their checksum changes.
    var repeatable = false
}

/// One row of a history table.
struct HistoryRow: Sendable, Equatable {
    let id: String
    var succeeded = true
    var checksum: String? = nil
    var repeatable = false
    /// Flyway's BASELINE row: every version up to it counts as applied.
    var baseline = false
}

/// Files against rows, as each tool compares them: a row that failed and was not applied again since; files not
/// applied (a repeatable whose last run had another checksum, too); applied versions whose file changed; rows
/// no file declares.
struct HistoryComparison: Equatable {
    var pending: [HistoryMigration] = []
    var failed: [String] = []
    var modified: [HistoryMigration] = []
    var unknown: [String] = []
    var applied = 0

    init(files: [HistoryMigration], rows: [HistoryRow], below: ((String, String) -> Bool)? = nil) {
        var last: [String: HistoryRow] = [:]
        for r in rows { last[(r.repeatable ? "R:" : "V:") + r.id] = r }
        let baseline = rows.last(where: \.baseline)?.id
        var known = Set<String>()
        for f in files {
            let key = (f.repeatable ? "R:" : "V:") + f.id
            known.insert(key)
            if let r = last[key], r.succeeded {
                if f.repeatable, let sum = r.checksum, let mine = f.checksum, sum != mine { pending.append(f); continue }
                applied += 1
                if !f.repeatable, let sum = r.checksum, let mine = f.checksum, sum != mine { modified.append(f) }
            } else if last[key] == nil, let baseline, let below, !f.repeatable, !below(baseline, f.id) {
                applied += 1  // at or below the baseline: Flyway ignores it
            } else if last[key] == nil {
                pending.append(f)
            }
        }
        for (key, r) in last.sorted(by: { $0.key < $1.key }) {
            if !r.succeeded { continue }
            if !known.contains(key), !r.baseline { unknown.append(r.id) }
        }
        failed = rows.filter { !$0.succeeded && last[($0.repeatable ? "R:" : "V:") + $0.id] == $0 }.map(\.id).reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
    }
}

/// Flyway's SQL migrations (flyway-core's MigrationInfoHelper.extractVersionAndDescription and MigrationVersion):
/// `V<version>__<description>.sql` (the version's `_` read as `.`, compared part by part as integers, trailing
/// zero parts ignored) and `R__<description>.sql` (repeatable, no version); `U` (undo) files are not migrations.
/// Its checksum is ChecksumCalculator.java's (flyway-core/src/main/java/org/flywaydb/core/internal/resolver/
/// ChecksumCalculator.java): a CRC-32 updated with each line's UTF-8 bytes as BufferedReader.readLine gives them
/// (no line ends; a BOM dropped from the first), stored as a signed int.
enum FlywayMigrations {
    enum Kind: Equatable { case versioned(String), repeatable }

    static func kind(ofFile name: String) -> Kind? {
        guard name.hasSuffix(".sql"), let sep = name.firstRange(of: "__") else { return nil }
        let head = name[..<sep.lowerBound]
        if head == "R" { return .repeatable }
        guard head.first == "V" else { return nil }
        let version = head.dropFirst().replacingOccurrences(of: "_", with: ".")
        return key(version).map { _ in .versioned(version) }
    }

    /// The version as Flyway compares it: integers without leading zeros, trailing zero parts dropped; nil when
    /// Flyway would refuse it ("Version may only contain 0..9 and . (dot)").
    static func key(_ version: String) -> String? {
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard !version.isEmpty, parts.count <= 64,
              parts.allSatisfy({ !$0.isEmpty && $0.count <= 40 && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        var numbers = parts.map { p -> String in let t = p.drop { $0 == "0" }; return t.isEmpty ? "0" : String(t) }
        while numbers.count > 1, numbers.last == "0" { numbers.removeLast() }
        return numbers.joined(separator: ".")
    }

    /// Whether key `a` comes before key `b`.
    static func less(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.split(separator: "."), b.split(separator: "."))
        for i in 0..<max(x.count, y.count) {
            let (p, q) = (i < x.count ? String(x[i]) : "0", i < y.count ? String(y[i]) : "0")
            if p != q { return p.count != q.count ? p.count < q.count : p < q }
        }
        return false
    }

    static func checksum(_ bytes: [UInt8]) -> Int32 {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        // Re-encoded as Java's decoder would (invalid bytes become U+FFFD), line ends left out.
        let text = String(decoding: body, as: UTF8.self)
        let crc = CRC32.update(0, text.utf8.lazy.filter { $0 != 0x0A && $0 != 0x0D })
        return Int32(bitPattern: crc)
    }

    static func migration(file name: String, bytes: [UInt8], display: String) -> HistoryMigration? {
        guard let kind = kind(ofFile: name) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        let sum = String(checksum(bytes))
        switch kind {
        case .versioned(let v):
            return HistoryMigration(id: key(v)!, name: String(name.dropLast(4)), file: display, checksum: sum, changes: MigrationSQL.changes(text))
        case .repeatable:
            return HistoryMigration(id: name, name: String(name.dropLast(4)), file: display, checksum: sum, changes: MigrationSQL.changes(text), repeatable: true)
        }
    }
}

/// sqlx's migrations (sqlx-core/src/migrate/source.rs): `<version>_<description>.sql`, or `.up.sql` of a
/// reversible pair (`.down.sql` is not a migration), the version an i64; its checksum is the SHA-384 of the
/// file's SQL (sqlx-core/src/migrate/migration.rs, `Sha384::digest(sql.as_bytes())`), stored as bytea.
enum SqlxMigrations {
    static func version(ofFile name: String) -> String? {
        guard name.hasSuffix(".sql"), !name.hasSuffix(".down.sql") else { return nil }
        let digits = name.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 18, name.dropFirst(digits.count).first == "_", let v = Int64(digits) else { return nil }
        return String(v)
    }

    static func migration(file name: String, bytes: [UInt8], display: String) -> HistoryMigration? {
        guard let v = version(ofFile: name) else { return nil }
        let stem = name.hasSuffix(".up.sql") ? name.dropLast(7) : name.dropLast(4)
        return HistoryMigration(id: v, name: String(stem), file: display, checksum: SHA384.hex(bytes),
                                changes: MigrationSQL.changes(String(decoding: bytes, as: UTF8.self)))
    }
}

/// Diesel's migrations (diesel_migrations/src/file_based_migrations.rs): a folder `<version>_<name>` holding
/// up.sql, its version the part before the first `_` with `-` taken out (`2026-03-01-000000` → `20260301000000`).
enum DieselMigrations {
    static func version(ofFolder name: String) -> String? {
        guard !name.hasPrefix("."), let head = name.split(separator: "_", maxSplits: 1, omittingEmptySubsequences: false).first,
              name.contains("_") else { return nil }
        let v = head.replacingOccurrences(of: "-", with: "")
        guard !v.isEmpty, v.count <= 50 else { return nil }
        return v
    }
}

/// EF Core's migrations: each is a class with `[Migration("<id>")]` (in its .Designer.cs; the id is what
/// `__EFMigrationsHistory.MigrationId` holds), its `Up` in `<id>.cs` (`migrationBuilder.CreateTable(name: …)`,
/// `migrationBuilder.AddColumn<T>(name: …, table: …)`).
enum EFCoreMigrations {
    static func ids(_ source: String) -> [String] {
        var out: [String] = []
        var rest = source[...]
        while let r = rest.firstRange(of: "[Migration(\"") ?? rest.firstRange(of: "[Microsoft.EntityFrameworkCore.Migrations.Migration(\"") {
            let after = rest[r.upperBound...]
            guard let end = after.firstIndex(of: "\"") else { break }
            let id = String(after[..<end])
            if !id.isEmpty, id.count <= 150, !out.contains(id) { out.append(id) }
            rest = after[end...]
        }
        return out
    }

    static func changes(_ source: String) -> MigrationChanges {
        var out = MigrationChanges()
        for call in CodeCalls.calls(source, named: "CreateTable") {
            if let t = CodeCalls.named(call, "name") { out.add(table: t) }
        }
        for call in CodeCalls.calls(source, named: "AddColumn") {
            if let c = CodeCalls.named(call, "name"), let t = CodeCalls.named(call, "table") { out.add(column: c, of: t) }
        }
        return out
    }
}

/// TypeORM's migrations (typeorm src/migration/MigrationExecutor.ts): a class implementing MigrationInterface,
/// named with a 13-digit JavaScript timestamp at its end (or a `name` property); `migrations.name` holds that
/// name and pending ones are those whose name it does not hold. Its SQL is in `queryRunner.query("…")` calls.
enum TypeORMMigrations {
    static func names(_ source: String) -> [String] {
        var out: [String] = []
        var rest = source[...]
        while let r = rest.firstRange(of: "class ") {
            let after = rest[r.upperBound...]
            let name = after.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" }
            rest = after.dropFirst(name.count)
            let header = rest.prefix(300).prefix { $0 != "{" }
            guard header.contains("MigrationInterface"), !name.isEmpty else { continue }
            var chosen = String(name)
            // `name = 'X1700000000000'` in the class body overrides the class name.
            let body = rest.dropFirst(header.count).prefix(300).prefix { $0 != "(" }  // before its first method
            if let n = body.firstRange(of: "name = "), let q = body[n.upperBound...].first, q == "'" || q == "\"" || q == "`" {
                let value = body[body.index(after: n.upperBound)...].prefix { $0 != q && $0 != "\n" }
                if !value.isEmpty { chosen = String(value) }
            }
            if !out.contains(chosen) { out.append(chosen) }
        }
        return out
    }

    /// The 13-digit timestamp TypeORM reads off a migration's name, or nil (it refuses such a migration).
    static func timestamp(_ name: String) -> String? {
        let tail = name.suffix(13)
        return tail.count == 13 && tail.allSatisfy({ $0.isASCII && $0.isNumber }) ? String(tail) : nil
    }

    static func changes(_ source: String) -> MigrationChanges {
        var out = MigrationChanges()
        for call in CodeCalls.calls(source, named: "query") {
            for sql in CodeCalls.literals(call) {
                let c = MigrationSQL.changes(sql)
                for t in c.tables { out.add(table: t) }
                for col in c.columns { if let dot = col.firstIndex(of: ".") { out.add(column: String(col[col.index(after: dot)...]), of: String(col[..<dot])) } }
                for e in c.enumTypes { out.add(enumType: e) }
            }
        }
        return out
    }
}

/// Sequelize's migrations (sequelize-cli through umzug's SequelizeStorage): the files of `migrations/` (`.js`,
/// `.cjs`, `.mjs`, `.ts`, `.cts`, no `.d.ts`), `SequelizeMeta.name` holding each applied file's name.
enum SequelizeMigrations {
    static func isMigration(_ name: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(".d.ts") && [".js", ".cjs", ".mjs", ".ts", ".cts"].contains { name.hasSuffix($0) }
    }

    /// `queryInterface.createTable('messages', …)` and `addColumn('messages', 'edited_at', …)`.
    static func changes(_ source: String) -> MigrationChanges {
        var out = MigrationChanges()
        for call in CodeCalls.calls(source, named: "createTable") { if let t = CodeCalls.literals(call).first { out.add(table: t) } }
        for call in CodeCalls.calls(source, named: "addColumn") {
            let l = CodeCalls.literals(call)
            if l.count >= 2 { out.add(column: l[1], of: l[0]) }
        }
        return out
    }
}

/// The argument text of calls in JavaScript, TypeScript or C# source, read without a parser: enough to find the
/// string literals a migration passes to its builder.
enum CodeCalls {
    /// The text between `name(` (or `name<T>(`) and its closing parenthesis, for each such call (at most 1,000).
    static func calls(_ source: String, named name: String) -> [Substring] {
        var out: [Substring] = []
        var rest = source[...]
        while out.count < 1_000, let r = rest.firstRange(of: name) {
            rest = rest[r.upperBound...]
            if let before = source[..<r.lowerBound].last, before.isLetter || before.isNumber || before == "_" { continue }
            var i = rest.startIndex
            if i < rest.endIndex, rest[i] == "<" { i = rest[i...].firstIndex(of: ">").map { rest.index(after: $0) } ?? rest.endIndex }
            guard i < rest.endIndex, rest[i] == "(" else { continue }
            var depth = 0
            var quote: Character? = nil
            var j = i
            var steps = 0
            while j < rest.endIndex, steps < 20_000 {
                let c = rest[j]
                steps += 1
                if let q = quote {
                    if c == "\\" { j = rest.index(after: j); if j == rest.endIndex { break } } else if c == q { quote = nil }
                } else if c == "'" || c == "\"" || c == "`" {
                    quote = c
                } else if c == "(" {
                    depth += 1
                } else if c == ")" {
                    depth -= 1
                    if depth == 0 { break }
                }
                j = rest.index(after: j)
            }
            out.append(rest[rest.index(after: i)..<j])
            rest = rest[j...]
        }
        return out
    }

    /// The string literals in `text`, in order (escapes kept as written but for \' \" \`).
    static func literals(_ text: Substring) -> [String] {
        var out: [String] = []
        var i = text.startIndex
        while i < text.endIndex, out.count < 1_000 {
            let q = text[i]
            guard q == "'" || q == "\"" || q == "`" else { i = text.index(after: i); continue }
            var value = ""
            var j = text.index(after: i)
            while j < text.endIndex, text[j] != q {
                if text[j] == "\\", text.index(after: j) < text.endIndex { j = text.index(after: j) }
                value.append(text[j])
                j = text.index(after: j)
            }
            out.append(value)
            i = j < text.endIndex ? text.index(after: j) : j
        }
        return out
    }

    /// The literal after `name:` (a C# named argument).
    static func named(_ call: Substring, _ name: String) -> String? {
        var rest = call
        while let r = rest.firstRange(of: name) {
            if let before = call[..<r.lowerBound].last, before.isLetter || before.isNumber || before == "_" { rest = rest[r.upperBound...]; continue }
            let after = rest[r.upperBound...].drop { $0 == " " }
            guard after.first == ":" else { rest = rest[r.upperBound...]; continue }
            let value = after.dropFirst().drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
            guard value.first == "\"" else { return nil }
            return literals(value).first
        }
        return nil
    }
}
