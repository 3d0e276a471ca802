import Foundation
import PreflightCore
import PreflightProbes

// Knex's migrations directory against knex_migrations and knex_migrations_lock (Readers/KnexMigrations.swift).
extension MigrationsCheck {
    /// A Knex project (knexfile.js and migrations/ beside the config), the names in `knex_migrations` and the
    /// lock's `is_locked`.
    static func knexWorld(applied: [String], locked: Bool = false) -> World {
        World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat", files: [
            "knexfile.js": "module.exports = { client: 'pg', connection: process.env.DATABASE_URL };\n",
            "migrations/20260101000000_create_messages.js": "exports.up = (knex) => knex.schema.createTable('messages', (t) => { t.increments(); t.text('text'); });\nexports.down = (knex) => knex.schema.dropTable('messages');\n",
            "migrations/20260301000000_add_edited_at.js": "exports.up = (knex) => knex.schema.alterTable('messages', (t) => { t.timestamp('edited_at'); });\nexports.down = () => {};\n",
        ], answers: ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([
                ("current_schema()", .success([["public", "t", "2"]])),
                ("knex_migrations_lock", .success([[locked ? "1" : "0"]])),
                ("knex_migrations", .success(applied.map { [$0] })),
            ]))
        })
    }

    func knex(_ project: ProjectMigrations, session: any PostgresSession, schema: String?, timeout: Duration) async -> CheckOutcome {
        let files = project.knex ?? []
        let display = project.folder ?? "migrations"
        guard !files.isEmpty else { return .skipped("no Knex migrations in \(display)") }
        var evidence = Evidence([("tool", .string("Knex")), ("folder", .string(display)), ("migrations", .int(files.count))])
        let info: TableInfo, table: String
        switch await Self.historyTable("knex_migrations", schema: schema, session: session, timeout: timeout, evidence: &evidence) {
        case .unreadable(let warning): return warning
        case .found(let i, let t): (info, table) = (i, t)
        }
        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            if info.otherTables > 0 {
                return .warn("no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made without knex migrate:latest; its history says nothing",
                             evidence: evidence, fix: "the schema check compares the tables themselves")
            }
            evidence["pending"] = .array(files.map { .string($0) })
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated (\(files.count) Knex migration\(files.count == 1 ? "" : "s") to apply)",
                         evidence: evidence, fix: "run npx knex migrate:latest against this database")
        }
        let applied: [String]
        switch await session.query("SELECT name FROM \(Self.identifier(info.schema)).knex_migrations ORDER BY id LIMIT \(Self.maxRows)", timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence, fix: "grant the role of database.url SELECT on \(table)")
        case .success(let rows): applied = rows.compactMap { $0.first ?? nil }
        }
        var findings: [Finding] = []
        // A lock left by a run that died: every migrate:latest refuses until it is released.
        if case .success(let rows) = await session.query("SELECT is_locked FROM \(Self.identifier(info.schema)).knex_migrations_lock LIMIT 1", timeout: timeout),
           let locked = rows.first?.first ?? nil {
            evidence["locked"] = .bool(locked == "1")
            if locked == "1" {
                findings.append(Finding(.fail, "\(info.schema).knex_migrations_lock is held (is_locked = 1): knex migrate:latest refuses every migration (\"Migration table is already locked\")",
                                        fix: "make sure no migration is running, then npx knex migrate:unlock and npx knex migrate:latest"))
            }
        }
        let known = Set(files)
        let missing = applied.filter { !known.contains($0) }
        let done = Set(applied)
        let pending = files.filter { !done.contains($0) }
        if !pending.isEmpty {
            evidence["pending"] = .array(pending.map { .string($0) })
            let what = pending.count == 1 ? "\(pending[0]) is not applied" : "\(pending.count) Knex migrations are not applied, in order: \(Self.list(pending))"
            findings.insert(Finding(.fail, "\(what): run npx knex migrate:latest", fix: "run npx knex migrate:latest against this database, then restart the service",
                                    location: SourceLocation(file: "\(display)/\(pending[0])")), at: 0)
        }
        if !missing.isEmpty {
            evidence["unknown"] = .array(missing.map { .string($0) })
            findings.append(Finding(.warn, "\(Self.list(missing)) \(missing.count == 1 ? "is" : "are") applied but not in \(display) (another branch's migration?): knex migrate:latest refuses (\"The migration directory is corrupt\")",
                                    fix: "check out the branch the test database was migrated from, or recreate the test database"))
        }
        if findings.isEmpty {
            return .pass("Knex: \(files.count) migration\(files.count == 1 ? "" : "s") in \(display), all applied (last: \(files.last!))", evidence: evidence)
        }
        return CheckOutcome(findings: findings, evidence: evidence)
    }
}
