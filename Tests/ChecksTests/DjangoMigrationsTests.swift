import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore

// Django's migration files read statically, and the graph as django/db/migrations/loader.py builds it
// (squashed migrations, conflicts, the order migrate applies). The real Django: MigrationsCheckDjangoLive.

@Suite struct DjangoMigrationsTests {
    typealias Key = DjangoMigrations.Key

    static func file(_ deps: String, replaces: String? = nil, operations: String = "") -> String {
        """
        from django.conf import settings
        from django.db import migrations, models


        class Migration(migrations.Migration):
        \(replaces.map { "    replaces = \($0)\n" } ?? "")
            dependencies = \(deps)

            operations = [
        \(operations)
            ]
        """
    }

    static func m(_ app: String, _ name: String, _ source: String) -> DjangoMigrations.Migration {
        DjangoMigrations.parse(source, app: app, name: name, file: "\(app)/migrations/\(name).py")!
    }

    @Test func readsDependenciesReplacesAndOperations() {
        let source = Self.file("""
            [
                    migrations.swappable_dependency(settings.AUTH_USER_MODEL),
                    ("chat", "0001_initial"),  # a comment, ('x', 'y')
                    ('auth', '0012_alter_user_first_name_max_length'),
                ]
            """, replaces: "[('chat', '0002_a'), ('chat', '0003_b')]", operations: """
                    migrations.CreateModel(
                        name='Reaction',
                        fields=[
                            ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                            ('emoji', models.CharField(max_length=8, choices=[('a', 'A')])),
                        ],
                    ),
                    migrations.AddField(model_name='message', name='edited_at', field=models.DateTimeField(null=True)),
            """)
        let m = Self.m("chat", "0004_squashed", source)
        #expect(m.dependencies == [Key(app: "chat", name: "0001_initial"), Key(app: "auth", name: "0012_alter_user_first_name_max_length")])
        #expect(m.replaces == [Key(app: "chat", name: "0002_a"), Key(app: "chat", name: "0003_b")])
        #expect(m.changes.tables == ["chat_reaction"])
        #expect(m.changes.columns == ["chat_reaction.id", "chat_reaction.emoji", "chat_message.edited_at"])
        #expect(DjangoMigrations.parse("# not a migration\nx = 1\n", app: "chat", name: "helpers", file: "h.py") == nil)
    }

    @Test func pendingInOrderAcrossApps() {
        let ms = [
            Self.m("chat", "0001_initial", Self.file("[('users', '0001_initial')]")),
            Self.m("chat", "0002_edited", Self.file("[('chat', '0001_initial')]")),
            Self.m("users", "0001_initial", Self.file("[]")),
        ]
        let g = DjangoMigrations.Graph(ms, applied: [])
        #expect(g.pending.map(\.description) == ["users.0001_initial", "chat.0001_initial", "chat.0002_edited"])
        #expect(g.conflicts.isEmpty)
        let h = DjangoMigrations.Graph(ms, applied: [Key(app: "users", name: "0001_initial"), Key(app: "chat", name: "0001_initial")])
        #expect(h.pending.map(\.description) == ["chat.0002_edited"])
    }

    @Test func conflictingLeaves() {
        let ms = [
            Self.m("chat", "0001_initial", Self.file("[]")),
            Self.m("chat", "0002_a", Self.file("[('chat', '0001_initial')]")),
            Self.m("chat", "0002_b", Self.file("[('chat', '0001_initial')]")),
            // Another app's migration on chat.0002_a does not make 0002_a a non-leaf in chat.
            Self.m("shop", "0001_initial", Self.file("[('chat', '0002_a')]")),
        ]
        let g = DjangoMigrations.Graph(ms, applied: [])
        #expect(g.conflicts.map(\.app) == ["chat"])
        #expect(g.conflicts.first?.leaves.map(\.name) == ["0002_a", "0002_b"])
        let merged = ms + [Self.m("chat", "0003_merge", Self.file("[('chat', '0002_a'), ('chat', '0002_b')]"))]
        #expect(DjangoMigrations.Graph(merged, applied: []).conflicts.isEmpty)
    }

