import Foundation

/// ActiveRecord's migrations, read statically from `db/migrate/<version>_<name>.rb` (no Ruby runs). The file
/// name rule is ActiveRecord's own (activerecord/lib/active_record/migration.rb, `parse_migration_filename`:
/// `/\A([0-9]+)_([_a-z0-9]*)\.?([_a-z0-9]*)?\.rb\z/`); the database side is `schema_migrations(version)`, one row
/// per applied version, compared as integers as `MigrationContext#get_all_versions` does. On PostgreSQL a
/// failed migration rolls back in its transaction and leaves no row: it reads as not applied.
enum RailsMigrations {
    /// Its version is ActiveRecord's `to_i`; its name is the file's without `.rb`.
    typealias Migration = VersionedMigration

    /// The version of a migration file's name, or nil when ActiveRecord would not load it.
    static func version(ofFile name: String) -> String? {
        guard name.hasSuffix(".rb") else { return nil }
        let stem = name.dropLast(3)
        let digits = stem.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, stem.dropFirst(digits.count).first == "_" else { return nil }
        let rest = stem.dropFirst(digits.count + 1)
        guard rest.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" || $0 == "." }),
              rest.filter({ $0 == "." }).count <= 1 else { return nil }
        return normalized(String(digits))
    }

    /// A version as ActiveRecord compares it: digits without leading zeros.
    static func normalized(_ version: String) -> String {
        let trimmed = version.trimmingCharacters(in: .whitespaces).drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// `create_table :messages`, `add_column :messages, :edited_at`, `add_reference :messages, :user` (user_id),
    /// `rename_table :a, :b`, and `t.string :title` inside a create_table block.
    static func changes(_ source: String) -> MigrationChanges {
        var out = MigrationChanges()
        func symbols(_ line: Substring) -> [String] {
            // :name or "name" or 'name', in order.
            var out: [String] = []
            var i = line.startIndex
            while i < line.endIndex {
                let c = line[i]
                if c == ":", line.index(after: i) < line.endIndex, line[line.index(after: i)].isLetter || line[line.index(after: i)] == "_",
                   i == line.startIndex || !(line[line.index(before: i)].isLetter || line[line.index(before: i)] == ":") {
                    let start = line.index(after: i)
                    let end = line[start...].firstIndex { !($0.isLetter || $0.isNumber || $0 == "_") } ?? line.endIndex
                    out.append(String(line[start..<end]))
                    i = end
                } else if c == "\"" || c == "'" {
                    let start = line.index(after: i)
                    guard let end = line[start...].firstIndex(of: c) else { break }
                    out.append(String(line[start..<end]))
                    i = line.index(after: end)
                } else {
                    i = line.index(after: i)
                }
            }
            return out
        }
        var table: String?  // inside `create_table … do |t|`
        for raw in source.split(separator: "\n").prefix(100_000) {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("#") { continue }
            let words = line.split(separator: " ", maxSplits: 1)
            guard let first = words.first else { continue }
            let args = words.count > 1 ? symbols(words[1]) : []
            switch first {
            case "create_table", "create_table(":
                if let t = args.first { out.add(table: t); table = line.contains(" do ") || line.hasSuffix(" do") ? t : nil }
            case "add_column":
                if args.count >= 2 { out.add(column: args[1], of: args[0]) }
            case "add_reference", "add_belongs_to":
                if args.count >= 2 { out.add(column: args[1] + "_id", of: args[0]) }
            case "rename_table":
                if args.count >= 2 { out.add(table: args[1]) }
            case "end":
                table = nil
            default:
                if let t = table, first.hasPrefix("t."), let c = args.first {
                    let kind = first.dropFirst(2)
                    if kind == "references" || kind == "belongs_to" { out.add(column: c + "_id", of: t) }
                    else if kind != "index" && kind != "timestamps" { out.add(column: c, of: t) }
                }
            }
        }
        return out
    }
}
