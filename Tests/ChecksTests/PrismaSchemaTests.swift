import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore

let prismaFixtures = packageRoot.appendingPathComponent("Tests/Fixtures/prisma")

func fixtureText(_ path: String) throws -> String {
    try String(contentsOf: prismaFixtures.appendingPathComponent(path), encoding: .utf8)
}


@Suite struct PrismaSchemaParsing {
    @Test func readsTheFixture() throws {
        let s = PrismaSchema.parse(try fixtureText("chat/schema.prisma"))
        #expect(s.problems.isEmpty, "\(s.problems)")
        #expect(s.models.map(\.name) == ["User", "Message", "MessageRead", "AuditEvent", "MessageCount"])
        #expect(s.enums.map(\.name) == ["MessageType", "Role"])

        let user = try #require(s.model(named: "User"))
        #expect(user.tableName == "users")
        #expect(user.field("firstName")?.columnName == "first_name")
        #expect(user.field("firstName")?.isOptional == true)
        #expect(user.field("id")?.isId == true)
        #expect(user.field("id")?.defaultValue == .call("dbgenerated", [PrismaArgument(name: nil, value: .string("gen_random_uuid()"))]))
        #expect(user.field("username")?.attribute("db.VarChar")?.firstPositional == .number("64"))
        #expect(user.field("messages")?.isList == true)

        let message = try #require(s.model(named: "Message"))
        #expect(message.field("content")?.defaultValue == .string("(empty) \"quoted\" (nested (parens))"))
        #expect(message.field("type")?.type == "MessageType")
        #expect(message.field("tags")?.isList == true)
        let relation = try #require(message.field("sender")?.relation)
        #expect(relation.firstString == "sent")
        #expect(relation.argument("fields") == .array([.identifier("senderId")]))
        #expect(relation.argument("onDelete") == .identifier("Cascade"))
        #expect(message.field("sender")?.line == 49)

        let read = try #require(s.model(named: "MessageRead"))
        #expect(read.compoundUniqueKeys == ["messageId_userId"])
        #expect(s.model(named: "AuditEvent")?.tableName == "AuditEvent")
        #expect(s.model(named: "MessageCount")?.kind == .view)
        #expect(s.model(delegate: "messageRead")?.name == "MessageRead")

        let type = try #require(s.enumType(named: "MessageType"))
        #expect(type.typeName == "message_type")
        #expect(type.values.map(\.label) == ["TEXT", "IMAGE", "FILE", "system"])
    }

    @Test func schemaAttributeAndComments() {
        let s = PrismaSchema.parse("""
            /// doc comment
            model Event { // trailing comment
              id   Int @id // the key
              kind String @map("event_kind") /// doc
              weird Unsupported("tsvector")?
              @@schema("audit")
              @@id([id, kind], name: "event_key")
            }
            type Address {
              street String
            }
            """)
        #expect(s.problems.isEmpty, "\(s.problems)")
        let e = s.model(named: "Event")
        #expect(e?.schemaName == "audit")
        #expect(e?.field("weird")?.type == "Unsupported")
        #expect(e?.field("weird")?.isOptional == true)
        #expect(e?.compoundUniqueKeys == ["event_key"])
        #expect(s.model(named: "Address")?.kind == .type)
    }

