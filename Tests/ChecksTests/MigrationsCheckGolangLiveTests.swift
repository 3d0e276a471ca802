import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// golang-migrate's history made as its PostgreSQL driver makes it (golang-migrate/migrate v4,
/// database/postgres/postgres.go): `ensureVersionTable`'s `CREATE TABLE IF NOT EXISTS schema_migrations (version
/// bigint not null primary key, dirty boolean not null)`, and migrate.go's `runMigrations`: `SetVersion(v, true)`
/// (in one transaction: `TRUNCATE schema_migrations`, `INSERT INTO schema_migrations (version, dirty) VALUES
/// ($1, $2)`), the migration's SQL run as one multi-statement Exec, then `SetVersion(v, false)`; a failed
/// migration leaves the row dirty. (The binary is not on this machine's apt or PyPI.)
@Suite(.serialized, .tags(.live), .runsLive) struct MigrationsCheckGolangLive {
    @Test func middleThenAllThenDirty() async throws {
        let pg = try await PostgresCluster.shared()
        let name = "gomig_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(name) OWNER preflight")
        let url = String(pg.url[..<pg.url.lastIndex(of: "/")!]) + "/" + name
        let migrations = [
            ("000001_create_messages", "CREATE TABLE messages (id bigserial PRIMARY KEY, text text NOT NULL);\n"),
            ("000002_add_edited_at", "ALTER TABLE messages ADD COLUMN edited_at timestamptz;\n"),
            ("000003_add_pinned", "ALTER TABLE messages ADD COLUMN pinned boolean NOT NULL DEFAULT false;\n"),
        ]
        var files: [String: String] = [:]
        for (n, sql) in migrations { files["migrations/\(n).up.sql"] = sql; files["migrations/\(n).down.sql"] = "SELECT 1;\n" }
        let dir = try migrationsProject(files)
        defer { try? FileManager.default.removeItem(at: dir) }

        func psql(_ sql: String) async throws -> ProcessOutput {
            try await run("/usr/bin/psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], limit: 30)
        }
        /// `migrate up` as its driver runs one migration.
        func up(_ version: Int, _ sql: String) async throws -> Bool {
            _ = try await psql("CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key, dirty boolean not null)")
            _ = try await psql("BEGIN; TRUNCATE schema_migrations; INSERT INTO schema_migrations (version, dirty) VALUES (\(version), true); COMMIT;")
            guard try await psql(sql).status == 0 else { return false }
            _ = try await psql("BEGIN; TRUNCATE schema_migrations; INSERT INTO schema_migrations (version, dirty) VALUES (\(version), false); COMMIT;")
            return true
        }
        func check() async throws -> CheckOutcome {
            var c = config(database: url)
            c.file = dir.appendingPathComponent("preflight.yml").path
            return try await runMigrations(c)
        }

        let never = try await check()
        #expect(never.status == .fail)
        #expect(never.summary == "no public.schema_migrations table and no tables in public: the database was never migrated (3 golang-migrate migrations to apply)")

        #expect(try await up(1, migrations[0].1))
        #expect(try await up(2, migrations[1].1))
        let middle = try await check()
        #expect(middle.status == .fail)
        #expect(middle.summary == "golang-migrate: 000003_add_pinned is not applied (adds messages.pinned), the database is at version 2: run migrate up")
        #expect(middle.findings.first?.location?.file == "migrations/000003_add_pinned.up.sql")

        #expect(try await up(3, migrations[2].1))
        let all = try await check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "golang-migrate: the database is at version 3, the last of 3 in migrations, not dirty")

        // A fourth migration PostgreSQL refuses halfway: the row stays dirty at 4.
        let broken = "ALTER TABLE messages ADD COLUMN note text;\nALTER TABLE messages ADD COLUMN pinned boolean;\n"
        try broken.write(to: dir.appendingPathComponent("migrations/000004_add_note.up.sql"), atomically: true, encoding: .utf8)
        #expect(try await up(4, broken) == false)
        let dirty = try await check()
        #expect(dirty.status == .fail)
        #expect(dirty.summary == "golang-migrate: version 4 is dirty (000004_add_note.up.sql failed partway): migrate up refuses every migration (\"Dirty database version 4. Fix and force version.\")")
        #expect(dirty.fix == "undo what 000004_add_note.up.sql did partway, then migrate -path migrations -database \"$DATABASE_URL\" force 3 and migrate -path migrations -database \"$DATABASE_URL\" up")
    }
}
