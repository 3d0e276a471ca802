import Foundation
import PreflightCore
import PreflightProbes

/// Are the project's migrations applied to the test database, and did one fail? Reads the history the
/// migration tool keeps in the database (Prisma's `_prisma_migrations`, Alembic's `alembic_version`) in a
/// read-only session and compares it with the migration files (the `ProjectMigrations` fact); it runs no
/// migration tool and writes nothing.
///
/// A missing table or column is the schema check's finding; when a migration in the project adds it, the
/// schema check names this check as its suspect, and the report shows the schema failure as a consequence of
/// this one when this one failed (a pending or failed migration).
public struct MigrationsCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "migrations", title: "Migrations applied", layer: .schema, prerequisites: ["database"],
        examples: [
            CheckExample("3 Prisma migrations in prisma/migrations, all applied (last: 20260301000000_edited_at)", .pass),
            CheckExample("Alembic: the database is at the head 3f2a9c1d (4 revisions)", .pass),
            CheckExample("20260301000000_edited_at is not applied (adds messages.edited_at): run prisma migrate deploy", .fail),
            CheckExample("20260301000000_edited_at failed: prisma migrate deploy refuses every later migration (P3009)", .fail),
            CheckExample("no _prisma_migrations table and no tables in public: the database was never migrated", .fail),
            CheckExample("Alembic: 2 revisions not applied (b7e1…, c2d4…): run alembic upgrade head", .fail),
            CheckExample("20260101000000_init was edited after it was applied (its checksum differs)", .warn),
            CheckExample("20260215000000_other is applied but not in prisma/migrations (another branch's migration?)", .warn),
            CheckExample("no _prisma_migrations table, but 4 tables: the schema was made with prisma db push", .warn),
            CheckExample("migration_lock.toml says provider = \"mysql\", the database is PostgreSQL", .warn),
            CheckExample("Alembic: 2 heads (b7e1…, c2d4…): alembic upgrade head refuses; merge them", .warn),
        ])
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [ProjectMigrations.self, DatabaseSettings.self]

    /// Rows read from the history table at most.
    static let maxRows = 10_000

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let project = context.fact(ProjectMigrations.self)
        guard let tool = project.tool else {
            if let problem = project.problem { return .fail(problem, fix: "set migrations.path to the migrations folder (prisma/migrations, or Alembic's folder with versions/)") }
            return .skipped("no migrations found (no migrations.path, no prisma/migrations next to schema.prisma, no alembic.ini)")
        }
        if let problem = project.problem { return .fail(problem, fix: "correct script_location in alembic.ini, or set migrations.path") }
        guard let url = context.fact(DatabaseSettings.self).url else { return .skipped("no database.url configured") }

        let session: any PostgresSession
        switch await probes.postgres.connect(url, timeout: context.timeout) {
        case .failure(let e): return .warn("the migration history could not be read: \(e.oneLine)", fix: "see the database check")
        case .success(let s): session = s
        }
        let outcome: CheckOutcome
        switch tool {
        case .prisma: outcome = await prisma(project, session: session, schema: url.schema ?? "public", timeout: context.timeout)
        case .alembic: outcome = await alembic(project, session: session, schema: url.schema, timeout: context.timeout)
        }
        await session.close()
        return outcome
    }

    // MARK: - Database

    struct TableInfo {
        var schema: String
        var exists: Bool
        var otherTables: Int
    }

    static func literal(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
    static func identifier(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// Whether `table` exists in `schema` (nil: the session's current schema), and how many other tables it holds.
    static func tableInfo(_ table: String, schema: String?, session: any PostgresSession, timeout: Duration) async -> Result<TableInfo, PostgresError> {
        let sql = """
            SELECT s.name,
              EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = s.name AND c.relname = \(literal(table)) AND c.relkind IN ('r', 'p', 'v')),
              (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = s.name AND c.relkind IN ('r', 'p') AND c.relname <> \(literal(table)))
            FROM (SELECT coalesce(\(schema.map(literal) ?? "NULL"), current_schema(), 'public') AS name) s
            """
        switch await session.query(sql, timeout: timeout) {
        case .failure(let e): return .failure(e)
        case .success(let rows):
            guard let r = rows.first, r.count == 3, let name = r[0] else { return .failure(PostgresError("no answer to the catalog query")) }
            return .success(TableInfo(schema: name, exists: r[1] == "t", otherTables: r[2].flatMap { Int($0) } ?? 0))
        }
    }

    static func list(_ names: [String], max: Int = 5) -> String {
        let shown = names.prefix(max).joined(separator: ", ")
        return names.count > max ? "\(shown) and \(names.count - max) more" : shown
    }

    static func adds(_ changes: [MigrationChanges]) -> [String] {
        var out: [String] = []
        for c in changes { for s in c.summary where !out.contains(s) { out.append(s) } }
        return out
    }

    static func addsNote(_ added: [String]) -> String {
        added.isEmpty ? "" : " (adds \(list(added, max: 3)))"
    }

    // MARK: - Prisma

    func prisma(_ project: ProjectMigrations, session: any PostgresSession, schema: String, timeout: Duration) async -> CheckOutcome {
        let folder = project.prisma ?? PrismaMigrations.Folder()
        let display = project.folder ?? "prisma/migrations"
        var evidence = Evidence([("tool", .string("Prisma Migrate")), ("folder", .string(display)),
                                 ("migrations", .int(folder.migrations.count))])
        var warnings: [(summary: String, fix: String)] = []
        if let provider = folder.lockProvider {
            evidence["lockProvider"] = .string(provider)
            if provider != "postgresql" {
                warnings.append(("\(display)/migration_lock.toml says provider = \"\(provider)\", the database is PostgreSQL: prisma migrate deploy refuses migrations made for another provider (P3019)",
                                 "make the datasource provider in schema.prisma and migration_lock.toml postgresql, or point database.url at the \(provider) database the migrations are for"))
            }
        }

        let info: TableInfo
        switch await Self.tableInfo("_prisma_migrations", schema: schema, session: session, timeout: timeout) {
        case .failure(let e): return .warn("the migration history could not be read: \(e.oneLine)", evidence: evidence, fix: "see the database check")
        case .success(let i): info = i
        }
        let table = "\(info.schema)._prisma_migrations"
        evidence["table"] = .string(table)

        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            let names = folder.migrations.map(\.name)
            if info.otherTables > 0 {
                return Self.finish(.warn(
                    "no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made with prisma db push (or by hand), not by migrate deploy; its history says nothing (migrate deploy would refuse a non-empty database, P3005)",
                    evidence: evidence,
                    fix: "the schema check compares the tables themselves; to deploy migrations here, baseline first: npx prisma migrate resolve --applied \(names.first ?? "NAME") for each migration the database already reflects"),
                    warnings: warnings)
            }
            evidence["pending"] = .array(names.map { .string($0) })
            let added = Self.adds(folder.migrations.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated\(names.isEmpty ? "" : " (\(names.count) migration\(names.count == 1 ? "" : "s") to apply)")",
                         evidence: evidence, fix: "run npx prisma migrate deploy against this database (the test environment's DATABASE_URL)")
        }

        let rows: [PrismaMigrations.Row]
        let sql = "SELECT \(PrismaMigrations.rowsSQL) FROM \(Self.identifier(info.schema))._prisma_migrations ORDER BY started_at, migration_name LIMIT \(Self.maxRows)"
        switch await session.query(sql, timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence,
                         fix: "grant the role of database.url SELECT on \(table)")
        case .success(let r): rows = r.compactMap(PrismaMigrations.row)
        }
        let history = PrismaMigrations.compare(folder, rows: rows)
        evidence["applied"] = .int(history.applied)
        if !history.pending.isEmpty { evidence["pending"] = .array(history.pending.map { .string($0) }) }
        if !history.failed.isEmpty { evidence["failed"] = .array(history.failed.map { .string($0.name) }) }
        if !history.modified.isEmpty { evidence["modified"] = .array(history.modified.map { .string($0) }) }
        if !history.notInFolder.isEmpty { evidence["notInFolder"] = .array(history.notInFolder.map { .string($0) }) }
        let byName = Dictionary(folder.migrations.map { ($0.name, $0.changes) }, uniquingKeysWith: { a, _ in a })
        let unapplied = history.failed.map(\.name) + history.pending
        let added = Self.adds(unapplied.compactMap { byName[$0] })
        if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }

        for name in history.modified {
            warnings.append(("\(name) was edited after it was applied (migration.sql no longer matches the checksum in \(table))",
                             "restore \(display)/\(name)/migration.sql as it was applied (git log -p), and put the change in a new migration; prisma migrate dev would otherwise want to reset the database"))
        }
        if !history.notInFolder.isEmpty {
            let n = history.notInFolder
            warnings.append(("\(Self.list(n)) \(n.count == 1 ? "is" : "are") applied but not in \(display) (another branch's migration\(n.count == 1 ? "" : "s")?)",
                             "deploy from the branch that has \(n.count == 1 ? "it" : "them"), or check out the branch the test database was migrated from"))
        }
        if !history.withoutScript.isEmpty {
            warnings.append(("\(Self.list(history.withoutScript)) in \(display) has no migration.sql", "remove the empty migration folder, or restore its migration.sql"))
        }

        if let failed = history.failed.first {
            if let log = PrismaMigrations.firstLine(failed.logs) { evidence["log"] = .string(log) }
            evidence["startedAt"] = failed.startedAt.map { .string($0) } ?? .null
            if let steps = failed.appliedSteps { evidence["appliedSteps"] = .int(steps) }
            let more = history.failed.count > 1 ? " (and \(history.failed.count - 1) more failed)" : ""
            let behind = history.pending.isEmpty ? "" : "; \(history.pending.count) pending behind it"
            let log = PrismaMigrations.firstLine(failed.logs).map { "; its log: \($0)" } ?? ""
            return Self.finish(.fail(
                "\(failed.name) failed\(failed.startedAt.map { " (started \($0))" } ?? "")\(more): prisma migrate deploy refuses to apply any migration until it is resolved (P3009)\(behind)\(log)",
                evidence: evidence,
                fix: "fix the cause in the log; if the migration's changes were undone, npx prisma migrate resolve --rolled-back \(failed.name) and deploy again; if you completed them by hand, npx prisma migrate resolve --applied \(failed.name)"),
                warnings: warnings)
        }
        if !history.pending.isEmpty {
            let p = history.pending
            let what = p.count == 1 ? "\(p[0]) is not applied" : "\(p.count) migrations are not applied: \(Self.list(p))"
            return Self.finish(.fail("\(what)\(Self.addsNote(added)): run prisma migrate deploy", evidence: evidence,
                                     fix: "run npx prisma migrate deploy against this database (the test environment's DATABASE_URL), then restart the service"),
                               warnings: warnings)
        }
        let last = folder.migrations.last.map { " (last: \($0.name))" } ?? ""
        return Self.finish(.pass("\(folder.migrations.count) Prisma migration\(folder.migrations.count == 1 ? "" : "s") in \(display), all applied\(last)", evidence: evidence),
                           warnings: warnings)
    }

    // MARK: - Alembic

    func alembic(_ project: ProjectMigrations, session: any PostgresSession, schema: String?, timeout: Duration) async -> CheckOutcome {
        let revisions = project.alembic ?? []
        let display = project.folder ?? "versions"
        let graph = AlembicRevisions.Graph(revisions)
        var evidence = Evidence([("tool", .string("Alembic")), ("folder", .string(display)), ("revisions", .int(revisions.count))])
        guard !revisions.isEmpty else { return .skipped("no Alembic revisions in \(display)") }
        var warnings: [(summary: String, fix: String)] = []
        let short = { (id: String) in id.count > 12 ? String(id.prefix(12)) + "…" : id }
        evidence["heads"] = .array(graph.heads.map { .string($0) })
        if graph.heads.count > 1 {
            warnings.append(("\(graph.heads.count) heads in \(display) (\(graph.heads.map(short).joined(separator: ", "))): alembic upgrade head refuses (\"Multiple head revisions\")",
                             "merge them: alembic merge heads -m merge, then alembic upgrade head (or upgrade heads, if the branches are meant to stay apart)"))
        }
        if !graph.duplicates.isEmpty {
            warnings.append(("revision \(Self.list(graph.duplicates)) is declared by two files in \(display)", "give each revision file its own revision id"))
        }

        let info: TableInfo
        switch await Self.tableInfo("alembic_version", schema: schema, session: session, timeout: timeout) {
        case .failure(let e): return .warn("the migration history could not be read: \(e.oneLine)", evidence: evidence, fix: "see the database check")
        case .success(let i): info = i
        }
        let table = "\(info.schema).alembic_version"
        evidence["table"] = .string(table)
        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            if info.otherTables > 0 {
                return Self.finish(.warn(
                    "no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made without Alembic (metadata.create_all, or by hand); its history says nothing",
                    evidence: evidence, fix: "the schema check compares the tables themselves; to migrate with Alembic from here, alembic stamp the revision the database matches"),
                    warnings: warnings)
            }
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated (\(revisions.count) revision\(revisions.count == 1 ? "" : "s") to apply)",
                         evidence: evidence, fix: "run alembic upgrade head against this database")
        }
        let current: [String]
        switch await session.query("SELECT version_num FROM \(Self.identifier(info.schema)).alembic_version ORDER BY version_num LIMIT \(Self.maxRows)", timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence, fix: "grant the role of database.url SELECT on \(table)")
        case .success(let rows): current = rows.compactMap { $0.first ?? nil }
        }
        evidence["current"] = .array(current.map { .string($0) })
        let (pending, unknown) = graph.pending(current: current)
        if !unknown.isEmpty {
            warnings.append(("the database is at \(Self.list(unknown.map(short))), which no file in \(display) declares (another branch's revision?): alembic upgrade refuses (\"Can't locate revision\")",
                             "check out the branch the test database was migrated from, or alembic stamp the revision this branch matches"))
        }
        if !pending.isEmpty {
            evidence["pending"] = .array(pending.map { .string($0) })
            let added = Self.adds(pending.compactMap { graph.byID[$0]?.changes })
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            let files = pending.compactMap { graph.byID[$0]?.file }
            let what = pending.count == 1 ? "revision \(pending[0]) (\(files.first ?? "?")) is not applied"
                : "\(pending.count) revisions are not applied, in order: \(Self.list(pending.map(short)))"
            let target = graph.heads.count > 1 ? "heads" : "head"
            return Self.finish(.fail("Alembic: \(what)\(Self.addsNote(added)): run alembic upgrade \(target)", evidence: evidence,
                                     fix: "run alembic upgrade \(target) against this database, then restart the service"),
                               warnings: warnings)
        }
        let at = current.count == 1 ? "the head \(short(current[0]))" : "the heads \(current.map(short).joined(separator: ", "))"
        return Self.finish(.pass("Alembic: the database is at \(at) (\(revisions.count) revision\(revisions.count == 1 ? "" : "s") in \(display))", evidence: evidence),
                           warnings: warnings)
    }

    /// A failure keeps its summary and lists the warnings in evidence; a pass with warnings becomes the first warning.
    static func finish(_ outcome: CheckOutcome, warnings: [(summary: String, fix: String)]) -> CheckOutcome {
        guard !warnings.isEmpty else { return outcome }
        var o = outcome
        o.evidence["warnings"] = .array(warnings.map { .string($0.summary) })
        if o.status == .pass || o.status == .warn && o.summary.isEmpty {
            let more = warnings.count > 1 ? " (and \(warnings.count - 1) more)" : ""
            return .warn(warnings[0].summary + more, evidence: o.evidence, fix: warnings[0].fix)
        }
        return o
    }
}
