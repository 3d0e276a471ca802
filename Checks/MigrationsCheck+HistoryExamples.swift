import Foundation
import PreflightCore
import PreflightProbes

// The examples' worlds for the tools keyed by a history table (MigrationsCheck+History.swift): each project
// adds messages (init) and then messages.edited_at, and the database answers with the tool's own rows.
extension MigrationsCheck {
    static let database = "database:\n  url: postgresql://chat@127.0.0.1:5432/chat"

    static func historyAnswers(_ table: String, _ rows: [[String?]], lock: (String, [[String?]])? = nil) -> ProbeAnswers {
        ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([("current_schema()", .success([["public", "t", "1"]]))]
                + (lock.map { [($0.0, .success($0.1))] } ?? []) + [(table, .success(rows))]))
        }
    }

    static let flywayInit = "CREATE TABLE messages (id bigserial PRIMARY KEY, text text NOT NULL);\n"
    static let flywayEdited = "ALTER TABLE messages ADD COLUMN edited_at timestamptz;\n"

    /// A flyway_schema_history row (version, script, checksum, success, type) of V<version>'s file as it is now.
    static func flywayRow(_ version: String, success: Bool = true, checksum: String? = nil) -> [String?] {
        let (script, sql) = version == "1" ? ("V1__create_messages.sql", flywayInit) : ("V2__add_edited_at.sql", flywayEdited)
        return [version, script, checksum ?? String(FlywayMigrations.checksum(Array(sql.utf8))), success ? "t" : "f", "SQL"]
    }

    static func flywayWorld(applied: [[String?]], extra: [String: String] = [:]) -> World {
        World(config: database, files: [
            "flyway.conf": "flyway.url=jdbc:postgresql://127.0.0.1:5432/chat\nflyway.locations=filesystem:sql\n",
            "sql/V1__create_messages.sql": flywayInit, "sql/V2__add_edited_at.sql": flywayEdited,
        ].merging(extra) { a, _ in a }, answers: historyAnswers("flyway_schema_history", applied))
    }

    static func liquibaseWorld(applied: [String], locked: Bool = false) -> World {
        World(config: database, files: [
            "liquibase.properties": "changeLogFile: db/changelog/db.changelog-master.xml\nurl: jdbc:postgresql://127.0.0.1:5432/chat\n",
            "db/changelog/db.changelog-master.xml": """
                <?xml version="1.0" encoding="UTF-8"?>
                <databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog">
                  <changeSet id="1" author="alice">
                    <createTable tableName="messages"><column name="id" type="bigint"/></createTable>
                  </changeSet>
                  <changeSet id="2" author="alice">
                    <addColumn tableName="messages"><column name="edited_at" type="timestamptz"/></addColumn>
                  </changeSet>
                </databaseChangeLog>

                """,
        ], answers: historyAnswers("databasechangelog", applied.map { k in k.components(separatedBy: "::").map { $0 } },
                                   lock: ("databasechangeloglock", [[locked ? "t" : "f", locked ? "2026-12-01 10:00:00" : nil, locked ? "ci-runner (10.0.0.7)" : nil]])))
    }

    static func typeORMWorld(applied: [String]) -> World {
        World(config: database, files: [
            "ormconfig.json": "{ \"type\": \"postgres\", \"migrations\": [\"src/migration/*.ts\"] }\n",
            "src/migration/1767225600000-CreateMessages.ts": """
                import { MigrationInterface, QueryRunner } from "typeorm";
                export class CreateMessages1767225600000 implements MigrationInterface {
                    public async up(queryRunner: QueryRunner): Promise<void> {
                        await queryRunner.query(`CREATE TABLE "messages" ("id" SERIAL NOT NULL, CONSTRAINT "PK_m" PRIMARY KEY ("id"))`);
                    }
                    public async down(queryRunner: QueryRunner): Promise<void> { await queryRunner.query(`DROP TABLE "messages"`); }
                }

                """,
            "src/migration/1772323200000-AddEditedAt.ts": """
                import { MigrationInterface, QueryRunner } from "typeorm";
                export class AddEditedAt1772323200000 implements MigrationInterface {
                    name = 'AddEditedAt1772323200000'
                    public async up(queryRunner: QueryRunner): Promise<void> {
                        await queryRunner.query(`ALTER TABLE "messages" ADD "edited_at" TIMESTAMP`);
                    }
                    public async down(queryRunner: QueryRunner): Promise<void> { await queryRunner.query(`ALTER TABLE "messages" DROP COLUMN "edited_at"`); }
                }

                """,
        ], answers: historyAnswers("migrations", applied.map { [$0] }))
    }

    static func sequelizeWorld(applied: [String]) -> World {
        World(config: database, files: [
            ".sequelizerc": "const path = require('path');\nmodule.exports = { 'migrations-path': path.resolve('migrations') };\n",
            "migrations/20260101000000-create-messages.js": "module.exports = {\n  async up(queryInterface, Sequelize) {\n    await queryInterface.createTable('Messages', { id: { type: Sequelize.INTEGER, primaryKey: true } });\n  },\n};\n",
            "migrations/20260301000000-add-edited-at.js": "module.exports = {\n  async up(queryInterface, Sequelize) {\n    await queryInterface.addColumn('Messages', 'editedAt', { type: Sequelize.DATE });\n  },\n};\n",
        ], answers: historyAnswers("SequelizeMeta", applied.map { [$0] }))
    }

    /// A _sqlx_migrations row (version, success, hex checksum) of `sql`.
    static func sqlxRow(_ version: String, _ sql: String, success: Bool = true) -> [String?] {
        [version, success ? "t" : "f", SHA384.hex(Array(sql.utf8))]
    }

    static func sqlxWorld(applied: [[String?]]) -> World {
        World(config: database, files: [
            "Cargo.toml": "[package]\nname = \"chat\"\n\n[dependencies]\nsqlx = { version = \"0.8\", features = [\"postgres\"] }\n",
            "migrations/20260101000000_init.sql": initSQL, "migrations/20260301000000_edited_at.sql": editedSQL,
        ], answers: historyAnswers("_sqlx_migrations", applied))
    }

    static func dieselWorld(applied: [String]) -> World {
        World(config: database, files: [
            "diesel.toml": "[print_schema]\nfile = \"src/schema.rs\"\n\n[migrations_directory]\ndir = \"migrations\"\n",
            "migrations/2026-01-01-000000_create_messages/up.sql": flywayInit, "migrations/2026-01-01-000000_create_messages/down.sql": "DROP TABLE messages;\n",
            "migrations/2026-03-01-000000_add_edited_at/up.sql": flywayEdited, "migrations/2026-03-01-000000_add_edited_at/down.sql": "SELECT 1;\n",
        ], answers: historyAnswers("__diesel_schema_migrations", applied.map { [$0] }))
    }

    static func efCoreWorld(applied: [String]) -> World {
        func designer(_ id: String) -> String {
            "[DbContext(typeof(ChatContext))]\n[Migration(\"\(id)\")]\npartial class \(id.split(separator: "_").last!)\n{\n}\n"
        }
        return World(config: database, files: [
            "Chat.csproj": "<Project Sdk=\"Microsoft.NET.Sdk.Web\"></Project>\n",
            "Migrations/20260101000000_Init.Designer.cs": designer("20260101000000_Init"),
            "Migrations/20260101000000_Init.cs": "migrationBuilder.CreateTable(\n    name: \"messages\",\n    columns: table => new { id = table.Column<long>(type: \"bigint\", nullable: false) });\n",
            "Migrations/20260301000000_AddEditedAt.Designer.cs": designer("20260301000000_AddEditedAt"),
            "Migrations/20260301000000_AddEditedAt.cs": "migrationBuilder.AddColumn<DateTime>(\n    name: \"edited_at\",\n    table: \"messages\",\n    type: \"timestamp with time zone\",\n    nullable: true);\n",
        ], answers: historyAnswers("__EFMigrationsHistory", applied.map { [$0] }))
    }
}
