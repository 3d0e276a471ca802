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

// MARK: - Against real PostgreSQL

/// Prisma's layout on disk, "deployed" the way `prisma migrate deploy` does it: the SQL run through psql as the
/// admin, one `_prisma_migrations` row per migration with `sha256sum`'s checksum of the file, in the table made
/// with Prisma's own DDL (prisma-engines, sql-schema-connector/src/flavour/postgres.rs, create_migrations_table).
struct PrismaStack {
    static let prismaDDL = """
        CREATE TABLE _prisma_migrations (
            id                      VARCHAR(36) PRIMARY KEY NOT NULL,
            checksum                VARCHAR(64) NOT NULL,
            finished_at             TIMESTAMPTZ,
            migration_name          VARCHAR(255) NOT NULL,
            logs                    TEXT,
            rolled_back_at          TIMESTAMPTZ,
            started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
            applied_steps_count     INTEGER NOT NULL DEFAULT 0
        );
        """
    let pg: PostgresCluster
    let database: String
    let dir: URL

    static func make(_ migrations: [(String, String)]) async throws -> PrismaStack {
        let pg = try await PostgresCluster.shared()
        let database = "mig_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(database) OWNER preflight")
        var files = ["prisma/schema.prisma": "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n",
                     "prisma/migrations/migration_lock.toml": "# Please do not edit this file manually\nprovider = \"postgresql\"\n"]
        for (name, sql) in migrations { files["prisma/migrations/\(name)/migration.sql"] = sql }
        return PrismaStack(pg: pg, database: database, dir: try migrationsProject(files))
    }

    func url(_ base: String) -> String { String(base[..<base.lastIndex(of: "/")!]) + "/" + database }
    var appURL: String { url(pg.url) }

    func psql(_ args: [String]) async throws -> ProcessOutput {
        try await run("/usr/bin/psql", [url(pg.adminURL), "-X", "-q", "-v", "ON_ERROR_STOP=1"] + args, limit: 30)
    }

    /// `migrate deploy` of one migration: a failure is recorded the way Prisma records it (finished_at null, logs).
    func deploy(_ name: String) async throws {
        let file = dir.appendingPathComponent("prisma/migrations/\(name)/migration.sql").path
        let sum = String(try await run("/usr/bin/sha256sum", [file], limit: 10).stdout.prefix(64))
        if try await psql(["-tA", "-c", "SELECT to_regclass('_prisma_migrations') IS NULL"]).stdout.hasPrefix("t") {
            _ = try await psql(["-c", Self.prismaDDL])
        }
        let applied = try await psql(["-1", "-f", file])
        let logs = applied.status == 0 ? "NULL" : "'Migration name: \(name)\n\nDatabase error:\n\(applied.stderr.replacingOccurrences(of: "'", with: "''"))'"
        let finished = applied.status == 0 ? "now()" : "NULL"
        let out = try await psql(["-c", """
            INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, logs, applied_steps_count)
            VALUES (gen_random_uuid()::text, '\(sum)', '\(name)', now(), \(finished), \(logs), \(applied.status == 0 ? 1 : 0));
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO preflight;
            """])
        guard out.status == 0 else { throw FixtureError("recording \(name) failed: \(out.stderr)") }
    }

    func check() async throws -> CheckOutcome {
        var c = config(database: appURL)
        c.file = dir.appendingPathComponent("preflight.yml").path
        c.set(SchemaSettings(prisma: "prisma/schema.prisma"))
        return try await runMigrations(c)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

@Suite(.serialized) struct MigrationsCheckPrismaLive {
    let migrations = [
        ("20260101000000_init", "-- CreateTable\nCREATE TABLE \"users\" (\n    \"id\" TEXT NOT NULL,\n    CONSTRAINT \"users_pkey\" PRIMARY KEY (\"id\")\n);\n"),
        ("20260301000000_edited_at", "-- AlterTable\nALTER TABLE \"users\" ADD COLUMN     \"edited_at\" TIMESTAMP(3);\n"),
    ]

    @Test func allAppliedPasses() async throws {
        let s = try await PrismaStack.make(migrations)
        defer { s.remove() }
        for (name, _) in migrations { try await s.deploy(name) }
        let o = try await s.check()
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary == "2 Prisma migrations in prisma/migrations, all applied (last: 20260301000000_edited_at)")
        #expect(o.evidence["table"] == .string("public._prisma_migrations"))
    }

    @Test func pendingMigrationFailsNamed() async throws {
        let s = try await PrismaStack.make(migrations)
        defer { s.remove() }
        try await s.deploy("20260101000000_init")
        let o = try await s.check()
        #expect(o.status == .fail)
        #expect(o.summary == "20260301000000_edited_at is not applied (adds users.edited_at): run prisma migrate deploy")
        #expect(o.evidence["pending"] == .array(["20260301000000_edited_at"]))
    }

    @Test func failedMigrationFails() async throws {
        // The second migration adds a column the first already made: PostgreSQL refuses it halfway (42701).
        var m = migrations
        m[1].1 = "ALTER TABLE \"users\" ADD COLUMN \"note\" TEXT;\nALTER TABLE \"users\" ADD COLUMN \"id\" TEXT;\n"
        let s = try await PrismaStack.make(m)
        defer { s.remove() }
        for (name, _) in m { try await s.deploy(name) }
        let o = try await s.check()
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("20260301000000_edited_at failed (started "), "\(o.summary)")
        #expect(o.summary.contains("prisma migrate deploy refuses to apply any migration until it is resolved (P3009); its log: "))
        #expect(o.evidence["log"] == .string("psql:\(s.dir.path)/prisma/migrations/20260301000000_edited_at/migration.sql:2: ERROR:  column \"id\" of relation \"users\" already exists"), "\(o.evidence["log"] ?? .null)")
    }

    @Test func editedMigrationWarns() async throws {
        let s = try await PrismaStack.make(migrations)
        defer { s.remove() }
        for (name, _) in migrations { try await s.deploy(name) }
        let file = s.dir.appendingPathComponent("prisma/migrations/20260101000000_init/migration.sql")
        try (migrations[0].1 + "-- tidied up later\n").write(to: file, atomically: true, encoding: .utf8)
        let o = try await s.check()
        #expect(o.status == .warn)
        #expect(o.summary == "20260101000000_init was edited after it was applied (migration.sql no longer matches the checksum in public._prisma_migrations)")
        #expect(o.evidence["modified"] == .array(["20260101000000_init"]))
    }

    @Test func noTable() async throws {
        let s = try await PrismaStack.make(migrations)
        defer { s.remove() }
        let never = try await s.check()
        #expect(never.status == .fail)
        #expect(never.summary == "no public._prisma_migrations table and no tables in public: the database was never migrated (2 migrations to apply)")
        // `prisma db push`: the tables, no history.
        #expect(try await s.psql(["-c", "CREATE TABLE users (id text PRIMARY KEY)"]).status == 0)
        let pushed = try await s.check()
        #expect(pushed.status == .warn)
        #expect(pushed.summary.hasPrefix("no public._prisma_migrations table, but 1 table in public: the schema was made with prisma db push"), "\(pushed.summary)")
    }

    @Test func unreadableHistoryWarns() async throws {
        let s = try await PrismaStack.make(migrations)
        defer { s.remove() }
        try await s.deploy("20260101000000_init")
        #expect(try await s.psql(["-c", "REVOKE SELECT ON _prisma_migrations FROM preflight"]).status == 0)
        let o = try await s.check()
        #expect(o.status == .warn)
        #expect(o.summary.hasPrefix("public._prisma_migrations could not be read: ERROR:  permission denied"), "\(o.summary)")
    }
}

