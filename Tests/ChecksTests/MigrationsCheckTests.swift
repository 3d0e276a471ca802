import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

// The check's examples run in CheckExamples (Checks/MigrationsCheck.swift); these are what they do not show.

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
    /// Every tool's name as `preflight config` shows a detected one is a name migrations.tool accepts.
    @Test func everyToolHasItsConfigName() {
        #expect(Set(ProjectMigrations.Tool.allCases.map(\.configName)) == Set(MigrationSettings.tools))
    }

    let init_ = "CREATE TABLE \"users\" (\"id\" TEXT NOT NULL);\n"
    let edited = "ALTER TABLE \"users\" ADD COLUMN \"edited_at\" TIMESTAMP(3);\n"

    func project() throws -> URL {
        try migrationsProject([
            "prisma/schema.prisma": "model User {\n  id String @id\n  @@map(\"users\")\n}\n",
            "prisma/migrations/migration_lock.toml": "provider = \"postgresql\"\n",
            "prisma/migrations/20260101000000_init/migration.sql": init_,
            "prisma/migrations/20260301000000_edited_at/migration.sql": edited,
        ])
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
