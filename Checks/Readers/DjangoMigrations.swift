import Foundation

/// Django's migration graph, read statically from each app's `migrations/*.py` (no Python runs): the
/// `Migration` class's `dependencies` and `replaces` list literals of `('app', 'name')` tuples, and what
/// `operations` add (`CreateModel`, `AddField`, as tables `<app>_<model>`, Django's default `db_table`, or the model's own
/// `db_table` from CreateModel's options or AlterModelTable, applied across the project's migrations).
/// The database side is `django_migrations(app, name, applied)`: one row per applied migration; a failed
/// migration on PostgreSQL rolls back and leaves no row (the executor records only what it finished), so
/// "failed" and "pending" look alike there.
///
/// The rules follow django/db/migrations/loader.py (`build_graph`: a squashed migration stands for the ones it
/// replaces when all or none of them are applied, else the originals stay; `detect_conflicts`: more than one
/// leaf in one app) and graph.py (`leaf_nodes`: a node with no child in its own app).
enum DjangoMigrations {
    struct Key: Hashable, Sendable, Comparable, CustomStringConvertible {
        let app: String
        let name: String
        var description: String { "\(app).\(name)" }
        static func < (a: Key, b: Key) -> Bool { (a.app, a.name) < (b.app, b.name) }
    }

    struct Migration: Sendable, Equatable {
        let key: Key
        let dependencies: [Key]
        let replaces: [Key]
        /// The file, relative to the project.
        let file: String
        var changes: MigrationChanges
        /// `options={'db_table': …}` of its CreateModel and AlterModelTable operations: the default table
        /// (`<app>_<model>`) → the one the model really has, for the project's other migrations too.
        var tables: [String: String] = [:]

        /// The changes with each default table name replaced by the model's `db_table`.
        func renamed(_ map: [String: String]) -> MigrationChanges {
            guard !map.isEmpty else { return changes }
            var out = MigrationChanges()
            for t in changes.tables { out.add(table: map[t] ?? t) }
            for c in changes.columns {
                guard let dot = c.firstIndex(of: ".") else { continue }
                let t = String(c[..<dot])
                out.add(column: String(c[c.index(after: dot)...]), of: map[t] ?? t)
            }
            for e in changes.enumTypes { out.add(enumType: e) }
            return out
        }
    }

    /// One migrations/*.py file of `app`, or nil when it declares no `class Migration`.
    static func parse(_ source: String, app: String, name: String, file: String) -> Migration? {
        let t = PythonTokens.tokens(source)
        guard let cls = t.indices.first(where: { t[$0] == .name("class") && t[safe: $0 + 1] == .name("Migration") }) else { return nil }
        func keys(_ attribute: String) -> [Key] {
            guard let at = t[cls...].indices.first(where: { t[$0] == .name(attribute) && t[safe: $0 + 1] == .symbol("=") }),
                  let open = t[safe: at + 2], open == .symbol("[") || open == .symbol("(") else { return [] }
            var out: [Key] = []
            var depth = 0
            var k = at + 2
            while k < t.count {
                if t[k] == .symbol("(") || t[k] == .symbol("[") { depth += 1 }
                if t[k] == .symbol(")") || t[k] == .symbol("]") { depth -= 1; if depth == 0 { break } }
                // A tuple of two strings, `('app', 'name')`; anything else (swappable_dependency(...)) is skipped.
                if depth == 2, t[k] == .symbol("("), case .string(let a)? = t[safe: k + 1], t[safe: k + 2] == .symbol(","),
                   case .string(let n)? = t[safe: k + 3] {
                    out.append(Key(app: a, name: n))
                }
                k += 1
            }
            return out
        }
        var m = Migration(key: Key(app: app, name: name), dependencies: keys("dependencies"), replaces: keys("replaces"),
                          file: file, changes: changes(t, app: app))
        m.tables = tables(t, app: app)
        return m
    }

    /// `CreateModel(name='Message', …, options={'db_table': 'messages'})` and `AlterModelTable(name='message',
    /// table='messages')`: `chat_message` → `messages`.
    static func tables(_ t: [PythonTokens.Token], app: String) -> [String: String] {
        var out: [String: String] = [:]
        var k = 0
        while k + 1 < t.count, out.count < 1_000 {
            guard case .name(let call) = t[k], t[k + 1] == .symbol("("), call == "CreateModel" || call == "AlterModelTable" else { k += 1; continue }
            var depth = 0
            var end = k + 1
            while end < t.count {
                if t[end] == .symbol("(") || t[end] == .symbol("[") || t[end] == .symbol("{") { depth += 1 }
                if t[end] == .symbol(")") || t[end] == .symbol("]") || t[end] == .symbol("}") { depth -= 1; if depth == 0 { break } }
                end += 1
            }
            var model: String?, table: String?
            for m in (k + 2)..<min(end, t.count) {
                if t[m] == .name("name"), t[safe: m + 1] == .symbol("="), case .string(let n)? = t[safe: m + 2], model == nil { model = n }
                if call == "AlterModelTable", t[m] == .name("table"), t[safe: m + 1] == .symbol("="), case .string(let n)? = t[safe: m + 2] { table = n }
                if call == "CreateModel", t[m] == .string("db_table"), t[safe: m + 1] == .symbol(":"), case .string(let n)? = t[safe: m + 2] { table = n }
            }
            if let model, let table, !table.isEmpty { out["\(app)_\(model.lowercased())"] = table }
            k = max(k + 2, end)
        }
        return out
    }