    @Test func squashedMigrationStandsForWhatItReplaces() {
        let originals = [
            Self.m("chat", "0001_initial", Self.file("[]")),
            Self.m("chat", "0002_a", Self.file("[('chat', '0001_initial')]")),
        ]
        let squashed = Self.m("chat", "0001_squashed_0002_a", Self.file("[]", replaces: "[('chat', '0001_initial'), ('chat', '0002_a')]"))
        let later = Self.m("chat", "0003_b", Self.file("[('chat', '0002_a')]"))
        let all = originals + [squashed, later]
        let both: Set<Key> = [Key(app: "chat", name: "0001_initial"), Key(app: "chat", name: "0002_a")]

        // All replaced applied: the squashed one counts as applied; 0003 depends on it through 0002_a.
        let applied = DjangoMigrations.Graph(all, applied: both)
        #expect(applied.pending.map(\.description) == ["chat.0003_b"])
        #expect(applied.conflicts.isEmpty)
        // None applied: the squashed one is what migrate applies, then 0003.
        #expect(DjangoMigrations.Graph(all, applied: []).pending.map(\.description) == ["chat.0001_squashed_0002_a", "chat.0003_b"])
        // Partly applied: the originals stay.
        let partly = DjangoMigrations.Graph(all, applied: [Key(app: "chat", name: "0001_initial")])
        #expect(partly.pending.map(\.description) == ["chat.0002_a", "chat.0003_b"])
        // Originals deleted after squashing: their rows are known through `replaces`.
        let tidy = DjangoMigrations.Graph([squashed, later], applied: both)
        #expect(tidy.pending.map(\.description) == ["chat.0003_b"])
        #expect(tidy.unknown(Array(both) + [Key(app: "chat", name: "0009_gone"), Key(app: "auth", name: "0001_initial")]).map(\.description) == ["chat.0009_gone"])
    }

    @Test func hostileFilesAreReadWithoutCrashing() {
        for source in ["class Migration", "class Migration(migrations.Migration):\n    dependencies = [('a', ", "dependencies = ]]]",
                       "class Migration:\n  replaces = (('x',), ('y', 'z', 'w'))\n  operations = [AddField(model_name=)]\n",
                       String(repeating: "[(", count: 2_000)] {
            _ = DjangoMigrations.parse(source, app: "a", name: "0001", file: "f.py")
        }
        // A cycle is listed, not looped over.
        let a = Self.m("a", "0001", Self.file("[('a', '0002')]")), b = Self.m("a", "0002", Self.file("[('a', '0001')]"))
        #expect(DjangoMigrations.Graph([a, b], applied: []).pending.count == 2)
    }
}

/// Where a Django project is found, and `migrations.tool` when alembic.ini is beside manage.py.
@Suite struct DjangoProjectDetection {
    static let migration = "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = []\n    operations = []\n"

    @Test func manageBesideTheConfig() throws {
        let dir = try migrationsProject(["manage.py": "", "apps/chat/migrations/__init__.py": "", "apps/chat/migrations/0001_initial.py": Self.migration,
                                         "venv/lib/site-packages/x/migrations/0001_initial.py": Self.migration])
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = config(database: "postgresql://u:p@127.0.0.1:1/db")
        c.file = dir.appendingPathComponent("preflight.yml").path
        let p = ProjectMigrations.derive(from: c)
        #expect(p.tool == .django)
        #expect(p.source == "manage.py")
        #expect(p.django?.map(\.key.description) == ["chat.0001_initial"])
        #expect(p.django?.first?.file == "apps/chat/migrations/0001_initial.py")
    }

