import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

let chatProject = prismaFixtures.appendingPathComponent("chat")

/// A config as if preflight.yml sat in `project` (so paths and locations are relative to it).
func schemaConfig(project: URL = chatProject, prisma: String = "schema.prisma", sources: [String] = [], build: String? = nil,
                  client: String? = nil, database: String? = nil) -> Config {
    var c = config(database: database)
    c.file = project.appendingPathComponent("preflight.yml").path
    c.set(SchemaSettings(prisma: prisma, sources: sources, build: build, client: client))
    return c
}

func runSchema(_ c: Config, timeout: Duration = .seconds(3)) async throws -> CheckOutcome {
    try await SchemaCheck(probes: .live).run(context(c, timeout: timeout))
}

/// The check's findings (the schema's, not a pass or a count): each place as "file:line", each message without it.
func schemaFindings(_ o: CheckOutcome) -> [(location: String?, message: String)] {
    o.findings.filter { $0.evidence["kind"] != nil }.map { f in
        let at = f.location.map { l in l.line.map { "\(l.file):\($0)" } ?? l.file }
        return (at, at.map { f.sentence.hasPrefix("\($0): ") ? String(f.sentence.dropFirst($0.count + 2)) : f.sentence } ?? f.sentence)
    }
}

@Suite struct SchemaCheckStatic {
    @Test func readsItsSection() throws {
        let loader = ConfigLoader(sections: AllChecks.sections)
        let c = try loader.load(yaml: "schema:\n  prisma: prisma/schema.prisma\n  sources: [src, lib]\n  build: dist\n", file: nil, environment: [:])
        let s = c.section(SchemaSettings.self)
        #expect(s.prisma == "prisma/schema.prisma")
        #expect(s.sources == ["src", "lib"])
        #expect(s.build == "dist")
        #expect(s.client == nil)
        #expect(throws: ConfigError.self) { try loader.load(yaml: "schema:\n  prsma: x\n", file: nil, environment: [:]) }
        do {
            _ = try loader.load(yaml: "schema:\n  prsma: x\n", file: nil, environment: [:])
        } catch {
            #expect(error.description.contains("did you mean prisma?"), "\(error)")
        }
    }

    @Test func seedMistakesInTheCode() async throws {
        let o = try await runSchema(schemaConfig(sources: ["src-buggy"]))
        #expect(o.status == .fail)
        #expect(o.summary == "src-buggy/chat.repository.ts:13: `messageType` is not a field of Message (data in this.db.message.create); did you mean `type`?")
        #expect(o.findings.first?.location == SourceLocation(file: "src-buggy/chat.repository.ts", line: 13))
        let f = schemaFindings(o)
        #expect(f.map(\.location) == ["src-buggy/chat.repository.ts:13", "src-buggy/chat.repository.ts:26"])
        #expect(f.last?.message.contains("`readReceipts` is not a field of Message (include in this.db.message.findMany); did you mean `messageReads`?") == true)
        #expect(o.fix?.contains("(type)") == true)
    }

