import Foundation
import PreflightCore

/// `migrations:` in preflight.yml. `path` is the migrations folder (relative to the config file's folder):
/// Prisma's `prisma/migrations`, or Alembic's script folder (the one holding `versions/`) or `versions/` itself.
public struct MigrationSettings: ConfigSection {
    public static let key = "migrations"
    public static let keys = ["path"]
    public var path: String?

    public init() {}
    public init(path: String?) { self.path = path }
    public init(reading r: SectionReader) { path = r.string("path") }
}

/// The project's migration files, read once per run: the migrations check compares them with the database's
/// history, and the schema check asks which migration adds a column it finds missing (so that failure can
/// name `migrations` as its suspect; the engine decides whether the migrations check failed).
///
/// Where: `migrations.path`; else `migrations/` next to `schema.schema.prisma` (the schema check's setting, read
/// through the config) when it holds Prisma migration folders; else `alembic.ini`'s `script_location` in the
/// config file's folder.
public struct ProjectMigrations: Fact {
    public static let name = "project migrations"
    public static let sections: [any ConfigSection.Type] = [MigrationSettings.self]

    public enum Tool: String, Sendable { case prisma = "Prisma Migrate", alembic = "Alembic" }

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

    init(tool: Tool? = nil, folder: String? = nil, source: String? = nil, problem: String? = nil,
         prisma: PrismaMigrations.Folder? = nil, alembic: [AlembicRevisions.Revision]? = nil) {
        self.tool = tool
        self.folder = folder
        self.source = source
        self.problem = problem
        self.prisma = prisma
        self.alembic = alembic
    }

    /// What each migration adds, by its name (Prisma's folder name, Alembic's revision id).
    var changes: [(name: String, changes: MigrationChanges)] {
        if let prisma { return prisma.migrations.map { ($0.name, $0.changes) } }
        if let alembic { return alembic.map { ($0.id, $0.changes) } }
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
            let prefix = base.hasSuffix("/") ? base : base + "/"
            return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
        }

        if let path = config.section(MigrationSettings.self).path {
            let full = resolve(path)
            guard isDirectory(full) else {
                return ProjectMigrations(folder: path, source: "migrations.path",
                                         problem: "migrations.path \(path) is not a folder\(FileManager.default.fileExists(atPath: full) ? "" : " (it does not exist)")")
            }
            if let versions = alembicVersions(full) {
                return ProjectMigrations(tool: .alembic, folder: display(versions), source: "migrations.path", alembic: readAlembic(versions))
            }
            return ProjectMigrations(tool: .prisma, folder: display(full), source: "migrations.path", prisma: readPrisma(full))
        }
        if let prisma = config.section(SchemaSettings.self).prisma {
            let folder = (resolve(prisma) as NSString).deletingLastPathComponent + "/migrations"
            if isDirectory(folder) {
                let read = readPrisma(folder)
                if !read.migrations.isEmpty || read.lockProvider != nil {
                    return ProjectMigrations(tool: .prisma, folder: display(folder), source: "next to schema.prisma", prisma: read)
                }
            }
        }
        let ini = root.appendingPathComponent("alembic.ini").path
        if let text = read(ini).map({ String(decoding: $0, as: UTF8.self) }) {
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

extension MigrationSettings {
    public static let schemaDescription = "The application's migrations"
    public static let schema: ValueSchema = .object([
        SchemaKey("path", "The migrations folder (prisma/migrations, alembic, …)", .string),
    ])
}
