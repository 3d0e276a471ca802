import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// The one database URL parser: the drivers' forms by hand, libpq's rules by libpq (PQconninfoParse).
@Suite struct DatabaseURLForms {
    /// The registry as the loader fills it from `database.url` (the parser registers nothing itself).
    func registry(for url: String) throws -> Secrets {
        let secrets = Secrets()
        _ = try ConfigLoader(sections: AllChecks.sections, secrets: secrets)
            .load(yaml: "database:\n  url: \"\(url)\"\n", file: nil, environment: [:])
        return secrets
    }

    @Test func prismaTemplateKeepsItsParametersAsFactsAndHandsLibpqACleanURL() throws {
        let u = try #require(DatabaseURL.parse("postgresql://chat:pw@127.0.0.1:5432/chat?schema=public&connection_limit=20&pool_timeout=5&sslmode=disable").0)
        #expect(u.conninfo == "postgresql://chat:pw@127.0.0.1:5432/chat?sslmode=disable")
        #expect(u.schema == "public")
        #expect(u.connectionLimit == 20)
        #expect(u.poolTimeout == "5")
        #expect(u.driverParameters.keys.sorted() == ["connection_limit", "pool_timeout", "schema"])
        #expect(u.host == "127.0.0.1" && u.port == 5432 && u.user == "chat" && u.database == "chat")
    }

    @Test func pgbouncerFlagAndPgxPoolSize() throws {
        let p = try #require(DatabaseURL.parse("postgres://app@10.0.0.5:6432/app?pgbouncer=true&statement_cache_size=0").0)
        #expect(p.viaPgBouncer)
        #expect(p.conninfo == "postgres://app@10.0.0.5:6432/app")  // libpq's prefix as written: its messages quote the user's URI
        let g = try #require(DatabaseURL.parse("postgres://app@db:5432/app?pool_max_conns=12&application_name=api").0)
        #expect(g.connectionLimit == 12)
        #expect(g.connectionLimitParameter == "pool_max_conns")
        #expect(g.conninfo.hasSuffix("?application_name=api"))
    }

    @Test func sqlalchemyAndJDBCForms() throws {
        for d in ["psycopg2", "asyncpg", "psycopg"] {
            let u = try #require(DatabaseURL.parse("postgresql+\(d)://u:p@127.0.0.1:5433/db").0)
            #expect(u.dialect == d)
            #expect(u.conninfo == "postgresql://u:p@127.0.0.1:5433/db")
            #expect(u.port == 5433)
        }
        let j = try #require(DatabaseURL.parse("jdbc:postgresql://127.0.0.1:5432/app?user=app&password=jdbc-Pw-1&currentSchema=billing").0)
        #expect(j.dialect == "jdbc")
        #expect(j.user == "app")
        #expect(j.schema == "billing")
        #expect(j.conninfo == "postgresql://127.0.0.1:5432/app?user=app&password=jdbc-Pw-1")
        #expect(try registry(for: "jdbc:postgresql://127.0.0.1:5432/app?user=app&password=jdbc-Pw-1").scrub("x jdbc-Pw-1 y") == "x *** y")
    }

    @Test func libpqFormsLibpqDecides() throws {
        let kv = try #require(DatabaseURL.parse("host=/var/run/postgresql port=5433 dbname='my db' user=app pool_max_conns=4").0)
        #expect(kv.host == "/var/run/postgresql")
        #expect(kv.database == "my db")
        #expect(kv.connectionLimit == 4)
        #expect(kv.conninfo == "host=/var/run/postgresql port=5433 dbname='my db' user=app")
        #expect(kv.hostPort == "socket /var/run/postgresql/.s.PGSQL.5433")
        let v6 = try #require(DatabaseURL.parse("postgresql://u@[::1]:5432/db").0)
        #expect(v6.host == "::1")
        #expect(v6.hostPort == "[::1]:5432")
        let sock = try #require(DatabaseURL.parse("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db").0)
        #expect(sock.host == "/var/run/postgresql")
        let multi = try #require(DatabaseURL.parse("postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write").0)
        #expect(multi.hosts == ["h1:5432", "h2:5433"])
        #expect(multi.conninfo.hasSuffix("?target_session_attrs=read-write"))
        let encoded = try #require(DatabaseURL.parse("postgresql://us%40er:p%40ss%3Aw%2Frd@127.0.0.1/db").0)
        #expect(encoded.user == "us@er")
        #expect(try registry(for: "postgresql://us%40er:p%40ss%3Aw%2Frd@127.0.0.1/db").scrub("p@ss:w/rd") == "***")
        #expect(try registry(for: "host=127.0.0.1 user=app password='kv Pw-5'").scrub("[kv Pw-5]") == "[***]")
    }

