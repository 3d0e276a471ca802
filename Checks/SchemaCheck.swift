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
            CheckExample(.pass, given: Self.world(columns: ["id", "type", "created_at"]), says: "prisma/schema.prisma match the database and the code"),
            CheckExample(.fail, given: Self.world(columns: ["id", "message_type", "created_at"]), says: "`messages.type` is missing; the table has `message_type`"),
            CheckExample(.fail, given: Self.world(columns: ["id", "type", "created_at"], files: [
                "src/chat.repository.ts": "export class ChatRepository {\n  send(db: any) {\n    return db.message.create({ data: { messageType: 'text' } });\n  }\n}\n",
            ]), says: "src/chat.repository.ts:3: `messageType` is not a field of Message"),
            CheckExample(.fail, given: Self.world(columns: ["id", "type", "created_at"], client: true, files: [
                "node_modules/.prisma/client/schema.prisma": Self.prismaSchema.replacingOccurrences(of: "  type ", with: "  messageType "),
            ]), says: "the generated client is stale: it has `Message.messageType`, schema.prisma has `Message.type`"),
            CheckExample(.pass, given: World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat\nschema:\n  prisma: prisma/schema", files: [
                "prisma/schema/base.prisma": "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n",
                "prisma/schema/message.prisma": Self.prismaSchema,
            ], answers: Self.database(columns: ["id", "type", "created_at"])), says: "prisma/schema (2 files) match the database"),
            CheckExample(.warn, given: World(config: Self.config(), files: ["prisma/schema.prisma": Self.prismaSchema, "src/index.ts": "export {};\n"]),
                         says: "the live database was not compared (connection refused on 127.0.0.1:5432"),
            CheckExample(.warn, given: World(config: Self.config(), files: [
                "prisma/schema.prisma": "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n",
                "src/index.ts": "export {};\n",
            ], answers: Self.database(columns: [])), says: "nothing was compared"),
            CheckExample(.skipped, given: World(config: "database:\n  url: postgresql://chat@127.0.0.1:5432/chat"), says: "no schema.prisma configured"),
        ],
        timeoutBudget: 4)
    public static let settings: [any ConfigSection.Type] = [SchemaSettings.self]
    public static let facts: [any Fact.Type] = [DatabaseSettings.self, ProjectMigrations.self, LoadPlan.self]

    static let prismaSchema = """
        model Message {
          id        String   @id
          type      String
          createdAt DateTime @map("created_at")
          @@map("messages")
        }

        """

    static func config(client: Bool = false) -> String {
        "database:\n  url: postgresql://chat@127.0.0.1:5432/chat\nschema:\n  prisma: prisma/schema.prisma\n  sources: src"
            + (client ? "\n  client: node_modules/.prisma/client" : "")
    }

    /// The live database: public.messages with these columns.
    static func database(columns: [String]) -> ProbeAnswers {
        ProbeAnswers {
            $0.postgres = .success(PostgresAnswers([
                ("a.attname FROM pg_catalog.pg_class", .success(columns.map { ["public", "messages", $0] })),
                ("pg_catalog.pg_enum", .success([])),
            ]))
        }
    }

    /// schema.prisma (one model, Message) and src/ beside the config, and the live table's columns.
    static func world(columns: [String], client: Bool = false, files: [String: String] = [:]) -> World {
        var all = ["prisma/schema.prisma": prismaSchema, "src/index.ts": "export {};\n"]
        for (k, v) in files { all[k] = v }
        return World(config: config(client: client), files: all, answers: database(columns: columns))
    }

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
        let outcome = Self.outcome(Self.explain(report, by: context.fact(ProjectMigrations.self)), liveNote: liveNote)
        guard outcome.status == .fail else { return outcome }
        return Self.withEffects(outcome, report: report, requests: context.fact(LoadPlan.self).requests)
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

    /// At most this many findings are listed; the rest are counted.
    static let maxFindings = 50

    static func outcome(_ report: SchemaReport, liveNote: String?) -> CheckOutcome {
        let evidence = report.evidence
        let findings = report.findings.sorted { $0.kind < $1.kind }
        let failures = findings.filter { !$0.kind.isWarning }
        guard !findings.isEmpty else {
            if let liveNote {
                return .warn("\(report.summary(comparedDatabase: false)), but \(liveNote)", evidence: evidence,
                             fix: "see the database check; run preflight again once the database is reachable")
            }
            return .pass(report.summary(comparedDatabase: report.comparedDatabase), evidence: evidence)
        }
        // Failures first (by kind), then warnings: each its own finding, at its line of schema.prisma or the code.
        let ordered = failures + findings.filter(\.kind.isWarning)
        var listed = ordered.prefix(maxFindings).map { f in
            Finding(f.kind.isWarning ? .warn : .fail, (f.location.map { "\($0): " } ?? "") + f.message, fix: f.fix,
                    evidence: Evidence(["kind": .string(f.kind.name)]),
                    location: f.sourceLocation)
        }
        if ordered.count > maxFindings { listed.append(Finding(.pass, "\(ordered.count - maxFindings) more findings not listed")) }
        return CheckOutcome(findings: listed, evidence: evidence,
                            suspects: failures.isEmpty || !report.suspectMigrations ? [] : ["migrations"])
    }
}

extension SchemaCheck {
    /// A missing table or column fails the requests that touch it (the app's 500: "column … does not exist"):
    /// the script's requests whose path names the table (EffectModel.touching). The headline carries it.
    static func withEffects(_ outcome: CheckOutcome, report: SchemaReport, requests: [RequestShape]) -> CheckOutcome {
        var tables: [String] = []
        for f in report.findings {
            switch f.missing {
            case .table(let t)?: if !tables.contains(t) { tables.append(t) }
            case .column(let t, _)?: if !tables.contains(t) { tables.append(t) }
            default: break
            }
        }
        guard !tables.isEmpty else { return outcome }
        return outcome.effect(EffectModel.touching(tables: tables, requests: requests, k6: "500 (the database: column or table does not exist)",
                                                   what: "\(tables.joined(separator: ", ")) does not match the code"))
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
