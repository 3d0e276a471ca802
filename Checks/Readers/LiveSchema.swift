import PreflightCore
import PreflightProbes

/// Tables, columns and enum types of a live PostgreSQL database, read from pg_catalog in a read-only session.
/// pg_catalog rather than information_schema.columns: the latter hides columns the login role has no
/// privilege on, which would read as "missing".
struct LiveSchema: Sendable {
    /// schema → table → columns in order
    var tables: [String: [String: [String]]] = [:]
    /// schema → enum type → labels in order
    var enums: [String: [String: [String]]] = [:]

    static let columnsSQL = """
        SELECT n.nspname, c.relname, a.attname FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        ORDER BY n.nspname, c.relname, a.attnum
        """
    static let enumsSQL = """
        SELECT n.nspname, t.typname, e.enumlabel FROM pg_catalog.pg_type t
        JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid
        JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        ORDER BY n.nspname, t.typname, e.enumsortorder
        """

    static func read(url: DatabaseURL, connector: any PostgresConnector, timeout: Duration) async -> Result<LiveSchema, PostgresError> {
        let session: any PostgresSession
        switch await connector.connect(url, timeout: timeout) {
        case .failure(let e): return .failure(e)
        case .success(let s): session = s
        }
        let columns = await session.query(columnsSQL, timeout: timeout)
        let labels = await session.query(enumsSQL, timeout: timeout)
        await session.close()
        var live = LiveSchema()
        switch columns {
        case .failure(let e): return .failure(e)
        case .success(let rows):
            for row in rows where row.count == 3 {
                guard let ns = row[0], let table = row[1] else { continue }
                live.tables[ns, default: [:]][table, default: []] += row[2].map { [$0] } ?? []
            }
        }
        switch labels {
        case .failure(let e): return .failure(e)
        case .success(let rows):
            for row in rows where row.count == 3 {
                guard let ns = row[0], let type = row[1], let label = row[2] else { continue }
                live.enums[ns, default: [:]][type, default: []].append(label)
            }
        }
        return .success(live)
    }

    struct Comparison {
        var findings: [SchemaFinding] = []
        var tablesChecked = 0
        var unknownColumns: [String] = []
    }

    /// Every model has its table, every scalar field its column, every enum its values.
    /// `defaultSchema`: where models without `@@schema` live (Prisma's `?schema=` in the URL, else public).
    func compare(_ schema: PrismaSchema, prismaFile: String, defaultSchema: String = "public") -> Comparison {
        var result = Comparison()
        let enumNames = Set(schema.enums.map(\.name))
        for model in schema.models where model.kind != .type && !model.isIgnored {
            let ns = model.schemaName ?? defaultSchema
            let table = model.tableName
            let qualified = ns == defaultSchema ? table : "\(ns).\(table)"
            let file = model.file ?? prismaFile
            let at = "\(file):\(model.line)"
            guard let columns = tables[ns]?[table] else {
                let others = Array(tables[ns]?.keys ?? [:].keys).sorted()
                let near = similarName(table, in: others, ignoring: [])
                let what = model.kind == .view ? "view" : "table"
                let hint = near.map { "; the database has `\($0)` — renamed, or @@map(\"\($0)\") missing in schema.prisma?" }
                    ?? " — a migration that was not applied, or a dropped \(what)?"
                result.findings.append(SchemaFinding(
                    kind: .table, message: "\(what) `\(qualified)` of model \(model.name) is missing\(hint)", location: at,
                    fix: near.map { "add @@map(\"\($0)\") to model \(model.name), or rename the \(what) back; then run prisma generate" }
                        ?? "apply the migrations (npx prisma migrate deploy), or remove model \(model.name) from schema.prisma",
                    missing: .table(table)))
                continue
            }
            result.tablesChecked += 1
            var claimed = Set<String>()
            var missing: [PrismaField] = []
            for field in model.fields where !field.isIgnored {
                let isColumn = prismaScalarTypes.contains(field.type) || enumNames.contains(field.type)
                guard isColumn else { continue }
                if columns.contains(field.columnName) { claimed.insert(field.columnName) } else { missing.append(field) }
            }
            let unclaimed = columns.filter { !claimed.contains($0) }
            for field in missing {
                let near = similarName(field.columnName, in: unclaimed, ignoring: [])
                let hint = near.map { "; the table has `\($0)` — renamed by a migration that was not reflected in schema.prisma?" } ?? ""
                result.findings.append(SchemaFinding(
                    kind: .column, message: "`\(qualified).\(field.columnName)` is missing\(hint)",
                    location: "\(file):\(field.line)",
                    fix: near.map { "map the field to the column: \(field.declaration(mappedTo: $0)) in model \(model.name) (or rename the column back), then run prisma generate and rebuild" }
                        ?? "apply the migration that adds \(field.columnName) (npx prisma migrate deploy), or remove \(model.name).\(field.name)",
                    missing: .column(table: table, column: field.columnName)))
            }
            result.unknownColumns += unclaimed.filter { c in !missing.contains { similarName($0.columnName, in: [c], ignoring: []) != nil } }
                .map { "\(qualified).\($0)" }
        }
        for e in schema.enums {
            let ns = e.schemaName ?? defaultSchema
            guard let labels = enums[ns]?[e.typeName] else {
                // Only an enum some column uses has to exist.
                let used = schema.models.contains { m in m.kind != .type && m.fields.contains { $0.type == e.name } }
                if used {
                    result.findings.append(SchemaFinding(
                        kind: .enumType, message: "enum type `\(e.typeName)` is missing in the database",
                        location: "\(e.file ?? prismaFile):\(e.line)", fix: "apply the migrations (npx prisma migrate deploy)",
                        missing: .enumType(e.typeName)))
                }
                continue
            }
            let mine = e.values.map(\.label)
            let lacking = mine.filter { !labels.contains($0) }
            let extra = labels.filter { !mine.contains($0) }
            if !lacking.isEmpty || !extra.isEmpty {
                var parts: [String] = []
                if !lacking.isEmpty { parts.append("the database lacks \(lacking.joined(separator: ", "))") }
                if !extra.isEmpty { parts.append("schema.prisma lacks \(extra.joined(separator: ", "))") }
                result.findings.append(SchemaFinding(
                    kind: .enumType, message: "enum `\(e.typeName)` differs: \(parts.joined(separator: "; "))",
                    location: "\(e.file ?? prismaFile):\(e.line)",
                    fix: "make the enum in schema.prisma and the database agree (a migration, or edit the enum), then run prisma generate"))
            }
        }
        return result
    }
}

/// The nearest name by edit distance, else the one name sharing the most words (`type` → `message_type`).
func similarName(_ name: String, in candidates: [String], ignoring: Set<String>) -> String? {
    if let near = nearest(name, in: candidates) { return near }
    let words = Set(camelWords(name)).subtracting(ignoring)
    guard !words.isEmpty else { return nil }
    let scored = candidates.map { ($0, Set(camelWords($0)).subtracting(ignoring).intersection(words).count) }
    guard let best = scored.map(\.1).max(), best > 0 else { return nil }
    let winners = scored.filter { $0.1 == best }
    return winners.count == 1 ? winners[0].0 : nil
}