    @Test func ambiguousUntilToolIsSet() throws {
        let dir = try migrationsProject(["manage.py": "", "chat/migrations/0001_initial.py": Self.migration,
                                         "alembic.ini": "[alembic]\nscript_location = alembic\n",
                                         "alembic/versions/a1_init.py": "revision = 'a1'\ndown_revision = None\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = config(database: "postgresql://u:p@127.0.0.1:1/db")
        c.file = dir.appendingPathComponent("preflight.yml").path
        let both = ProjectMigrations.derive(from: c)
        #expect(both.tool == nil)
        #expect(both.problem == "both alembic.ini and manage.py are next to the config: set migrations.tool to alembic or django")
        c.set(MigrationSettings(path: nil, tool: "alembic"))
        #expect(ProjectMigrations.derive(from: c).tool == .alembic)
        c.set(MigrationSettings(path: nil, tool: "django"))
        #expect(ProjectMigrations.derive(from: c).django?.count == 1)
        c.set(MigrationSettings(path: ".", tool: nil))
        #expect(ProjectMigrations.derive(from: c).tool == .django)  // migrations.path holding manage.py
    }
}

/// ActiveRecord's file-name rule and what a migration adds.
@Suite struct RailsMigrationsTests {
    @Test func fileNames() {
        #expect(RailsMigrations.version(ofFile: "20260101000000_create_messages.rb") == "20260101000000")
        #expect(RailsMigrations.version(ofFile: "001_init.rb") == "1")
        #expect(RailsMigrations.version(ofFile: "20260101000000_create_messages.my_engine.rb") == "20260101000000")
        for bad in ["create_messages.rb", "20260101000000-create.rb", "20260101000000_Create.rb", "20260101000000_x.rb~", "schema.rb"] {
            #expect(RailsMigrations.version(ofFile: bad) == nil, "\(bad)")
        }
    }

    @Test func changes() {
        let c = RailsMigrations.changes("""
            class CreateMessages < ActiveRecord::Migration[7.1]
              def change
                create_table :messages do |t|
                  t.text :text, null: false
                  t.references :user, foreign_key: true
                  t.timestamps
                  t.index :text
                end
                add_column "rooms", "topic", :string
                add_reference :messages, :room
                # add_column :ignored, :column
              end
            end
            """)
        #expect(c.tables == ["messages"])
        #expect(c.columns == ["messages.text", "messages.user_id", "rooms.topic", "messages.room_id"])
    }
}

@Suite struct DjangoMigrationsDbTable {
    /// A model's `db_table` (CreateModel's options, AlterModelTable) names its table in the project's other
    /// migrations too: AddField on `message` in 0002 adds `messages.edited_at`, not `chat_message.edited_at`.
    @Test func dbTableNamesTheTableAcrossMigrations() throws {
        let dir = try migrationsProject([
            "manage.py": "",
            "chat/migrations/0001_initial.py": "class Migration(migrations.Migration):\n    operations = [migrations.CreateModel(name='Message', fields=[('id', models.TextField(primary_key=True))], options={'db_table': 'messages'}),\n        migrations.CreateModel(name='Room', fields=[('id', models.AutoField(primary_key=True))])]\n",
            "chat/migrations/0002_message_edited_at.py": "class Migration(migrations.Migration):\n    dependencies = [('chat', '0001_initial')]\n    operations = [migrations.AddField(model_name='message', name='edited_at', field=models.DateTimeField(null=True)),\n        migrations.AddField(model_name='room', name='topic', field=models.TextField())]\n",
            "chat/migrations/0003_rename.py": "class Migration(migrations.Migration):\n    dependencies = [('chat', '0002_message_edited_at')]\n    operations = [migrations.AlterModelTable(name='room', table='rooms')]\n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        var refused: [String] = []
        let read = ProjectMigrations.readDjango(dir.path, display: { $0 }, refused: &refused)
        #expect(read.map(\.changes.tables) == [["messages", "rooms"], [], []])
        #expect(read[1].changes.columns == ["messages.edited_at", "rooms.topic"])
        #expect(refused.isEmpty)
    }

    /// A module in migrations/ without a Migration class is what Django's loader refuses ("has no Migration class"):
    /// named, never silently dropped; its row in django_migrations is that file's, not another branch's.
    @Test func aModuleWithoutAMigrationClassIsRefused() throws {
        let dir = try migrationsProject([
            "manage.py": "",
            "chat/migrations/0001_initial.py": "class Migration(migrations.Migration):\n    operations = []\n",
            "chat/migrations/0002_helpers.py": "def helper():\n    return 1\n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        var refused: [String] = []
        let read = ProjectMigrations.readDjango(dir.path, display: { String($0.dropFirst(dir.path.count + 1)) }, refused: &refused)
        #expect(read.map(\.key.name) == ["0001_initial"])
        #expect(refused == ["chat/migrations/0002_helpers.py"])
        #expect(MigrationsCheck.djangoKey("chat/migrations/0002_helpers.py") == DjangoMigrations.Key(app: "chat", name: "0002_helpers"))
        #expect(MigrationsCheck.djangoKey("manage.py") == nil)
    }
}
