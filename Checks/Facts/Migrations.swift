import Foundation
import PreflightCore

/// `migrations:` in preflight.yml. `path` is the migrations folder (relative to the config file's folder):
/// Prisma's `prisma/migrations`, Alembic's script folder (the one holding `versions/`) or `versions/` itself,
/// a Django project's folder (the one holding `manage.py`), a Rails project's (holding `db/migrate`) or `db/migrate`, golang-migrate's folder of `*.up.sql`, or Knex's migrations directory. `tool` says which tool's files to look for
/// when a folder could be several's.
public struct MigrationSettings: ConfigSection {
    public static let key = "migrations"
    public static let keys = ["path", "tool"]
    public static let tools = ["prisma", "alembic", "django", "rails", "golang-migrate", "knex", "flyway", "liquibase", "typeorm", "sequelize", "sqlx", "diesel", "ef-core"]
    public var path: String?
    public var tool: String?

    public init() {}
    public init(path: String?, tool: String? = nil) { self.path = path; self.tool = tool }
    public init(reading r: SectionReader) {
        path = r.string("path")
        if let t = r.string("tool") {
            if Self.tools.contains(t) { tool = t } else { r.problem("tool", "unknown tool \"\(t)\"; known: \(Self.tools.joined(separator: ", "))") }
        }
    }
}

/// The project's migration files, read once per run: the migrations check compares them with the database's
/// history, and the schema check asks which migration adds a column it finds missing (so that failure can
/// name `migrations` as its suspect; the engine decides whether the migrations check failed).
///
/// Where: `migrations.path`; else `migrations/` next to `schema.schema.prisma` (the schema check's setting, read
/// through the config) when it holds Prisma migration folders; else `alembic.ini`'s `script_location` in the
/// config file's folder; else `manage.py` there (Django: each app's `migrations/` below it); else `db/migrate`
/// there (Rails); else `migrations/` or `db/migrations/` there holding `*.up.sql` (golang-migrate); a knexfile with its `migrations.directory` (else `migrations/`) beside it is Knex's (checked before golang-migrate's). With both
/// `alembic.ini` and `manage.py` and no `migrations.tool`, the fact says which to set.
public struct ProjectMigrations: Fact {
    public static let name = "project migrations"
    public static let sections: [any ConfigSection.Type] = [MigrationSettings.self]

    public enum Tool: String, Sendable, CaseIterable {
        case prisma = "Prisma Migrate", alembic = "Alembic", django = "Django", rails = "Rails", golangMigrate = "golang-migrate", knex = "Knex"
        case flyway = "Flyway", liquibase = "Liquibase", typeorm = "TypeORM", sequelize = "Sequelize", sqlx = "sqlx", diesel = "Diesel", efCore = "EF Core"

        /// Its name in `migrations.tool` (one of `tools`).
        public var configName: String {
            switch self {
            case .prisma: "prisma"
            case .golangMigrate: "golang-migrate"
            case .efCore: "ef-core"
            default: rawValue.lowercased()
            }
        }
    }

    static let maxMigrations = 10_000
    static let maxFileBytes = 4 << 20

    /// Which tool's files were found; nil when none were.
    public let tool: Tool?
    /// The folder as the user would write it (relative to the project when inside it).
    public let folder: String?
    /// How the folder was found ("migrations.path", "next to schema.prisma", "alembic.ini").
    public let source: String?
    /// A configured path that cannot be used.
    public let problem: String?
    let prisma: PrismaMigrations.Folder?
    let alembic: [AlembicRevisions.Revision]?
    let django: [DjangoMigrations.Migration]?
    let rails: [RailsMigrations.Migration]?
    let golang: [GolangMigrations.Migration]?
    /// Knex's migration file names, sorted.
    let knex: [String]?
    /// The migrations of a tool keyed by its history table (Flyway, Liquibase, TypeORM, Sequelize, sqlx, Diesel,
    /// EF Core), in the tool's order.
    let history: [HistoryMigration]?
    /// The schema the tool's own setting names for its history table (Flyway's `flyway.schemas`, Liquibase's
    /// `liquibaseSchemaName`); nil: the URL's, else the session's.
    public let schema: String?
    /// The history table's name when the tool's setting renames it (Flyway's `flyway.table`).
    let table: String?
    /// Files named like the tool's migrations that the tool would refuse (Flyway's "Invalid version", sqlx's
    /// "expected integer version prefix"), as the user would write them.
    var refused: [String] = []

