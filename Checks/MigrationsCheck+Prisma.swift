import Foundation
import PreflightCore
import PreflightProbes

/// Prisma Migrate: prisma/migrations against _prisma_migrations (pending, failed, edited and unknown migrations; db push).
extension MigrationsCheck {
    func prisma(_ project: ProjectMigrations, session: any PostgresSession, schema: String, timeout: Duration) async -> CheckOutcome {
        let folder = project.prisma ?? PrismaMigrations.Folder()
        let display = project.folder ?? "prisma/migrations"
        var evidence = Evidence([("tool", .string("Prisma Migrate")), ("folder", .string(display)),
                                 ("migrations", .int(folder.migrations.count))])
        var warnings: [Finding] = []
        if let provider = folder.lockProvider {
            evidence["lockProvider"] = .string(provider)
            if provider != "postgresql" {
                warnings.append(Finding(.warn, "\(display)/migration_lock.toml says provider = \"\(provider)\", the database is PostgreSQL: prisma migrate deploy refuses migrations made for another provider (P3019)",
                                        fix: "make the datasource provider in schema.prisma and migration_lock.toml postgresql, or point database.url at the \(provider) database the migrations are for",
                                        location: SourceLocation(file: "\(display)/migration_lock.toml")))
            }
        }

        let info: TableInfo, table: String
        switch await Self.historyTable("_prisma_migrations", schema: schema, session: session, timeout: timeout, evidence: &evidence) {
        case .unreadable(let warning): return warning
        case .found(let i, let t): (info, table) = (i, t)
        }

        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            let names = folder.migrations.map(\.name)
            if info.otherTables > 0 {
                return Self.finish(.warn(
                    "no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made with prisma db push (or by hand), not by migrate deploy; its history says nothing (migrate deploy would refuse a non-empty database, P3005)",
                    evidence: evidence,
                    fix: "the schema check compares the tables themselves; to deploy migrations here, baseline first: npx prisma migrate resolve --applied \(names.first ?? "NAME") for each migration the database already reflects"),
                    warnings: warnings)
            }
            evidence["pending"] = .array(names.map { .string($0) })
            let added = Self.adds(folder.migrations.map(\.changes))
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated\(names.isEmpty ? "" : " (\(names.count) migration\(names.count == 1 ? "" : "s") to apply)")",
                         evidence: evidence, fix: "run npx prisma migrate deploy against this database (the test environment's DATABASE_URL)")
        }

        let rows: [PrismaMigrations.Row]
        let sql = "SELECT \(PrismaMigrations.rowsSQL) FROM \(Self.identifier(info.schema))._prisma_migrations ORDER BY started_at, migration_name LIMIT \(Self.maxRows)"
        switch await session.query(sql, timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence,
                         fix: "grant the role of database.url SELECT on \(table)")
        case .success(let r): rows = r.compactMap(PrismaMigrations.row)
        }
        let history = PrismaMigrations.compare(folder, rows: rows)
        evidence["applied"] = .int(history.applied)
        if !history.pending.isEmpty { evidence["pending"] = .array(history.pending.map { .string($0) }) }
        if !history.failed.isEmpty { evidence["failed"] = .array(history.failed.map { .string($0.name) }) }
        if !history.modified.isEmpty { evidence["modified"] = .array(history.modified.map { .string($0) }) }
        if !history.notInFolder.isEmpty { evidence["notInFolder"] = .array(history.notInFolder.map { .string($0) }) }
        let byName = Dictionary(folder.migrations.map { ($0.name, $0.changes) }, uniquingKeysWith: { a, _ in a })
        let unapplied = history.failed.map(\.name) + history.pending
        let added = Self.adds(unapplied.compactMap { byName[$0] })
        if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }

        for name in history.modified {
            warnings.append(Finding(.warn, "\(name) was edited after it was applied (migration.sql no longer matches the checksum in \(table))",
                                    fix: "restore \(display)/\(name)/migration.sql as it was applied (git log -p), and put the change in a new migration; prisma migrate dev would otherwise want to reset the database",
                                    location: SourceLocation(file: "\(display)/\(name)/migration.sql")))
        }
        if !history.notInFolder.isEmpty {
            let n = history.notInFolder
            warnings.append(Finding(.warn, "\(Self.list(n)) \(n.count == 1 ? "is" : "are") applied but not in \(display) (another branch's migration\(n.count == 1 ? "" : "s")?)",
                             fix: "deploy from the branch that has \(n.count == 1 ? "it" : "them"), or check out the branch the test database was migrated from"))
        }
        if !history.withoutScript.isEmpty {
            warnings.append(Finding(.warn, "\(Self.list(history.withoutScript)) in \(display) has no migration.sql", fix: "remove the empty migration folder, or restore its migration.sql"))
        }

        if let failed = history.failed.first {
            if let log = PrismaMigrations.firstLine(failed.logs) { evidence["log"] = .string(log) }
            evidence["startedAt"] = failed.startedAt.map { .string($0) } ?? .null
            if let steps = failed.appliedSteps { evidence["appliedSteps"] = .int(steps) }
            let more = history.failed.count > 1 ? " (and \(history.failed.count - 1) more failed)" : ""
            let behind = history.pending.isEmpty ? "" : "; \(history.pending.count) pending behind it"
            let log = PrismaMigrations.firstLine(failed.logs).map { "; its log: \($0)" } ?? ""
            return Self.finish(.fail(
                "\(failed.name) failed\(failed.startedAt.map { " (started \($0))" } ?? "")\(more): prisma migrate deploy refuses to apply any migration until it is resolved (P3009)\(behind)\(log)",
                evidence: evidence,
                fix: "fix the cause in the log; if the migration's changes were undone, npx prisma migrate resolve --rolled-back \(failed.name) and deploy again; if you completed them by hand, npx prisma migrate resolve --applied \(failed.name)"),
                warnings: warnings)
        }
        if !history.pending.isEmpty {
            let p = history.pending
            let what = p.count == 1 ? "\(p[0]) is not applied" : "\(p.count) migrations are not applied: \(Self.list(p))"
            let first = Finding(.fail, "\(what)\(Self.addsNote(added)): run prisma migrate deploy",
                                fix: "run npx prisma migrate deploy against this database (the test environment's DATABASE_URL), then restart the service",
                                location: SourceLocation(file: "\(display)/\(p[0])/migration.sql"))
            return Self.finish(CheckOutcome(findings: [first], evidence: evidence), warnings: warnings)
        }
        let last = folder.migrations.last.map { " (last: \($0.name))" } ?? ""
        return Self.finish(.pass("\(folder.migrations.count) Prisma migration\(folder.migrations.count == 1 ? "" : "s") in \(display), all applied\(last)", evidence: evidence),
                           warnings: warnings)
    }
}
