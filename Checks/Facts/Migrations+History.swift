import Foundation

// Finding and reading the migrations of the tools keyed by a history table (Readers/HistoryMigrations.swift,
// Readers/LiquibaseChangelog.swift): a configured folder, or the tool's own files next to the config.
extension ProjectMigrations {
    static let historyTools: [String: Tool] = ["flyway": .flyway, "liquibase": .liquibase, "typeorm": .typeorm, "sequelize": .sequelize,
                                               "sqlx": .sqlx, "diesel": .diesel, "ef-core": .efCore]

    /// `migrations.path` with `migrations.tool` one of these tools; or, with no tool, a folder of Flyway-named
    /// SQL files or of Diesel's `<version>_<name>/up.sql` folders.
    static func historyProject(at full: String, wanted: String?, display: (String) -> String,
                               schema: String? = nil, table: String? = nil, source: String = "migrations.path") -> ProjectMigrations? {
        let tool: Tool
        if let wanted { guard let t = historyTools[wanted] else { return nil }; tool = t } else if hasFlywayFiles(full) {
            tool = .flyway
        } else if !readDiesel(full, display: display).isEmpty {
            tool = .diesel
        } else {
            return nil
        }
        let files: [HistoryMigration]
        switch tool {
        case .flyway: files = readFlyway([full], display: display)
        case .sqlx: files = readSqlx(full, display: display)
        case .diesel: files = readDiesel(full, display: display)
        case .efCore: files = readEFCore(full, display: display)
        case .typeorm: files = readTypeORM(full, display: display)
        case .sequelize: files = readSequelize(full, display: display)
        case .liquibase:
            let master = isDirectory(full) ? nil : full
            files = readLiquibase(master.map { ($0 as NSString).deletingLastPathComponent } ?? full, master: master, display: display)
        default: return nil
        }
        let folder = isDirectory(full) ? full : (full as NSString).deletingLastPathComponent
        var found = ProjectMigrations(tool: tool, folder: display(folder), source: source, history: files, schema: schema, table: table)
        found.refused = refusedNames(tool, [full], display: display)
        return found
    }