    init(tool: Tool? = nil, folder: String? = nil, source: String? = nil, problem: String? = nil,
         prisma: PrismaMigrations.Folder? = nil, alembic: [AlembicRevisions.Revision]? = nil,
         django: [DjangoMigrations.Migration]? = nil, rails: [RailsMigrations.Migration]? = nil,
         golang: [GolangMigrations.Migration]? = nil, knex: [String]? = nil,
         history: [HistoryMigration]? = nil, schema: String? = nil, table: String? = nil) {
        self.tool = tool
        self.folder = folder
        self.source = source
        self.problem = problem
        self.prisma = prisma
        self.alembic = alembic
        self.django = django
        self.rails = rails
        self.golang = golang
        self.knex = knex
        self.history = history
        self.schema = schema
        self.table = table
    }

    /// What each migration adds, by its name (Prisma's folder name, Alembic's revision id).
    var changes: [(name: String, changes: MigrationChanges)] {
        if let prisma { return prisma.migrations.map { ($0.name, $0.changes) } }
        if let alembic { return alembic.map { ($0.id, $0.changes) } }
        if let django { return django.map { ($0.key.description, $0.changes) } }
        if let rails { return rails.map { ($0.name, $0.changes) } }
        if let golang { return golang.map { ($0.name, $0.changes) } }
        if let history { return history.map { ($0.name, $0.changes) } }
        return []
    }

    /// The migrations that add `table.column` (or the table, or the enum type): what the schema check names
    /// when it finds one of them missing.
    public func adding(table: String, column: String? = nil, enumType: String? = nil) -> [String] {
        changes.filter { c in
            if let enumType { return c.changes.enumTypes.contains(enumType) }
            if let column { return c.changes.columns.contains("\(table).\(column)") }
            return c.changes.tables.contains(table)
        }.map(\.name)
    }

    public static func derive(from config: Config) -> ProjectMigrations {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let root = config.file.map { URL(fileURLWithPath: $0, relativeTo: cwd).deletingLastPathComponent() } ?? cwd
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : root.appendingPathComponent(p).standardizedFileURL.path }
        func display(_ path: String) -> String {
            let base = root.standardizedFileURL.path
            if path == base { return "." }
            let prefix = base.hasSuffix("/") ? base : base + "/"
            return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
        }