    /// Every argument form Prisma's grammar and parser-database accept for the attributes preflight reads:
    /// the "default argument" may be named (`@map(name: …)`, `@@map(name: …)`, `@@schema(map: …)`,
    /// `@default(value: …)`, `@relation(name: …)`, `@@id(fields: …)`, `@@unique(fields: …)`), arguments may end in a
    /// comma and span lines, native types take the datasource's name, identifiers may hold `-`.
    @Test func namedArgumentForms() throws {
        let s = PrismaSchema.parse("""
            datasource pg {
              provider = "postgresql"
              url      = env("DATABASE_URL")
            }
            enum Status {
              ACTIVE   @map(name: "active")
              ARCHIVED @map("archived")
              @@map(name: "status")
              @@schema(map: "billing")
            }
            model Webhook {
              id        String   @id(map: "webhooks_pk") @default(value: uuid()) @pg.Uuid
              createdAt DateTime @map(name: "created_at") @default(now(), map: "webhooks_created_default") @pg.Timestamptz(6)
              url       String   @unique(map: "webhooks_url_key", sort: Desc) @pg.VarChar(2048)
              ownerId   Int      @map(name: "owner_id",)
              owner     Owner    @relation(name: "hooks", fields: [ownerId], references: [id], map: "webhooks_owner_fk",
                                           onDelete: Cascade, onUpdate: NoAction)
              status    Status   @default(value: ACTIVE)
              secret    String?  @ignore
              @@map(name: "webhooks")
              @@schema(map: "billing")
              @@unique(fields: [ownerId, url], name: "owner_url", map: "webhooks_owner_url_key")
              @@index(fields: [createdAt(sort: Desc)], map: "webhooks_created_idx", type: BTree)
            }
            model Owner {
              id     Int       @id
              region String
              hooks  Webhook[] @relation("hooks")
              @@id(fields: [id, region], name: "owner_key", map: "owners_pk")
              @@unique([region, id], map: "owners_region_id_key",)
              @@schema("billing")
            }
            model Legacy {
              id Int @id
              @@ignore
            }
            """)
        #expect(s.problems.isEmpty, "\(s.problems)")
        #expect(s.datasources == ["pg"])
        let w = try #require(s.model(named: "Webhook"))
        #expect(w.tableName == "webhooks")
        #expect(w.schemaName == "billing")
        #expect(w.field("createdAt")?.columnName == "created_at")
        #expect(w.field("ownerId")?.columnName == "owner_id")
        #expect(w.field("id")?.isId == true)
        #expect(w.field("id")?.defaultValue == .call("uuid", []))
        #expect(w.field("createdAt")?.defaultValue == .call("now", []))
        #expect(w.field("status")?.defaultValue == .identifier("ACTIVE"))
        #expect(w.field("secret")?.isIgnored == true)
        #expect(s.nativeType(of: w.field("url")!)?.name == "pg.VarChar")
        #expect(s.nativeType(of: w.field("url")!)?.firstPositional == .number("2048"))
        #expect(s.nativeType(of: w.field("status")!) == nil)
        #expect(w.field("owner")?.relationName == "hooks")
        #expect(w.field("owner")?.relationFields == ["ownerId"])
        #expect(w.field("owner")?.relationReferences == ["id"])
        #expect(w.field("owner")?.relation?.argument("map") == .string("webhooks_owner_fk"))
        #expect(w.compoundUniqueKeys == ["owner_url"])
        let o = try #require(s.model(named: "Owner"))
        #expect(o.field("hooks")?.relationName == "hooks")
        #expect(o.compoundUniqueKeys == ["owner_key", "region_id"])
        #expect(o.schemaName == "billing")
        #expect(s.model(named: "Legacy")?.isIgnored == true)
        let e = try #require(s.enumType(named: "Status"))
        #expect(e.typeName == "status")
        #expect(e.schemaName == "billing")
        #expect(e.values.map(\.label) == ["active", "archived"])
    }

    @Test func declarationAsWrittenWithTheMapAdded() throws {
        let s = PrismaSchema.parse("""
            model Post {
              createdAt   DateTime?  @db.Timestamptz(6) @default(now()) // when
              title       String     @map(name: "post_title") @db.VarChar(200)
              tags        String[]
              body        String     @default("a  \\"b\\"  c")
            }
            """)
        #expect(s.problems.isEmpty, "\(s.problems)")
        let p = try #require(s.model(named: "Post"))
        #expect(p.field("createdAt")?.declaration == "createdAt   DateTime?  @db.Timestamptz(6) @default(now())")
        #expect(p.field("createdAt")?.declaration(mappedTo: "created_at") == "createdAt DateTime? @db.Timestamptz(6) @default(now()) @map(\"created_at\")")
        #expect(p.field("title")?.declaration(mappedTo: "title") == "title String @map(\"title\") @db.VarChar(200)")
        #expect(p.field("tags")?.declaration(mappedTo: "tag_list") == "tags String[] @map(\"tag_list\")")
        #expect(p.field("body")?.declaration(mappedTo: "text") == "body String @default(\"a  \\\"b\\\"  c\") @map(\"text\")")
    }

