import Foundation

/// Alembic's revision graph, read statically from `versions/*.py` (no Python runs): each file's top-level
/// `revision = '…'` and `down_revision = '…' | None | ('a', 'b')` (a merge), with or without a type annotation
/// (`revision: str = '…'`, the template since Alembic 1.11). The database side is `alembic_version.version_num`:
/// one row per current head; a revision is applied when it is a current head or an ancestor of one.
enum AlembicRevisions {
    struct Revision: Sendable, Equatable {
        let id: String
        let downRevisions: [String]
        /// The file's name in versions/.
        let file: String
        let changes: MigrationChanges
    }

    /// One versions/*.py file, or nil when it declares no `revision` (not a revision file).
    static func parse(_ source: String, file: String) -> Revision? {
        var revision: String?
        var down: [String] = []
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        while i < lines.count {
            let line = lines[i]
            i += 1
            guard let first = line.first, first.isLetter || first == "_" else { continue }
            let name = String(line.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            guard name == "revision" || name == "down_revision" else { continue }
            var rest = line.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
            if rest.first == ":" {  // an annotation: up to the `=` that is not `==`
                guard let eq = rest.firstIndex(of: "=") else { continue }
                rest = rest[rest.index(after: eq)...]
            } else if rest.first == "=" {
                rest = rest.dropFirst()
            } else {
                continue
            }
            if rest.first == "=" { continue }
            var value = String(rest)
            // A tuple or list may continue on the next lines until its brackets close.
            var depth = bracketDepth(value)
            while depth > 0, i < lines.count {
                value += "\n" + lines[i]
                i += 1
                depth = bracketDepth(value)
            }
            let strings = PythonTokens.tokens(value).compactMap { if case .string(let s) = $0 { s } else { nil } }
            if name == "revision" { revision = strings.first } else { down = strings }
        }
        guard let revision, !revision.isEmpty else { return nil }
        return Revision(id: revision, downRevisions: down, file: file, changes: upgradeChanges(source))
    }

    static func bracketDepth(_ s: String) -> Int {
        var depth = 0
        for t in PythonTokens.tokens(s) {
            if t == .symbol("(") || t == .symbol("[") { depth += 1 }
            if t == .symbol(")") || t == .symbol("]") { depth -= 1 }
        }
        return depth
    }

    /// Tables, columns and enum types that `upgrade()` creates: `op.create_table('t', sa.Column('c', …))`,
    /// `op.add_column('t', sa.Column('c', …))`, `op.alter_column('t', 'c', new_column_name='d')`,
    /// `op.rename_table('a', 'b')`, `sa.Enum(…, name='e')`.
    static func upgradeChanges(_ source: String) -> MigrationChanges {
        let t = PythonTokens.tokens(source)
        var out = MigrationChanges()
        guard let start = t.indices.first(where: { t[$0] == .name("def") && t[safe: $0 + 1] == .name("upgrade") }) else { return out }
        let end = t[(start + 2)...].firstIndex(of: .name("def")) ?? t.count
        let body = Array(t[start..<end])
        func string(_ i: Int) -> String? { if case .string(let s)? = body[safe: i] { s } else { nil } }
        /// The index of the `)` closing the call whose `(` is at `open`.
        func close(_ open: Int) -> Int {
            var depth = 0
            for k in open..<body.count {
                if body[k] == .symbol("(") || body[k] == .symbol("[") { depth += 1 }
                if body[k] == .symbol(")") || body[k] == .symbol("]") { depth -= 1; if depth == 0 { return k } }
            }
            return body.count
        }
        /// `Column('name'` calls between two indices.
        func columns(_ from: Int, _ to: Int) -> [String] {
            var names: [String] = []
            var k = from
            while k < to {
                if body[k] == .name("Column"), body[safe: k + 1] == .symbol("("), let c = string(k + 2) { names.append(c) }
                k += 1
            }
            return names
        }
        var k = 0
        while k < body.count {
            guard case .name(let call) = body[k], body[safe: k + 1] == .symbol("(") else { k += 1; continue }
            let closing = close(k + 1)
            switch call {
            case "create_table":
                if let table = string(k + 2) {
                    out.add(table: table)
                    for c in columns(k + 3, closing) { out.add(column: c, of: table) }
                }
            case "add_column":
                if let table = string(k + 2), let c = columns(k + 3, closing).first { out.add(column: c, of: table) }
            case "alter_column":
                if let table = string(k + 2) {
                    for m in (k + 3)..<max(k + 3, closing) where body[m] == .name("new_column_name") && body[safe: m + 1] == .symbol("=") {
                        if let new = string(m + 2) { out.add(column: new, of: table) }
                    }
                }
            case "rename_table":
                if string(k + 2) != nil, body[safe: k + 3] == .symbol(","), let new = string(k + 4) { out.add(table: new) }
            case "Enum", "ENUM":
                for m in (k + 2)..<max(k + 2, closing) where body[m] == .name("name") && body[safe: m + 1] == .symbol("=") {
                    if let e = string(m + 2) { out.add(enumType: e) }
                }
            default: break
            }
            k += 2
        }
        return out
    }

    /// The graph of a versions folder.
    struct Graph: Sendable {
        /// In file-name order.
        let revisions: [Revision]
        let byID: [String: Revision]
        /// Revisions no other revision names as its down_revision.
        let heads: [String]
        /// Two files declaring one id.
        let duplicates: [String]

        init(_ revisions: [Revision]) {
            var byID: [String: Revision] = [:]
            var duplicates: [String] = []
            for r in revisions {
                if byID[r.id] != nil { duplicates.append(r.id) } else { byID[r.id] = r }
            }
            let parents = Set(revisions.flatMap(\.downRevisions))
            self.revisions = revisions
            self.byID = byID
            self.duplicates = duplicates
            heads = revisions.map(\.id).filter { !parents.contains($0) }.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }

        /// The revision and its ancestors.
        func ancestry(of id: String) -> Set<String> {
            var seen: Set<String> = []
            var stack = [id]
            while let next = stack.popLast(), seen.count <= revisions.count {
                guard seen.insert(next).inserted else { continue }
                stack += byID[next]?.downRevisions ?? []
            }
            return seen
        }

        /// What `alembic upgrade heads` would still apply, bases first; and the current ids no file declares.
        func pending(current: [String]) -> (pending: [String], unknown: [String]) {
            let unknown = current.filter { byID[$0] == nil }
            var applied: Set<String> = []
            for c in current where byID[c] != nil { applied.formUnion(ancestry(of: c)) }
            let left = revisions.filter { !applied.contains($0.id) }
            // Topological order (a revision after its down revisions), ties in file order; bounded by the count.
            var order: [String] = []
            var placed = applied
            var remaining = left
            while !remaining.isEmpty {
                guard let i = remaining.firstIndex(where: { r in r.downRevisions.allSatisfy { placed.contains($0) || byID[$0] == nil } }) else {
                    order += remaining.map(\.id)  // a cycle: listed as they are
                    break
                }
                order.append(remaining[i].id)
                placed.insert(remaining[i].id)
                remaining.remove(at: i)
            }
            return (order, unknown)
        }
    }

    /// `script_location` and `version_locations` of `[alembic]` in alembic.ini, `%(here)s` replaced by `here`.
    static func iniLocations(_ ini: String, here: String) -> (script: String?, versions: [String]) {
        var section = ""
        var values: [String: String] = [:]
        for raw in ini.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.hasPrefix(";") || line.isEmpty { continue }
            if line.hasPrefix("[") { section = String(line.dropFirst().prefix { $0 != "]" }); continue }
            guard section == "alembic", let eq = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            values[key] = value.replacingOccurrences(of: "%(here)s", with: here)
        }
        let versions = (values["version_locations"] ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        return (values["script_location"], versions)
    }
}

/// Just enough of Python's lexer for the assignments and calls above: names, string literals (any prefix,
/// triple quotes), symbols; comments dropped.
enum PythonTokens {
    enum Token: Equatable {
        case name(String)
        case string(String)
        case symbol(Character)
    }

