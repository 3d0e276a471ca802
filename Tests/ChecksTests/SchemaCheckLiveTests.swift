import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

// The schema check against real PostgreSQL (its examples without a database: SchemaCheckTests.swift).

/// Against real PostgreSQL: each test gets its own database, built by the fixture's SQL migration.
@Suite(.serialized, .tags(.live), .runsLive) struct SchemaCheckLive {
    /// A fresh database with migrations/001_init.sql applied, then `change`; returns the app role's URL.
    func database(_ change: String? = nil, migration: String? = chatProject.appendingPathComponent("migrations/001_init.sql").path) async throws -> String {
        let pg = try await PostgresCluster.shared()
        let name = "schema_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(name) OWNER preflight")
        func on(_ url: String) -> String { String(url[..<url.lastIndex(of: "/")!]) + "/" + name }
        let admin = on(pg.adminURL)
        var args = [admin, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        if let migration { args += ["-f", migration] }
        if let change { args += ["-c", change] }
        let out = try await run("/usr/bin/psql", args, limit: 30)
        guard out.status == 0 else { throw FixtureError("migration failed: \(out.stderr)") }
        return on(pg.url)
    }

    @Test func matchingDatabasePassesAndListsExtraColumns() async throws {
        let url = try await database("ALTER TABLE users ADD COLUMN nickname text")
        let o = try await runSchema(schemaConfig(sources: ["src"], database: url))
        #expect(o.status == .pass, "\(o.summary) \(schemaFindings(o))")
        #expect(o.summary == "5 models in schema.prisma match the database and the code")
        #expect(o.evidence["tables"] == .int(5))
        #expect(o.evidence["columnsNotInSchema"] == .array(["users.nickname"]))
    }

    @Test func renamedColumnFailsWithTheNewName() async throws {
        let url = try await database("ALTER TABLE messages RENAME COLUMN type TO message_type")
        let o = try await runSchema(schemaConfig(database: url))
        #expect(o.status == .fail)
        #expect(o.summary == "schema.prisma:46: `messages.type` is missing; the table has `message_type` — renamed by a migration that was not reflected in schema.prisma?")
        #expect(o.fix == "map the field to the column: type MessageType @default(TEXT) @map(\"message_type\") in model Message (or rename the column back), then run prisma generate and rebuild")
        #expect(o.evidence["columnsNotInSchema"] == nil)
    }

    @Test func droppedTableFails() async throws {
        let url = try await database("DROP TABLE message_reads")
        let o = try await runSchema(schemaConfig(database: url))
        #expect(o.status == .fail)
        #expect(o.summary == ("schema.prisma:57: table `message_reads` of model MessageRead is missing — a migration that was not applied, or a dropped table?"), "\(o.summary)")
    }

    @Test func unmappedTableNameIsTheModelName() async throws {
        let url = try await database("ALTER TABLE \"AuditEvent\" RENAME TO audit_event")
        let o = try await runSchema(schemaConfig(database: url))
        #expect(o.status == .fail)
        #expect(o.summary.contains("table `AuditEvent` of model AuditEvent is missing; the database has `audit_event`"), "\(o.summary)")
    }

    @Test func enumValuesMustMatch() async throws {
        let url = try await database("ALTER TYPE \"Role\" ADD VALUE 'OWNER'")
        let o = try await runSchema(schemaConfig(database: url))
        #expect(o.status == .fail)
        #expect(o.summary == "schema.prisma:24: enum `Role` differs: schema.prisma lacks OWNER")
    }

    @Test func severalFindingsNameTheMostImportantFirst() async throws {
        let url = try await database("ALTER TABLE messages RENAME COLUMN type TO message_type")
        let o = try await runSchema(schemaConfig(sources: ["src-buggy"], build: "dist", client: "generated-client", database: url))
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("schema.prisma:46: `messages.type` is missing"))
        #expect(o.findings.count == 6, "\(o.findings.map(\.sentence))")
        #expect(schemaFindings(o).map { $0.location ?? "-" } == [
            "schema.prisma:46", "src-buggy/chat.repository.ts:13", "src-buggy/chat.repository.ts:26",
            "generated-client/schema.prisma:46", "dist/chat.repository.js:13", "dist/chat.repository.js:25",
        ])
    }

    @Test func modelsInOtherSchemas() async throws {
        let url = try await database("CREATE SCHEMA audit; CREATE TABLE audit.events (id int PRIMARY KEY, kind text)")
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            model Event {
              id   Int    @id
              kind String
              at   DateTime
              @@schema("audit")
              @@map("events")
            }
            model Gone {
              id Int @id
              @@schema("audit")
            }
            """.write(to: dir.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir, database: url))
        #expect(o.status == .fail)
        #expect(schemaFindings(o).map(\.message) == ["`audit.events.at` is missing", "table `audit.Gone` of model Gone is missing — a migration that was not applied, or a dropped table?"].reversed())
    }

    /// The large project's shape: `@map(name: …)`/`@@map(name: …)` everywhere, `?` and `@db.*` on the fields.
    static let namedArguments = """
        datasource db {
          provider = "postgresql"
          url      = env("DATABASE_URL")
        }
        model Webhook {
          id        String    @id(map: "webhooks_pk") @default(value: dbgenerated("gen_random_uuid()")) @db.Uuid
          createdAt DateTime? @map(name: "created_at") @db.Timestamptz(6) @default(now())
          targetUrl String    @map(name: "target_url",) @db.VarChar(2048)
          ownerId   Int       @map(name: "owner_id")
          owner     Owner     @relation(name: "hooks", fields: [ownerId], references: [id], map: "webhooks_owner_fk")
          @@map(name: "webhooks")
          @@unique(fields: [ownerId, targetUrl], name: "owner_target", map: "webhooks_owner_target_key")
        }
        model Owner {
          id    Int       @id
          hooks Webhook[] @relation(name: "hooks")
          @@map(name: "owners")
          @@schema(map: "public")
        }
        """
    static let namedArgumentsSQL = """
        CREATE TABLE owners (id int PRIMARY KEY);
        CREATE TABLE webhooks (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz(6) DEFAULT now(),
          target_url varchar(2048) NOT NULL, owner_id int NOT NULL REFERENCES owners(id));
        """

    @Test func namedArgumentMapsMatchTheDatabase() async throws {
        let url = try await database(Self.namedArgumentsSQL, migration: nil)
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.namedArguments.write(to: dir.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir, database: url))
        #expect(o.status == .pass, "\(o.summary) \(schemaFindings(o))")
        #expect(o.summary == "2 models in schema.prisma match the database")
        #expect(o.evidence["tables"] == .int(2))
        #expect(o.evidence["columnsNotInSchema"] == nil)
    }

    @Test func namedArgumentMapRenamedColumnIsCaught() async throws {
        let url = try await database(Self.namedArgumentsSQL + "ALTER TABLE webhooks RENAME COLUMN created_at TO inserted_at;", migration: nil)
        let dir = try temporaryDirectory("pf-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.namedArguments.write(to: dir.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir, database: url))
        #expect(o.status == .fail)
        #expect(schemaFindings(o).count == 1, "\(schemaFindings(o))")
        #expect(o.summary == "schema.prisma:7: `webhooks.created_at` is missing; the table has `inserted_at` — renamed by a migration that was not reflected in schema.prisma?")
        // The field as written, `?` and `@db.*` kept, only its @map replaced.
        #expect(o.fix == "map the field to the column: createdAt DateTime? @map(\"inserted_at\") @db.Timestamptz(6) @default(now()) in model Webhook (or rename the column back), then run prisma generate and rebuild")
    }

    /// A multi-file schema (`prismaSchemaFolder`, GA in Prisma 6.7): the generator and datasource in one file,
    /// models in others, one of them in a subfolder.
    static func multiFileProject() throws -> URL {
        let dir = try temporaryDirectory("pf-schema-folder")
        let folder = dir.appendingPathComponent("prisma/schema")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("models"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("prisma/migrations"), withIntermediateDirectories: true)
        try """
            generator client {
              provider = "prisma-client-js"
            }
            datasource db {
              provider = "postgresql"
              url      = env("DATABASE_URL")
            }
            """.write(to: folder.appendingPathComponent("schema.prisma"), atomically: true, encoding: .utf8)
        try """
            model User {
              id        Int      @id @default(autoincrement())
              email     String   @unique @db.VarChar(320)
              createdAt DateTime @default(now()) @map(name: "created_at")
              posts     Post[]
              @@map("users")
            }
            """.write(to: folder.appendingPathComponent("user.prisma"), atomically: true, encoding: .utf8)
        try """
            enum PostState {
              DRAFT
              PUBLISHED
              @@map("post_state")
            }

            model Post {
              id       Int       @id @default(autoincrement())
              title    String
              state    PostState @default(DRAFT)
              authorId Int       @map("author_id")
              author   User      @relation(fields: [authorId], references: [id])
              @@map(name: "posts")
            }
            """.write(to: folder.appendingPathComponent("models/post.prisma"), atomically: true, encoding: .utf8)
        return dir
    }
    static let multiFileSQL = """
        CREATE TABLE users (id serial PRIMARY KEY, email varchar(320) UNIQUE NOT NULL, created_at timestamp(3) NOT NULL DEFAULT now());
        CREATE TYPE post_state AS ENUM ('DRAFT', 'PUBLISHED');
        CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL, state post_state NOT NULL DEFAULT 'DRAFT',
          author_id int NOT NULL REFERENCES users(id));
        """

    @Test func multiFileSchemaFolderMatchesTheDatabase() async throws {
        let url = try await database(Self.multiFileSQL, migration: nil)
        let dir = try Self.multiFileProject()
        defer { try? FileManager.default.removeItem(at: dir) }
        let o = try await runSchema(schemaConfig(project: dir, prisma: "prisma/schema", database: url))
        #expect(o.status == .pass, "\(o.summary) \(schemaFindings(o))")
        #expect(o.summary == "2 models in prisma/schema (3 files) match the database")
        #expect(o.evidence["schemaFiles"] == .int(3))
        #expect(o.evidence["tables"] == .int(2))
    }

    @Test func multiFileSchemaRenamedColumnFailsInItsFile() async throws {
        let url = try await database(Self.multiFileSQL + "ALTER TABLE posts RENAME COLUMN author_id TO writer_id;", migration: nil)
        let dir = try Self.multiFileProject()
        defer { try? FileManager.default.removeItem(at: dir) }
        let o = try await runSchema(schemaConfig(project: dir, prisma: "prisma/schema", database: url))
        #expect(o.status == .fail)
        #expect(o.summary == "prisma/schema/models/post.prisma:11: `posts.author_id` is missing; the table has `writer_id` — renamed by a migration that was not reflected in schema.prisma?", "\(o.summary)")
        #expect(o.fix?.contains("authorId Int @map(\"writer_id\")") == true, "\(o.fix ?? "")")
    }

    @Test func prismaConfigNamesTheSchemaFolder() async throws {
        let url = try await database(Self.multiFileSQL, migration: nil)
        let dir = try Self.multiFileProject()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            import path from 'node:path'
            import type { PrismaConfig } from 'prisma'

            export default {
              earlyAccess: true,
              migrations: { path: path.join('prisma', 'migrations') },
              schema: path.join(__dirname, 'prisma', 'schema'),
            } satisfies PrismaConfig
            """.write(to: dir.appendingPathComponent("prisma.config.ts"), atomically: true, encoding: .utf8)
        let o = try await runSchema(schemaConfig(project: dir, prisma: "prisma.config.ts", database: url))
        #expect(o.status == .pass, "\(o.summary) \(schemaFindings(o))")
        #expect(o.evidence["prisma"] == .string("prisma/schema (from prisma.config.ts)"))
    }

    @Test func sessionIsReadOnlyAndClosed() async throws {
        let url = try await database()
        _ = try await runSchema(schemaConfig(database: url))
        try await Task.sleep(for: .milliseconds(200))
        let pg = try await PostgresCluster.shared()
        #expect(try await pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'preflight' AND datname LIKE 'schema_%'") == "0")
    }
}
