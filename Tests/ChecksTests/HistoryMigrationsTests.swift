import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore

// The readers of the tools keyed by a history table (Readers/HistoryMigrations.swift, LiquibaseChangelog.swift,
// Digests.swift) and how the fact finds their projects (Facts/Migrations+History.swift).
@Suite struct HistoryMigrationsReaders {
    @Test func digestsMatchTheStandardVectors() {
        #expect(CRC32.update(0, Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.update(CRC32.update(0, Array("1234".utf8)), Array("56789".utf8)) == 0xCBF4_3926)
        #expect(SHA384.hex([UInt8]()) == "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b")
        #expect(SHA384.hex(Array("abc".utf8)) == "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
        // Two blocks (112 bytes and more pad into a second).
        let long = Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
        #expect(SHA384.hex(long) == "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sha384sum"), "coreutils' sha384sum"))
    func sha384AgreesWithSha384sum() async throws {
        let dir = try temporaryDirectory("pf-sha384")
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes: [UInt8] = []
        for i in 0..<1_000 { bytes.append(UInt8(truncatingIfNeeded: i &* 131 &+ 7)) }
        for n in [0, 1, 111, 112, 127, 128, 129, 1_000] {
            let url = dir.appendingPathComponent("f\(n)")
            try Data(bytes.prefix(n)).write(to: url)
            let out = try await run("/usr/bin/sha384sum", [url.path], limit: 10)
            #expect(out.stdout.split(separator: " ").first.map(String.init) == SHA384.hex(bytes.prefix(n)), "\(n) bytes")
        }
    }

    @Test func flywayChecksumIsTheCRCOfTheLinesWithoutTheirEnds() {
        // ChecksumCalculator: line ends and a leading BOM do not count; the value is Java's signed int.
        let lf = FlywayMigrations.checksum(Array("CREATE TABLE a (id int);\nSELECT 1;\n".utf8))
        #expect(lf == FlywayMigrations.checksum(Array("CREATE TABLE a (id int);\r\nSELECT 1;".utf8)))
        #expect(lf == FlywayMigrations.checksum([0xEF, 0xBB, 0xBF] + Array("CREATE TABLE a (id int);\rSELECT 1;\n\n".utf8)))
        #expect(lf == Int32(bitPattern: CRC32.update(0, Array("CREATE TABLE a (id int);SELECT 1;".utf8))))
        #expect(lf != FlywayMigrations.checksum(Array("CREATE TABLE a (id int);\nSELECT 2;\n".utf8)))
        #expect(FlywayMigrations.checksum(Array("123456789".utf8)) == Int32(bitPattern: 0xCBF4_3926))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "python3's zlib"))
    func flywayChecksumAgreesWithZlib() async throws {
        // zlib.crc32 over the text with its line ends taken out, as Java's CRC32 sees it, cast to a signed int.
        let text = "-- V1\r\nCREATE TABLE \"messages\" (id bigserial PRIMARY KEY, body text);\nINSERT INTO messages (body) VALUES ('héllo');\n"
        let script = "import zlib,sys; t=sys.argv[1].replace('\\r','').replace('\\n','').encode(); v=zlib.crc32(t); print(v-2**32 if v>=2**31 else v)"
        let out = try await run("/usr/bin/python3", ["-c", script, text], limit: 10)
        #expect(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(FlywayMigrations.checksum(Array(text.utf8))))
    }

    @Test func flywayFileNames() {
        #expect(FlywayMigrations.kind(ofFile: "V1__init.sql") == .versioned("1"))
        #expect(FlywayMigrations.kind(ofFile: "V1_1__add.sql") == .versioned("1.1"))
        #expect(FlywayMigrations.kind(ofFile: "V2.0.1__x.sql") == .versioned("2.0.1"))
        #expect(FlywayMigrations.kind(ofFile: "R__views.sql") == .repeatable)
        #expect(FlywayMigrations.kind(ofFile: "U1__undo.sql") == nil)
        #expect(FlywayMigrations.kind(ofFile: "V1_init.sql") == nil)
        #expect(FlywayMigrations.kind(ofFile: "Vx__init.sql") == nil)
        #expect(FlywayMigrations.kind(ofFile: "V1__init.txt") == nil)
        #expect(FlywayMigrations.key("001.10.0") == "1.10")
        #expect(FlywayMigrations.key("1.0") == FlywayMigrations.key("1"))
        #expect(FlywayMigrations.less("1.9", "1.10"))
        #expect(FlywayMigrations.less("2", "10"))
        #expect(!FlywayMigrations.less("1.1", "1.1"))
        #expect(FlywayMigrations.less("1", "1.0.1"))
    }

    @Test func historyComparison() {
        func m(_ id: String, _ sum: String? = nil, repeatable: Bool = false) -> HistoryMigration {
            HistoryMigration(id: id, name: id, file: id, checksum: sum, repeatable: repeatable)
        }
        let files = [m("1", "a"), m("1.1", "b"), m("2", "c"), m("R__v.sql", "r2", repeatable: true)]
        let rows = [HistoryRow(id: "1", checksum: "a"), HistoryRow(id: "1.1", checksum: "x"), HistoryRow(id: "2", succeeded: false, checksum: "c"),
                    HistoryRow(id: "R__v.sql", checksum: "r1", repeatable: true), HistoryRow(id: "3", checksum: "z")]
        let c = HistoryComparison(files: files, rows: rows, below: FlywayMigrations.less)
        #expect(c.failed == ["2"])
        #expect(c.modified.map(\.id) == ["1.1"])
        #expect(c.pending.map(\.id) == ["R__v.sql"])  // the repeatable changed since its last run
        #expect(c.unknown == ["3"])
        // A repaired and rerun migration: its last row succeeded.
        let rerun = HistoryComparison(files: [m("2", "c")], rows: [HistoryRow(id: "2", succeeded: false), HistoryRow(id: "2", checksum: "c")])
        #expect(rerun.failed.isEmpty && rerun.pending.isEmpty && rerun.applied == 1)
        // A baseline at 2 covers 1 and 2; 3 is pending.
        let based = HistoryComparison(files: [m("1"), m("2"), m("3")], rows: [HistoryRow(id: "2", baseline: true)], below: FlywayMigrations.less)
        #expect(based.pending.map(\.id) == ["3"])
        #expect(based.unknown.isEmpty)
    }

    @Test func otherToolsFileNames() {
        #expect(SqlxMigrations.version(ofFile: "20260101000000_init.sql") == "20260101000000")
        #expect(SqlxMigrations.version(ofFile: "0001_init.up.sql") == "1")
        #expect(SqlxMigrations.version(ofFile: "0001_init.down.sql") == nil)
        #expect(SqlxMigrations.version(ofFile: "99999999999999999999_x.sql") == nil)
        #expect(DieselMigrations.version(ofFolder: "2026-03-01-000000_add_edited_at") == "20260301000000")
        #expect(DieselMigrations.version(ofFolder: "00000000000000_diesel_initial_setup") == "00000000000000")
        #expect(DieselMigrations.version(ofFolder: "README.md") == nil)
        #expect(EFCoreMigrations.ids("[DbContext(typeof(C))]\n[Migration(\"20260101000000_Init\")]\npartial class Init {}") == ["20260101000000_Init"])
        #expect(TypeORMMigrations.names("export class AddX1772323200000 implements MigrationInterface {\n  async up() {}\n}") == ["AddX1772323200000"])
        #expect(TypeORMMigrations.names("export class Foo {}\nexport class Bar1772323200000 implements MigrationInterface { name = 'Renamed1772323200001'\n}") == ["Renamed1772323200001"])
        #expect(TypeORMMigrations.timestamp("AddX1772323200000") == "1772323200000")
        #expect(TypeORMMigrations.timestamp("AddX") == nil)
        #expect(TypeORMMigrations.changes("await queryRunner.query(`ALTER TABLE \"messages\" ADD \"edited_at\" TIMESTAMP`);").columns == ["messages.edited_at"])
        #expect(SequelizeMigrations.changes("await queryInterface.addColumn(\"Messages\", 'editedAt', { type: Sequelize.DATE });").columns == ["Messages.editedAt"])
        #expect(EFCoreMigrations.changes("migrationBuilder.AddColumn<DateTime>(\n name: \"edited_at\",\n table: \"messages\",\n nullable: true);").columns == ["messages.edited_at"])
        #expect(SequelizeMigrations.isMigration("20260101-x.js") && !SequelizeMigrations.isMigration("x.d.ts") && !SequelizeMigrations.isMigration("README.md"))
    }

    @Test func liquibaseChangelogs() {
        let xml = """
            <databaseChangeLog>
              <changeSet author="bob" id="1"><createTable tableName="messages"><column name="id" type="int"/></createTable></changeSet>
              <changeSet id='2' author='bob' context="test">
                <addColumn tableName="messages"><column name="edited_at" type="timestamp"/></addColumn>
              </changeSet>
              <!-- <include file="other.xml"/> -->
            </databaseChangeLog>
            """
        let x = LiquibaseChangelog.changeSets(xml, file: "master.xml")
        #expect(x.map(\.key) == ["1::bob", "2::bob"])
        #expect(x[0].changes.tables == ["messages"])
        #expect(x[1].changes.columns == ["messages.edited_at"])
        let yaml = """
            databaseChangeLog:
              - changeSet:
                  id: create-messages
                  author: alice
                  changes:
                    - createTable:
                        tableName: messages
              - changeSet:
                  author: "alice"
                  id: "2"
            """
        #expect(LiquibaseChangelog.changeSets(yaml, file: "master.yaml").map(\.key) == ["create-messages::alice", "2::alice"])
        let json = "{\"databaseChangeLog\": [{\"changeSet\": {\"id\": \"1\", \"author\": \"carol\", \"changes\": []}}]}"
        #expect(LiquibaseChangelog.changeSets(json, file: "master.json").map(\.key) == ["1::carol"])
        let sql = "--liquibase formatted sql\n\n--changeset dave:1\nCREATE TABLE messages (id int);\n--rollback DROP TABLE messages;\n\n--changeset dave:2 runOnChange:true\nALTER TABLE messages ADD COLUMN edited_at timestamptz;\n"
        let s = LiquibaseChangelog.changeSets(sql, file: "changes.sql")
        #expect(s.map(\.key) == ["1::dave", "2::dave"])
        #expect(s[1].changes.columns == ["messages.edited_at"])
        // A plain SQL file is not a formatted changelog.
        #expect(LiquibaseChangelog.changeSets("--changeset dave:1\nSELECT 1;\n", file: "plain.sql").isEmpty)
    }

    @Test func foundNextToTheConfig() throws {
        func derive(_ files: [String: String], tool: String? = nil) throws -> ProjectMigrations {
            let dir = try migrationsProject(files.merging(["preflight.yml": ""]) { a, _ in a })
            defer { try? FileManager.default.removeItem(at: dir) }
            var c = config(database: "postgresql://u:p@127.0.0.1:1/db")
            c.file = dir.appendingPathComponent("preflight.yml").path
            if let tool { c.set(MigrationSettings(path: nil, tool: tool)) }
            return ProjectMigrations.derive(from: c)
        }
        let flyway = try derive(["flyway.conf": "flyway.locations=filesystem:db/sql\nflyway.schemas=app,audit\nflyway.table=history\n",
                                 "db/sql/V1__a.sql": "SELECT 1;", "db/sql/sub/V1_1__b.sql": "SELECT 2;", "db/sql/R__c.sql": "SELECT 3;"])
        #expect(flyway.tool == .flyway)
        #expect(flyway.schema == "app")
        #expect(flyway.table == "history")
        #expect(flyway.history?.map(\.name) == ["V1__a", "V1_1__b", "R__c"])
        let spring = try derive(["src/main/resources/db/migration/V1__a.sql": "SELECT 1;"])
        #expect(spring.tool == .flyway && spring.folder == "src/main/resources/db/migration")
        let badConf = try derive(["flyway.conf": "flyway.locations=filesystem:nowhere\n"])
        #expect(badConf.tool == .flyway && badConf.problem != nil)
        let liquibase = try derive(["liquibase.properties": "changeLogFile=db/master.yaml\ndefaultSchemaName=app\n",
                                    "db/master.yaml": "databaseChangeLog:\n  - include:\n      file: db/more.sql\n",
                                    "db/more.sql": "--liquibase formatted sql\n--changeset a:1\nSELECT 1;\n"])
        #expect(liquibase.tool == .liquibase && liquibase.schema == "app")
        #expect(liquibase.history?.map(\.id) == ["1::a"])
        let typeorm = try derive(["ormconfig.yml": "type: postgres\nmigrations:\n  - db/migrations/*.ts\n",
                                  "db/migrations/1-A.ts": "export class A1772323200000 implements MigrationInterface {}\n"])
        #expect(typeorm.tool == .typeorm && typeorm.folder == "db/migrations" && typeorm.history?.map(\.id) == ["A1772323200000"])
        let diesel = try derive(["diesel.toml": "[migrations_directory]\ndir = \"db/migrations\"\n", "db/migrations/2026-01-01-000000_a/up.sql": "SELECT 1;"])
        #expect(diesel.tool == .diesel && diesel.history?.map(\.id) == ["20260101000000"])
        // sqlx's reversible files look like golang-migrate's: .sqlx says whose they are.
        let sqlx = try derive([".sqlx/query-x.json": "{}", "migrations/20260101000000_a.up.sql": "SELECT 1;", "migrations/20260101000000_a.down.sql": "SELECT 1;"])
        #expect(sqlx.tool == .sqlx && sqlx.history?.map(\.id) == ["20260101000000"])
        // Names the tool would stop at are kept to be said; a file without `_` sqlx ignores itself.
        let refused = try derive(["Cargo.toml": "sqlx = \"0.8\"", "migrations/1_a.sql": "SELECT 1;", "migrations/first_b.sql": "SELECT 1;", "migrations/notes.sql": ""])
        #expect(refused.refused == ["migrations/first_b.sql"])
        let badFlyway = try derive(["flyway.conf": "flyway.locations=filesystem:sql\n", "sql/V1__a.sql": "SELECT 1;", "sql/V1.x__b.sql": "SELECT 1;", "sql/README.sql": ""])
        #expect(badFlyway.refused == ["sql/V1.x__b.sql"])
        let golang = try derive(["migrations/000001_a.up.sql": "SELECT 1;"])
        #expect(golang.tool == .golangMigrate)
        let sequelize = try derive([".sequelizerc": "module.exports = { 'migrations-path': path.resolve('db', 'migrate') };\n", "db/migrate/1-a.js": "x"])
        #expect(sequelize.tool == .sequelize && sequelize.folder == "db/migrate")
        let cli = try derive(["config/config.json": "{}", "models/index.js": "", "migrations/1-a.js": ""])
        #expect(cli.tool == .sequelize)
        let knex = try derive(["knexfile.js": "module.exports = { development: { client: 'pg', migrations: { directory: './db/knex' } } };\n",
                               "db/knex/20260101000000_a.js": "exports.up = () => {};\n"])
        #expect(knex.tool == .knex && knex.folder == "db/knex" && knex.knex == ["20260101000000_a.js"])
        let ef = try derive(["App.csproj": "<Project/>", "Migrations/1_A.Designer.cs": "[Migration(\"1_A\")]"])
        #expect(ef.tool == .efCore && ef.history?.map(\.id) == ["1_A"])
        // migrations.path with migrations.tool.
        let dir = try migrationsProject(["preflight.yml": "", "db/x/V3__c.sql": "SELECT 1;"])
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = config(database: "postgresql://u:p@127.0.0.1:1/db")
        c.file = dir.appendingPathComponent("preflight.yml").path
        c.set(MigrationSettings(path: "db/x"))
        #expect(ProjectMigrations.derive(from: c).tool == .flyway)
        c.set(MigrationSettings(path: "db/x", tool: "sqlx"))
        #expect(ProjectMigrations.derive(from: c).tool == .sqlx)
    }
}

@Suite struct HistoryMigrationsHostileFiles {
    /// Files made to be slow (tags never closed, calls never ended, classes without bodies) are read, each
    /// changeSet, call or class once; the fuzz run (Fuzz/FuzzMigration*) holds every reader to its 10 s timeout.
    @Test func repeatedOpenersAreReadOnce() {
        let tags = String(repeating: "<changeSet id=\"1\" author=\"a\">", count: 20_000)
        #expect(LiquibaseChangelog.changeSets(tags, file: "m.xml").count == 20_000)
        let calls = String(repeating: "query(`", count: 50_000)
        #expect(CodeCalls.calls(calls, named: "query").count < 50)  // each unterminated call is read 20,000 characters at most
        let classes = String(repeating: "class X implements MigrationInterface ", count: 20_000)
        #expect(TypeORMMigrations.names(classes) == ["X"])
    }
}
