import Foundation
import PreflightCore
import PreflightProbes

// The tools that key each applied migration by an id in a history table: Flyway, Liquibase, TypeORM, Sequelize,
// sqlx, Diesel, EF Core. One comparison (Readers/HistoryMigrations.swift), each tool's table, its notion of
// failed or locked, and its own commands here.
extension MigrationsCheck {
    /// What preflight needs to know of one tool's history table.
    struct HistorySpec {
        let label: String
        let table: String
        /// The columns read, in the order `row` takes them, and the ORDER BY.
        let columns: String
        let order: String
        let row: ([String?]) -> HistoryRow?
        /// The command that applies pending migrations.
        let apply: String
        /// The sentence after "<name> failed" / the fix, for tools with a failed state.
        var failed: ((_ name: String, _ id: String) -> (sentence: String, fix: String))? = nil
        /// The sentence for an applied migration whose file changed.
        var modified: ((_ m: HistoryMigration, _ table: String) -> (sentence: String, fix: String))? = nil
        /// What the tool says of an applied migration no file declares ("" when it says nothing).
        var unknownRefusal = ""
        /// A lock table: its SQL, whether a row means held, the sentence and the fix.
        var lock: (table: String, columns: String, held: ([String?]) -> String?, fix: String)? = nil
        /// Flyway: versions compare as numbers, a baseline covers those below it.
        var below: ((String, String) -> Bool)? = nil
    }