    @Test func jsonEscapesInStrings() {
        let s = PrismaSchema.parse("model A {\n  id Int @id\n  n String @map(\"caf\\u00e9\") @default(\"a\\/b\\r\")\n}\n")
        #expect(s.problems.isEmpty, "\(s.problems)")
        #expect(s.model(named: "A")?.field("n")?.columnName == "café")
        #expect(s.model(named: "A")?.field("n")?.defaultValue == .string("a/b\r"))
    }

    @Test(arguments: [
        ("model User {\n  id Int @id\n  name\n}\n", 3, "has no type"),
        ("model User {\n  id Int @id\n  name String @map(\"x\"\n}\n", 3, "'(' is not closed"),
        ("model User {\n  id Int @id\n", 1, "not closed"),
        ("model User {\n  id Int @default(\"open\n}\n", 2, "unterminated string"),
        ("modle User {\n}\n", 1, "unknown block type"),
        ("model User {\n  id Int @id\n  name String # nonsense\n}\n", 3, "unexpected character"),
        ("model {\n}\n", 1, "expected a name"),
        ("model User {\n  id Int @id\n  name String @map(name:)\n}\n", 3, "argument `name:` has no value"),
        ("model User {\n  id Int @id\n  name String @map(,)\n}\n", 3, "expected a value"),
    ])
    func syntaxErrorsCarryTheirLine(text: String, line: Int, words: String) {
        let s = PrismaSchema.parse(text)
        #expect(s.problems.first?.line == line, "\(s.problems)")
        #expect(s.problems.first?.message.contains(words) == true, "\(s.problems)")
    }

