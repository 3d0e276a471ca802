import Foundation
import Testing
import TestSupport

/// Passwords in every URL and environment value preflight can reach, every output format, every stream and file —
/// with servers that echo the passwords back (a health body quoting connection strings, a fake PostgreSQL that
/// repeats the cleartext password in its error): none may appear anywhere.
@Suite(.serialized, .tags(.live), .runsLive) struct SecretsLeakTests {
    @Test func noPasswordInAnyFormatStreamOrFile() async throws {
        let pg = try await PostgresCluster.shared()
        let secrets = [
            "db": pg.password,                 // database.url, through ${PF_DB_URL}
            "pool": "PoolPw-Lit-7",            // database.pools[].url, literal userinfo
            "poolQuery": "QueryPw-8",          // database.pools[].url, ?password=
            "sql": "SqlEnv-Pw-3",              // a custom sql check's database_url, through ${PF_SQL_PW}
            "cli": "Cli-Pw-44",                // --database-url
            "target": "TargetPw-55",           // target userinfo, through ${PF_TARGET}
            "http": "HttpEnv-Pw-66",           // a custom http check's URL userinfo, through ${PF_HTTP_PW}
            "encoded": "p@ss:w/rd%Enc",        // percent-encoded in database.pools[].url
        ]
        let pgecho = try await FixtureServer.start("pgecho")
        defer { pgecho.stop() }
        // The service's health body quotes every one of them (as services that print their connection strings do).
        // (Not --database-url's: it is unknown to the runs without it; the fake PostgreSQL echoes it in the runs with it.)
        let quoted = secrets.filter { $0.key != "cli" }.values.map { "postgresql://chat:\($0)@db:5432/chat" }.joined(separator: " ")
        let api = try await FixtureServer.start("json", ["503", #"{"status":"error","database":{"status":"down","error":"\#(quoted)"}}"#])
        defer { api.stop() }
        let encoded = secrets["encoded"]!.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed)!
        let dir = try temporaryDirectory("pf-secrets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = """
            target: ${PF_TARGET}
            timeout: 2s
            database:
              url: ${PF_DB_URL}
              pools:
                - {name: api, url: "postgresql://api:\(secrets["pool"]!)@127.0.0.1:\(pg.port)/preflight?connection_limit=5"}
                - {name: worker, url: "postgresql://worker@127.0.0.1:\(pg.port)/preflight?password=\(secrets["poolQuery"]!)&connection_limit=3"}
                - {name: odd, url: "postgresql://odd:\(encoded)@127.0.0.1:\(pg.port)/preflight?connection_limit=2"}
            checks:
              - {id: echo-sql, type: sql, query: "SELECT 1", database_url: "postgresql://u:${PF_SQL_PW}@127.0.0.1:\(pgecho.port)/db?sslmode=disable"}
              - {id: echo-http, type: http, url: "http://svc:${PF_HTTP_PW}@127.0.0.1:\(api.port)/echo", status: 200}
            """
        try config.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let env = [
            "PF_DB_URL": pg.url,
            "PF_SQL_PW": secrets["sql"]!,
            "PF_TARGET": "http://svc:\(secrets["target"]!)@127.0.0.1:\(api.port)",
            "PF_HTTP_PW": secrets["http"]!,
        ]
        var echoSeen = false, cliEchoSeen = false
        for viaCLI in [false, true] {
            for format in reportFormats {
                let cli = viaCLI ? ["--database-url", "postgresql://u:\(secrets["cli"]!)@127.0.0.1:\(pgecho.port)/db?sslmode=disable"] : []
                let texts = try await everyOutput(cli, format: format, env: env, in: dir, label: "\(viaCLI)")
                for (where_, text) in texts {
                    for (what, secret) in secrets {
                        #expect(!text.contains(secret), "\(what) password in \(where_) (--format \(format), --database-url: \(viaCLI))")
                    }
                    #expect(!text.contains(encoded), "percent-encoded password in \(where_)")
                }
                // The echoes did reach preflight, so the scrubbing was exercised.
                let all = texts.values.joined()
                if all.contains("is not the one") { echoSeen = true }
                if viaCLI && all.contains("is not the one") { cliEchoSeen = true }
            }
        }
        #expect(echoSeen && cliEchoSeen, "the fake PostgreSQL's echo never showed up in any output")
    }
}