    /// `CreateModel(name='Message', fields=[('id', …), …])` and `AddField(model_name='message', name='edited_at')`.
    static func changes(_ t: [PythonTokens.Token], app: String) -> MigrationChanges {
        var out = MigrationChanges()
        func argument(_ name: String, from: Int, to: Int) -> String? {
            var k = from
            while k < to {
                if t[k] == .name(name), t[safe: k + 1] == .symbol("="), case .string(let s)? = t[safe: k + 2] { return s }
                k += 1
            }
            return nil
        }
        func close(_ open: Int) -> Int {
            var depth = 0
            for k in open..<t.count {
                if t[k] == .symbol("(") || t[k] == .symbol("[") { depth += 1 }
                if t[k] == .symbol(")") || t[k] == .symbol("]") { depth -= 1; if depth == 0 { return k } }
            }
            return t.count
        }
        var k = 0
        while k + 1 < t.count {
            guard case .name(let call) = t[k], t[k + 1] == .symbol("("), call == "CreateModel" || call == "AddField" else { k += 1; continue }
            let end = close(k + 1)
            if call == "CreateModel", let model = argument("name", from: k + 2, to: end) {
                let table = "\(app)_\(model.lowercased())"
                out.add(table: table)
                // fields=[('id', …), ('text', …)]: the first string of each tuple at the list's own depth.
                if let f = (k + 2..<end).first(where: { t[$0] == .name("fields") && t[safe: $0 + 1] == .symbol("=") }) {
                    let fieldsEnd = close(f + 2)
                    var depth = 0
                    for m in (f + 2)..<fieldsEnd {
                        if t[m] == .symbol("(") || t[m] == .symbol("[") { depth += 1 }
                        if t[m] == .symbol(")") || t[m] == .symbol("]") { depth -= 1 }
                        if depth == 2, t[m] == .symbol("("), case .string(let c)? = t[safe: m + 1] { out.add(column: c, of: table) }
                    }
                }
            } else if call == "AddField", let model = argument("model_name", from: k + 2, to: end), let field = argument("name", from: k + 2, to: end) {
                out.add(column: field, of: "\(app)_\(model.lowercased())")
            }
            k = max(k + 2, end)
        }
        return out
    }

    /// The graph of the project's apps, as Django's loader builds it against `applied`.
    struct Graph: Sendable {
        /// Every migration file read, by key.
        let files: [Key: Migration]
        /// The nodes after squashed migrations are resolved (each replaced set or its replacement).
        let nodes: Set<Key>
        /// Applied as the loader counts it (a squashed migration is applied when all it replaces are).
        let applied: Set<Key>

        init(_ migrations: [Migration], applied recorded: Set<Key>) {
            var files: [Key: Migration] = [:]
            for m in migrations where files[m.key] == nil { files[m.key] = m }
            var nodes = Set(files.keys)
            var applied = recorded
            for m in migrations where !m.replaces.isEmpty {
                let statuses = m.replaces.map { recorded.contains($0) }
                if statuses.allSatisfy({ $0 }) { applied.insert(m.key) }
                if statuses.allSatisfy({ $0 }) || !statuses.contains(true) {
                    nodes.subtract(m.replaces)  // the squashed migration stands for them
                } else {
                    nodes.remove(m.key)  // partly applied: the originals stay
                }
            }
            self.files = files
            self.nodes = nodes
            self.applied = applied
        }

        /// Apps with migration files, sorted.
        var apps: [String] { Set(files.keys.map(\.app)).sorted() }

        /// A node's dependencies as nodes: a replaced migration counts as its replacement when that stands for it.
        func parents(_ key: Key) -> [Key] {
            (files[key]?.dependencies ?? []).compactMap { d in
                if nodes.contains(d) { return d }
                return files.values.first { nodes.contains($0.key) && $0.replaces.contains(d) }?.key
            }
        }

        /// Nodes of `app` that no node of the same app depends on (graph.leaf_nodes).
        func leaves(of app: String) -> [Key] {
            let mine = nodes.filter { $0.app == app }
            let parentsInApp = Set(mine.flatMap { parents($0) }.filter { $0.app == app })
            return mine.subtracting(parentsInApp).sorted()
        }

        /// Apps with more than one leaf: `migrate` refuses ("Conflicting migrations detected").
        var conflicts: [(app: String, leaves: [Key])] {
            apps.compactMap { a in let l = leaves(of: a); return l.count > 1 ? (a, l) : nil }
        }

        /// Unapplied nodes in the order migrate applies them (after their dependencies; ties by app, then name).
        var pending: [Key] {
            var left = nodes.subtracting(applied).sorted()
            var placed = applied
            var order: [Key] = []
            while !left.isEmpty {
                guard let i = left.firstIndex(where: { k in parents(k).allSatisfy { placed.contains($0) || !nodes.contains($0) } }) else {
                    order += left  // a cycle: as they are
                    break
                }
                order.append(left[i])
                placed.insert(left[i])
                left.remove(at: i)
            }
            return order
        }

        /// Rows of the project's apps that no file declares, nor any squashed migration replaces.
        func unknown(_ recorded: [Key]) -> [Key] {
            let apps = Set(self.apps)
            let replaced = Set(files.values.flatMap(\.replaces))
            return recorded.filter { apps.contains($0.app) && files[$0] == nil && !replaced.contains($0) }
        }
    }
}
