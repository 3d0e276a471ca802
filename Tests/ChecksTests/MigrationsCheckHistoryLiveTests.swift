import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// The tools keyed by a history table, on the real PostgreSQL the other migrations suites use. None of these tools
/// is on this machine's apt or PyPI (Flyway and Liquibase are Java downloads, TypeORM and Sequelize npm, sqlx-cli
/// and diesel_cli crates, dotnet-ef NuGet), so each test makes the history table and its rows with the statements
/// the tool's own source issues on PostgreSQL (cited per test), runs each migration's SQL itself, and computes the
/// checksums with an independent implementation (Python's zlib for Flyway's CRC-32, coreutils' sha384sum for sqlx).
@Suite(.serialized, .tags(.live), .runsLive) struct MigrationsCheckHistoryLive {
    struct Scratch {
        let url: String
        let dir: URL
        static func make(_ prefix: String, _ files: [String: String]) async throws -> Scratch {
            let pg = try await PostgresCluster.shared()
            let name = "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
            try await pg.psql("CREATE DATABASE \(name) OWNER preflight")
            return Scratch(url: String(pg.url[..<pg.url.lastIndex(of: "/")!]) + "/" + name, dir: try migrationsProject(files))
        }
        func psql(_ sql: String) async throws {
            let out = try await run("/usr/bin/psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], limit: 30)
            guard out.status == 0 else { throw FixtureError("psql: \(out.stderr)") }
        }
        func check() async throws -> CheckOutcome {
            var c = config(database: url)
            c.file = dir.appendingPathComponent("preflight.yml").path
            return try await runMigrations(c)
        }
        func write(_ path: String, _ text: String) throws {
            try text.write(to: dir.appendingPathComponent(path), atomically: true, encoding: .utf8)
        }
        func remove() { try? FileManager.default.removeItem(at: dir) }
    }

    static let create = "CREATE TABLE messages (id bigserial PRIMARY KEY, body text NOT NULL);\n"
    static let edited = "ALTER TABLE messages ADD COLUMN edited_at timestamptz;\n"

    /// Flyway's history in the schema flyway.conf names (flyway-core's postgresql/createMetaDataTable.sql; a SCHEMA row
    /// when Flyway made the schema; one row per migration from JdbcTableSchemaHistory.doAddAppliedMigration; success =
    /// false is what a migration run outside a transaction, executeInTransaction=false, leaves when it fails).
    @Test func flyway() async throws {
        let s = try await Scratch.make("flyway", [
            "flyway.conf": "flyway.url=jdbc:postgresql://127.0.0.1/db\nflyway.schemas=app\nflyway.locations=filesystem:sql\n",
            "sql/V1__create_messages.sql": Self.create, "sql/V2__add_edited_at.sql": Self.edited,
        ])
        defer { s.remove() }
        func crc(_ file: String) async throws -> String {
            let script = "import zlib,sys; t=open(sys.argv[1],'rb').read().decode().lstrip('\\ufeff').replace('\\r','').replace('\\n','').encode(); v=zlib.crc32(t); print(v-2**32 if v>=2**31 else v)"
            return try await run("/usr/bin/python3", ["-c", script, s.dir.appendingPathComponent(file).path], limit: 10).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func applied(_ rank: Int, _ version: String, _ script: String, success: Bool = true) async throws {
            try await s.psql("""
                INSERT INTO "app"."flyway_schema_history" ("installed_rank", "version", "description", "type", "script", "checksum", "installed_by", "execution_time", "success")
                VALUES (\(rank), '\(version)', 'x', 'SQL', '\(script)', \(try await crc("sql/" + script)), 'preflight', 5, \(success))
                """)
        }
        let never = try await s.check()
        #expect(never.status == .fail)
        #expect(never.summary == "no app.flyway_schema_history table and no tables in app: the database was never migrated (2 Flyway migrations to apply)", "\(never.summary)")

        try await s.psql("""
            CREATE SCHEMA app;
            CREATE TABLE "app"."flyway_schema_history" (
                "installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL,
                "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER, "installed_by" VARCHAR(100) NOT NULL,
                "installed_on" TIMESTAMP NOT NULL DEFAULT now(), "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL);
            ALTER TABLE "app"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
            CREATE INDEX "flyway_schema_history_s_idx" ON "app"."flyway_schema_history" ("success");
            INSERT INTO "app"."flyway_schema_history" VALUES (0, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', '"app"', NULL, 'preflight', now(), 0, true);
            SET search_path TO app; \(Self.create)
            """)
        try await applied(1, "1", "V1__create_messages.sql")
        let pending = try await s.check()
        #expect(pending.status == .fail)
        #expect(pending.summary == "Flyway: V2__add_edited_at is not applied (adds messages.edited_at): run flyway migrate", "\(pending.summary)")
        #expect(pending.evidence["table"] == .string("app.flyway_schema_history"))

        try await applied(2, "2", "V2__add_edited_at.sql", success: false)
        let failed = try await s.check()
        #expect(failed.status == .fail)
        #expect(failed.summary == "Flyway: V2__add_edited_at failed (success = false in the history): flyway migrate refuses every migration (\"Validate failed: Detected failed migration to version 2\")", "\(failed.summary)")
        #expect(failed.fix?.contains("flyway repair") == true)

        // flyway repair deletes the failed row; migrate applies it again.
        try await s.psql("DELETE FROM app.flyway_schema_history WHERE success = false; SET search_path TO app; \(Self.edited)")
        try await applied(3, "2", "V2__add_edited_at.sql")
        let all = try await s.check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "Flyway: 2 migrations in sql, all applied (last: V2__add_edited_at)")

        try s.write("sql/V1__create_messages.sql", Self.create + "-- reviewed\n")
        let edited = try await s.check()
        #expect(edited.status == .warn, "\(edited.summary)")
        #expect(edited.summary.hasPrefix("V1__create_messages was edited after it was applied"), "\(edited.summary)")
        try s.write("sql/V1__create_messages.sql", Self.create.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(try await s.check().status == .pass)  // line ends do not count in Flyway's checksum

        try s.write("sql/V1_5__add_pinned.sql", "ALTER TABLE messages ADD COLUMN pinned boolean;\n")
        let early = try await s.check()
        #expect(early.status == .fail)
        #expect(early.summary == "Flyway: V1_5__add_pinned is not applied (adds messages.pinned): run flyway migrate", "\(early.summary)")
        #expect(early.fix?.contains("-outOfOrder=true") == true, "\(early.fix ?? "")")
    }

    /// sqlx's history (sqlx-postgres/src/migrate.rs: ensure_migrations_table's CREATE TABLE, execute_migration's INSERT
    /// with the SHA-384 of the file; dirty_version reads success = false, which older sqlx left for a failed migration).
    @Test func sqlx() async throws {
        let s = try await Scratch.make("sqlx", [
            "Cargo.toml": "[package]\nname = \"chat\"\n[dependencies]\nsqlx = \"0.8\"\n",
            "migrations/20260101000000_create_messages.sql": Self.create, "migrations/20260301000000_add_edited_at.sql": Self.edited,
        ])
        defer { s.remove() }
        func apply(_ version: String, _ file: String, success: Bool = true) async throws {
            let path = s.dir.appendingPathComponent("migrations/\(file)").path
            let sum = try await run("/usr/bin/sha384sum", [path], limit: 10).stdout.split(separator: " ").first.map(String.init) ?? ""
            if success { try await s.psql(try String(contentsOfFile: path, encoding: .utf8)) }
            try await s.psql("""
                INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time )
                VALUES ( \(version), 'x', \(success), decode('\(sum)', 'hex'), -1 )
                """)
        }
        try await s.psql("""
            CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
                success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);
            """)
        try await apply("20260101000000", "20260101000000_create_messages.sql")
        let pending = try await s.check()
        #expect(pending.summary == "sqlx: 20260301000000_add_edited_at is not applied (adds messages.edited_at): run sqlx migrate run", "\(pending.summary)")

        try await apply("20260301000000", "20260301000000_add_edited_at.sql", success: false)
        let dirty = try await s.check()
        #expect(dirty.status == .fail)
        #expect(dirty.summary.hasPrefix("sqlx: migration 20260301000000 (20260301000000_add_edited_at) is partially applied"), "\(dirty.summary)")

        try await s.psql("DELETE FROM _sqlx_migrations WHERE version = 20260301000000")
        try await apply("20260301000000", "20260301000000_add_edited_at.sql")
        let all = try await s.check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "sqlx: 2 migrations in migrations, all applied (last: 20260301000000_add_edited_at)")

        try s.write("migrations/20260101000000_create_messages.sql", Self.create + "-- reviewed\n")
        let edited = try await s.check()
        #expect(edited.status == .warn)
        #expect(edited.summary.hasSuffix("(\"migration 20260101000000 was previously applied but has been modified\")"), "\(edited.summary)")
    }

    /// Liquibase's tables as it makes them on PostgreSQL (liquibase-standard: CreateDatabaseChangeLogLockTableGenerator,
    /// InitializeDatabaseChangeLogLockTableGenerator, LockDatabaseChangeLogGenerator, CreateDatabaseChangeLogTableGenerator,
    /// MarkChangeSetRanGenerator; the statements `liquibase update-sql` prints), a YAML master including a formatted SQL changelog.
    @Test func liquibase() async throws {
        let s = try await Scratch.make("liquibase", [
            "liquibase.properties": "changeLogFile=db/changelog/master.yaml\n",
            "db/changelog/master.yaml": "databaseChangeLog:\n  - include:\n      file: db/changelog/changes.sql\n",
            "db/changelog/changes.sql": "--liquibase formatted sql\n\n--changeset alice:1\n\(Self.create)\n--changeset alice:2\n\(Self.edited)",
        ])
        defer { s.remove() }
        func update(_ ids: [String], order: Int, dies: Bool = false) async throws {
            try await s.psql("UPDATE public.databasechangeloglock SET LOCKED = TRUE, LOCKEDBY = 'ci-runner (10.0.0.7)', LOCKGRANTED = NOW() WHERE ID = 1 AND LOCKED = FALSE")
            for (i, id) in ids.enumerated() {
                try await s.psql(id == "1" ? Self.create : Self.edited)
                try await s.psql("""
                    INSERT INTO public.databasechangelog (ID, AUTHOR, FILENAME, DATEEXECUTED, ORDEREXECUTED, MD5SUM, DESCRIPTION, COMMENTS, EXECTYPE, CONTEXTS, LABELS, LIQUIBASE, DEPLOYMENT_ID)
                    VALUES ('\(id)', 'alice', 'db/changelog/changes.sql', NOW(), \(order + i), '9:00000000000000000000000000000000', 'sql', '', 'EXECUTED', NULL, NULL, '4.29.2', '3312345678')
                    """)
            }
            if !dies { try await s.psql("UPDATE public.databasechangeloglock SET LOCKED = FALSE, LOCKEDBY = NULL, LOCKGRANTED = NULL WHERE ID = 1") }
        }
        try await s.psql("""
            CREATE TABLE public.databasechangeloglock (ID INTEGER NOT NULL, LOCKED BOOLEAN NOT NULL, LOCKGRANTED TIMESTAMP WITHOUT TIME ZONE, LOCKEDBY VARCHAR(255), CONSTRAINT DATABASECHANGELOGLOCK_PKEY PRIMARY KEY (ID));
            DELETE FROM public.databasechangeloglock;
            INSERT INTO public.databasechangeloglock (ID, LOCKED) VALUES (1, FALSE);
            CREATE TABLE public.databasechangelog (ID VARCHAR(255) NOT NULL, AUTHOR VARCHAR(255) NOT NULL, FILENAME VARCHAR(255) NOT NULL, DATEEXECUTED TIMESTAMP WITHOUT TIME ZONE NOT NULL, ORDEREXECUTED INTEGER NOT NULL, EXECTYPE VARCHAR(10) NOT NULL, MD5SUM VARCHAR(35), DESCRIPTION VARCHAR(255), COMMENTS VARCHAR(255), TAG VARCHAR(255), LIQUIBASE VARCHAR(20), CONTEXTS VARCHAR(255), LABELS VARCHAR(255), DEPLOYMENT_ID VARCHAR(10));
            """)
        try await update(["1"], order: 1)
        let pending = try await s.check()
        #expect(pending.status == .fail)
        #expect(pending.summary == "Liquibase: 2::alice is not applied (adds messages.edited_at): run liquibase update", "\(pending.summary)")
        #expect(pending.evidence["locked"] == .bool(false))

        try await update(["2"], order: 2)
        let all = try await s.check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "Liquibase: 2 migrations in db/changelog, all applied (last: 2::alice)")

        try await update([], order: 3, dies: true)
        let locked = try await s.check()
        #expect(locked.status == .fail)
        #expect(locked.summary.hasPrefix("public.databasechangeloglock is held (since "), "\(locked.summary)")
        #expect(locked.summary.hasSuffix(" by ci-runner (10.0.0.7)): liquibase update waits for it, then refuses (\"Could not acquire change log lock\")"), "\(locked.summary)")
        #expect(locked.fix?.contains("liquibase release-locks") == true)
    }

    /// TypeORM's `migrations` table (src/migration/MigrationExecutor.ts: createMigrationsTableIfNotExist, whose Table
    /// the PostgreSQL driver writes as below; insertExecutedMigration's INSERT).
    @Test func typeORM() async throws {
        let cls = { (name: String, sql: String) in
            "import { MigrationInterface, QueryRunner } from \"typeorm\";\nexport class \(name) implements MigrationInterface {\n    public async up(queryRunner: QueryRunner): Promise<void> {\n        await queryRunner.query(`\(sql.trimmingCharacters(in: .newlines))`);\n    }\n    public async down(): Promise<void> {}\n}\n"
        }
        let s = try await Scratch.make("typeorm", [
            "ormconfig.json": "{ \"type\": \"postgres\", \"migrations\": [\"src/migration/*.ts\"] }\n",
            "src/migration/1767225600000-CreateMessages.ts": cls("CreateMessages1767225600000", Self.create),
            "src/migration/1772323200000-AddEditedAt.ts": cls("AddEditedAt1772323200000", Self.edited),
        ])
        defer { s.remove() }
        try await s.psql("CREATE TABLE \"migrations\" (\"id\" SERIAL NOT NULL, \"timestamp\" bigint NOT NULL, \"name\" character varying NOT NULL, CONSTRAINT \"PK_8c82d7f526340ab734260ea46be\" PRIMARY KEY (\"id\"))")
        try await s.psql(Self.create + "INSERT INTO \"migrations\"(\"timestamp\", \"name\") VALUES (1767225600000, 'CreateMessages1767225600000')")
        let pending = try await s.check()
        #expect(pending.summary == "TypeORM: AddEditedAt1772323200000 is not applied (adds messages.edited_at): run npx typeorm migration:run -d <your data source>", "\(pending.summary)")
        try await s.psql(Self.edited + "INSERT INTO \"migrations\"(\"timestamp\", \"name\") VALUES (1772323200000, 'AddEditedAt1772323200000')")
        let all = try await s.check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "TypeORM: 2 migrations in src/migration, all applied (last: AddEditedAt1772323200000)")
    }

    /// Sequelize's `SequelizeMeta` (umzug's SequelizeStorage model: name STRING, primaryKey, unique; Sequelize's
    /// PostgreSQL query generator writes the CREATE TABLE below; one INSERT per migration file).
    @Test func sequelize() async throws {
        let s = try await Scratch.make("sequelize", [
            ".sequelizerc": "const path = require('path');\nmodule.exports = { 'migrations-path': path.resolve('db', 'migrations') };\n",
            "db/migrations/20260101000000-create-messages.js": "module.exports = { up: (qi, S) => qi.createTable('messages', { id: { type: S.INTEGER, primaryKey: true } }) };\n",
            "db/migrations/20260301000000-add-edited-at.js": "module.exports = { up: (qi, S) => qi.addColumn('messages', 'edited_at', { type: S.DATE }) };\n",
        ])
        defer { s.remove() }
        try await s.psql("CREATE TABLE IF NOT EXISTS \"SequelizeMeta\" (\"name\" VARCHAR(255) NOT NULL UNIQUE , PRIMARY KEY (\"name\"));")
        try await s.psql(Self.create + "INSERT INTO \"SequelizeMeta\" (\"name\") VALUES ('20260101000000-create-messages.js') RETURNING \"name\";")
        let pending = try await s.check()
        #expect(pending.summary == "Sequelize: 20260301000000-add-edited-at.js is not applied (adds messages.edited_at): run npx sequelize-cli db:migrate", "\(pending.summary)")
        try await s.psql(Self.edited + "INSERT INTO \"SequelizeMeta\" (\"name\") VALUES ('20260301000000-add-edited-at.js') RETURNING \"name\";")
        let all = try await s.check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "Sequelize: 2 migrations in db/migrations, all applied (last: 20260301000000-add-edited-at.js)")
        try await s.psql("INSERT INTO \"SequelizeMeta\" (\"name\") VALUES ('20260215000000-other-branch.js')")
        let other = try await s.check()
        #expect(other.status == .warn)
        #expect(other.summary.hasPrefix("20260215000000-other-branch.js is applied but no file in db/migrations declares it"), "\(other.summary)")
    }

    /// Diesel's `__diesel_schema_migrations` (diesel_migrations/src/setup_migration_table.sql; the harness inserts the
    /// version, digits of the folder name before its first `_`, in the migration's transaction).
    @Test func diesel() async throws {
        let s = try await Scratch.make("diesel", [
            "diesel.toml": "[migrations_directory]\ndir = \"migrations\"\n",
            "migrations/2026-01-01-000000_create_messages/up.sql": Self.create, "migrations/2026-01-01-000000_create_messages/down.sql": "DROP TABLE messages;\n",
            "migrations/2026-03-01-000000_add_edited_at/up.sql": Self.edited, "migrations/2026-03-01-000000_add_edited_at/down.sql": "SELECT 1;\n",
        ])
        defer { s.remove() }
        try await s.psql("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);")
        try await s.psql("BEGIN; \(Self.create) INSERT INTO __diesel_schema_migrations (version) VALUES ('20260101000000'); COMMIT;")
        let pending = try await s.check()
        #expect(pending.summary == "Diesel: 2026-03-01-000000_add_edited_at is not applied (adds messages.edited_at): run diesel migration run", "\(pending.summary)")
        try await s.psql("BEGIN; \(Self.edited) INSERT INTO __diesel_schema_migrations (version) VALUES ('20260301000000'); COMMIT;")
        let all = try await s.check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "Diesel: 2 migrations in migrations, all applied (last: 2026-03-01-000000_add_edited_at)")
    }

    /// EF Core's `__EFMigrationsHistory` as Npgsql's provider makes it (src/EFCore.PG/Migrations/Internal/
    /// NpgsqlHistoryRepository.cs and EF Core's HistoryRepository; the statements `dotnet ef migrations script` prints).
    @Test func efCore() async throws {
        let designer = { (id: String) in "[DbContext(typeof(ChatContext))]\n[Migration(\"\(id)\")]\npartial class M\n{\n}\n" }
        let s = try await Scratch.make("efcore", [
            "Chat.csproj": "<Project Sdk=\"Microsoft.NET.Sdk.Web\"></Project>\n",
            "Migrations/20260101000000_Init.Designer.cs": designer("20260101000000_Init"),
            "Migrations/20260101000000_Init.cs": "migrationBuilder.CreateTable(\n    name: \"messages\",\n    columns: table => new { });\n",
            "Migrations/20260301000000_AddEditedAt.Designer.cs": designer("20260301000000_AddEditedAt"),
            "Migrations/20260301000000_AddEditedAt.cs": "migrationBuilder.AddColumn<DateTime>(\n    name: \"edited_at\",\n    table: \"messages\",\n    nullable: true);\n",
        ])
        defer { s.remove() }
        try await s.psql("CREATE TABLE IF NOT EXISTS \"__EFMigrationsHistory\" (\"MigrationId\" character varying(150) NOT NULL, \"ProductVersion\" character varying(32) NOT NULL, CONSTRAINT \"PK___EFMigrationsHistory\" PRIMARY KEY (\"MigrationId\"));")
        try await s.psql("START TRANSACTION; \(Self.create) INSERT INTO \"__EFMigrationsHistory\" (\"MigrationId\", \"ProductVersion\") VALUES ('20260101000000_Init', '9.0.0'); COMMIT;")
        let pending = try await s.check()
        #expect(pending.summary == "EF Core: 20260301000000_AddEditedAt is not applied (adds messages.edited_at): run dotnet ef database update", "\(pending.summary)")
        try await s.psql("START TRANSACTION; \(Self.edited) INSERT INTO \"__EFMigrationsHistory\" (\"MigrationId\", \"ProductVersion\") VALUES ('20260301000000_AddEditedAt', '9.0.0'); COMMIT;")
        let all = try await s.check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "EF Core: 2 migrations in Migrations, all applied (last: 20260301000000_AddEditedAt)")
    }
}
