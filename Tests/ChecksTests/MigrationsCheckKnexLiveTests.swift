import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// Knex's history made as knex makes it on PostgreSQL (lib/migrations/migrate/table-creator.js: `increments()`,
/// `string('name')`, `integer('batch')`, `timestamp('migration_time')`, which knex's PostgreSQL column compiler
/// writes as serial primary key, varchar(255), integer, timestamptz; the lock table's `increments('index')` and
/// `integer('is_locked')` with one row of 0; Migrator.js takes the lock with `is_locked = 1` for a run, inserts
/// `{name, batch, migration_time}` per migration, and frees it). Knex (npm) is not on this machine's apt or PyPI.
@Suite(.serialized, .tags(.live), .runsLive) struct MigrationsCheckKnexLive {
    @Test func pendingThenAllThenLockedThenMissing() async throws {
        let pg = try await PostgresCluster.shared()
        let name = "knex_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(name) OWNER preflight")
        let url = String(pg.url[..<pg.url.lastIndex(of: "/")!]) + "/" + name
        let files = ["20260101000000_create_messages.js", "20260301000000_add_edited_at.js"]
        var tree = ["knexfile.js": "module.exports = { client: 'pg', connection: process.env.DATABASE_URL };\n"]
        for f in files { tree["migrations/\(f)"] = "exports.up = () => {};\nexports.down = () => {};\n" }
        let dir = try migrationsProject(tree)
        defer { try? FileManager.default.removeItem(at: dir) }
        func psql(_ sql: String) async throws {
            let out = try await run("/usr/bin/psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], limit: 30)
            guard out.status == 0 else { throw FixtureError("psql: \(out.stderr)") }
        }
        func check() async throws -> CheckOutcome {
            var c = config(database: url)
            c.file = dir.appendingPathComponent("preflight.yml").path
            return try await runMigrations(c)
        }
        /// One migrate:latest batch of `names`, with its lock taken and freed (unless the run dies).
        func latest(_ names: [String], batch: Int, dies: Bool = false) async throws {
            try await psql("""
                CREATE TABLE IF NOT EXISTS knex_migrations (id serial PRIMARY KEY, name varchar(255), batch integer, migration_time timestamptz);
                CREATE TABLE IF NOT EXISTS knex_migrations_lock (index serial PRIMARY KEY, is_locked integer);
                INSERT INTO knex_migrations_lock (is_locked) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM knex_migrations_lock);
                UPDATE knex_migrations_lock SET is_locked = 1 WHERE is_locked = 0;
                """)
            for n in names { try await psql("INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('\(n)', \(batch), now())") }
            if !dies { try await psql("UPDATE knex_migrations_lock SET is_locked = 0") }
        }

        let never = try await check()
        #expect(never.summary == "no public.knex_migrations table and no tables in public: the database was never migrated (2 Knex migrations to apply)")

        try await latest([files[0]], batch: 1)
        let pending = try await check()
        #expect(pending.status == .fail)
        #expect(pending.summary == "20260301000000_add_edited_at.js is not applied: run npx knex migrate:latest")
        #expect(pending.evidence["locked"] == .bool(false))

        try await latest([files[1]], batch: 2)
        let all = try await check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "Knex: 2 migrations in migrations, all applied (last: 20260301000000_add_edited_at.js)")

        // A run that died holding the lock.
        try await latest([], batch: 3, dies: true)
        let locked = try await check()
        #expect(locked.status == .fail)
        #expect(locked.summary == "public.knex_migrations_lock is held (is_locked = 1): knex migrate:latest refuses every migration (\"Migration table is already locked\")")
        try await psql("UPDATE knex_migrations_lock SET is_locked = 0")

        try FileManager.default.removeItem(at: dir.appendingPathComponent("migrations/\(files[1])"))
        let missing = try await check()
        #expect(missing.status == .warn, "\(missing.summary)")
        #expect(missing.summary.hasPrefix("20260301000000_add_edited_at.js is applied but not in migrations"), "\(missing.summary)")
    }
}