    @Test func fixedCodePasses() async throws {
        let o = try await runSchema(schemaConfig(sources: ["src"]))
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary == "5 models in schema.prisma parse and match the code")
        #expect(o.evidence["sources"] == .string("1 files, 3 Prisma calls"))
        #expect(o.evidence["database"] == .string("not compared (no database.url)"))
    }

    @Test func staleBuildStillUsesTheOldNames() async throws {
        let o = try await runSchema(schemaConfig(sources: ["src"], build: "dist"))
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("dist/chat.repository.js:13: rebuild: dist/chat.repository.js:13 still uses `messageType` on Message (Message has `type`); the sources no longer do"), "\(o.summary)")
        #expect(schemaFindings(o).count == 2)
        #expect(o.fix?.contains("delete dist and rebuild") == true, "\(o.fix ?? "")")
    }

    @Test func staleGeneratedClient() async throws {
        let o = try await runSchema(schemaConfig(client: "generated-client"))
        #expect(o.status == .fail)
        #expect(o.summary == "generated-client/schema.prisma:46: the generated client is stale: it has `Message.messageType`, schema.prisma has `Message.type`")
        #expect(o.fix?.contains("prisma generate") == true)
    }

    @Test func currentGeneratedClientPasses() async throws {
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        let clientDir = dir.appendingPathComponent("node_modules/.prisma/client")
        try FileManager.default.createDirectory(at: clientDir, withIntermediateDirectories: true)
        let text = try fixtureText("chat/schema.prisma")
        try text.write(to: dir.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        try (text + "\n// a comment added later\n").write(to: clientDir.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir))
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["client"] == .string("node_modules/.prisma/client/schema.prisma differs from schema.prisma in comments or layout only"))
    }

    @Test func buildOlderThanSourcesWarns() async throws {
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("src"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("dist"), withIntermediateDirectories: true)
        try fm.copyItem(at: chatProject.appendingPathComponent("schema.prisma"), to: dir.appendingPathComponent("schema.prisma"))
        try fm.copyItem(at: chatProject.appendingPathComponent("src/chat.repository.ts"), to: dir.appendingPathComponent("src/chat.repository.ts"))
        let js = dir.appendingPathComponent("dist/chat.repository.js")
        try "exports.x = 1;\n".write(to: js, atomically: true, encoding: .utf8)
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: js.path)
        let o = try await runSchema(schemaConfig(project: dir, sources: ["src"], build: "dist"))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("dist is older than the sources (src/chat.repository.ts changed after the last build)"), "\(o.summary)")
    }

    @Test func syntaxErrorIsAFailureWithItsLine() async throws {
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "model User {\n  id Int @id\n  name String @map(\"n\"\n}\n".write(to: dir.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir, database: "postgresql://u:p@127.0.0.1:\(closedLoopbackPort())/db"))
        #expect(o.status == .fail)
        #expect(o.summary == "schema.prisma:3: schema.prisma does not parse: '(' is not closed")
        #expect(o.evidence["database"] == nil)  // no live comparison against a schema that does not parse
    }

    @Test func missingSchemaFileFails() async throws {
        let o = try await runSchema(schemaConfig(prisma: "no/such/schema.prisma"))
        #expect(o.status == .fail)
        #expect(o.summary.contains("no/such/schema.prisma cannot be read"))
    }

    @Test func schemaWithoutModelsWarns() async throws {
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("prisma/schema")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n"
            .write(to: folder.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir, prisma: "prisma/schema"))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary == "1 .prisma files in prisma/schema declare no model: nothing was compared")
        let single = try await runSchema(schemaConfig(project: dir, prisma: "prisma/schema/schema.prisma"))
        #expect(single.status == .warn, "\(single.summary)")
        #expect(single.summary == "prisma/schema/schema.prisma declares no model: nothing was compared")
    }

    @Test func emptySchemaFolderFails() async throws {
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("prisma/schema"), withIntermediateDirectories: true)
        let o = try await runSchema(schemaConfig(project: dir, prisma: "prisma/schema"))
        #expect(o.status == .fail)
        #expect(o.summary == "prisma/schema holds no .prisma file")
    }

    @Test func prismaConfigWithAComputedSchemaFails() async throws {
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "import { defineConfig } from 'prisma/config'\nexport default defineConfig({\n  schema: schemaDir(),\n})\n"
            .write(to: dir.appendingPathComponent("prisma.config.ts"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir, prisma: "prisma.config.ts"))
        #expect(o.status == .fail)
        #expect(o.summary == "prisma.config.ts:3: the schema path in prisma.config.ts could not be read statically (`schema:` is set by an expression (schemaDir()))", "\(o.summary)")
    }

    @Test(arguments: [
        ("export default defineConfig({ schema: 'prisma/schema' })", PrismaConfigFile.SchemaPath.path("prisma/schema")),
        ("export default { \"schema\": \"db/\" } satisfies PrismaConfig", .path("db/")),
        ("export default defineConfig({ schema: path.join('prisma', 'schema') })", .path("prisma/schema")),
        ("export default defineConfig({ schema: path.resolve(import.meta.dirname, 'db', 'schema.prisma') })", .path("db/schema.prisma")),
        ("export default defineConfig({ schema: join(__dirname, `prisma`) })", .path("prisma")),
        ("export default defineConfig({ migrations: { schema: 'x' }, earlyAccess: true })", .unset),
        ("const c: PrismaConfig = { schema: process.env.SCHEMA }\nexport default c", .unresolved(line: 1, reason: "`schema:` is set by an expression (process.env.SCHEMA)")),
    ])
    func prismaConfigSchemaForms(text: String, expected: PrismaConfigFile.SchemaPath) {
        #expect(PrismaConfigFile.schemaPath(text) == expected)
    }

    @Test func unreachableDatabaseWarns() async throws {
        let o = try await runSchema(schemaConfig(sources: ["src"], database: "postgresql://u:secret-pw@127.0.0.1:\(closedLoopbackPort())/db"))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.hasPrefix("5 models in schema.prisma parse and match the code, but the live database was not compared (connection refused on 127.0.0.1:"), "\(o.summary)")
        #expect(!o.summary.contains("secret-pw"))
    }
}