    @Test func whatNothingCanParseIsOneSentenceInLibpqsWords() {
        #expect(DatabaseURL.parse("mysql://root@db/x").1?.hasPrefix("scheme must be postgresql") == true)
        #expect(DatabaseURL.parse("just words").1?.hasPrefix("not a URL") == true)
        #expect(DatabaseURL.parse("postgresql://u@h:99999/db").1 == "port 99999 is out of range")
        // libpq's own text for what libpq defines.
        let badKV = DatabaseURL.parse("host=h dbname='unterminated").1
        #expect(badKV?.contains("unterminated") == true, "\(badKV ?? "")")
        let badKey = DatabaseURL.parse("host=h nosuchkeyword").1
        #expect(badKey != nil)
        // libpq quotes the whole URI here; what leaves the process passes the sink, which masks URL credentials.
        let quoted = DatabaseURL.parse("postgresql://u:Bad-Pw-9@[::1/db").1
        #expect(quoted != nil)
        #expect(quoted.map { !Secrets().scrub($0).contains("Bad-Pw-9") } == true, "\(quoted ?? "")")
    }
}

/// Every form logs in to the real server (or fails with the right sentence).
@Suite(.serialized, .tags(.live), .runsLive) struct DatabaseURLLive {
    func login(_ raw: String) async throws -> CheckOutcome {
        let (u, why) = DatabaseURL.parse(raw)
        #expect(why == nil, "\(why ?? "")")
        var c = Config()
        c.set(DatabaseSettings(url: u))
        return try await DatabaseCheck(probes: .live).run(CheckContext(config: c, timeout: .seconds(3)))
    }

    @Test func everyFormLogsIn() async throws {
        let pg = try await PostgresCluster.shared()
        let pw = pg.password
        let forms = [
            pg.url + "?schema=public&connection_limit=20",                                  // Prisma's template (a false no-go before)
            "postgres://preflight:\(pw)@127.0.0.1:\(pg.port)/preflight?pgbouncer=false&pool_timeout=3&statement_cache_size=0",
            "postgresql+psycopg2://preflight:\(pw)@127.0.0.1:\(pg.port)/preflight",
            "postgresql+asyncpg://preflight:\(pw)@127.0.0.1:\(pg.port)/preflight",
            "jdbc:postgresql://127.0.0.1:\(pg.port)/preflight?user=preflight&password=\(pw)&currentSchema=public",
            "postgres://preflight:\(pw)@127.0.0.1:\(pg.port)/preflight?pool_max_conns=5",
            "host=127.0.0.1 port=\(pg.port) dbname=preflight user=preflight password='\(pw)' pool_max_conns=5",
            "host=\(pg.directory.path) port=\(pg.port) dbname=preflight user=preflight",  // the Unix socket (trust locally)
            "postgresql://preflight@\(pg.directory.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!):\(pg.port)/preflight",
            "postgresql://preflight:\(pw)@127.0.0.1:1,127.0.0.1:\(pg.port)/preflight?target_session_attrs=read-write",
        ]
        for f in forms {
            let o = try await login(f)
            #expect(o.status == .pass, "\(redactURL(f)): \(o.summary) \(o.evidence)")
        }
    }

    @Test func aWrongPasswordInAnyFormIsTheAuthenticationSentence() async throws {
        let pg = try await PostgresCluster.shared()
        let o = try await login("jdbc:postgresql://127.0.0.1:\(pg.port)/preflight?user=preflight&password=Wrong-Pw-77")
        #expect(o.status == .fail)
        #expect(o.summary.contains("rejects the password"), "\(o.summary)")
    }
}
