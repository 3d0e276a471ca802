import Foundation
import PreflightCore
import PreflightProbes

/// `schema:` in preflight.yml. Paths are relative to the config file's folder (or the current one).
public struct SchemaSettings: ConfigSection {
    public static let key = "schema"
    public static let keys = ["prisma", "sources", "build", "client"]
    /// A schema.prisma file, a folder of .prisma files (multi-file schema), or a prisma.config.ts naming either.
    public var prisma: String?
    /// Folders of application code (TypeScript/JavaScript).
    public var sources: [String] = []
    /// Compiled output, e.g. `dist/`.
    public var build: String?
    /// The generated client (holds its own copy of schema.prisma).
    public var client: String?

    public init() {}
    public init(prisma: String?, sources: [String] = [], build: String? = nil, client: String? = nil) {
        self.prisma = prisma
        self.sources = sources
        self.build = build
        self.client = client
    }
    public init(reading r: SectionReader) {
        prisma = r.string("prisma")
        build = r.string("build")
        client = r.string("client")
        switch r.node?["sources"] {
        case .scalar(let s, _)?: sources = [s]
        case .sequence(let items, _)?:
            for item in items {
                if case .scalar(let s, _) = item { sources.append(s) } else { r.problem("sources", "expected a list of folders") }
            }
        case .mapping?: r.problem("sources", "expected a folder or a list of folders, found a mapping")
        default: break
        }
    }
}

/// Field names in schema.prisma against the live database, the application code, the generated client and the build.
///
/// No prerequisites, on purpose: with `database` as a prerequisite a database that is down would also hide
/// the code and build findings, which need no database. The static parts always run; the live comparison runs
/// when `database.url` is set and connects (if it does not, the check warns and the database check says why).
public struct SchemaCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "schema", title: "Schema and code", layer: .schema,
        examples: [
            CheckExample("every model has its table and every field its column (extra columns are listed as info)", .pass),
            CheckExample("messages.type is missing; the table has message_type (renamed by a migration)", .fail),
            CheckExample("src/chat.repository.ts:204 uses messageType on Message; did you mean type?", .fail),
            CheckExample("dist/ still uses messageType, or the generated client's schema differs: rebuild / prisma generate", .fail),
            CheckExample("a multi-file schema (schema.prisma: prisma/schema, or prisma.config.ts's schema) matches the database", .pass),
            CheckExample("the database could not be reached: only the code and build were compared", .warn),
            CheckExample("the schema declares no model: nothing was compared", .warn),
        ],
        timeoutBudget: 4)
    public static let settings: [any ConfigSection.Type] = [SchemaSettings.self]
    public static let facts: [any Fact.Type] = [DatabaseSettings.self, ProjectMigrations.self]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let settings = context.config.section(SchemaSettings.self)
        guard let prisma = settings.prisma else { return .skipped("no schema.prisma configured") }
        let project = SchemaProject(settings: settings, prisma: prisma, configFile: context.config.file)
        var report = await Blocking.run { project.inspect() }

        var liveNote: String?
        if let schema = report.schema, report.findings.allSatisfy({ $0.kind != .syntax }) {
            if let url = context.fact(DatabaseSettings.self).url {
                switch await LiveSchema.read(url: url, connector: probes.postgres, timeout: context.timeout) {
                case .success(let live):
                    let comparison = live.compare(schema, prismaFile: project.display(project.prismaPath),
                                                  defaultSchema: url.schema ?? "public")
                    report.findings += comparison.findings
                    report.comparedDatabase = true
                    report.evidence["database"] = .string("compared with \(url.hostPort)/\(url.database ?? "-")")
                    report.evidence["tables"] = .int(comparison.tablesChecked)
                    if !comparison.unknownColumns.isEmpty {
                        report.evidence["columnsNotInSchema"] = .array(comparison.unknownColumns.map { .string($0) })
                    }
                case .failure(let e):
                    let why = e.sentence(for: url, timeout: context.timeout).summary
                    liveNote = "the live database was not compared (\(why))"
                    report.evidence["database"] = .string("not compared: \(e.oneLine)")
                }
            } else {
                report.evidence["database"] = .string("not compared (no database.url)")
            }
        }
        return Self.outcome(Self.explain(report, by: context.fact(ProjectMigrations.self)), liveNote: liveNote)
    }

    /// Names the project's migration that adds each missing table, column or enum type. When every failure is
    /// one of those, the outcome suspects the migrations check: the report makes this failure its consequence
    /// only when that check failed (the migration is pending or failed), and leaves it a root cause when the
    /// history says it was applied (the column was dropped since).
    static func explain(_ report: SchemaReport, by migrations: ProjectMigrations) -> SchemaReport {
        var r = report
        var all = true
        var any = false
        for i in r.findings.indices where r.findings[i].kind != .buildAge {
            let names: [String]
            switch r.findings[i].missing {
            case .table(let t)?: names = migrations.adding(table: t)
            case .column(let t, let c)?: names = migrations.adding(table: t, column: c)
            case .enumType(let e)?: names = migrations.adding(table: "", enumType: e)
            case nil: names = []
            }
            guard let latest = names.last else { all = false; continue }
            any = true
            r.findings[i].message += " (added by migration \(latest))"
        }
        r.suspectMigrations = any && all
        return r
    }

    static func outcome(_ report: SchemaReport, liveNote: String?) -> CheckOutcome {
        var evidence = report.evidence
        let findings = report.findings.sorted { $0.kind < $1.kind }
        let failures = findings.filter { !$0.kind.isWarning }
        if !findings.isEmpty {
            evidence["findings"] = .array(findings.prefix(50).map { f in
                var e = Evidence([("kind", .string(f.kind.name)), ("message", .string(f.message))])
                if let l = f.location { e["location"] = .string(l) }
                return .object(e)
            })
            if let l = findings.first?.location { evidence["location"] = .string(l) }
        }
        guard let first = failures.first ?? findings.first else {
            if let liveNote {
                return .warn("\(report.summary(comparedDatabase: false)), but \(liveNote)", evidence: evidence,
                             fix: "see the database check; run preflight again once the database is reachable")
            }
            return .pass(report.summary(comparedDatabase: report.comparedDatabase), evidence: evidence)
        }
        let more = findings.count > 1 ? " (and \(findings.count - 1) more)" : ""
        let where_ = first.location.map { "\($0): " } ?? ""
        let summary = "\(where_)\(first.message)\(more)"
        if failures.isEmpty {
            return .warn(summary, evidence: evidence, fix: first.fix)
        }
        return .fail(summary, evidence: evidence, fix: first.fix, suspects: report.suspectMigrations ? ["migrations"] : [])
    }
}

extension SchemaSettings {
    public static let schemaDescription = "The ORM schema, compared with the live database"
    public static let schema: ValueSchema = .object([
        SchemaKey("prisma", "schema.prisma, a folder of .prisma files, or a prisma.config.ts naming either", .string),
        SchemaKey("sources", "Folders of application code (TypeScript/JavaScript)", .scalarOrList),
        SchemaKey("build", "Compiled output, e.g. dist/", .string),
        SchemaKey("client", "The generated client (holds its own copy of schema.prisma)", .string),
    ])
}
