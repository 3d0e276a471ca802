import Foundation
import Testing
import TestSupport
@testable import PreflightChecks

/// Prisma's default schema locations have one owner (PrismaSchemaLocation), read by the schema check and by
/// `preflight init`'s project scan; they used to keep two lists that differed.
@Suite struct PrismaSchemaLocationTests {
    func project(_ files: [String: String]) throws -> URL {
        let dir = try temporaryDirectory("pf-prisma-loc")
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return dir
    }

    static let model = "model User {\n  id Int @id\n}\n"

    /// The scan knew only prisma.config.ts: a prisma.config.mjs project was taken for its default schema file.
    @Test func anyConfigFileNameComesFirst() throws {
        let dir = try project(["prisma.config.mjs": "export default { schema: 'db/schema.prisma' }\n", "prisma/schema.prisma": Self.model])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(PrismaSchemaLocation.find(in: dir.path) == "prisma.config.mjs")
    }

    @Test func defaultsInPrismasOrder() throws {
        let both = try project(["prisma/schema.prisma": Self.model, "schema.prisma": Self.model])
        defer { try? FileManager.default.removeItem(at: both) }
        #expect(PrismaSchemaLocation.find(in: both.path) == "prisma/schema.prisma")
        let none = try project([:])
        defer { try? FileManager.default.removeItem(at: none) }
        #expect(PrismaSchemaLocation.find(in: none.path) == nil)
    }

    /// The check's list lacked the multi-file folder: a config that sets no schema next to prisma/schema/ failed.
    @Test func aConfigWithoutSchemaFindsTheDefaultFolder() throws {
        let dir = try project(["prisma.config.ts": "import { defineConfig } from 'prisma/config'\nexport default defineConfig({})\n",
                               "prisma/schema/user.prisma": Self.model])
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = SchemaProject(settings: SchemaSettings(prisma: "prisma.config.ts"), prisma: "prisma.config.ts",
                              configFile: dir.appendingPathComponent("preflight.yml").path)
        guard case .success(let location) = p.locate() else { Issue.record("not located: \(p.locate())"); return }
        #expect(location.isFolder)
        #expect(location.via == "prisma.config.ts")
        #expect(location.files.map { ($0 as NSString).lastPathComponent } == ["user.prisma"])
    }
}
