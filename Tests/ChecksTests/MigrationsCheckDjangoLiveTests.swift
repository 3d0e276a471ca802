import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// Real Django (PyPI, installed for /usr/bin/python3 by scripts/install-deps.sh, with Debian's python3-psycopg2)
/// making and applying migrations in a project the test writes, against the shared test cluster.
@Suite(.serialized, .tags(.live), .runsLive) struct MigrationsCheckDjangoLive {
    static let python = "/usr/bin/python3"
    static let available = (try? runProcess(python, ["-c", "import django, psycopg2"], limit: 30).status) == 0

    struct Project {
        let dir: URL
        let env: [String: String]

        func manage(_ args: [String]) async throws -> ProcessOutput {
            try await run(MigrationsCheckDjangoLive.python, ["manage.py"] + args, environment: env, currentDirectory: dir, limit: 120)
        }
        @discardableResult
        func ok(_ args: [String]) async throws -> String {
            let out = try await manage(args)
            guard out.status == 0 else { throw FixtureError("manage.py \(args.joined(separator: " ")) failed: \(out.stderr)") }
            return out.stdout
        }
        func models(_ fields: [String]) throws {
            let body = (["    text = models.TextField()"] + fields.map { "    " + $0 }).joined(separator: "\n")
            try "from django.db import models\n\n\nclass Message(models.Model):\n\(body)\n"
                .write(to: dir.appendingPathComponent("chat/models.py"), atomically: true, encoding: .utf8)
        }
        /// Runs the check with the project's folder holding preflight.yml (manage.py found beside it).
        func check(_ url: String) async throws -> CheckOutcome {
            var c = config(database: url)
            c.file = dir.appendingPathComponent("preflight.yml").path
            return try await runMigrations(c)
        }
    }

    /// A new database owned by the app role, and its URL.
    static func database(_ pg: PostgresCluster) async throws -> String {
        let name = "django_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(name) OWNER preflight")
        return String(pg.url[..<pg.url.lastIndex(of: "/")!]) + "/" + name
    }

    /// manage.py, settings reading the database from DATABASE_URL's parts, and the app chat (with contenttypes,
    /// whose rows in django_migrations have no file in the project).
    static func project() throws -> Project {
        let dir = try temporaryDirectory("pf-django")
        let files = [
            "manage.py": """
                import os, sys
                if __name__ == "__main__":
                    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_settings")
                    from django.core.management import execute_from_command_line
                    execute_from_command_line(sys.argv)

                """,
            "site_settings.py": """
                import os
                from urllib.parse import urlsplit, unquote
                u = urlsplit(os.environ["DATABASE_URL"])
                SECRET_KEY = "test"
                USE_TZ = True
                INSTALLED_APPS = ["django.contrib.contenttypes", "chat"]
                DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": u.path[1:], "USER": unquote(u.username),
                                         "PASSWORD": unquote(u.password), "HOST": u.hostname, "PORT": u.port}}
                DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

                """,
            "chat/__init__.py": "",
        ]
        for (path, text) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        var env = ProcessInfo.processInfo.environment
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return Project(dir: dir, env: env)
    }

    func with(_ p: Project, url: String) -> Project {
        var env = p.env
        env["DATABASE_URL"] = url
        return Project(dir: p.dir, env: env)
    }

    @Test(.enabled(if: available, "django and psycopg2 are importable by /usr/bin/python3 (scripts/install-deps.sh)"))
    func middleThenHeadThenSquashedThenConflict() async throws {
        let pg = try await PostgresCluster.shared()
        let url = try await Self.database(pg), second = try await Self.database(pg)
        let p = with(try Self.project(), url: url)
        defer { try? FileManager.default.removeItem(at: p.dir) }

        // Three migrations made by makemigrations itself.
        try p.models([])
        try await p.ok(["makemigrations", "chat", "--name", "initial"])
        try p.models(["edited_at = models.DateTimeField(null=True)"])
        try await p.ok(["makemigrations", "chat", "--name", "message_edited_at"])
        try p.models(["edited_at = models.DateTimeField(null=True)", "pinned = models.BooleanField(default=False)"])
        try await p.ok(["makemigrations", "chat", "--name", "message_pinned"])

        let never = try await p.check(url)
        #expect(never.status == .fail)
        #expect(never.summary == "no public.django_migrations table and no tables in public: the database was never migrated (3 Django migrations to apply)")

        // migrate to the middle one: 0003 is pending, named with what it adds.
        try await p.ok(["migrate", "contenttypes"])
        try await p.ok(["migrate", "chat", "0002"])
        let middle = try await p.check(url)
        #expect(middle.status == .fail, "\(middle.summary)")
        #expect(middle.summary == "chat.0003_message_pinned is not applied (adds chat_message.pinned): run python manage.py migrate")
        #expect(middle.findings.first?.location?.file == "chat/migrations/0003_message_pinned.py")
        #expect(middle.evidence["pending"] == .array(["chat.0003_message_pinned"]))
        #expect(middle.findings.first?.effect?.basis.contains("message") == true, "\(String(describing: middle.findings.first?.effect))")

        try await p.ok(["migrate"])
        let head = try await p.check(url)
        #expect(head.status == .pass, "\(head.summary)")
        #expect(head.summary == "Django: 3 migrations in 1 app (chat), all applied (last: chat.0003_message_pinned)")

        // squashmigrations: 0001 and 0002 become one that replaces them; the applied database still passes.
        try await p.ok(["squashmigrations", "chat", "0002", "--noinput"])
        let squashed = "0001_squashed_0002_message_edited_at"
        #expect(FileManager.default.fileExists(atPath: p.dir.appendingPathComponent("chat/migrations/\(squashed).py").path))
        let afterSquash = try await p.check(url)
        #expect(afterSquash.status == .pass, "\(afterSquash.summary)")
        #expect(afterSquash.summary.hasPrefix("Django: 4 migrations in 1 app (chat), all applied"), "\(afterSquash.summary)")

        // A fresh database migrated to the squashed migration: Django records the ones it replaces; 0003 is pending.
        let q = with(p, url: second)
        let fresh = try await q.check(second)
        #expect(fresh.summary == "no public.django_migrations table and no tables in public: the database was never migrated (2 Django migrations to apply)")
        try await q.ok(["migrate", "contenttypes"])
        try await q.ok(["migrate", "chat", squashed])
        let partly = try await q.check(second)
        #expect(partly.status == .fail)
        #expect(partly.summary == "chat.0003_message_pinned is not applied (adds chat_message.pinned): run python manage.py migrate", "\(partly.summary)")

        // A second 0003 (another branch's, on 0002): two leaves; the real migrate refuses as the warning says.
        try """
            from django.db import migrations, models


            class Migration(migrations.Migration):

                dependencies = [
                    ("chat", "0002_message_edited_at"),
                ]

                operations = [
                    migrations.AddField(
                        model_name="message",
                        name="reaction",
                        field=models.TextField(null=True),
                    ),
                ]

            """.write(to: p.dir.appendingPathComponent("chat/migrations/0003_message_reaction.py"), atomically: true, encoding: .utf8)
        let conflict = try await p.check(url)
        #expect(conflict.status == .fail)
        #expect(conflict.summary == "chat.0003_message_reaction is not applied (adds chat_message.reaction): run python manage.py makemigrations --merge, then python manage.py migrate")
        #expect(conflict.findings.contains { $0.severity == .warn && $0.sentence == "2 leaf migrations in chat (0003_message_pinned, 0003_message_reaction): python manage.py migrate refuses (\"Conflicting migrations detected\")" },
                "\(conflict.findings.map(\.sentence))")
        let refused = try await p.manage(["migrate"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("Conflicting migrations detected"), "\(refused.stderr)")

        try await p.ok(["makemigrations", "--merge", "--noinput"])
        try await p.ok(["migrate"])
        let merged = try await p.check(url)
        #expect(merged.status == .pass, "\(merged.summary)")
        #expect(merged.summary.hasPrefix("Django: 6 migrations in 1 app (chat), all applied (last: chat.0004_merge"), "\(merged.summary)")
    }

    /// A row of chat no file declares (the migration file of another branch, deleted here) warns.
    @Test(.enabled(if: available, "django and psycopg2 are importable by /usr/bin/python3 (scripts/install-deps.sh)"))
    func appliedMigrationNoFileDeclares() async throws {
        let pg = try await PostgresCluster.shared()
        let url = try await Self.database(pg)
        let p = with(try Self.project(), url: url)
        defer { try? FileManager.default.removeItem(at: p.dir) }
        try p.models([])
        try await p.ok(["makemigrations", "chat", "--name", "initial"])
        try p.models(["pinned = models.BooleanField(default=False)"])
        try await p.ok(["makemigrations", "chat", "--name", "message_pinned"])
        try await p.ok(["migrate"])
        try FileManager.default.removeItem(at: p.dir.appendingPathComponent("chat/migrations/0002_message_pinned.py"))
        let o = try await p.check(url)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary == "chat.0002_message_pinned is applied but no migration file declares it (another branch's migration?)")
    }

    /// A module without a Migration class in chat/migrations: the real `manage.py migrate` refuses it, and the check
    /// names that file instead of passing over it.
    @Test(.enabled(if: available, "django and psycopg2 are importable by /usr/bin/python3 (scripts/install-deps.sh)"))
    func aModuleWithoutAMigrationClassIsNamedAsDjangoRefusesIt() async throws {
        let pg = try await PostgresCluster.shared()
        let url = try await Self.database(pg)
        let p = with(try Self.project(), url: url)
        defer { try? FileManager.default.removeItem(at: p.dir) }
        try p.models([])
        try await p.ok(["makemigrations", "chat", "--name", "initial"])
        try await p.ok(["migrate"])
        try "def backfill(apps, schema_editor):\n    pass\n".write(to: p.dir.appendingPathComponent("chat/migrations/0002_helpers.py"), atomically: true, encoding: .utf8)
        let refused = try await p.manage(["migrate"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("has no Migration class"), "\(refused.stderr.suffix(600))")
        let o = try await p.check(url)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.findings.contains { $0.sentence.hasPrefix("chat/migrations/0002_helpers.py has no Migration class: python manage.py migrate stops at it") }, "\(o.findings.map(\.sentence))")
    }
}