        let settings = config.section(MigrationSettings.self)
        let wanted = settings.tool
        if let path = settings.path {
            let full = resolve(path)
            guard isDirectory(full) else {
                return ProjectMigrations(folder: path, source: "migrations.path",
                                         problem: "migrations.path \(path) is not a folder\(FileManager.default.fileExists(atPath: full) ? "" : " (it does not exist)")")
            }
            if wanted == "knex" {
                return ProjectMigrations(tool: .knex, folder: display(full), source: "migrations.path", knex: readKnex(full))
            }
            if let found = historyProject(at: full, wanted: wanted, display: display) { return found }
            if wanted == "golang-migrate" || (wanted == nil && hasUpFiles(full)) {
                return ProjectMigrations(tool: .golangMigrate, folder: display(full), source: "migrations.path", golang: readGolang(full, display: display))
            }
            if wanted == "rails" || (wanted == nil && isDirectory(full + "/db/migrate")) {
                let folder = isDirectory(full + "/db/migrate") ? full + "/db/migrate" : full
                return ProjectMigrations(tool: .rails, folder: display(folder), source: "migrations.path", rails: readRails(folder, display: display))
            }
            if wanted == "django" || (wanted == nil && FileManager.default.fileExists(atPath: full + "/manage.py")) {
                var refused: [String] = []
                let found = readDjango(full, display: display, refused: &refused)
                var m = ProjectMigrations(tool: .django, folder: display(full), source: "migrations.path", django: found)
                m.refused = refused
                return m
            }
            if wanted != "prisma", let versions = alembicVersions(full) {
                return ProjectMigrations(tool: .alembic, folder: display(versions), source: "migrations.path", alembic: readAlembic(versions))
            }
            return ProjectMigrations(tool: .prisma, folder: display(full), source: "migrations.path", prisma: readPrisma(full))
        }
        if wanted == nil || wanted == "prisma", let prisma = config.section(SchemaSettings.self).prisma {
            let folder = (resolve(prisma) as NSString).deletingLastPathComponent + "/migrations"
            if isDirectory(folder) {
                let read = readPrisma(folder)
                if !read.migrations.isEmpty || read.lockProvider != nil {
                    return ProjectMigrations(tool: .prisma, folder: display(folder), source: "next to schema.prisma", prisma: read)
                }
            }
        }
        if let found = historyProjectNextToConfig(root.standardizedFileURL.path, wanted: wanted, resolve: resolve, display: display) { return found }
        let ini = root.appendingPathComponent("alembic.ini").path
        let manage = FileManager.default.fileExists(atPath: root.appendingPathComponent("manage.py").path)
        if wanted == nil, manage, FileManager.default.fileExists(atPath: ini) {
            return ProjectMigrations(source: "alembic.ini, manage.py",
                                     problem: "both alembic.ini and manage.py are next to the config: set migrations.tool to alembic or django")
        }
        if manage, wanted == nil || wanted == "django" {
            var refused: [String] = []
            let found = readDjango(root.standardizedFileURL.path, display: display, refused: &refused)
            var m = ProjectMigrations(tool: .django, folder: ".", source: "manage.py", django: found)
            m.refused = refused
            return m
        }
        let railsFolder = root.appendingPathComponent("db/migrate").standardizedFileURL.path
        if wanted == nil || wanted == "rails", isDirectory(railsFolder) {
            return ProjectMigrations(tool: .rails, folder: display(railsFolder), source: "db/migrate", rails: readRails(railsFolder, display: display))
        }
        let knexPath = ["js", "cjs", "mjs", "ts"].map { root.appendingPathComponent("knexfile.\($0)").path }.first { FileManager.default.fileExists(atPath: $0) }
        let knexfile = knexPath != nil
        // The knexfile's `migrations: { directory: '…' }` (the first one: knexfiles often repeat it per environment).
        var knexDirectory: String? = nil
        if let knexPath, let bytes = read(knexPath) { knexDirectory = Self.knexDirectory(String(decoding: bytes, as: UTF8.self)) }
        let knexFolder = resolve(knexDirectory ?? "migrations")
        if wanted == "knex" || (wanted == nil && knexfile && isDirectory(knexFolder) && !hasUpFiles(knexFolder)) {
            return ProjectMigrations(tool: .knex, folder: display(knexFolder), source: "knexfile", knex: readKnex(knexFolder))
        }
        for candidate in ["migrations", "db/migrations"] {
            let folder = root.appendingPathComponent(candidate).standardizedFileURL.path
            if wanted == nil || wanted == "golang-migrate", hasUpFiles(folder) {
                return ProjectMigrations(tool: .golangMigrate, folder: display(folder), source: candidate, golang: readGolang(folder, display: display))
            }
        }
        if wanted == nil || wanted == "alembic", let text = read(ini).map({ String(decoding: $0, as: UTF8.self) }) {
            let here = root.standardizedFileURL.path
            let locations = AlembicRevisions.iniLocations(text, here: here)
            let folders = locations.versions.isEmpty ? locations.script.map { [resolve($0) + "/versions"] } ?? [] : locations.versions.map(resolve)
            if let first = folders.first {
                guard folders.allSatisfy(isDirectory) else {
                    return ProjectMigrations(tool: .alembic, folder: display(first), source: "alembic.ini",
                                             problem: "alembic.ini's versions folder \(display(first)) does not exist")
                }
                return ProjectMigrations(tool: .alembic, folder: folders.map(display).joined(separator: ", "), source: "alembic.ini",
                                         alembic: folders.flatMap(readAlembic))
            }
        }
        return ProjectMigrations()
    }

    static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    /// An Alembic folder: `versions/` inside it (with env.py or script.py.mako beside), or a folder of revision files.
    static func alembicVersions(_ folder: String) -> String? {
        let versions = folder + "/versions"
        if isDirectory(versions), ["env.py", "script.py.mako"].contains(where: { FileManager.default.fileExists(atPath: folder + "/" + $0) }) {
            return versions
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let hasDirectories = names.contains { isDirectory(folder + "/" + $0) && !$0.hasPrefix(".") && $0 != "__pycache__" }
        if !hasDirectories, names.contains(where: { $0.hasSuffix(".py") }) { return folder }
        return nil
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        guard let data = try? h.read(upToCount: maxFileBytes) else { return nil }
        return [UInt8](data)
    }

    /// Prisma's layout: one folder per migration (sorted by name), each with migration.sql; migration_lock.toml.
    static func readPrisma(_ folder: String) -> PrismaMigrations.Folder {
        var out = PrismaMigrations.Folder()
        if let lock = read(folder + "/migration_lock.toml") {
            out.lockProvider = PrismaMigrations.lockProvider(String(decoding: lock, as: UTF8.self))
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { !$0.hasPrefix(".") && isDirectory(folder + "/" + $0) }.sorted().prefix(maxMigrations)
        for name in names {
            let script = read(folder + "/" + name + "/migration.sql")
            let changes = script.map { MigrationSQL.changes(String(decoding: $0, as: UTF8.self)) } ?? MigrationChanges()
            out.migrations.append(PrismaMigrations.Migration(name: name, script: script, changes: changes))
        }
        return out
    }

    static func readAlembic(_ folder: String) -> [AlembicRevisions.Revision] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(".py") && !$0.hasPrefix(".") && $0 != "__init__.py" }.sorted().prefix(maxMigrations)
        return names.compactMap { name in
            read(folder + "/" + name).flatMap { AlembicRevisions.parse(String(decoding: $0, as: UTF8.self), file: name) }
        }
    }
}

