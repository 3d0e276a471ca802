import Foundation
import PreflightCore
import PreflightProbes

/// Alembic: the versions/ revisions and their heads against alembic_version.
extension MigrationsCheck {
    func alembic(_ project: ProjectMigrations, session: any PostgresSession, schema: String?, timeout: Duration) async -> CheckOutcome {
        let revisions = project.alembic ?? []
        let display = project.folder ?? "versions"
        let graph = AlembicRevisions.Graph(revisions)
        var evidence = Evidence([("tool", .string("Alembic")), ("folder", .string(display)), ("revisions", .int(revisions.count))])
        guard !revisions.isEmpty else { return .skipped("no Alembic revisions in \(display)") }
        var warnings: [Finding] = []
        let short = { (id: String) in id.count > 12 ? String(id.prefix(12)) + "…" : id }
        evidence["heads"] = .array(graph.heads.map { .string($0) })
        if graph.heads.count > 1 {
            warnings.append(Finding(.warn, "\(graph.heads.count) heads in \(display) (\(graph.heads.map(short).joined(separator: ", "))): alembic upgrade head refuses (\"Multiple head revisions\")",
                             fix: "merge them: alembic merge heads -m merge, then alembic upgrade head (or upgrade heads, if the branches are meant to stay apart)"))
        }
        if !graph.duplicates.isEmpty {
            warnings.append(Finding(.warn, "revision \(Self.list(graph.duplicates)) is declared by two files in \(display)", fix: "give each revision file its own revision id"))
        }

        let info: TableInfo, table: String
        switch await Self.historyTable("alembic_version", schema: schema, session: session, timeout: timeout, evidence: &evidence) {
        case .unreadable(let warning): return warning
        case .found(let i, let t): (info, table) = (i, t)
        }
        guard info.exists else {
            evidence["tables"] = .int(info.otherTables)
            if info.otherTables > 0 {
                return Self.finish(.warn(
                    "no \(table) table, but \(info.otherTables) table\(info.otherTables == 1 ? "" : "s") in \(info.schema): the schema was made without Alembic (metadata.create_all, or by hand); its history says nothing",
                    evidence: evidence, fix: "the schema check compares the tables themselves; to migrate with Alembic from here, alembic stamp the revision the database matches"),
                    warnings: warnings)
            }
            return .fail("no \(table) table and no tables in \(info.schema): the database was never migrated (\(revisions.count) revision\(revisions.count == 1 ? "" : "s") to apply)",
                         evidence: evidence, fix: "run alembic upgrade head against this database")
        }
        let current: [String]
        switch await session.query("SELECT version_num FROM \(Self.identifier(info.schema)).alembic_version ORDER BY version_num LIMIT \(Self.maxRows)", timeout: timeout) {
        case .failure(let e):
            return .warn("\(table) could not be read: \(e.oneLine)", evidence: evidence, fix: "grant the role of database.url SELECT on \(table)")
        case .success(let rows): current = rows.compactMap { $0.first ?? nil }
        }
        evidence["current"] = .array(current.map { .string($0) })
        let (pending, unknown) = graph.pending(current: current)
        if !unknown.isEmpty {
            warnings.append(Finding(.warn, "the database is at \(Self.list(unknown.map(short))), which no file in \(display) declares (another branch's revision?): alembic upgrade refuses (\"Can't locate revision\")",
                             fix: "check out the branch the test database was migrated from, or alembic stamp the revision this branch matches"))
        }
        if !pending.isEmpty {
            evidence["pending"] = .array(pending.map { .string($0) })
            let added = Self.adds(pending.compactMap { graph.byID[$0]?.changes })
            if !added.isEmpty { evidence["adds"] = .array(added.map { .string($0) }) }
            let files = pending.compactMap { graph.byID[$0]?.file }
            let what = pending.count == 1 ? "revision \(pending[0]) (\(files.first ?? "?")) is not applied"
                : "\(pending.count) revisions are not applied, in order: \(Self.list(pending.map(short)))"
            let target = graph.heads.count > 1 ? "heads" : "head"
            return Self.finish(.fail("Alembic: \(what)\(Self.addsNote(added)): run alembic upgrade \(target)", evidence: evidence,
                                     fix: "run alembic upgrade \(target) against this database, then restart the service"),
                               warnings: warnings)
        }
        let at = current.count == 1 ? "the head \(short(current[0]))" : "the heads \(current.map(short).joined(separator: ", "))"
        return Self.finish(.pass("Alembic: the database is at \(at) (\(revisions.count) revision\(revisions.count == 1 ? "" : "s") in \(display))", evidence: evidence),
                           warnings: warnings)
    }
}