    static func spec(_ tool: ProjectMigrations.Tool, project: ProjectMigrations) -> HistorySpec? {
        switch tool {
        case .flyway:
            // flyway-core's createMetaDataTable.sql for PostgreSQL: installed_rank, version, description, type,
            // script, checksum, installed_by, installed_on, execution_time, success. SCHEMA rows record the schema
            // Flyway created; BASELINE rows cover every version up to theirs; DELETE rows (repair) are not migrations.
            return HistorySpec(
                label: "Flyway", table: project.table ?? "flyway_schema_history", columns: "version, script, checksum, success, type",
                order: "installed_rank",
                row: { r in
                    guard r.count == 5, let type = r[4], type != "SCHEMA", type != "DELETE" else { return nil }
                    let success = r[3] == "t"
                    if let v = r[0], let key = FlywayMigrations.key(v) {
                        return HistoryRow(id: key, succeeded: success, checksum: r[2], baseline: type.hasSuffix("BASELINE"))
                    }
                    guard r[0] == nil, let script = r[1] else { return nil }
                    return HistoryRow(id: (script as NSString).lastPathComponent, succeeded: success, checksum: r[2], repeatable: true)
                },
                apply: "flyway migrate",
                failed: { name, id in
                    ("Flyway: \(name) failed (success = false in the history): flyway migrate refuses every migration (\"Validate failed: Detected failed migration to version \(id)\")",
                     "undo what \(name) did partway, then flyway repair (it removes the failed row) and flyway migrate")
                },
                modified: { m, table in
                    ("\(m.name) was edited after it was applied (its checksum \(m.checksum ?? "?") is not the one in \(table)): flyway migrate refuses (\"Migration checksum mismatch for migration version \(m.id)\")",
                     "restore \(m.file) as it was applied (git log -p) and put the change in a new migration, or flyway repair to accept the file as it is")
                },
                unknownRefusal: ": flyway migrate refuses (\"Detected applied migration not resolved locally\")",
                below: FlywayMigrations.less)
        case .sqlx:
            // sqlx-postgres/src/migrate.rs: `_sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT, installed_on
            // TIMESTAMPTZ, success BOOLEAN, checksum BYTEA, execution_time BIGINT)`; `dirty_version` is the first row
            // with success = false.
            return HistorySpec(
                label: "sqlx", table: "_sqlx_migrations", columns: "version, success, encode(checksum, 'hex')", order: "version",
                row: { r in
                    guard r.count == 3, let v = r[0] else { return nil }
                    return HistoryRow(id: v, succeeded: r[1] == "t", checksum: r[2])
                },
                apply: "sqlx migrate run",
                failed: { name, id in
                    ("sqlx: migration \(id) (\(name)) is partially applied (success = false): sqlx migrate run refuses every migration (\"migration \(id) is partially applied; fix and remove row from `_sqlx_migrations` table\")",
                     "undo what \(name) did partway, remove its row from _sqlx_migrations (version \(id)), then sqlx migrate run")
                },
                modified: { m, _ in
                    ("\(m.name) was edited after it was applied (its SHA-384 is not the checksum in _sqlx_migrations): sqlx migrate run refuses (\"migration \(m.id) was previously applied but has been modified\")",
                     "restore \(m.file) as it was applied (git log -p) and put the change in a new migration")
                },
                unknownRefusal: ": sqlx migrate run refuses (\"was previously applied but is missing in the resolved migrations\")")
        case .diesel:
            // diesel_migrations/src/setup_migration_table.sql: `__diesel_schema_migrations (version VARCHAR(50)
            // PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`; each migration runs in a
            // transaction with its row, so a failed one leaves none.
            return HistorySpec(label: "Diesel", table: "__diesel_schema_migrations", columns: "version", order: "version",
                               row: { r in r.first.flatMap { $0 }.map { HistoryRow(id: $0) } }, apply: "diesel migration run")
        case .efCore:
            // EF Core's HistoryRepository (Npgsql): `"__EFMigrationsHistory" ("MigrationId" varchar(150) PRIMARY KEY,
            // "ProductVersion" varchar(32))`; a migration and its row commit together.
            return HistorySpec(label: "EF Core", table: "__EFMigrationsHistory", columns: "\"MigrationId\"", order: "\"MigrationId\"",
                               row: { r in r.first.flatMap { $0 }.map { HistoryRow(id: $0) } }, apply: "dotnet ef database update")
        case .typeorm:
            // typeorm src/migration/MigrationExecutor.ts, createMigrationsTableIfNotExist: `migrations (id serial
            // PRIMARY KEY, timestamp bigint NOT NULL, name varchar NOT NULL)`; pending = files whose name it lacks.
            return HistorySpec(label: "TypeORM", table: "migrations", columns: "name", order: "id",
                               row: { r in r.first.flatMap { $0 }.map { HistoryRow(id: $0) } },
                               apply: "npx typeorm migration:run -d <your data source>")
        case .sequelize:
            // umzug's SequelizeStorage: `"SequelizeMeta" (name VARCHAR(255) NOT NULL UNIQUE PRIMARY KEY)`, one row per file.
            return HistorySpec(label: "Sequelize", table: "SequelizeMeta", columns: "name", order: "name",
                               row: { r in r.first.flatMap { $0 }.map { HistoryRow(id: $0) } }, apply: "npx sequelize-cli db:migrate")
        case .liquibase:
            // liquibase-standard's CreateDatabaseChangeLogTableGenerator / CreateDatabaseChangeLogLockTableGenerator:
            // databasechangelog (id, author, filename, dateexecuted, orderexecuted, exectype, md5sum, …) and
            // databasechangeloglock (id, locked, lockgranted, lockedby), both unquoted (lower case on PostgreSQL).
            return HistorySpec(
                label: "Liquibase", table: "databasechangelog", columns: "id, author", order: "orderexecuted, dateexecuted",
                row: { r in
                    guard r.count == 2, let id = r[0], let author = r[1] else { return nil }
                    return HistoryRow(id: "\(id)::\(author)")
                },
                apply: "liquibase update",
                lock: (table: "databasechangeloglock", columns: "locked, lockgranted, lockedby",
                       held: { r in
                           guard r.count == 3, r[0] == "t" else { return nil }
                           return [r[1].map { "since \($0)" }, r[2].map { "by \($0)" }].compactMap { $0 }.joined(separator: " ")
                       },
                       fix: "make sure no liquibase update is running, then liquibase release-locks and liquibase update"))
        default: return nil
        }
    }