extension ProjectMigrations {
    /// Folders not searched for Django apps: virtual environments, installed packages, caches.
    static let djangoSkipped: Set<String> = ["node_modules", "site-packages", "venv", "env", "__pycache__", "static", "media", "templates"]

    /// Each app's `migrations/` within three folders of the project (the app label is the folder holding it,
    /// Django's default), every module not starting with `_` or `~` (the loader's rule), sorted by app and name.
    /// A module without a `Migration` class goes to `refused`: Django's loader stops at it ("has no Migration class").
    static func readDjango(_ project: String, display: (String) -> String, refused: inout [String]) -> [DjangoMigrations.Migration] {
        var folders: [String] = []
        func walk(_ dir: String, depth: Int) {
            guard depth <= 3, folders.count < 1_000 else { return }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            for n in names where !n.hasPrefix(".") && !djangoSkipped.contains(n) && isDirectory(dir + "/" + n) {
                if n == "migrations", depth > 0 { folders.append(dir + "/" + n) } else { walk(dir + "/" + n, depth: depth + 1) }
            }
        }
        walk(project, depth: 0)
        var out: [DjangoMigrations.Migration] = []
        for folder in folders {
            let app = ((folder as NSString).deletingLastPathComponent as NSString).lastPathComponent
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
                .filter { $0.hasSuffix(".py") && !$0.hasPrefix("_") && !$0.hasPrefix("~") }.sorted()
            for name in names.prefix(maxMigrations - out.count) {
                guard let bytes = read(folder + "/" + name) else { continue }
                if let m = DjangoMigrations.parse(String(decoding: bytes, as: UTF8.self), app: app, name: String(name.dropLast(3)),
                                                  file: display(folder + "/" + name)) {
                    out.append(m)
                } else if refused.count < 100 {
                    refused.append(display(folder + "/" + name))
                }
            }
        }
        // A model's db_table, set in one migration, names its table in every other.
        var tables: [String: String] = [:]
        for m in out { tables.merge(m.tables) { _, new in new } }
        return out.map { var m = $0; m.changes = m.renamed(tables); return m }
    }
}

