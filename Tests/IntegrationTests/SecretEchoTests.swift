import Foundation
import Testing
import TestSupport

/// Tokens, API keys, cookies, request bodies and command text, against a service that echoes every request back
/// (Tests/Fixtures/http-fixture.py echo): the checks fail on the echoed fields and print them, and none of the
/// values may appear in any output format, stream or file. Then `preflight explain` on a k6 output whose URLs
/// carry a password and a token.
@Suite(.serialized, .tags(.live), .runsLive) struct SecretEchoTests {
    static let secrets = [
        "token": "Echo-Tok-123456",          // Authorization: Bearer ${PF_TOKEN}
        "apiKey": "Echo-ApiKey-234567",      // X-Api-Key: ${PF_API_KEY}
        "body": "Echo-Body-Secret-345",      // a body carrying ${PF_SECRET}
        "command": "Echo-Cmd-Pw-456",        // a command echoing ${PF_PASSWORD}
        "query": "Query-Tok-567",            // ?access_token= in a check's URL, literal
        "cookie": "Literal-Cookie-678",      // Cookie: sid=…, literal
        "rlHeader": "RL-Literal-Tok-789",    // rate_limit.headers X-Auth-Token, literal
        "rlBody": "RL-Body-Pw-890",          // rate_limit.body {"password": …}, literal
        "fileTarget": "File-Target-Pw-901",  // target userinfo in the file, replaced by --target
        "cliTarget": "Cli-Target-Pw-012",    // --target's userinfo, sent as Basic auth and echoed
    ]

    @Test func echoedCredentialsAppearInNoFormatStreamOrFile() async throws {
        let s = Self.secrets
        let echo = try await FixtureServer.start("echo")
        defer { echo.stop() }
        let dir = try temporaryDirectory("pf-echo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = "http://127.0.0.1:\(echo.port)"
        let config = """
            target: ${PF_TARGET}
            timeout: 2s
            rate_limit:
              request: POST /status/429/rl
              headers: {X-Auth-Token: "\(s["rlHeader"]!)"}
              body: '{"password":"\(s["rlBody"]!)"}'
              burst: 3
              concurrency: 1
            checks:
              - id: echo-auth
                type: http
                url: \(base)/echo
                headers: {Authorization: "Bearer ${PF_TOKEN}", X-Api-Key: "${PF_API_KEY}"}
                json: {headers.authorization: "Bearer expected"}
              - id: echo-key
                type: http
                url: \(base)/echo
                headers: {X-Api-Key: "${PF_API_KEY}"}
                json: {headers.x-api-key: "expected"}
              - id: echo-body
                type: http
                method: POST
                url: \(base)/echo
                headers: {Content-Type: application/json}
                body: '{"note": "${PF_SECRET}"}'
                json: {body: "expected"}
              - id: echo-query
                type: http
                url: "\(base)/echo?access_token=\(s["query"]!)&page=1"
                json: {path: "expected"}
              - id: echo-cookie
                type: http
                url: \(base)/echo
                headers: {Cookie: "sid=\(s["cookie"]!)"}
                json: {headers.cookie: "expected"}
              - id: echo-target-auth
                type: http
                url: /echo
                json: {headers.authorization: "expected"}
              - id: echo-command
                type: command
                run: "echo the password is ${PF_PASSWORD}; exit 3"
            """
        try config.write(to: dir.appendingPathComponent("preflight.yml"), atomically: true, encoding: .utf8)
        let env = [
            "PF_TOKEN": s["token"]!, "PF_API_KEY": s["apiKey"]!, "PF_SECRET": s["body"]!, "PF_PASSWORD": s["command"]!,
            "PF_TARGET": "http://svc:\(s["fileTarget"]!)@127.0.0.1:\(echo.port)",
        ]
        var echoes = 0
        for viaCLI in [false, true] {
            for format in reportFormats {
                let cli = viaCLI ? ["--target", "http://svc:\(s["cliTarget"]!)@127.0.0.1:\(echo.port)"] : []
                let texts = try await everyOutput(cli, format: format, env: env, in: dir, label: "\(viaCLI)")
                for (where_, text) in texts {
                    for (what, secret) in s {
                        #expect(!text.contains(secret), "\(what) in \(where_) (--format \(format), --target: \(viaCLI))")
                    }
                    let basic = Data("svc:\(s[viaCLI ? "cliTarget" : "fileTarget"]!)".utf8).base64EncodedString()
                    #expect(!text.contains(basic), "the target's Basic credential in \(where_) (--format \(format))")
                }
                // The echoes reached the output, so the scrubbing was exercised: the text report names each field.
                let text = try #require(texts[format == "text" ? "output.text" : "report.text"])
                // (A credential header's whole value is a secret: `Bearer <token>` becomes *** as one.)
                for field in [#"headers.authorization is "***""#, #"headers.x-api-key is "***""#, "access_token=***",
                              #"headers.cookie is "***""#, "echo the password is ***", #""x-auth-token": "***""#,
                              #"\"password\":\"***\""#, #"headers.authorization is "Basic ***""#] {
                    if text.contains(field) { echoes += 1 } else { Issue.record("no \(field) in the text report:\n\(text)") }
                }
                #expect(text.contains(#"body is "{\"note\": \"***\"}""#) || text.contains(#"body is "{"note": "***"}""#), "\(text)")
            }
        }
        #expect(echoes == 2 * reportFormats.count * 8)
    }

    /// k6 writes the requested URL into `name`, `url` and the error text: a password and a token in it are masked
    /// in `explain`'s text and JSON, without any config to learn them from.
    @Test func explainMasksPasswordsAndTokensInK6Output() async throws {
        let dir = try temporaryDirectory("pf-explain-secret")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = "http://127.0.0.1:60093/api/send"
        let secret = "http://loadtest:Explain-Pw-3141@127.0.0.1:60093/api/send?access_token=Explain-Tok-2718&page=1"
        let fixture = packageRoot.appendingPathComponent("Tests/PreflightExplainTests/Fixtures/refused.out.json")
        let original = try String(contentsOf: fixture, encoding: .utf8)
        #expect(original.contains(plain))
        let k6 = original.replacingOccurrences(of: plain, with: secret)
            .replacingOccurrences(of: #""error":"dial: connection refused""#,
                                  with: #""error":"Post \"\#(secret)\": dial: connection refused""#)
        let file = dir.appendingPathComponent("run.out.json")
        try k6.write(to: file, atomically: true, encoding: .utf8)
        for format in ["text", "json"] {
            let run = try await preflightRun(["explain", "--format", format, file.path], in: dir)
            #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
            for text in [run.stdout, run.stderr] {
                #expect(!text.contains("Explain-Pw-3141"), "\(format): \(text)")
                #expect(!text.contains("Explain-Tok-2718"), "\(format): \(text)")
            }
            #expect(run.stdout.contains("http://loadtest:***@127.0.0.1:60093/api/send?access_token=***&page=1"), "\(format): \(run.stdout)")
            #expect(run.stdout.contains(#"Post \"http://loadtest:***@"#) || run.stdout.contains(#"Post "http://loadtest:***@"#),
                    "the error text went through the sink too: \(run.stdout)")
        }
    }
}