    func history(_ project: ProjectMigrations, session: any PostgresSession, schema: String?, timeout: Duration) async -> CheckOutcome {
        guard let tool = project.tool, let spec = Self.spec(tool, project: project) else { return .skipped("no migrations found") }
        let files = project.history ?? []
        let display = project.folder ?? "migrations"
        guard !files.isEmpty else { return .skipped("no \(spec.label) migrations in \(display)") }
        var evidence = Evidence([("tool", .string(spec.label)), ("folder", .string(display)), ("migrations", .int(files.count))])
        let info: TableInfo, table: String
        switch await Self.historyTable(spec.table, schema: schema, session: session, timeout: timeout, evidence: &evidence) {
        case .unreadable(let warning): return warning
        case .found(let i, let t): (info, table) = (i, t)
        }
        let qualified = "\(Self.identifier(info.schema)).\(Self.identifier(spec.table))"
        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            if info.otherTables > 0 {
                return .warn("no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made without \(spec.label); its history says nothing",
                             evidence: evidence, fix: "the schema check compares the tables themselves; check that database.url (and its schema) is the database \(spec.label) migrates")
            }
            evidence["pending"] = .array(files.map { .string($0.name) })
            let added = Self.adds(files.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated (\(files.count) \(spec.label) migration\(files.count == 1 ? "" : "s") to apply)",
                         evidence: evidence, fix: "run \(spec.apply) against this database")
        }
        let rows: [HistoryRow]
        switch await session.query("SELECT \(spec.columns) FROM \(qualified) ORDER BY \(spec.order) LIMIT \(Self.maxRows)", timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence, fix: "grant the role of database.url SELECT on \(table)")
        case .success(let r): rows = r.compactMap(spec.row)
        }
        let history = HistoryComparison(files: files, rows: rows, below: spec.below)
        evidence["applied"] = .int(history.applied)
        var findings: [Finding] = []
        if let lock = spec.lock,
           case .success(let r) = await session.query("SELECT \(lock.columns) FROM \(Self.identifier(info.schema)).\(Self.identifier(lock.table)) LIMIT 1", timeout: timeout),
           let row = r.first {
            let held = lock.held(row)
            evidence["locked"] = .bool(held != nil)
            if let held {
                findings.append(Finding(.fail, "\(info.schema).\(lock.table) is held\(held.isEmpty ? "" : " (\(held))"): \(spec.apply) waits for it, then refuses (\"Could not acquire change log lock\")",
                                        fix: lock.fix))
            }
        }
        let byID = Dictionary(files.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        if let failed = history.failed.first, let say = spec.failed {
            evidence["failed"] = .array(history.failed.map { .string($0) })
            let name = byID[failed]?.name ?? failed
            let (sentence, fix) = say(name, failed)
            findings.insert(Finding(.fail, sentence, fix: fix, location: byID[failed].map { SourceLocation(file: $0.file) }), at: 0)
        }
        let unapplied = history.failed.compactMap { byID[$0] } + history.pending
        let added = Self.adds(unapplied.map(\.changes))
        if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
        if !history.pending.isEmpty {
            let p = history.pending
            evidence["pending"] = .array(p.map { .string($0.name) })
            let what = p.count == 1 ? "\(p[0].name) is not applied" : "\(p.count) migrations are not applied, in order: \(Self.list(p.map(\.name)))"
            var fix = "run \(spec.apply) against this database, then restart the service"
            if let below = spec.below, let top = rows.filter({ $0.succeeded && !$0.repeatable }).map(\.id).max(by: below),
               let early = p.first(where: { !$0.repeatable && below($0.id, top) }) {
                fix = "\(early.name) is below the applied version \(top): run flyway migrate -outOfOrder=true (plain flyway migrate refuses, \"Detected resolved migration not applied to database\"), then restart the service"
            }
            findings.insert(Finding(.fail, "\(spec.label): \(what)\(Self.addsNote(added)): run \(spec.apply)", fix: fix,
                                    location: SourceLocation(file: p[0].file)), at: history.failed.isEmpty || spec.failed == nil ? 0 : 1)
        }
        for m in history.modified {
            evidence["modified"] = .array(history.modified.map { .string($0.name) })
            if let say = spec.modified {
                let (sentence, fix) = say(m, table)
                findings.append(Finding(.warn, sentence, fix: fix, location: SourceLocation(file: m.file)))
            }
        }
        if !history.unknown.isEmpty {
            let n = history.unknown
            evidence["unknown"] = .array(n.map { .string($0) })
            findings.append(Finding(.warn, "\(Self.list(n)) \(n.count == 1 ? "is" : "are") applied but no file in \(display) declares \(n.count == 1 ? "it" : "them") (another branch's migration\(n.count == 1 ? "" : "s")?)\(spec.unknownRefusal)",
                                    fix: "check out the branch the test database was migrated from, or recreate the test database"))
        }
        if !project.refused.isEmpty {
            let r = project.refused
            evidence["refused"] = .array(r.map { .string($0) })
            let why = tool == .flyway ? "flyway migrate stops at it (\"Invalid version\")" : "sqlx migrate run stops at it (\"expected integer version prefix\")"
            findings.append(Finding(.warn, "\(Self.list(r)) \(r.count == 1 ? "is named" : "are named") like a \(spec.label) migration but \(r.count == 1 ? "its version is" : "their versions are") not one \(spec.label) reads: \(why)",
                                    fix: tool == .flyway ? "name it V<digits and dots or _>__<description>.sql (or R__<description>.sql)" : "name it <integer version>_<description>.sql",
                                    location: SourceLocation(file: r[0])))
        }
        let pass = "\(spec.label): \(files.count) migration\(files.count == 1 ? "" : "s") in \(display), all applied (last: \(files.last!.name))"
        if findings.isEmpty { return .pass(pass, evidence: evidence) }
        if findings.allSatisfy({ $0.severity != .fail }) { return Self.finish(.pass(pass, evidence: evidence), warnings: findings) }
        return CheckOutcome(findings: findings, evidence: evidence)
    }
}
