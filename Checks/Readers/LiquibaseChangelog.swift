import Foundation

/// Liquibase's changeSets, read statically from its changelog files: XML (`<changeSet id="…" author="…">`),
/// YAML and JSON (`changeSet:` with `id:` and `author:`), and formatted SQL (`--liquibase formatted sql`, then
/// `--changeset author:id`). `databasechangelog` identifies a changeSet by id, author and file name; preflight
/// compares id::author, because the file name Liquibase stores depends on how it was started (search path,
/// classpath). Checksums (MD5SUM, Liquibase's normalised per-changeSet hash) are not compared.
enum LiquibaseChangelog {
    struct ChangeSet: Equatable, Sendable {
        let id: String
        let author: String
        var changes = MigrationChanges()
        var key: String { "\(id)::\(author)" }
    }

    static let extensions = [".xml", ".yaml", ".yml", ".json", ".sql"]

    static func changeSets(_ text: String, file: String) -> [ChangeSet] {
        let lower = file.lowercased()
        if lower.hasSuffix(".sql") { return formattedSQL(text) }
        if lower.hasSuffix(".xml") { return xml(text) }
        return yaml(text)
    }

    /// `--changeset author:id [attributes]`; the SQL up to the next changeset is its body.
    static func formattedSQL(_ text: String) -> [ChangeSet] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).prefix(200_000)
        guard let first = lines.first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }),
              first.lowercased().replacingOccurrences(of: " ", with: "").hasPrefix("--liquibaseformattedsql") else { return [] }
        var out: [ChangeSet] = []
        var body = ""
        func close() {
            if !out.isEmpty { out[out.count - 1].changes = MigrationSQL.changes(body) }
            body = ""
        }
        for line in lines {
            let t = line.trimmingCharacters(in: .whitespaces)
            let squeezed = t.lowercased()
            if squeezed.hasPrefix("--changeset ") || squeezed.hasPrefix("-- changeset ") {
                let rest = t.drop { $0 == "-" }.drop { $0 == " " }.dropFirst("changeset".count).drop { $0 == " " }
                let spec = rest.prefix { $0 != " " && $0 != "\t" }
                guard let colon = spec.firstIndex(of: ":") else { continue }
                close()
                let author = String(spec[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                let id = String(spec[spec.index(after: colon)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                if !author.isEmpty, !id.isEmpty { out.append(ChangeSet(id: id, author: author)) }
            } else if !out.isEmpty, body.utf8.count < 1 << 20 {
                body += line + "\n"
            }
        }
        close()
        return out
    }

    /// Each `<changeSet …>` start tag's id and author attributes (any prefix: `<changeSet` or `<lb:changeSet`).
    static func xml(_ text: String) -> [ChangeSet] {
        var out: [ChangeSet] = []
        var rest = text[...]
        var nextClose: Range<Substring.Index>?? = nil
        while out.count < 100_000, let r = rest.firstRange(of: "changeSet") {
            let before = text[..<r.lowerBound]
            let tagStart = before.last == "<" || (before.last == ":" && before.dropLast().reversed().prefix { $0 != "<" }.allSatisfy { $0.isLetter })
            rest = rest[r.upperBound...]
            guard tagStart, let close = rest.firstIndex(of: ">") else { continue }
            let tag = rest[..<close]
            rest = rest[close...]
            guard tag.first == " " || tag.first == "\n" || tag.first == "\t" || tag.first == "\r" else { continue }
            if let id = attribute(tag, "id"), let author = attribute(tag, "author") {
                var set = ChangeSet(id: id, author: author)
                // Its body ends at the next close tag, searched for again only once passed (many unclosed tags stay linear).
                if nextClose == nil || (nextClose!.map { $0.lowerBound < rest.startIndex } ?? false) { nextClose = .some(rest.firstRange(of: "changeSet>")) }
                if let end = nextClose ?? nil { set.changes = xmlChanges(rest[..<end.lowerBound]) }
                out.append(set)
            }
        }
        return out
    }

    static func attribute(_ tag: Substring, _ name: String) -> String? {
        var rest = tag
        while let r = rest.firstRange(of: name) {
            let before = tag[..<r.lowerBound].last
            rest = rest[r.upperBound...]
            guard before == nil || before!.isWhitespace else { continue }
            let after = rest.drop { $0 == " " }
            guard after.first == "=" else { continue }
            let value = after.dropFirst().drop { $0 == " " }
            guard let q = value.first, q == "\"" || q == "'" else { continue }
            let body = value.dropFirst().prefix { $0 != q }
            return String(body)
        }
        return nil
    }

    /// `<createTable tableName="t">` and `<addColumn tableName="t"><column name="c"`.
    static func xmlChanges(_ body: Substring) -> MigrationChanges {
        var out = MigrationChanges()
        var rest = body
        while let r = rest.firstRange(of: "<createTable") ?? rest.firstRange(of: "<addColumn") {
            let isAdd = rest[r].hasSuffix("addColumn")
            rest = rest[r.upperBound...]
            guard let close = rest.firstIndex(of: ">"), let table = attribute(rest[..<close], "tableName") else { continue }
            if !isAdd { out.add(table: table) } else {
                let block = rest[close...].prefix { _ in true }
                let end = block.firstRange(of: "addColumn>")?.lowerBound ?? block.endIndex
                var cols = block[..<end]
                while let c = cols.firstRange(of: "<column") {
                    cols = cols[c.upperBound...]
                    if let e = cols.firstIndex(of: ">"), let name = attribute(cols[..<e], "name") { out.add(column: name, of: table) }
                }
            }
        }
        return out
    }

    /// YAML or JSON: after each `changeSet` key, the first `id` and `author` values before the next changeSet.
    static func yaml(_ text: String) -> [ChangeSet] {
        var out: [ChangeSet] = []
        let blocks = text.components(separatedBy: "changeSet").dropFirst().prefix(100_000)
        for block in blocks {
            let b = block.drop { $0 == "\"" || $0 == "'" }.drop { $0 == " " }
            guard b.first == ":" else { continue }
            if let id = value(of: "id", in: b), let author = value(of: "author", in: b) { out.append(ChangeSet(id: id, author: author)) }
        }
        return out
    }

    /// The value of the first `key:` (or `"key":`) in the block, quoted or bare.
    static func value(of key: String, in block: Substring) -> String? {
        var rest = block
        while let r = rest.firstRange(of: key) {
            let before = block[..<r.lowerBound].last
            rest = rest[r.upperBound...]
            guard before == nil || before!.isWhitespace || "\"'{,-".contains(before!) else { continue }
            var after = rest[...]
            if let q = before, q == "\"" || q == "'" { guard after.first == q else { continue }; after = after.dropFirst() }
            after = after.drop { $0 == " " || $0 == "\t" }
            guard after.first == ":" else { continue }
            after = after.dropFirst().drop { $0 == " " || $0 == "\t" }
            let v: Substring
            if let q = after.first, q == "\"" || q == "'" { v = after.dropFirst().prefix { $0 != q && !$0.isNewline } } else {
                v = after.prefix { !$0.isNewline && $0 != "," && $0 != "}" }
            }
            let value = v.trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? nil : value
        }
        return nil
    }
}
