import Foundation
import PreflightCore
import PreflightProbes

// golang-migrate's *.up.sql against its one schema_migrations(version, dirty) row (Readers/GolangMigrations.swift).
extension MigrationsCheck {
    /// golang-migrate's files in migrations/ (000001_init, 000002_edited_at) and its one schema_migrations row.
    static func golangWorld(version: String, dirty: Bool) -> World {
        World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat", files: [
            "migrations/000001_init.up.sql": initSQL, "migrations/000001_init.down.sql": "DROP TABLE messages;\n",
            "migrations/000002_edited_at.up.sql": editedSQL, "migrations/000002_edited_at.down.sql": "ALTER TABLE messages DROP COLUMN edited_at;\n",
        ], answers: ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([
                ("current_schema()", .success([["public", "t", "1"]])),
                ("schema_migrations", .success([[version, dirty ? "t" : "f"]])),
            ]))
        })
    }


    func golangMigrate(_ project: ProjectMigrations, session: any PostgresSession, schema: String?, timeout: Duration) async -> CheckOutcome {
        let migrations = project.golang ?? []
        let display = project.folder ?? "migrations"
        guard !migrations.isEmpty else { return .skipped("no golang-migrate migrations (*.up.sql) in \(display)") }
        var evidence = Evidence([("tool", .string("golang-migrate")), ("folder", .string(display)), ("migrations", .int(migrations.count))])
        let info: TableInfo, table: String
        switch await Self.historyTable("schema_migrations", schema: schema, session: session, timeout: timeout, evidence: &evidence) {
        case .unreadable(let warning): return warning
        case .found(let i, let t): (info, table) = (i, t)
        }
        let up = "migrate -path \(display) -database \"$DATABASE_URL\" up"
        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            if info.otherTables > 0 {
                return .warn("no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made without golang-migrate; its history says nothing",
                             evidence: evidence, fix: "the schema check compares the tables themselves; to migrate with golang-migrate from here, migrate force the version the database matches")
            }
            evidence["pending"] = .array(migrations.map { .string($0.name) })
            let added = Self.adds(migrations.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated (\(migrations.count) golang-migrate migration\(migrations.count == 1 ? "" : "s") to apply)",
                         evidence: evidence, fix: "run \(up) against this database")
        }
        let rows: [[String?]]
        switch await session.query("SELECT version, dirty FROM \(Self.identifier(info.schema)).schema_migrations LIMIT 2", timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence, fix: "grant the role of database.url SELECT on \(table)")
        case .success(let r): rows = r
        }
        // No row: golang-migrate made the table and ran nothing (its "no migration" state, version -1).
        guard let row = rows.first, row.count == 2, let raw = row[0] else {
            evidence["pending"] = .array(migrations.map { .string($0.name) })
            let added = Self.adds(migrations.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return .fail("\(table) holds no version: no golang-migrate migration was applied (\(migrations.count) to apply)", evidence: evidence, fix: "run \(up) against this database")
        }
        let current = RailsMigrations.normalized(raw)
        let dirty = row[1] == "t"
        evidence["version"] = .string(current)
        evidence["dirty"] = .bool(dirty)
        let byVersion = Dictionary(migrations.map { ($0.version, $0) }, uniquingKeysWith: { a, _ in a })
        if dirty {
            let name = byVersion[current].map { "\($0.name).up.sql" } ?? "version \(current)"
            let previous = migrations.last { GolangMigrations.less($0.version, current) }?.version
            let pending = migrations.filter { !GolangMigrations.less($0.version, current) }
            evidence["pending"] = .array(pending.map { .string($0.name) })
            let added = Self.adds(pending.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return .fail("golang-migrate: version \(current) is dirty (\(name) failed partway): migrate up refuses every migration (\"Dirty database version \(current). Fix and force version.\")",
                         evidence: evidence,
                         fix: "undo what \(name) did partway, then migrate -path \(display) -database \"$DATABASE_URL\" force \(previous ?? "-1") and \(up)")
        }
        var warnings: [Finding] = []
        if byVersion[current] == nil {
            warnings.append(Finding(.warn, "the database is at version \(current), which no file in \(display) declares (another branch's migration?): migrate up refuses (\"no migration found for version \(current)\")",
                                    fix: "check out the branch the test database was migrated from, or migrate force the version this branch matches"))
        }
        let pending = migrations.filter { GolangMigrations.less(current, $0.version) }
        if !pending.isEmpty {
            evidence["pending"] = .array(pending.map { .string($0.name) })
            let added = Self.adds(pending.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            let what = pending.count == 1 ? "\(pending[0].name) is not applied"
                : "\(pending.count) migrations are not applied, in order: \(Self.list(pending.map(\.name)))"
            return Self.finish(CheckOutcome(findings: [Finding(.fail, "golang-migrate: \(what)\(Self.addsNote(added)), the database is at version \(current): run migrate up",
                                                               fix: "run \(up), then restart the service", location: SourceLocation(file: pending[0].file))],
                                            evidence: evidence), warnings: warnings)
        }
        return Self.finish(.pass("golang-migrate: the database is at version \(current), the last of \(migrations.count) in \(display), not dirty", evidence: evidence),
                           warnings: warnings)
    }
}
