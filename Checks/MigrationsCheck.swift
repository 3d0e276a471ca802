import Foundation
import PreflightCore
import PreflightProbes

/// Are the project's migrations applied to the test database, and did one fail? Reads the history the
/// migration tool keeps in the database (Prisma's `_prisma_migrations`, Alembic's `alembic_version`, Django's
/// `django_migrations`, ActiveRecord's and golang-migrate's `schema_migrations`, Knex's `knex_migrations`) in a read-only session and
/// compares it with the migration files (the `ProjectMigrations` fact); it runs no migration tool and writes
/// nothing. Django, Rails, golang-migrate and Knex live in MigrationsCheck+<Tool>.swift.
///
/// A missing table or column is the schema check's finding; when a migration in the project adds it, the
/// schema check names this check as its suspect, and the report shows the schema failure as a consequence of
/// this one when this one failed (a pending or failed migration).
public struct MigrationsCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "migrations", title: "Migrations applied", layer: .schema, prerequisites: ["database"],
        examples: [
            CheckExample(.pass, given: Self.prismaWorld(history: [Self.applied(Self.initName, Self.initSQL), Self.applied(Self.editedName, Self.editedSQL)]),
                         says: "2 Prisma migrations in prisma/migrations, all applied (last: 20260301000000_edited_at)"),
            CheckExample(.pass, given: Self.alembicWorld(at: ["3f2a9c1d"]), says: "Alembic: the database is at the head 3f2a9c1d (2 revisions in alembic/versions)"),
            CheckExample(.fail, given: Self.prismaWorld(history: [Self.applied(Self.initName, Self.initSQL)]),
                         says: "20260301000000_edited_at is not applied (adds messages.edited_at): run prisma migrate deploy"),
            CheckExample(.fail, given: Self.prismaWorld(history: [Self.applied(Self.initName, Self.initSQL),
                                                                 [Self.editedName, SHA256.hex(Array(Self.editedSQL.utf8)), "2026-12-01 10:00:00+00", nil, nil,
                                                                  "Database error code: 42701\n\nDatabase error:\nERROR: column \"edited_at\" already exists", "0"]]),
                         says: "20260301000000_edited_at failed (started 2026-12-01 10:00:00+00): prisma migrate deploy refuses to apply any migration until it is resolved (P3009)"),
            CheckExample(.fail, given: Self.prismaWorld(history: nil, otherTables: 0),
                         says: "no public._prisma_migrations table and no tables in public: the database was never migrated (2 migrations to apply)"),
            CheckExample(.fail, given: Self.alembicWorld(at: ["a1b2c3d4"]),
                         says: "Alembic: revision 3f2a9c1d (3f2a9c1d_edited_at.py) is not applied: run alembic upgrade head"),
            CheckExample(.warn, given: Self.prismaWorld(history: [Self.applied(Self.initName, Self.initSQL + "-- edited\n"), Self.applied(Self.editedName, Self.editedSQL)]),
                         says: "20260101000000_init was edited after it was applied (migration.sql no longer matches the checksum in public._prisma_migrations)"),
            CheckExample(.warn, given: Self.prismaWorld(history: [Self.applied(Self.initName, Self.initSQL), Self.applied(Self.editedName, Self.editedSQL),
                                                                 Self.applied("20260215000000_other", "SELECT 1;")]),
                         says: "20260215000000_other is applied but not in prisma/migrations (another branch's migration?)"),
            CheckExample(.warn, given: Self.prismaWorld(history: nil, otherTables: 4),
                         says: "no public._prisma_migrations table, but 4 tables in public: the schema was made with prisma db push"),
            CheckExample(.warn, given: Self.prismaWorld(history: [Self.applied(Self.initName, Self.initSQL), Self.applied(Self.editedName, Self.editedSQL)], provider: "mysql"),
                         says: "prisma/migrations/migration_lock.toml says provider = \"mysql\", the database is PostgreSQL"),
            CheckExample(.warn, given: Self.alembicWorld(at: ["3f2a9c1d", "b7e1f00d"], secondHead: true),
                         says: "2 heads in alembic/versions (3f2a9c1d, b7e1f00d): alembic upgrade head refuses (\"Multiple head revisions\")"),
            CheckExample(.pass, given: Self.djangoWorld(applied: ["0001_initial", "0002_message_edited_at"]),
                         says: "Django: 2 migrations in 1 app (chat), all applied (last: chat.0002_message_edited_at)"),
            CheckExample(.fail, given: Self.djangoWorld(applied: ["0001_initial"]),
                         says: "chat.0002_message_edited_at is not applied (adds chat_message.edited_at): run python manage.py migrate"),
            CheckExample(.fail, given: Self.djangoWorld(applied: nil),
                         says: "no public.django_migrations table and no tables in public: the database was never migrated (2 Django migrations to apply)"),
            CheckExample(.warn, given: Self.djangoWorld(applied: ["0001_initial", "0002_message_edited_at", "0002_message_pinned"], conflicting: true),
                         says: "2 leaf migrations in chat (0002_message_edited_at, 0002_message_pinned): python manage.py migrate refuses (\"Conflicting migrations detected\")"),
            CheckExample(.warn, given: Self.djangoWorld(applied: ["0001_initial", "0002_message_edited_at", "0003_other_branch"]),
                         says: "chat.0003_other_branch is applied but no migration file declares it (another branch's migration?)"),
            // A module without a Migration class in migrations/: Django's loader stops at it; preflight says so.
            CheckExample(.warn, given: Self.djangoWorld(applied: ["0001_initial", "0002_message_edited_at"], helperModule: true),
                         says: "chat/migrations/0003_helpers.py has no Migration class: python manage.py migrate stops at it"),
            CheckExample(.pass, given: Self.railsWorld(applied: ["20260101000000", "20260301000000"]),
                         says: "Rails: 2 ActiveRecord migrations in db/migrate, all applied (last: 20260301000000_add_edited_at_to_messages)"),
            CheckExample(.fail, given: Self.railsWorld(applied: ["20260101000000"]),
                         says: "20260301000000_add_edited_at_to_messages is not applied (adds messages.edited_at): run bin/rails db:migrate"),
            CheckExample(.warn, given: Self.railsWorld(applied: ["20260101000000", "20260301000000", "20260215000000"]),
                         says: "20260215000000 is applied but not in db/migrate (another branch's migration?)"),
            CheckExample(.pass, given: Self.golangWorld(version: "2", dirty: false),
                         says: "golang-migrate: the database is at version 2, the last of 2 in migrations, not dirty"),
            CheckExample(.fail, given: Self.golangWorld(version: "1", dirty: false),
                         says: "golang-migrate: 000002_edited_at is not applied (adds messages.edited_at), the database is at version 1: run migrate up"),
            CheckExample(.fail, given: Self.golangWorld(version: "2", dirty: true),
                         says: "golang-migrate: version 2 is dirty (000002_edited_at.up.sql failed partway): migrate up refuses every migration (\"Dirty database version 2. Fix and force version.\")"),
            CheckExample(.warn, given: Self.golangWorld(version: "3", dirty: false),
                         says: "the database is at version 3, which no file in migrations declares (another branch's migration?)"),
            CheckExample(.pass, given: Self.knexWorld(applied: ["20260101000000_create_messages.js", "20260301000000_add_edited_at.js"]),
                         says: "Knex: 2 migrations in migrations, all applied (last: 20260301000000_add_edited_at.js)"),
            CheckExample(.fail, given: Self.knexWorld(applied: ["20260101000000_create_messages.js"]),
                         says: "20260301000000_add_edited_at.js is not applied: run npx knex migrate:latest"),
            CheckExample(.fail, given: Self.knexWorld(applied: ["20260101000000_create_messages.js", "20260301000000_add_edited_at.js"], locked: true),
                         says: "public.knex_migrations_lock is held (is_locked = 1): knex migrate:latest refuses every migration (\"Migration table is already locked\")"),
            CheckExample(.warn, given: Self.knexWorld(applied: ["20260101000000_create_messages.js", "20260301000000_add_edited_at.js", "20260215000000_other.js"]),
                         says: "20260215000000_other.js is applied but not in migrations (another branch's migration?)"),
            CheckExample(.pass, given: Self.flywayWorld(applied: [Self.flywayRow("1"), Self.flywayRow("2")]),
                         says: "Flyway: 2 migrations in sql, all applied (last: V2__add_edited_at)"),
            CheckExample(.fail, given: Self.flywayWorld(applied: [Self.flywayRow("1")]),
                         says: "Flyway: V2__add_edited_at is not applied (adds messages.edited_at): run flyway migrate"),
            CheckExample(.fail, given: Self.flywayWorld(applied: [Self.flywayRow("1"), Self.flywayRow("2", success: false)]),
                         says: "Flyway: V2__add_edited_at failed (success = false in the history): flyway migrate refuses every migration (\"Validate failed: Detected failed migration to version 2\")"),
            CheckExample(.warn, given: Self.flywayWorld(applied: [Self.flywayRow("1", checksum: "123"), Self.flywayRow("2")]),
                         says: "flyway migrate refuses (\"Migration checksum mismatch for migration version 1\")"),
            CheckExample(.warn, given: Self.flywayWorld(applied: [Self.flywayRow("1"), Self.flywayRow("2")], extra: ["sql/V3a__pinned.sql": "SELECT 1;\n"]),
                         says: "sql/V3a__pinned.sql is named like a Flyway migration but its version is not one Flyway reads: flyway migrate stops at it (\"Invalid version\")"),
            CheckExample(.pass, given: Self.liquibaseWorld(applied: ["1::alice", "2::alice"]),
                         says: "Liquibase: 2 migrations in db/changelog, all applied (last: 2::alice)"),
            CheckExample(.fail, given: Self.liquibaseWorld(applied: ["1::alice"]),
                         says: "Liquibase: 2::alice is not applied (adds messages.edited_at): run liquibase update"),
            CheckExample(.fail, given: Self.liquibaseWorld(applied: ["1::alice", "2::alice"], locked: true),
                         says: "public.databasechangeloglock is held (since 2026-12-01 10:00:00 by ci-runner (10.0.0.7)): liquibase update waits for it, then refuses (\"Could not acquire change log lock\")"),
            CheckExample(.pass, given: Self.typeORMWorld(applied: ["CreateMessages1767225600000", "AddEditedAt1772323200000"]),
                         says: "TypeORM: 2 migrations in src/migration, all applied (last: AddEditedAt1772323200000)"),
            CheckExample(.fail, given: Self.typeORMWorld(applied: ["CreateMessages1767225600000"]),
                         says: "TypeORM: AddEditedAt1772323200000 is not applied (adds messages.edited_at): run npx typeorm migration:run"),
            CheckExample(.pass, given: Self.sequelizeWorld(applied: ["20260101000000-create-messages.js", "20260301000000-add-edited-at.js"]),
                         says: "Sequelize: 2 migrations in migrations, all applied (last: 20260301000000-add-edited-at.js)"),
            CheckExample(.fail, given: Self.sequelizeWorld(applied: ["20260101000000-create-messages.js"]),
                         says: "Sequelize: 20260301000000-add-edited-at.js is not applied (adds Messages.editedAt): run npx sequelize-cli db:migrate"),
            CheckExample(.pass, given: Self.sqlxWorld(applied: [Self.sqlxRow("20260101000000", Self.initSQL), Self.sqlxRow("20260301000000", Self.editedSQL)]),
                         says: "sqlx: 2 migrations in migrations, all applied (last: 20260301000000_edited_at)"),
            CheckExample(.fail, given: Self.sqlxWorld(applied: [Self.sqlxRow("20260101000000", Self.initSQL)]),
                         says: "sqlx: 20260301000000_edited_at is not applied (adds messages.edited_at): run sqlx migrate run"),
            CheckExample(.fail, given: Self.sqlxWorld(applied: [Self.sqlxRow("20260101000000", Self.initSQL), Self.sqlxRow("20260301000000", Self.editedSQL, success: false)]),
                         says: "sqlx migrate run refuses every migration (\"migration 20260301000000 is partially applied; fix and remove row from `_sqlx_migrations` table\")"),
            CheckExample(.warn, given: Self.sqlxWorld(applied: [Self.sqlxRow("20260101000000", Self.initSQL + "-- edited\n"), Self.sqlxRow("20260301000000", Self.editedSQL)]),
                         says: "sqlx migrate run refuses (\"migration 20260101000000 was previously applied but has been modified\")"),
            CheckExample(.pass, given: Self.dieselWorld(applied: ["20260101000000", "20260301000000"]),
                         says: "Diesel: 2 migrations in migrations, all applied (last: 2026-03-01-000000_add_edited_at)"),
            CheckExample(.fail, given: Self.dieselWorld(applied: ["20260101000000"]),
                         says: "Diesel: 2026-03-01-000000_add_edited_at is not applied (adds messages.edited_at): run diesel migration run"),
            CheckExample(.pass, given: Self.efCoreWorld(applied: ["20260101000000_Init", "20260301000000_AddEditedAt"]),
                         says: "EF Core: 2 migrations in Migrations, all applied (last: 20260301000000_AddEditedAt)"),
            CheckExample(.fail, given: Self.efCoreWorld(applied: ["20260101000000_Init"]),
                         says: "EF Core: 20260301000000_AddEditedAt is not applied (adds messages.edited_at): run dotnet ef database update"),
            CheckExample(.skipped, given: World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat"),
                         says: "no migrations found"),
        ])
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [ProjectMigrations.self, DatabaseSettings.self, LoadPlan.self]

    /// Rows read from the history table at most.
    static let maxRows = 10_000

    // The examples' projects: two Prisma migrations, or two Alembic revisions (a1b2c3d4, then 3f2a9c1d).
    static let initName = "20260101000000_init", editedName = "20260301000000_edited_at"
    static let initSQL = "CREATE TABLE \"messages\" (\"id\" TEXT NOT NULL);\n"
    static let editedSQL = "ALTER TABLE \"messages\" ADD COLUMN \"edited_at\" TIMESTAMP(3);\n"

    /// A `_prisma_migrations` row of a migration applied from `sql`.
    static func applied(_ name: String, _ sql: String) -> [String?] {
        [name, SHA256.hex(Array(sql.utf8)), "2026-12-01 10:00:00+00", "2026-12-01 10:00:01+00", nil, nil, "1"]
    }

    /// A Prisma project beside the config, and the database's history (nil: no `_prisma_migrations` table).
    static func prismaWorld(history: [[String?]]?, otherTables: Int = 1, provider: String = "postgresql") -> World {
        World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat\nschema:\n  prisma: prisma/schema.prisma", files: [
            "prisma/schema.prisma": "model Message {\n  id String @id\n  @@map(\"messages\")\n}\n",
            "prisma/migrations/migration_lock.toml": "provider = \"\(provider)\"\n",
            "prisma/migrations/\(initName)/migration.sql": initSQL,
            "prisma/migrations/\(editedName)/migration.sql": editedSQL,
        ], answers: ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([
                ("current_schema()", .success([["public", history == nil ? "f" : "t", String(otherTables)]])),
                ("_prisma_migrations", .success(history ?? [])),
            ]))
        })
    }

    /// An Alembic project (alembic.ini beside the config) and the revisions in `alembic_version`.
    static func alembicWorld(at revisions: [String], secondHead: Bool = false) -> World {
        var files = [
            "alembic.ini": "[alembic]\nscript_location = alembic\n",
            "alembic/versions/a1b2c3d4_init.py": "revision = 'a1b2c3d4'\ndown_revision = None\n",
            "alembic/versions/3f2a9c1d_edited_at.py": "revision = '3f2a9c1d'\ndown_revision = 'a1b2c3d4'\n",
        ]
        if secondHead { files["alembic/versions/b7e1f00d_other.py"] = "revision = 'b7e1f00d'\ndown_revision = 'a1b2c3d4'\n" }
        return World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat", files: files, answers: ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([
                ("current_schema()", .success([["public", "t", "3"]])),
                ("alembic_version", .success(revisions.map { [$0] })),
            ]))
        })
    }

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let project = context.fact(ProjectMigrations.self)
        guard let tool = project.tool else {
            if let problem = project.problem {
                return .fail(problem, fix: "set migrations.path to the migrations folder (prisma/migrations, Alembic's folder with versions/, the Django project), and migrations.tool when it could be several's")
            }
            return .skipped("no migrations found (no migrations.path, no prisma/migrations next to schema.prisma, no alembic.ini, manage.py, db/migrate, knexfile, flyway.conf, liquibase.properties, ormconfig, diesel.toml, .sqlx, .sequelizerc or .csproj with Migrations/)")
        }
        if let problem = project.problem {
            return .fail(problem, fix: "correct \(project.source ?? "the tool's setting") (\(tool.rawValue)'s migrations folder), or set migrations.path")
        }
        guard let url = context.fact(DatabaseSettings.self).url else { return .skipped("no database.url configured") }

        let session: any PostgresSession
        switch await probes.postgres.connect(url, timeout: context.timeout) {
        case .failure(let e): return .warn("the migration history could not be read: \(e.oneLine)", fix: "see the database check")
        case .success(let s): session = s
        }
        let outcome: CheckOutcome
        switch tool {
        case .prisma: outcome = await prisma(project, session: session, schema: url.schema ?? "public", timeout: context.timeout)
        case .alembic: outcome = await alembic(project, session: session, schema: url.schema, timeout: context.timeout)
        case .django: outcome = await django(project, session: session, schema: url.schema, timeout: context.timeout)
        case .rails: outcome = await rails(project, session: session, schema: url.schema, timeout: context.timeout)
        case .golangMigrate: outcome = await golangMigrate(project, session: session, schema: url.schema, timeout: context.timeout)
        case .knex: outcome = await knex(project, session: session, schema: url.schema, timeout: context.timeout)
        case .flyway, .liquibase, .typeorm, .sequelize, .sqlx, .diesel, .efCore:
            outcome = await history(project, session: session, schema: project.schema ?? url.schema, timeout: context.timeout)
        }
        await session.close()
        guard outcome.status == .fail else { return outcome }
        var apps: [String] = []
        if tool == .django, case .array(let items)? = outcome.evidence["apps"] { for case .string(let a) in items { apps.append(a) } }
        let plan = context.fact(LoadPlan.self)
        // Several failures, each with what its own migrations change (Django: one per app): each its own effect, so
        // that the second is not an unknown share reaching 100 %. Otherwise the outcome's changes, on the first.
        var perFinding = outcome
        var each = false
        for i in perFinding.findings.indices where perFinding.findings[i].severity == .fail {
            guard let adds = perFinding.findings[i].evidence["adds"] else { continue }
            perFinding.findings[i].effect = Self.effect(adds: adds, plan: plan, appPrefixes: apps)
            each = true
        }
        return each ? perFinding : outcome.effect(Self.effect(adds: outcome.evidence["adds"], plan: plan, appPrefixes: apps))
    }

    /// Requests that touch what the undeployed migrations change fail with the app's 500 (the database's
    /// "column does not exist"); the tables come from the migrations' own changes. A Django table is
    /// `<app>_<model>`: the model is what a request's path names, so `appPrefixes` are taken off.
    static func effect(adds: JSONValue?, plan: LoadPlan, appPrefixes: [String] = []) -> Effect {
        var tables: [String] = []
        if case .array(let items)? = adds {
            for case .string(let s) in items {
                var t = s.hasPrefix("table ") ? String(s.dropFirst(6)) : (s.hasPrefix("enum ") ? "" : String(s.split(separator: ".").first ?? ""))
                if let app = appPrefixes.first(where: { t.hasPrefix($0 + "_") && t.count > $0.count + 1 }) { t = String(t.dropFirst(app.count + 1)) }
                if !t.isEmpty, !tables.contains(t) { tables.append(t) }
            }
        }
        let k6 = "500 (the database: column or table does not exist)"
        guard !tables.isEmpty else { return Effect(share: nil, from: "start", k6: k6, basis: "migrations not applied; unknown share (what they change is not known)") }
        return EffectModel.touching(tables: tables, requests: plan.requests, k6: k6, what: "migrations not applied change \(tables.joined(separator: ", "))")
    }

    // MARK: - Database

    struct TableInfo {
        var schema: String
        var exists: Bool
        var otherTables: Int
    }

    static func literal(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
    static func identifier(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    /// A tool's history table as each tool's reading starts: found in its schema and named in the evidence
    /// (`schema.table`), or the warning when it cannot be looked up.
    enum HistoryTable {
        case found(TableInfo, table: String)
        case unreadable(CheckOutcome)
    }

    static func historyTable(_ name: String, schema: String?, session: any PostgresSession, timeout: Duration,
                             evidence: inout Evidence) async -> HistoryTable {
        switch await tableInfo(name, schema: schema, session: session, timeout: timeout) {
        case .failure(let e):
            return .unreadable(.warn("the migration history could not be read: \(e.oneLine)", evidence: evidence, fix: "see the database check"))
        case .success(let info):
            let table = "\(info.schema).\(name)"
            evidence["table"] = .string(table)
            return .found(info, table: table)
        }
    }

    /// Whether `table` exists in `schema` (nil: the session's current schema), and how many other tables it holds.
    static func tableInfo(_ table: String, schema: String?, session: any PostgresSession, timeout: Duration) async -> Result<TableInfo, PostgresError> {
        let sql = """
            SELECT s.name,
              EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = s.name AND c.relname = \(literal(table)) AND c.relkind IN ('r', 'p', 'v')),
              (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = s.name AND c.relkind IN ('r', 'p') AND c.relname <> \(literal(table)))
            FROM (SELECT coalesce(\(schema.map(literal) ?? "NULL"), current_schema(), 'public') AS name) s
            """
        switch await session.query(sql, timeout: timeout) {
        case .failure(let e): return .failure(e)
        case .success(let rows):
            guard let r = rows.first, r.count == 3, let name = r[0] else { return .failure(PostgresError("no answer to the catalog query")) }
            return .success(TableInfo(schema: name, exists: r[1] == "t", otherTables: r[2].flatMap { Int($0) } ?? 0))
        }
    }

    static func list(_ names: [String], max: Int = 5) -> String {
        let shown = names.prefix(max).joined(separator: ", ")
        return names.count > max ? "\(shown) and \(names.count - max) more" : shown
    }

    static func adds(_ changes: [MigrationChanges]) -> [String] {
        var out: [String] = []
        for c in changes { for s in c.summary where !out.contains(s) { out.append(s) } }
        return out
    }

    static func addsNote(_ added: [String]) -> String {
        added.isEmpty ? "" : " (adds \(list(added, max: 3)))"
    }

    /// The warnings as findings: after a failure's; before a pass's sentence, which stays as information.
    static func finish(_ outcome: CheckOutcome, warnings: [Finding]) -> CheckOutcome {
        guard !warnings.isEmpty else { return outcome }
        var o = outcome
        switch o.status {
        case .pass:
            o.findings = warnings + o.findings
            o.status = .warn
        default:
            o.findings += warnings
        }
        return o
    }
}
