import Foundation
import Testing
import TestSupport

/// `preflight init` on sample project folders.
@Suite(.serialized, .tags(.live), .runsLive) struct InitTests {
    func preflight(_ args: [String], in dir: URL, env: [String: String] = [:]) async throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        return try await run(preflightBinary, args, environment: environment, currentDirectory: dir, limit: 60)
    }

    func write(_ text: String, _ path: String, in dir: URL) throws {
        let url = dir.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func nestPrismaK6ProjectLikeTheSeeds() async throws {
        let dir = try temporaryDirectory("pf-init")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("PORT=3001\nDATABASE_URL=\"postgresql://postgres:init-secret-pw@localhost:5432/chat?connection_limit=50\"\n", ".env", in: dir)
        try write(#"{"name":"chat-backend","scripts":{"start":"nest start"}}"#, "package.json", in: dir)
        try write("app.setGlobalPrefix('api/v1');\nawait app.listen(process.env.PORT || 3001);\n", "src/main.ts", in: dir)
        try write("@Controller('health')\nexport class HealthController {}\n", "src/health/health.controller.ts", in: dir)
        try String(contentsOf: packageRoot.appendingPathComponent("Tests/SampleStack/prisma/schema.prisma"), encoding: .utf8).write(to: dir.appendingPathComponent("prisma-schema.tmp"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("prisma"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: dir.appendingPathComponent("prisma-schema.tmp"), to: dir.appendingPathComponent("prisma/schema.prisma"))
        try write("import http from 'k6/http';\nconst BASE_URL = __ENV.CHAT_BASE_URL || \"http://localhost:3000/api/v1/chat\";\nexport default function () { http.get(`${BASE_URL}/x`); }\n", "k6/chat.js", in: dir)

        let out = try await preflight(["init"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let yaml = try String(contentsOf: dir.appendingPathComponent("preflight.yml"), encoding: .utf8)
        for expected in ["target: http://127.0.0.1:3001/api/v1", "path: /health", "url: ${DATABASE_URL}", "prisma: prisma/schema.prisma",
                         "script: k6/chat.js", "CHAT_BASE_URL: http://127.0.0.1:3001/api/v1/chat"] {
            #expect(yaml.contains(expected), "missing \(expected)")
        }
        #expect(!yaml.contains("init-secret-pw"), "the password stays in .env")
        #expect(!out.stdout.contains("init-secret-pw"))

        // It does not overwrite, unless asked.
        #expect(try await preflight(["init"], in: dir).status == 2)
        #expect(try await preflight(["init", "--force"], in: dir).status == 0)

        // What it wrote is a valid config: the run gets to a verdict (no-go: nothing runs), not a config error.
        let run = try await preflight(["--timeout", "300ms"], in: dir, env: ["DATABASE_URL": "postgresql://u:pw-x@127.0.0.1:\(closedLoopbackPort())/chat"])
        #expect(run.status == 1, "\(run.stderr)")
    }

    /// Prisma's own template in the project's environment: init, then a run whose database check logs in
    /// (libpq never sees ?schema=public; before, this was a false no-go).
    @Test func prismaTemplateURLLogsInAfterInit() async throws {
        let pg = try await PostgresCluster.shared()
        let dir = try temporaryDirectory("pf-init-prisma")
        defer { try? FileManager.default.removeItem(at: dir) }
        let prismaURL = pg.url + "?schema=public&connection_limit=20"
        try write("DATABASE_URL=\"\(prismaURL)\"\n", ".env", in: dir)
        try write("generator client {\n  provider = \"prisma-client-js\"\n}\ndatasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n",
                  "prisma/schema.prisma", in: dir)
        #expect(try await preflight(["init"], in: dir).status == 0)
        let run = try await preflight(["--only", "database", "--format", "json"], in: dir, env: ["DATABASE_URL": prismaURL])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let database = ((root["checks"] as? [[String: Any]]) ?? []).first { $0["id"] as? String == "database" }
        #expect(database?["status"] as? String == "pass", "\(database ?? [:])")
        let evidence = database?["evidence"] as? [String: Any]
        #expect((evidence?["driverParameters"] as? String)?.hasPrefix("connection_limit, schema") == true, "\(evidence ?? [:])")
        #expect(!run.stdout.contains(pg.password))
    }

    @Test func emptyFolderSaysWhatItGuessed() async throws {
        let dir = try temporaryDirectory("pf-init-empty")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await preflight(["init"], in: dir)
        #expect(out.status == 0)
        #expect(out.stdout.contains("guessed:"))
        #expect(try String(contentsOf: dir.appendingPathComponent("preflight.yml"), encoding: .utf8).contains("CHECK THIS"))
    }
}