extension ProjectMigrations {
    /// `db/migrate/<version>_<name>.rb`, by version (ActiveRecord's order).
    static func readRails(_ folder: String, display: (String) -> String) -> [RailsMigrations.Migration] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { RailsMigrations.version(ofFile: $0) != nil }
        let sorted = names.sorted { a, b in
            let (x, y) = (RailsMigrations.version(ofFile: a)!, RailsMigrations.version(ofFile: b)!)
            return x.count != y.count ? x.count < y.count : (x != y ? x < y : a < b)
        }
        return sorted.prefix(maxMigrations).map { name in
            let text = read(folder + "/" + name).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return RailsMigrations.Migration(version: RailsMigrations.version(ofFile: name)!, name: String(name.dropLast(3)),
                                             file: display(folder + "/" + name), changes: RailsMigrations.changes(text))
        }
    }
}

extension ProjectMigrations {
    static func hasUpFiles(_ folder: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).contains { GolangMigrations.version(ofUpFile: $0) != nil }
    }

    /// `<version>_<title>.up.sql`, by version.
    static func readGolang(_ folder: String, display: (String) -> String) -> [GolangMigrations.Migration] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { GolangMigrations.version(ofUpFile: $0) != nil }
        let sorted = names.sorted { a, b in
            let (x, y) = (GolangMigrations.version(ofUpFile: a)!, GolangMigrations.version(ofUpFile: b)!)
            return x != y ? GolangMigrations.less(x, y) : a < b
        }
        return sorted.prefix(maxMigrations).map { name in
            let text = read(folder + "/" + name).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return GolangMigrations.Migration(version: GolangMigrations.version(ofUpFile: name)!, name: String(name.dropLast(".up.sql".count)),
                                              file: display(folder + "/" + name), changes: MigrationSQL.changes(text))
        }
    }
}

extension ProjectMigrations {
    /// The literal after `directory:` in a knexfile, or nil.
    static func knexDirectory(_ text: String) -> String? {
        guard let r = text.firstRange(of: "directory") else { return nil }
        let after = text[r.upperBound...].drop { $0 == " " || $0 == "\"" || $0 == "'" }
        guard after.first == ":" else { return nil }
        let value = after.dropFirst().drop { $0 == " " || $0 == "\t" }
        guard let q = value.first, q == "'" || q == "\"" || q == "`" else { return nil }
        let literal = value.dropFirst().prefix { $0 != q && !$0.isNewline }
        var folder = String(literal)
        if folder.hasPrefix("./") { folder.removeFirst(2) }
        return folder.isEmpty || folder.contains("${") ? nil : folder
    }

    static func readKnex(_ folder: String) -> [String] {
        Array(((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter(KnexMigrations.isMigration).sorted().prefix(maxMigrations))
    }
}

extension MigrationSettings {
    public static let schemaDescription = "The application's migrations"
    public static let schema: ValueSchema = .object([
        SchemaKey("path", "The migrations folder (prisma/migrations, alembic, db/migrate, …) or the Django project (its manage.py)", .string),
        SchemaKey("tool", "Which tool's migrations to read, when the folder could be several's", .oneOf(tools)),
    ])
}