    static func tokens(_ source: String) -> [Token] {
        let s = Array(source)
        var out: [Token] = []
        var i = 0
        while i < s.count {
            let c = s[i]
            if c == "#" {
                while i < s.count, !s[i].isNewline { i += 1 }
            } else if c == "'" || c == "\"" {
                let (text, next) = string(s, i)
                out.append(.string(text))
                i = next
            } else if c.isLetter || c == "_" {
                var j = i
                while j < s.count, s[j].isLetter || s[j].isNumber || s[j] == "_" { j += 1 }
                let word = String(s[i..<j])
                if j < s.count, s[j] == "'" || s[j] == "\"", word.count <= 2, word.lowercased().allSatisfy({ "rbuf".contains($0) }) {
                    let (text, next) = string(s, j)
                    out.append(.string(text))
                    i = next
                } else {
                    out.append(.name(word))
                    i = j
                }
            } else if c.isNumber {
                while i < s.count, s[i].isNumber || s[i].isLetter || s[i] == "." || s[i] == "_" { i += 1 }
            } else {
                if !c.isWhitespace { out.append(.symbol(c)) }
                i += 1
            }
        }
        return out
    }

    /// The literal starting at `i` (its quote): its text (escapes kept as written) and the index after it.
    static func string(_ s: [Character], _ i: Int) -> (String, Int) {
        let q = s[i]
        let triple = i + 2 < s.count && s[i + 1] == q && s[i + 2] == q
        var j = i + (triple ? 3 : 1)
        var text = ""
        while j < s.count {
            if s[j] == "\\", j + 1 < s.count { text.append(s[j]); text.append(s[j + 1]); j += 2; continue }
            if triple {
                if j + 2 < s.count, s[j] == q, s[j + 1] == q, s[j + 2] == q { return (text, j + 3) }
            } else if s[j] == q {
                return (text, j + 1)
            } else if s[j].isNewline {
                return (text, j)
            }
            text.append(s[j])
            j += 1
        }
        return (text, j)
    }
}
