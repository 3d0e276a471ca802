import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// Real ActiveRecord (Debian's ruby-activerecord and ruby-pg, installed by scripts/install-deps.sh) running a
/// project's db/migrate against the shared test cluster, through `ActiveRecord::MigrationContext#migrate`
/// (what `bin/rails db:migrate VERSION=…` calls), with RAILS_ENV=production.
@Suite(.serialized, .tags(.live), .runsLive) struct MigrationsCheckRailsLive {
    static let ruby = "/usr/bin/ruby"
    static let available = FileManager.default.isExecutableFile(atPath: ruby)
        && (try? runProcess(ruby, ["-e", "require 'active_record'; require 'pg'"], limit: 30).status) == 0

    static let migrate = """
        require "active_record"
        ActiveRecord::Base.establish_connection(ENV.fetch("DATABASE_URL"))
        ActiveRecord::Migration.verbose = false
        ActiveRecord::MigrationContext.new("db/migrate", ActiveRecord::SchemaMigration).migrate(ARGV[0] && ARGV[0].to_i)

        """

    static func migration(_ name: String, _ body: String) -> String {
        let cls = name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        return "class \(cls) < ActiveRecord::Migration[6.1]\n  def change\n\(body)  end\nend\n"
    }

    @Test(.enabled(if: available, "ruby with ruby-activerecord and ruby-pg (scripts/install-deps.sh)"))
    func middleThenAllThenFailedThenNoFile() async throws {
        let pg = try await PostgresCluster.shared()
        let name = "rails_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(name) OWNER preflight")
        let url = String(pg.url[..<pg.url.lastIndex(of: "/")!]) + "/" + name
        let dir = try migrationsProject([
            "migrate.rb": Self.migrate,
            "db/migrate/20260101000000_create_messages.rb": Self.migration("create_messages", "    create_table :messages do |t|\n      t.text :text\n      t.timestamps\n    end\n"),
            "db/migrate/20260301000000_add_edited_at_to_messages.rb": Self.migration("add_edited_at_to_messages", "    add_column :messages, :edited_at, :datetime\n"),
            "db/migrate/20260401000000_add_pinned_to_messages.rb": Self.migration("add_pinned_to_messages", "    add_column :messages, :pinned, :boolean, default: false\n"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_URL"] = url
        env["RAILS_ENV"] = "production"
        func migrate(_ version: String? = nil) async throws -> ProcessOutput {
            try await run(Self.ruby, ["migrate.rb"] + (version.map { [$0] } ?? []), environment: env, currentDirectory: dir, limit: 120)
        }
        func check() async throws -> CheckOutcome {
            var c = config(database: url)
            c.file = dir.appendingPathComponent("preflight.yml").path
            return try await runMigrations(c)
        }

        let never = try await check()
        #expect(never.status == .fail)
        #expect(never.summary == "no public.schema_migrations table and no tables in public: the database was never migrated (3 ActiveRecord migrations to apply)")

        let middle = try await migrate("20260301000000")
        #expect(middle.status == 0, "\(middle.stderr)")
        let pending = try await check()
        #expect(pending.status == .fail)
        #expect(pending.summary == "20260401000000_add_pinned_to_messages is not applied (adds messages.pinned): run bin/rails db:migrate")
        #expect(pending.findings.first?.location?.file == "db/migrate/20260401000000_add_pinned_to_messages.rb")
        #expect(pending.evidence["environment"] == .string("production"))

        #expect(try await migrate().status == 0)
        let all = try await check()
        #expect(all.status == .pass, "\(all.summary)")
        #expect(all.summary == "Rails: 3 ActiveRecord migrations in db/migrate, all applied (last: 20260401000000_add_pinned_to_messages)")

        // A migration PostgreSQL refuses (the column exists): ActiveRecord rolls it back and records nothing.
        try Self.migration("add_pinned_again", "    add_column :messages, :pinned, :boolean\n")
            .write(to: dir.appendingPathComponent("db/migrate/20260501000000_add_pinned_again.rb"), atomically: true, encoding: .utf8)
        let failed = try await migrate()
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("DuplicateColumn"), "\(failed.stderr)")
        let afterFailure = try await check()
        #expect(afterFailure.status == .fail)
        #expect(afterFailure.summary == "20260501000000_add_pinned_again is not applied (adds messages.pinned): run bin/rails db:migrate")

        // Another branch's migration: applied, its file gone here.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("db/migrate/20260501000000_add_pinned_again.rb"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("db/migrate/20260401000000_add_pinned_to_messages.rb"))
        let noFile = try await check()
        #expect(noFile.status == .warn, "\(noFile.summary)")
        #expect(noFile.summary == "20260401000000 is applied but not in db/migrate (another branch's migration?): bin/rails db:migrate:status shows NO FILE")
    }
}
