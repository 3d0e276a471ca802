import Foundation
import PreflightCore
import PreflightProbes

// ActiveRecord's db/migrate against schema_migrations (the file-name rule: Readers/RailsMigrations.swift).
extension MigrationsCheck {
    /// A Rails project (db/migrate beside the config: create_table messages, then add_column edited_at) and the
    /// versions in `schema_migrations`.
    static func railsWorld(applied: [String]) -> World {
        World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat", files: [
            "db/migrate/20260101000000_create_messages.rb": "class CreateMessages < ActiveRecord::Migration[6.1]\n  def change\n    create_table :messages do |t|\n      t.text :text\n      t.timestamps\n    end\n  end\nend\n",
            "db/migrate/20260301000000_add_edited_at_to_messages.rb": "class AddEditedAtToMessages < ActiveRecord::Migration[6.1]\n  def change\n    add_column :messages, :edited_at, :datetime\n  end\nend\n",
        ], answers: ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([
                ("current_schema()", .success([["public", "t", "2"]])),
                ("schema_migrations", .success(applied.map { [$0] })),
                ("ar_internal_metadata", .success([["production"]])),
            ]))
        })
    }


    func rails(_ project: ProjectMigrations, session: any PostgresSession, schema: String?, timeout: Duration) async -> CheckOutcome {
        let migrations = project.rails ?? []
        let display = project.folder ?? "db/migrate"
        guard !migrations.isEmpty else { return .skipped("no ActiveRecord migrations in \(display)") }
        var evidence = Evidence([("tool", .string("Rails")), ("folder", .string(display)), ("migrations", .int(migrations.count))])
        let info: TableInfo, table: String
        switch await Self.historyTable("schema_migrations", schema: schema, session: session, timeout: timeout, evidence: &evidence) {
        case .unreadable(let warning): return warning
        case .found(let i, let t): (info, table) = (i, t)
        }
        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            if info.otherTables > 0 {
                return .warn("no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made without bin/rails db:migrate or db:schema:load; its history says nothing",
                             evidence: evidence, fix: "the schema check compares the tables themselves; to migrate with Rails from here, bin/rails db:schema:load on an empty database")
            }
            evidence["pending"] = .array(migrations.map { .string($0.name) })
            let added = Self.adds(migrations.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated (\(migrations.count) ActiveRecord migration\(migrations.count == 1 ? "" : "s") to apply)",
                         evidence: evidence, fix: "run bin/rails db:migrate against this database")
        }
        let versions: [String]
        switch await session.query("SELECT version FROM \(Self.identifier(info.schema)).schema_migrations LIMIT \(Self.maxRows)", timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence, fix: "grant the role of database.url SELECT on \(table)")
        case .success(let rows): versions = rows.compactMap { $0.first ?? nil }.map(RailsMigrations.normalized)
        }
        // ActiveRecord::InternalMetadata[:environment], the RAILS_ENV of the last db:migrate (evidence only).
        if case .success(let rows) = await session.query("SELECT value FROM \(Self.identifier(info.schema)).ar_internal_metadata WHERE key = 'environment'", timeout: timeout),
           let env = rows.first?.first ?? nil {
            evidence["environment"] = .string(env)
        }
        let applied = Set(versions)
        let known = Set(migrations.map(\.version))
        var warnings: [Finding] = []
        let unknown = versions.filter { !known.contains($0) }.sorted { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }
        if !unknown.isEmpty {
            evidence["unknown"] = .array(unknown.map { .string($0) })
            warnings.append(Finding(.warn, "\(Self.list(unknown)) \(unknown.count == 1 ? "is" : "are") applied but not in \(display) (another branch's migration?): bin/rails db:migrate:status shows NO FILE",
                                    fix: "check out the branch the test database was migrated from, or recreate the test database with bin/rails db:create db:migrate"))
        }
        let pending = migrations.filter { !applied.contains($0.version) }
        if !pending.isEmpty {
            evidence["pending"] = .array(pending.map { .string($0.name) })
            let added = Self.adds(pending.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            let what = pending.count == 1 ? "\(pending[0].name) is not applied"
                : "\(pending.count) ActiveRecord migrations are not applied, in order: \(Self.list(pending.map(\.name)))"
            return Self.finish(CheckOutcome(findings: [Finding(.fail, "\(what)\(Self.addsNote(added)): run bin/rails db:migrate",
                                                               fix: "run bin/rails db:migrate against this database, then restart the service",
                                                               location: SourceLocation(file: pending[0].file))], evidence: evidence),
                               warnings: warnings)
        }
        let last = migrations.last.map { " (last: \($0.name))" } ?? ""
        return Self.finish(.pass("Rails: \(migrations.count) ActiveRecord migration\(migrations.count == 1 ? "" : "s") in \(display), all applied\(last)", evidence: evidence),
                           warnings: warnings)
    }
}