/// Real Alembic (PyPI, installed for /usr/bin/python3 by scripts/install-deps.sh) making and applying revisions.
@Suite(.serialized) struct MigrationsCheckAlembicLive {
    static let python = "/usr/bin/python3"
    static var available: Bool {
        (try? runProcess(python, ["-c", "import alembic, psycopg2"], limit: 30).status) == 0
    }

    struct Project {
        let dir: URL
        let env: [String: String]
        func alembic(_ args: [String]) async throws -> String {
            let out = try await run(MigrationsCheckAlembicLive.python, ["-m", "alembic"] + args, environment: env, currentDirectory: dir, limit: 60)
            guard out.status == 0 else { throw FixtureError("alembic \(args.joined(separator: " ")) failed: \(out.stderr)") }
            return out.stdout + out.stderr
        }
        /// `alembic revision`, then its upgrade() filled in; returns the new revision id.
        func revision(_ message: String, upgrade: String, extra: [String] = []) async throws -> String {
            let out = try await alembic(["revision", "-m", message] + extra)
            guard let range = out.range(of: #"versions/([0-9a-f]+)_"#, options: .regularExpression) else { throw FixtureError("no revision in: \(out)") }
            let id = String(out[range].dropFirst("versions/".count).dropLast())
            let file = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("alembic/versions").path).first { $0.hasPrefix(id) }!
            let url = dir.appendingPathComponent("alembic/versions/\(file)")
            let text = try String(contentsOf: url, encoding: .utf8)
            try text.replacingOccurrences(of: "    \"\"\"Upgrade schema.\"\"\"\n    pass", with: "    \"\"\"Upgrade schema.\"\"\"\n" + upgrade)
                .write(to: url, atomically: true, encoding: .utf8)
            return id
        }
    }

