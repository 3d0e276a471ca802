import Foundation
import PreflightCore
import PreflightProbes

// Django's migrations against django_migrations (the reader and the loader's rules: Readers/DjangoMigrations.swift).
extension MigrationsCheck {
    /// A Django project (manage.py beside the config, app chat with 0001_initial and 0002_message_edited_at; with
    /// `conflicting`, a second 0002 on 0001) and the `django_migrations` rows of chat (nil: no table, no tables).
    static func djangoWorld(applied: [String]?, conflicting: Bool = false, helperModule: Bool = false) -> World {
        var files = [
            "manage.py": "import sys\nfrom django.core.management import execute_from_command_line\n",
            "chat/migrations/__init__.py": "",
            "chat/migrations/0001_initial.py": "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    operations = [\n        migrations.CreateModel(name='Message', fields=[('id', models.BigAutoField(primary_key=True)), ('text', models.TextField())]),\n    ]\n",
            "chat/migrations/0002_message_edited_at.py": "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    dependencies = [\n        ('chat', '0001_initial'),\n    ]\n    operations = [\n        migrations.AddField(model_name='message', name='edited_at', field=models.DateTimeField(null=True)),\n    ]\n",
        ]
        if helperModule { files["chat/migrations/0003_helpers.py"] = "def backfill(apps, schema_editor):\n    pass\n" }
        if conflicting {
            files["chat/migrations/0002_message_pinned.py"] = "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    dependencies = [('chat', '0001_initial')]\n    operations = [migrations.AddField(model_name='message', name='pinned', field=models.BooleanField(default=False))]\n"
        }
        return World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat", files: files, answers: ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([
                ("current_schema()", .success([["public", applied == nil ? "f" : "t", applied == nil ? "0" : "12"]])),
                ("django_migrations", .success([["contenttypes", "0001_initial"]] + (applied ?? []).map { ["chat", $0] })),
            ]))
        })
    }


    /// "chat/migrations/0003_x.py" → chat.0003_x (the app is the folder holding migrations/).
    static func djangoKey(_ file: String) -> DjangoMigrations.Key? {
        let parts = file.split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[parts.count - 2] == "migrations", parts.last!.hasSuffix(".py") else { return nil }
        return DjangoMigrations.Key(app: parts[parts.count - 3], name: String(parts.last!.dropLast(3)))
    }

    func django(_ project: ProjectMigrations, session: any PostgresSession, schema: String?, timeout: Duration) async -> CheckOutcome {
        let migrations = project.django ?? []
        let display = project.folder ?? "."
        guard !migrations.isEmpty else { return .skipped("no Django migrations in the apps below \(display)") }
        var evidence = Evidence([("tool", .string("Django")), ("project", .string(display)), ("migrations", .int(migrations.count))])
        let info: TableInfo, table: String
        switch await Self.historyTable("django_migrations", schema: schema, session: session, timeout: timeout, evidence: &evidence) {
        case .unreadable(let warning): return warning
        case .found(let i, let t): (info, table) = (i, t)
        }
        var recorded: [DjangoMigrations.Key] = []
        if info.exists {
            switch await session.query("SELECT app, name FROM \(Self.identifier(info.schema)).django_migrations ORDER BY id LIMIT \(Self.maxRows)", timeout: timeout) {
            case .failure(let e):
                return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence, fix: "grant the role of database.url SELECT on \(table)")
            case .success(let rows):
                recorded = rows.compactMap { r in r.count == 2 ? r[0].flatMap { a in r[1].map { DjangoMigrations.Key(app: a, name: $0) } } : nil }
            }
        }
        let graph = DjangoMigrations.Graph(migrations, applied: Set(recorded))
        let apps = graph.apps
        evidence["apps"] = .array(apps.map { .string($0) })
        var warnings: [Finding] = []
        let conflicts = graph.conflicts
        for c in conflicts {
            warnings.append(Finding(.warn, "\(c.leaves.count) leaf migrations in \(c.app) (\(Self.list(c.leaves.map(\.name)))): python manage.py migrate refuses (\"Conflicting migrations detected\")",
                                    fix: "run python manage.py makemigrations --merge, then python manage.py migrate"))
        }
        // A module Django cannot load as a migration (no Migration class): migrate stops at it; a row of its name is
        // that file's, not another branch's.
        let refusedKeys = Set(project.refused.compactMap(Self.djangoKey))
        for file in project.refused.prefix(3) {
            let key = Self.djangoKey(file)
            let recordedToo = key.map { recorded.contains($0) } ?? false
            warnings.append(Finding(.warn, "\(file) has no Migration class: python manage.py migrate stops at it (\"has no Migration class\")\(recordedToo ? "; the database records it as applied" : ""); preflight did not compare it",
                                    fix: "make it a migration (class Migration(migrations.Migration)) or move it out of the migrations folder",
                                    location: SourceLocation(file: file)))
        }
        let unknown = graph.unknown(recorded).filter { !refusedKeys.contains($0) }
        if !unknown.isEmpty {
            evidence["unknown"] = .array(unknown.map { .string($0.description) })
            warnings.append(Finding(.warn, "\(Self.list(unknown.map(\.description))) \(unknown.count == 1 ? "is" : "are") applied but no migration file declares \(unknown.count == 1 ? "it" : "them") (another branch's migration?)",
                                    fix: "check out the branch the test database was migrated from, or recreate the test database and run python manage.py migrate"))
        }
        let pending = graph.pending
        let migrate = conflicts.isEmpty ? "python manage.py migrate" : "python manage.py makemigrations --merge, then python manage.py migrate"
        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            if info.otherTables > 0 {
                return Self.finish(.warn(
                    "no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made without python manage.py migrate; its history says nothing",
                    evidence: evidence, fix: "the schema check compares the tables themselves; to migrate with Django from here, python manage.py migrate --fake-initial"),
                    warnings: warnings)
            }
            evidence["pending"] = .array(pending.map { .string($0.description) })
            let added = Self.adds(pending.compactMap { graph.files[$0]?.changes })
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return Self.finish(.fail("no \(table) table and no tables in \(info.schema): the database was never migrated (\(pending.count) Django migration\(pending.count == 1 ? "" : "s") to apply)",
                                     evidence: evidence, fix: "run \(migrate) against this database"), warnings: warnings)
        }
        if !pending.isEmpty {
            evidence["pending"] = .array(pending.map { .string($0.description) })
            let added = Self.adds(pending.compactMap { graph.files[$0]?.changes })
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            // One finding per app, its migrations in the order migrate applies them.
            var failures: [Finding] = []
            for app in apps {
                let mine = pending.filter { $0.app == app }
                guard let first = mine.first else { continue }
                let note = Self.addsNote(Self.adds(mine.compactMap { graph.files[$0]?.changes }))
                let what = mine.count == 1 ? "\(first) is not applied"
                    : "\(app): \(mine.count) migrations are not applied, in order: \(Self.list(mine.map(\.name)))"
                // The app's own changes: each app's finding predicts its own effect (MigrationsCheck.run).
                let mineAdded = Self.adds(mine.compactMap { graph.files[$0]?.changes })
                failures.append(Finding(.fail, "\(what)\(note): run \(migrate)", fix: "run \(migrate) against this database, then restart the service",
                                        evidence: Evidence(["adds": .array(mineAdded.map { .string($0) })]),
                                        location: graph.files[first].map { SourceLocation(file: $0.file) }))
            }
            return Self.finish(CheckOutcome(findings: failures, evidence: evidence), warnings: warnings)
        }
        // The last applied leaf (a squashed migration is recorded after the ones it replaces, not last in the graph).
        let leaves = Set(apps.flatMap { graph.leaves(of: $0) })
        let last = (recorded.last { leaves.contains($0) } ?? recorded.last { graph.nodes.contains($0) }).map { " (last: \($0))" } ?? ""
        return Self.finish(.pass("Django: \(migrations.count) migration\(migrations.count == 1 ? "" : "s") in \(apps.count) app\(apps.count == 1 ? "" : "s") (\(Self.list(apps))), all applied\(last)", evidence: evidence),
                           warnings: warnings)
    }
}
