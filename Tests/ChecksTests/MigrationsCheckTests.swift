import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

// MARK: - The check with fakes (one test per example that needs no real database)

/// A session answering the catalog query and the history query from canned rows.
struct FakeHistory: PostgresConnector, PostgresSession {
    var exists = true
    var otherTables = 0
    var rows: [[String?]] = []
    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PostgresSession, PostgresError> { .success(self) }
    func query(_ sql: String, timeout: Duration) async -> Result<[[String?]], PostgresError> {
        if sql.contains("current_schema()") { return .success([["public", exists ? "t" : "f", String(otherTables)]]) }
        return .success(rows)
    }
    func close() async {}
}

func migrationsProject(_ files: [String: String]) throws -> URL {
    let dir = try temporaryDirectory("pf-mig")
    for (path, text) in files {
        let url = dir.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    return dir
}

func migrationsConfig(_ project: URL, database: String = "postgresql://u:p@127.0.0.1:1/db", path: String? = nil) -> Config {
    var c = config(database: database)
    c.file = project.appendingPathComponent("preflight.yml").path
    c.set(SchemaSettings(prisma: "prisma/schema.prisma"))
    if let path { c.set(MigrationSettings(path: path)) }
    return c
}

func runMigrations(_ c: Config, probes: Probes = .live) async throws -> CheckOutcome {
    try await MigrationsCheck(probes: probes).run(context(c, timeout: .seconds(5)))
}

@Suite struct MigrationsCheckStatic {
    let init_ = "CREATE TABLE \"users\" (\"id\" TEXT NOT NULL);\n"
    let edited = "ALTER TABLE \"users\" ADD COLUMN \"edited_at\" TIMESTAMP(3);\n"

    func row(_ name: String, _ sql: String, finished: Bool = true, rolledBack: Bool = false, logs: String? = nil) -> [String?] {
        [name, SHA256.hex(Array(sql.utf8)), "2026-12-01 10:00:00+00", finished ? "2026-12-01 10:00:01+00" : nil,
         rolledBack ? "2026-12-01 10:05:00+00" : nil, logs, finished ? "1" : "0"]
    }

    func project() throws -> URL {
        try migrationsProject([
            "prisma/schema.prisma": "model User {\n  id String @id\n  @@map(\"users\")\n}\n",
            "prisma/migrations/migration_lock.toml": "provider = \"postgresql\"\n",
            "prisma/migrations/20260101000000_init/migration.sql": init_,
            "prisma/migrations/20260301000000_edited_at/migration.sql": edited,
        ])
    }

    @Test func describesItself() {
        #expect(MigrationsCheck.description.id == "migrations")
        #expect(MigrationsCheck.description.layer == .schema)
        #expect(MigrationsCheck.description.prerequisites == ["database"])
        let ids = AllChecks.builtInIDs
        #expect(ids.firstIndex(of: "migrations")! + 1 == ids.firstIndex(of: "schema")!)
        #expect(MigrationsCheck.configKeys == ["migrations.path", "database.url"])
    }

    @Test func readsItsSection() throws {
        let c = try ConfigLoader(sections: AllChecks.sections).load(yaml: "migrations:\n  path: db/migrations\n", file: nil, environment: [:])
        #expect(c.section(MigrationSettings.self).path == "db/migrations")
        #expect(throws: ConfigError.self) { try ConfigLoader(sections: AllChecks.sections).load(yaml: "migrations:\n  paht: x\n", file: nil, environment: [:]) }
    }

    @Test func nothingFoundSkips() async throws {
        let dir = try migrationsProject(["preflight.yml": ""])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try await runMigrations(migrationsConfig(dir)).status == .skipped)
        // The chat fixture's migrations/ holds a plain .sql file, not Prisma's layout.
        #expect(ProjectMigrations.derive(from: schemaConfig()).tool == nil)
    }

    @Test func configuredPathMissingFails() async throws {
        let dir = try migrationsProject(["preflight.yml": ""])
        defer { try? FileManager.default.removeItem(at: dir) }
        let o = try await runMigrations(migrationsConfig(dir, path: "db/migrations"))
        #expect(o.status == .fail)
        #expect(o.summary == "migrations.path db/migrations is not a folder (it does not exist)")
    }

    @Test func allAppliedPasses() async throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = FakeHistory(rows: [row("20260101000000_init", init_), row("20260301000000_edited_at", edited)])
        let o = try await runMigrations(migrationsConfig(dir), probes: Probes(postgres: fake))
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary == "2 Prisma migrations in prisma/migrations, all applied (last: 20260301000000_edited_at)")
    }

    @Test func pendingFailsAndNamesWhatItAdds() async throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A rolled-back attempt counts as not applied (migrate deploy applies it again).
        let fake = FakeHistory(rows: [row("20260101000000_init", init_), row("20260301000000_edited_at", edited, finished: false, rolledBack: true)])
        let o = try await runMigrations(migrationsConfig(dir), probes: Probes(postgres: fake))
        #expect(o.status == .fail)
        #expect(o.summary == "20260301000000_edited_at is not applied (adds users.edited_at): run prisma migrate deploy")
        #expect(o.evidence["adds"] == .array(["users.edited_at"]))
    }

    @Test func failedMigrationSaysDeployRefuses() async throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = FakeHistory(rows: [row("20260101000000_init", init_),
                                      row("20260301000000_edited_at", edited, finished: false, logs: "Database error code: 42701\n\nDatabase error:\nERROR: boom")])
        let o = try await runMigrations(migrationsConfig(dir), probes: Probes(postgres: fake))
        #expect(o.status == .fail)
        #expect(o.summary == "20260301000000_edited_at failed (started 2026-12-01 10:00:00+00): prisma migrate deploy refuses to apply any migration until it is resolved (P3009); its log: ERROR: boom")
        #expect(o.fix?.contains("npx prisma migrate resolve --rolled-back 20260301000000_edited_at") == true)
        #expect(o.fix?.contains("--applied 20260301000000_edited_at") == true)
    }

    @Test func editedAndForeignMigrationsWarn() async throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fake = FakeHistory(rows: [row("20260101000000_init", init_ + "-- edited\n"), row("20260301000000_edited_at", edited),
                                      row("20260215000000_other", "x")])
        let o = try await runMigrations(migrationsConfig(dir), probes: Probes(postgres: fake))
        #expect(o.status == .warn)
        #expect(o.summary == "20260101000000_init was edited after it was applied (migration.sql no longer matches the checksum in public._prisma_migrations) (and 1 more)")
        #expect(o.evidence["notInFolder"] == .array(["20260215000000_other"]))
    }

    @Test func noTableWithTablesIsDbPush() async throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pushed = try await runMigrations(migrationsConfig(dir), probes: Probes(postgres: FakeHistory(exists: false, otherTables: 4)))
        #expect(pushed.status == .warn)
        #expect(pushed.summary.hasPrefix("no public._prisma_migrations table, but 4 tables in public: the schema was made with prisma db push"))
        let empty = try await runMigrations(migrationsConfig(dir), probes: Probes(postgres: FakeHistory(exists: false, otherTables: 0)))
        #expect(empty.status == .fail)
        #expect(empty.summary == "no public._prisma_migrations table and no tables in public: the database was never migrated (2 migrations to apply)")
    }

    @Test func otherProviderWarns() async throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "provider = \"mysql\"\n".write(to: dir.appendingPathComponent("prisma/migrations/migration_lock.toml"), atomically: true, encoding: .utf8)
        let fake = FakeHistory(rows: [row("20260101000000_init", init_), row("20260301000000_edited_at", edited)])
        let o = try await runMigrations(migrationsConfig(dir), probes: Probes(postgres: fake))
        #expect(o.status == .warn)
        #expect(o.summary.hasPrefix("prisma/migrations/migration_lock.toml says provider = \"mysql\", the database is PostgreSQL"))
    }

    /// The schema check suspects `migrations` only when every failure is something a migration adds.
    @Test func schemaCheckSuspectsMigrationsForWhatTheyAdd() throws {
        let dir = try project()
        defer { try? FileManager.default.removeItem(at: dir) }
        let facts = ProjectMigrations.derive(from: migrationsConfig(dir))
        var report = SchemaReport()
        report.findings = [SchemaFinding(kind: .column, message: "`users.edited_at` is missing", fix: "f", missing: .column(table: "users", column: "edited_at"))]
        let explained = SchemaCheck.explain(report, by: facts)
        #expect(explained.findings[0].message == "`users.edited_at` is missing (added by migration 20260301000000_edited_at)")
        #expect(SchemaCheck.outcome(explained, liveNote: nil).suspects == ["migrations"])
        report.findings.append(SchemaFinding(kind: .code, message: "`x` is not a field", fix: "f"))
        #expect(SchemaCheck.outcome(SchemaCheck.explain(report, by: facts), liveNote: nil).suspects == [])
        report.findings = [SchemaFinding(kind: .column, message: "`users.nick` is missing", fix: "f", missing: .column(table: "users", column: "nick"))]
        #expect(SchemaCheck.outcome(SchemaCheck.explain(report, by: facts), liveNote: nil).suspects == [])
    }
}
