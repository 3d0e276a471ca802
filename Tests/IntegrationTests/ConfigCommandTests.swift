import Foundation
import Testing
import TestSupport

/// `preflight config`: every value with its source, secrets redacted, the database URL as libpq reads it,
/// and nothing contacted.
@Suite struct ConfigCommandTests {
    @Test func showsEveryValueWithItsSourceAndNoSecret() async throws {
        let dir = try temporaryDirectory("pf-config-cmd")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Nothing listens on the database's port: `config` reads, it never connects (it builds no probes).
        let port = closedLoopbackPort()
        try """
            target: http://127.0.0.1:3001/api/v1
            x-pool: &pool {replicas: 2}
            database:
              url: ${PF_CFG_DB}
              pools:
                - {<<: *pool, name: api, size: 10}
            rate_limit:
              request: POST /chat/messages
              headers:
                Authorization: Bearer ${PF_CFG_TOKEN:-Default-Tok-9876}
            """.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let env = ["PF_CFG_DB": "postgresql://chat:Cfg-Secret-Pw-1@127.0.0.1:\(port)/chat?schema=public&connection_limit=20"]
        let text = try await run(preflightBinary, ["config", "--timeout", "2s"], environment: ProcessInfo.processInfo.environment.merging(env) { $1 },
                                 currentDirectory: dir, limit: 30)
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        func line(_ prefix: String) -> String? { lines.first { $0.hasPrefix(prefix) } }
        #expect(line("database.url = postgresql://chat:***@127.0.0.1:\(port)/chat?schema=public&connection_limit=20")?
                    .hasSuffix("# preflight.yml:4 via ${PF_CFG_DB} (environment)") == true, "\(text.stdout)")
        #expect(line("database.pools[0].replicas = 2")?.hasSuffix("# preflight.yml:2") == true, "a merged value keeps its line")
        #expect(line("rate_limit.headers.Authorization = ***")?.hasSuffix("via ${PF_CFG_TOKEN} (its default)") == true, "\(text.stdout)")
        #expect(line("timeout = 2s")?.hasSuffix("# flag --timeout") == true)
        #expect(line("health.path = /health")?.hasSuffix("# default") == true)
        #expect(line("rate_limit.burst = 250")?.hasSuffix("# default") == true)
        #expect(lines.contains("libpq conninfo: postgresql://chat:***@127.0.0.1:\(port)/chat"))
        #expect(lines.contains("driver parameters (the application's; not passed to libpq): connection_limit=20, schema=public"))
        for secret in ["Cfg-Secret-Pw-1", "Default-Tok-9876"] { #expect(!text.stdout.contains(secret)) }

        let json = try await run(preflightBinary, ["config", "--format", "json"], environment: ProcessInfo.processInfo.environment.merging(env) { $1 },
                                 currentDirectory: dir, limit: 30)
        #expect(json.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        let database = try #require(root["database"] as? [String: String])
        #expect(database["hosts"] == "127.0.0.1:\(port)")
        #expect(database["driverParameters"] == "connection_limit=20, schema=public")
        let values = try #require(root["values"] as? [[String: Any]])
        #expect(values.contains { $0["path"] as? String == "load.vus" && $0["value"] is NSNull && $0["source"] as? String == "default" })
        for secret in ["Cfg-Secret-Pw-1", "Default-Tok-9876"] { #expect(!json.stdout.contains(secret)) }
    }

    /// `--no-smoke` is `load.smoke: false`, shown with its source (the smoke check skips on it).
    @Test func noSmokeFlagTurnsTheSmokeRunOff() async throws {
        let dir = try temporaryDirectory("pf-config-smoke")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "load:\n  script: load.js\n".write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let on = try await run(preflightBinary, ["config"], currentDirectory: dir, limit: 30)
        #expect(on.stdout.contains("load.smoke = true"), "\(on.stdout)")
        let off = try await run(preflightBinary, ["config", "--no-smoke"], currentDirectory: dir, limit: 30)
        #expect(off.status == 0, "\(off.stderr)")
        #expect(off.stdout.contains("load.smoke = false") && off.stdout.contains("# flag --no-smoke"), "\(off.stdout)")
    }

    /// Where the file is silent, what a run would find by itself, with its source (issue 30): the migrations'
    /// folder and tool, as `migrations.tool` would take it; a value the file gives stays the file's.
    @Test func showsWhatAutodetectionFinds() async throws {
        let dir = try temporaryDirectory("pf-config-detect")
        defer { try? FileManager.default.removeItem(at: dir) }
        let migration = dir.appendingPathComponent("prisma/migrations/20260101000000_init")
        try FileManager.default.createDirectory(at: migration, withIntermediateDirectories: true)
        try "CREATE TABLE a (id int);\n".write(to: migration.appendingPathComponent("migration.sql"), atomically: true, encoding: .utf8)
        try "model A {\n  id Int @id\n}\n".write(to: dir.appendingPathComponent("prisma/schema.prisma"), atomically: true, encoding: .utf8)
        try "schema:\n  prisma: prisma/schema.prisma\n".write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let out = try await run(preflightBinary, ["config"], currentDirectory: dir, limit: 30)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("migrations.path = prisma/migrations ") && $0.hasSuffix("# detected: next to schema.prisma") }, "\(out.stdout)")
        #expect(lines.contains { $0.hasPrefix("migrations.tool = prisma ") && $0.hasSuffix("# detected: next to schema.prisma") }, "\(out.stdout)")
    }

    @Test func aConfigErrorIsExitTwo() async throws {
        let dir = try temporaryDirectory("pf-config-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "database:\n  url: mysql://root@db/x\n".write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let out = try await run(preflightBinary, ["config"], currentDirectory: dir, limit: 30)
        #expect(out.status == 2)
        #expect(out.stderr.contains("line 2: database.url: scheme must be postgresql"), "\(out.stderr)")
        #expect(out.stdout.isEmpty)
    }

    /// What libpq refuses is refused in libpq's words; what the connection dials (hostaddr) is shown.
    @Test func libpqsRefusalsAndHostaddr() async throws {
        let dir = try temporaryDirectory("pf-config-libpq")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (url, words) in [("postgresql://host?zzz", #"missing key/value separator "=" in URI query parameter: "zzz""#),
                             ("postgresql://host?value1&value2", #"missing key/value separator "=" in URI query parameter: "value1""#),
                             ("postgresql://host?key=key=value", #"extra key/value separator "=" in URI query parameter: "key""#)] {
            let out = try await run(preflightBinary, ["config", "--database-url", url], currentDirectory: dir, limit: 30)
            #expect(out.status == 2, "\(url): \(out.stdout)")
            #expect(out.stderr.contains(words), "\(url): \(out.stderr)")
        }
        // Nothing is looked up or contacted: `config` only reads.
        let shown = try await run(preflightBinary, ["config", "--database-url", "postgresql://app:Hostaddr-Pw-3@db.example:6432/app?hostaddr=127.0.0.1"],
                                  currentDirectory: dir, limit: 30)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("\nhostaddr (what the connection dials; host is not looked up): 127.0.0.1\n"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("Hostaddr-Pw-3"))
    }
}