    func project() async throws -> (Project, PostgresCluster, String) {
        let pg = try await PostgresCluster.shared()
        let database = "alembic_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(database) OWNER preflight")
        let dir = try temporaryDirectory("pf-alembic")
        var env = ProcessInfo.processInfo.environment
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        let p = Project(dir: dir, env: env)
        _ = try await p.alembic(["init", "alembic"])
        // SQLAlchemy's URL for the app role (the owner of the database); preflight reads with the same role.
        let app = String(pg.url[..<pg.url.lastIndex(of: "/")!]) + "/" + database
        let ini = dir.appendingPathComponent("alembic.ini")
        let sqlalchemy = app.replacingOccurrences(of: "postgresql://", with: "postgresql+psycopg2://").replacingOccurrences(of: "%", with: "%%")
        try String(contentsOf: ini, encoding: .utf8)
            .replacingOccurrences(of: "sqlalchemy.url = driver://user:pass@localhost/dbname", with: "sqlalchemy.url = \(sqlalchemy)")
            .write(to: ini, atomically: true, encoding: .utf8)
        return (p, pg, app)
    }

    func check(_ p: Project, url: String) async throws -> CheckOutcome {
        var c = config(database: url)
        c.file = p.dir.appendingPathComponent("preflight.yml").path
        return try await runMigrations(c)
    }

    @Test func pendingThenHeadThenTwoHeads() async throws {
        guard Self.available else {
            print("MigrationsCheckAlembicLive: skipped: alembic/psycopg2 are not importable by \(Self.python) (scripts/install-deps.sh installs them)")
            return
        }
        let (p, _, url) = try await project()
        defer { try? FileManager.default.removeItem(at: p.dir) }

        let never = try await check(p, url: url)
        #expect(never.status == .skipped, "\(never.summary)")  // no revisions yet

        let base = try await p.revision("create users", upgrade: "    op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True))\n")
        let nick = try await p.revision("add nick", upgrade: "    op.add_column('users', sa.Column('nick', sa.Text()))\n")
        let none = try await check(p, url: url)
        #expect(none.status == .fail)
        #expect(none.summary.hasPrefix("no public.alembic_version table and no tables in public: the database was never migrated (2 revisions to apply)"), "\(none.summary)")

        _ = try await p.alembic(["upgrade", base])
        let pending = try await check(p, url: url)
        #expect(pending.status == .fail)
        #expect(pending.summary.hasPrefix("Alembic: revision \(nick) ("), "\(pending.summary)")
        #expect(pending.summary.hasSuffix(") is not applied (adds users.nick): run alembic upgrade head"), "\(pending.summary)")

        _ = try await p.alembic(["upgrade", "head"])
        let head = try await check(p, url: url)
        #expect(head.status == .pass, "\(head.summary)")
        #expect(head.summary == "Alembic: the database is at the head \(nick) (2 revisions in alembic/versions)")

        // A branch off the base: two heads; the new one is pending.
        let side = try await p.revision("side branch", upgrade: "    op.add_column('users', sa.Column('side', sa.Text()))\n",
                                        extra: ["--head", base, "--splice"])
        let branched = try await check(p, url: url)
        #expect(branched.status == .fail)
        #expect(branched.summary.hasPrefix("Alembic: revision \(side) ("), "\(branched.summary)")
        #expect(branched.summary.hasSuffix("run alembic upgrade heads"), "\(branched.summary)")
        #expect(branched.evidence["warnings"]?.display.contains("2 heads") == true, "\(branched.evidence)")
        // `alembic upgrade head` itself refuses, as the warning says.
        await #expect(throws: FixtureError.self) { _ = try await p.alembic(["upgrade", "head"]) }

        _ = try await p.alembic(["upgrade", "heads"])
        let both = try await check(p, url: url)
        #expect(both.status == .warn, "\(both.summary)")
        #expect(both.summary.hasPrefix("2 heads in alembic/versions ("), "\(both.summary)")
        #expect(both.summary.hasSuffix("): alembic upgrade head refuses (\"Multiple head revisions\")"))
    }
}