    @Test func randomBytesNeverCrash() {
        var rng = SeededRandom(state: 6)
        let alphabet = Array("model enum view {}()[]@@@?,:=.\"\\/\n\t abcXYZ_019-#".utf8)
        for round in 0..<2000 {
            let count = Int(rng.next() % 400)
            let bytes: [UInt8] = (0..<count).map { _ in
                round % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            let s = PrismaSchema.parse(String(decoding: bytes, as: UTF8.self))
            #expect(s.problems.count <= PrismaParser.maxProblems)
        }
    }

    @Test func mutatedSchemasNeverCrash() throws {
        var rng = SeededRandom(state: 42)
        let original = Array(try fixtureText("chat/schema.prisma").utf8)
        for _ in 0..<500 {
            var bytes = original
            for _ in 0..<(1 + Int(rng.next() % 8)) where !bytes.isEmpty {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                default: bytes[at] = Array("{}()[]@\"\n".utf8)[Int(rng.next() % 9)]
                }
            }
            _ = PrismaSchema.parse(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func deepNestingIsAnErrorNotARecursion() {
        let s = PrismaSchema.parse("model A {\n  id Int @default(" + String(repeating: "f(", count: 100_000) + ")\n}\n")
        #expect(s.problems.first?.message.contains("nested too deeply") == true, "\(s.problems)")
    }

    @Test func largeSchemaIsFast() {
        var text = "enum Kind {\n  A\n  B\n}\n"
        for m in 0..<2000 {
            text += "model M\(m) {\n  id Int @id @default(autoincrement())\n"
            for f in 0..<20 { text += "  field\(f) String? @map(\"field_\(f)\") @default(\"x(\\\"y\\\")\") // c\n" }
            text += "  kind Kind @default(A)\n  @@map(\"m_\(m)\")\n}\n"
        }
        let clock = ContinuousClock()
        let start = clock.now
        let s = PrismaSchema.parse(text)
        let elapsed = start.duration(to: clock.now)
        #expect(s.problems.isEmpty)
        #expect(s.models.count == 2000)
        #expect(elapsed < .seconds(30), "a hang or a quadratic parse, not a slow machine: \(elapsed) for \(text.utf8.count) bytes")
    }
}

@Suite struct PrismaCodeScanning {
    func scanner() throws -> PrismaCodeScanner { PrismaCodeScanner(schema: PrismaSchema.parse(try fixtureText("chat/schema.prisma"))) }

    @Test func findsTheSeedsTwoMistakes() throws {
        let r = try scanner().scan(try fixtureText("chat/src-buggy/chat.repository.ts"), file: "src/chat.repository.ts")
        #expect(r.calls == 2)
        #expect(r.findings.map(\.location) == ["src/chat.repository.ts:13", "src/chat.repository.ts:26"])
        #expect(r.findings.map(\.key) == ["messageType", "readReceipts"])
        #expect(r.findings.map(\.suggestion) == ["type", "messageReads"])
        #expect(r.findings.map(\.argument) == ["data", "include"])
        #expect(r.findings.first?.call == "this.db.message.create")
    }

    @Test func theFixedCodeIsClean() throws {
        let r = try scanner().scan(try fixtureText("chat/src/chat.repository.ts"), file: "src/chat.repository.ts")
        #expect(r.calls == 3)
        #expect(r.findings.isEmpty, "\(r.findings.map(\.message))")
    }

    @Test func nestedRelationsUseTheRelatedModel() throws {
        let code = """
            await prisma.user.findMany({
              where: { messages: { some: { content: 'x', senderID: 'y' } } },
              select: { username: true, messages: { select: { content: true, body: true } } },
            });
            await prisma.message.create({ data: { content: 'x', sender: { create: { username: 'u', nickname: 'n' } } } });
            await prisma.unknownThing.create({ data: { anything: 1 } });
            await prisma.message.create({ data: buildData() });
            await prisma.message.findMany({ where: { [key]: 1, ...rest, contnt: 'TEXT' } });
            await cache.db.message.create({ data: { nope: 1 } });
            await makeClient().prisma.message.create({ data: { nope: 1 } });
            """
        let r = try scanner().scan(code, file: "a.ts")
        #expect(r.findings.map { "\($0.model).\($0.key)@\($0.line)" } == ["Message.senderID@2", "Message.body@3", "User.nickname@5", "Message.contnt@8"])
        #expect(r.findings.first?.suggestion == "senderId")
        #expect(r.findings.last?.suggestion == "content")
    }

    @Test func stringsCommentsAndTemplatesDoNotConfuse() throws {
        let code = """
            // prisma.message.create({ data: { messageType: 1 } })
            const s = "prisma.message.create({ data: { messageType: 1 } })";
            const t = `${prisma.message.create({ data: { messageType: 1 } })}`;
            /* prisma.message.create({ data: { messageType: 1 } }) */
            const r = /prisma\\.message/.test(s);
            """
        #expect(try scanner().scan(code, file: "a.ts").findings.isEmpty)
    }

    /// Found by Fuzz/FuzzPrisma (Fuzz/crashers/FuzzPrisma/array-closed-by-brace.bin): an array closed by `}` or `)`
    /// made parseArray loop forever, appending until memory ran out.
    @Test func arrayClosedByTheWrongBracketEnds() throws {
        let s = try scanner()
        for code in ["prisma.message.findMany({ orderBy: [{ content: 1 } }] })", "prisma.message.findMany({ orderBy: [ a ) ] })",
                     "prisma.message.findMany({ where: { OR: [{ contnt: 1 }, }, ] } })"] {
            _ = s.scan(code, file: "a.ts")
        }
        let r = s.scan("prisma.message.findMany({ where: { contnt: 1 }, orderBy: [{ content: 1 } }] })\nprisma.message.findMany({ where: { contnt: 1 } })", file: "a.ts")
        #expect(r.calls == 2)
        #expect(r.findings.map(\.line).contains(2))
    }

    @Test func randomBytesNeverCrash() throws {
        let s = try scanner()
        var rng = SeededRandom(state: 7)
        let alphabet = Array("prisma.message.create({data:{where:[`${}`]}}) '\"/\\*\n".utf8)
        for _ in 0..<2000 {
            let bytes: [UInt8] = (0..<Int(rng.next() % 300)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            _ = s.scan(String(decoding: bytes, as: UTF8.self), file: "x.ts")
        }
    }
}