    /// The tools' own files in the config's folder: flyway.conf (or flyway.toml, conf/flyway.conf), Spring Boot's
    /// src/main/resources/db/migration, liquibase.properties, ormconfig.*, diesel.toml, .sqlx (or a Cargo.toml
    /// naming sqlx), .sequelizerc (or sequelize-cli's config/config.json with models/ and migrations/), a .csproj
    /// with Migrations/.
    static func historyProjectNextToConfig(_ root: String, wanted: String?, resolve: (String) -> String,
                                           display: (String) -> String) -> ProjectMigrations? {
        func exists(_ p: String) -> Bool { FileManager.default.fileExists(atPath: root + "/" + p) }
        func text(_ p: String) -> String? { read(root + "/" + p).map { String(decoding: $0, as: UTF8.self) } }
        func may(_ tool: String) -> Bool { wanted == nil || wanted == tool }

        if may("flyway") {
            for conf in ["flyway.conf", "conf/flyway.conf", "flyway.toml"] {
                guard let t = text(conf) else { continue }
                let settings = FlywaySettings(t)
                let folders = (settings.locations.isEmpty ? ["sql", "db/migration", "src/main/resources/db/migration"].filter { isDirectory(resolve($0)) }
                               : settings.locations).map(resolve)
                guard let first = folders.first else {
                    return ProjectMigrations(tool: .flyway, folder: nil, source: conf, problem: "\(conf) names no migrations folder that exists (flyway.locations)")
                }
                guard folders.allSatisfy(isDirectory) else {
                    return ProjectMigrations(tool: .flyway, folder: display(first), source: conf, problem: "\(conf)'s location \(display(folders.first { !isDirectory($0) }!)) is not a folder")
                }
                var found = ProjectMigrations(tool: .flyway, folder: folders.map(display).joined(separator: ", "), source: conf,
                                              history: readFlyway(folders, display: display), schema: settings.schema, table: settings.table)
                found.refused = refusedNames(.flyway, folders, display: display)
                return found
            }
            let spring = resolve("src/main/resources/db/migration")
            if hasFlywayFiles(spring) {
                var found = ProjectMigrations(tool: .flyway, folder: display(spring), source: "src/main/resources/db/migration", history: readFlyway([spring], display: display))
                found.refused = refusedNames(.flyway, [spring], display: display)
                return found
            }
        }
        if may("liquibase"), let t = text("liquibase.properties") {
            let props = javaProperties(t)
            guard let changelog = props["changeLogFile"] ?? props["changelog-file"] ?? props["changelogFile"] ?? props["liquibase.command.changelogFile"] else {
                return ProjectMigrations(tool: .liquibase, source: "liquibase.properties", problem: "liquibase.properties names no changeLogFile")
            }
            let candidates = [resolve(changelog), resolve("src/main/resources/" + changelog)] + (props["searchPath"].map { [resolve($0 + "/" + changelog)] } ?? [])
            guard let master = candidates.first(where: { FileManager.default.fileExists(atPath: $0) && !isDirectory($0) }) else {
                return ProjectMigrations(tool: .liquibase, source: "liquibase.properties", problem: "liquibase.properties' changeLogFile \(changelog) does not exist")
            }
            let folder = (master as NSString).deletingLastPathComponent
            return ProjectMigrations(tool: .liquibase, folder: display(folder), source: "liquibase.properties",
                                     history: readLiquibase(folder, master: master, display: display),
                                     schema: props["liquibaseSchemaName"] ?? props["liquibase-schema-name"] ?? props["defaultSchemaName"] ?? props["default-schema-name"])
        }
        if may("typeorm"), let conf = ["ormconfig.json", "ormconfig.js", "ormconfig.ts", "ormconfig.yml", "ormconfig.yaml", "ormconfig.env"].first(where: exists) {
            let named = typeORMMigrationsFolder(text(conf) ?? "")
            let folders = (named.map { [$0] } ?? []) + ["src/migration", "src/migrations", "migration", "migrations"]
            guard let folder = folders.map(resolve).first(where: isDirectory) else {
                return ProjectMigrations(tool: .typeorm, source: conf, problem: "\(conf) is here but its migrations folder \(named ?? "src/migration") is not")
            }
            return ProjectMigrations(tool: .typeorm, folder: display(folder), source: conf, history: readTypeORM(folder, display: display))
        }
        if may("diesel"), let t = text("diesel.toml") {
            let folder = resolve(tomlValue(t, section: "migrations_directory", key: "dir") ?? "migrations")
            guard isDirectory(folder) else { return ProjectMigrations(tool: .diesel, folder: display(folder), source: "diesel.toml", problem: "diesel.toml's migrations folder \(display(folder)) does not exist") }
            return ProjectMigrations(tool: .diesel, folder: display(folder), source: "diesel.toml", history: readDiesel(folder, display: display))
        }
        let migrations = resolve("migrations")
        if may("sqlx"), isDirectory(migrations), isDirectory(root + "/.sqlx") || (text("Cargo.toml")?.contains("sqlx") ?? false) {
            var found = ProjectMigrations(tool: .sqlx, folder: display(migrations), source: exists(".sqlx") ? ".sqlx" : "Cargo.toml", history: readSqlx(migrations, display: display))
            found.refused = refusedNames(.sqlx, [migrations], display: display)
            return found
        }
        if may("sequelize") {
            var folder: String? = nil
            var source = ".sequelizerc"
            if let rc = text(".sequelizerc") {
                folder = resolve(sequelizeMigrationsPath(rc) ?? "migrations")
            } else if exists("config/config.json"), isDirectory(resolve("models")), isDirectory(migrations), !hasUpFiles(migrations) {
                folder = migrations
                source = "config/config.json"
            }
            if let folder {
                guard isDirectory(folder) else { return ProjectMigrations(tool: .sequelize, folder: display(folder), source: source, problem: "\(source)'s migrations folder \(display(folder)) does not exist") }
                return ProjectMigrations(tool: .sequelize, folder: display(folder), source: source, history: readSequelize(folder, display: display))
            }
        }
        if may("ef-core") {
            let csproj = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).first { $0.hasSuffix(".csproj") }
            let folder = resolve("Migrations")
            if let csproj, isDirectory(folder) {
                return ProjectMigrations(tool: .efCore, folder: display(folder), source: csproj, history: readEFCore(folder, display: display))
            }
        }
        return nil
    }

    /// Flyway: a `V…__`/`R…__` .sql file whose version Flyway cannot read (MigrationVersion: "Invalid version
    /// containing non-numeric characters"); sqlx: a `<prefix>_….sql` whose prefix is not an integer (source.rs:
    /// "error parsing migration filename …; expected integer version prefix"). Both stop the tool before it migrates.
    static func refusedNames(_ tool: Tool, _ folders: [String], display: (String) -> String) -> [String] {
        var out: [String] = []
        for folder in folders where isDirectory(folder) {
            switch tool {
            case .flyway:
                for rel in files(in: folder) {
                    let name = (rel as NSString).lastPathComponent
                    guard name.hasSuffix(".sql"), name.contains("__"), name.first == "V" || name.first == "R",
                          FlywayMigrations.kind(ofFile: name) == nil else { continue }
                    out.append(display(folder + "/" + rel))
                }
            case .sqlx:
                for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
                where name.hasSuffix(".sql") && name.contains("_") && SqlxMigrations.version(ofFile: name) == nil && !name.hasSuffix(".down.sql") {
                    out.append(display(folder + "/" + name))
                }
            default: break
            }
            if out.count >= 100 { break }
        }
        return out
    }

    // MARK: - The tools' settings

    /// flyway.conf's (or flyway.toml's) `locations` (`filesystem:` prefixes taken off; `classpath:` read as
    /// src/main/resources/…), first schema of `schemas` (or `defaultSchema`), and `table`.
    struct FlywaySettings {
        var locations: [String] = []
        var schema: String?
        var table: String?
        init(_ text: String) {
            var values: [String: String] = [:]
            for line in text.split(whereSeparator: \.isNewline).prefix(10_000) {
                let t = line.trimmingCharacters(in: .whitespaces)
                guard !t.hasPrefix("#"), !t.hasPrefix("["), let eq = t.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
                var key = t[..<eq].trimmingCharacters(in: .whitespaces)
                if key.hasPrefix("flyway.") { key = String(key.dropFirst(7)) }
                var value = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                value = value.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).replacingOccurrences(of: "\"", with: "")
                values[key] = value
            }
            func list(_ s: String?) -> [String] { (s ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            locations = list(values["locations"]).map { l in
                if l.hasPrefix("filesystem:") { return String(l.dropFirst("filesystem:".count)) }
                if l.hasPrefix("classpath:") { return "src/main/resources/" + l.dropFirst("classpath:".count).drop { $0 == "/" } }
                return l
            }
            schema = values["defaultSchema"].flatMap { $0.isEmpty ? nil : $0 } ?? list(values["schemas"]).first
            table = values["table"].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    static func javaProperties(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline).prefix(10_000) {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard !t.hasPrefix("#"), !t.hasPrefix("!"), let eq = t.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            out[t[..<eq].trimmingCharacters(in: .whitespaces)] = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// `dir = "…"` in `[section]` of a TOML file.
    static func tomlValue(_ text: String, section: String, key: String) -> String? {
        var inSection = false
        for line in text.split(whereSeparator: \.isNewline).prefix(10_000) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("[") { inSection = t == "[\(section)]"; continue }
            guard inSection, let eq = t.firstIndex(of: "="), t[..<eq].trimmingCharacters(in: .whitespaces) == key else { continue }
            let v = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            return v.isEmpty ? nil : v
        }
        return nil
    }

    /// The folder of ormconfig's first `migrations` glob (`"src/migration/**/*.ts"` → src/migration), or its `migrationsDir`.
    static func typeORMMigrationsFolder(_ text: String) -> String? {
        for key in ["migrationsDir", "TYPEORM_MIGRATIONS_DIR", "migrations", "TYPEORM_MIGRATIONS"] {
            guard let r = text.firstRange(of: key) else { continue }
            let after = text[r.upperBound...].prefix(300)
            // A quoted glob (JSON, JS), else the first bare path (YAML's `- src/migration/*.ts`, .env's `=`).
            let bare = after.split(whereSeparator: { $0.isWhitespace || ",[]=:-".contains($0) }).first { $0.contains("/") || $0.contains("*") }
            guard let literal = CodeCalls.literals(after).first(where: { $0.contains("/") || $0.contains("*") }) ?? bare.map(String.init) else { continue }
            var folder = String(literal.prefix { $0 != "*" && $0 != "{" }).trimmingCharacters(in: .whitespaces)
            if folder.hasPrefix("./") { folder.removeFirst(2) }
            while folder.hasSuffix("/") { folder.removeLast() }
            if folder.hasSuffix(".ts") || folder.hasSuffix(".js") { folder = (folder as NSString).deletingLastPathComponent }
            if !folder.isEmpty { return folder }
        }
        return nil
    }

    /// `.sequelizerc`'s `'migrations-path': path.resolve('db', 'migrations')` → db/migrations.
    static func sequelizeMigrationsPath(_ text: String) -> String? {
        guard let r = text.firstRange(of: "migrations-path") else { return nil }
        let line = text[r.upperBound...].prefix { $0 != "\n" && $0 != "}" }
        let parts = CodeCalls.literals(line.drop { $0 == "'" || $0 == "\"" }).filter { $0 != "." && !$0.isEmpty && $0 != "__dirname" }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    // MARK: - Reading the files

    static func files(in folder: String, depth: Int = 4) -> [String] {
        var out: [String] = []
        func walk(_ dir: String, _ prefix: String, _ level: Int) {
            guard level <= depth, out.count < maxMigrations else { return }
            for n in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where !n.hasPrefix(".") && n != "node_modules" {
                let path = dir + "/" + n
                if isDirectory(path) { walk(path, prefix + n + "/", level + 1) } else if out.count < maxMigrations { out.append(prefix + n) }
            }
        }
        walk(folder, "", 0)
        return out
    }

    static func hasFlywayFiles(_ folder: String) -> Bool {
        isDirectory(folder) && files(in: folder).contains { FlywayMigrations.kind(ofFile: ($0 as NSString).lastPathComponent) != nil }
    }

    /// Every location's SQL migrations (Flyway scans them recursively): versioned ones by version, then repeatables by name.
    static func readFlyway(_ folders: [String], display: (String) -> String) -> [HistoryMigration] {
        var out: [HistoryMigration] = []
        for folder in folders {
            for rel in files(in: folder) {
                let name = (rel as NSString).lastPathComponent
                guard FlywayMigrations.kind(ofFile: name) != nil, let bytes = read(folder + "/" + rel),
                      let m = FlywayMigrations.migration(file: name, bytes: bytes, display: display(folder + "/" + rel)) else { continue }
                out.append(m)
            }
        }
        let versioned = out.filter { !$0.repeatable }.sorted { FlywayMigrations.less($0.id, $1.id) }
        return versioned + out.filter(\.repeatable).sorted { $0.name < $1.name }
    }

    static func readSqlx(_ folder: String, display: (String) -> String) -> [HistoryMigration] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { SqlxMigrations.version(ofFile: $0) != nil }
        let all = names.prefix(maxMigrations).compactMap { n in read(folder + "/" + n).flatMap { SqlxMigrations.migration(file: n, bytes: $0, display: display(folder + "/" + n)) } }
        return all.sorted { GolangMigrations.less($0.id, $1.id) }
    }

    static func readDiesel(_ folder: String, display: (String) -> String) -> [HistoryMigration] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        var out: [HistoryMigration] = []
        for n in names.prefix(maxMigrations) {
            guard let v = DieselMigrations.version(ofFolder: n), let up = read(folder + "/" + n + "/up.sql") else { continue }
            out.append(HistoryMigration(id: v, name: n, file: display(folder + "/" + n + "/up.sql"), changes: MigrationSQL.changes(String(decoding: up, as: UTF8.self))))
        }
        return out.sorted { $0.id < $1.id }
    }

    /// `[Migration("<id>")]` in any .cs file (the .Designer.cs), its changes from `<id>.cs`; by id, EF Core's order.
    static func readEFCore(_ folder: String, display: (String) -> String) -> [HistoryMigration] {
        var out: [String: HistoryMigration] = [:]
        let names = files(in: folder, depth: 2).filter { $0.hasSuffix(".cs") }
        for rel in names {
            guard let bytes = read(folder + "/" + rel) else { continue }
            for id in EFCoreMigrations.ids(String(decoding: bytes, as: UTF8.self)) where out[id] == nil {
                let dir = (rel as NSString).deletingLastPathComponent
                let main = (dir.isEmpty ? "" : dir + "/") + id + ".cs"
                let changes = read(folder + "/" + main).map { EFCoreMigrations.changes(String(decoding: $0, as: UTF8.self)) } ?? MigrationChanges()
                let file = FileManager.default.fileExists(atPath: folder + "/" + main) ? main : rel
                out[id] = HistoryMigration(id: id, name: id, file: display(folder + "/" + file), changes: changes)
            }
        }
        return out.values.sorted { $0.id < $1.id }
    }

    /// Each migration class in the folder's .ts/.js files, by its 13-digit timestamp (TypeORM's order).
    static func readTypeORM(_ folder: String, display: (String) -> String) -> [HistoryMigration] {
        var out: [HistoryMigration] = []
        for rel in files(in: folder) where (rel.hasSuffix(".ts") || rel.hasSuffix(".js")) && !rel.hasSuffix(".d.ts") {
            guard let bytes = read(folder + "/" + rel) else { continue }
            let text = String(decoding: bytes, as: UTF8.self)
            for name in TypeORMMigrations.names(text) where !out.contains(where: { $0.id == name }) {
                out.append(HistoryMigration(id: name, name: name, file: display(folder + "/" + rel), changes: TypeORMMigrations.changes(text)))
            }
        }
        return out.sorted { (TypeORMMigrations.timestamp($0.id) ?? "", $0.id) < (TypeORMMigrations.timestamp($1.id) ?? "", $1.id) }
    }

    static func readSequelize(_ folder: String, display: (String) -> String) -> [HistoryMigration] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter(SequelizeMigrations.isMigration).sorted().prefix(maxMigrations)
        return names.map { n in
            let text = read(folder + "/" + n).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return HistoryMigration(id: n, name: n, file: display(folder + "/" + n), changes: SequelizeMigrations.changes(text))
        }
    }

    /// The master changelog's changeSets first, then those of every other changelog file under its folder (the
    /// files it includes), each id::author once.
    static func readLiquibase(_ folder: String, master: String?, display: (String) -> String) -> [HistoryMigration] {
        var paths = master.map { [$0] } ?? []
        for rel in files(in: folder) where LiquibaseChangelog.extensions.contains(where: { rel.lowercased().hasSuffix($0) }) {
            let p = folder + "/" + rel
            if p != master { paths.append(p) }
        }
        var out: [HistoryMigration] = []
        var seen = Set<String>()
        for p in paths {
            guard let bytes = read(p) else { continue }
            for set in LiquibaseChangelog.changeSets(String(decoding: bytes, as: UTF8.self), file: p) where seen.insert(set.key).inserted {
                out.append(HistoryMigration(id: set.key, name: set.key, file: display(p), changes: set.changes))
                if out.count >= maxMigrations { return out }
            }
        }
        return out
    }
}
