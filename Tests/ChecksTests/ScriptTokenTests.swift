import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// A JWT with these claims (HS256 header, a signature nobody checks: preflight never verifies one).
func makeJWT(exp: Double?, sub: String = "k6") -> String {
    func b64(_ s: String) -> String {
        Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
    let payload = exp.map { #"{"sub":"\#(sub)","exp":\#(Int($0))}"# } ?? #"{"sub":"\#(sub)"}"#
    return b64(#"{"alg":"HS256","typ":"JWT"}"#) + "." + b64(payload) + ".c2lnbmF0dXJl"
}

/// JWTs the script sends, against the planned run (issue 34): the reading, the arithmetic, the secrecy.
@Suite struct ScriptTokens {
    @Test func findsJWTsByShapeAndReadsExpWithoutVerifying() {
        let t = makeJWT(exp: 1_900_000_000)
        #expect(JWT.find(in: "Bearer \(t)").map(String.init) == [t])
        #expect(JWT.find(in: "eyJnotatoken and eyJ.x").isEmpty)
        #expect(JWT.claims(t)?.expires == 1_900_000_000)
        #expect(JWT.claims(makeJWT(exp: nil))?.expires == nil)
        #expect(JWT.claims("eyJhbGciOiJIUzI1NiJ9.eyJub3QganNvbg.x") == nil)  // a payload that is not JSON
    }

    @Test func readFromLiteralsHeaderObjectsAndLoadEnv() {
        let literal = makeJWT(exp: 2_000_000_000), env = makeJWT(exp: 2_100_000_000)
        let script = K6Script(source: """
            import http from 'k6/http';
            const params = { headers: { Authorization: 'Bearer \(literal)' } };
            export default function () {
              http.get('http://127.0.0.1:3001/a', params);
              http.get('http://127.0.0.1:3001/b', { headers: { Authorization: `Bearer ${__ENV.SESSION}` } });
            }
            """)
        var registered: [String] = []
        let found = script.jwts(env: ["SESSION": env, "OTHER": makeJWT(exp: 1)]) { registered.append($0) }
        #expect(found == [ScriptToken(line: 2, source: "a JWT written in the script", expires: 2_000_000_000, issued: nil),
                          ScriptToken(line: 5, source: "SESSION (load.env)", expires: 2_100_000_000, issued: nil)])
        #expect(registered == [literal, env])
        // A JWT in load.env is a secret whatever its variable is called.
        var load = LoadSettings()
        load.env = ["SESSION": env]
        #expect(load.secrets.contains(env))
    }

    @Test func lifetimeAgainstTheRun() {
        let now = 1_800_000_000.0
        func token(_ exp: Double?) -> ScriptToken { ScriptToken(line: 1, source: "T (load.env)", expires: exp) }
        #expect(TokenLifetime.judge(token(now - 90), now: now, duration: 600, options: nil) == .expired(agoSeconds: 90))
        #expect(TokenLifetime.judge(token(now + 150), now: now, duration: 600, options: nil) == .expiresDuring(at: 150, share: 0.75, weighted: false))
        #expect(TokenLifetime.judge(token(now + 4200), now: now, duration: 600, options: nil) == .outlives(bySeconds: 3600))
        #expect(TokenLifetime.judge(token(now + 60), now: now, duration: nil, options: nil) == .validFor(seconds: 60))
        #expect(TokenLifetime.judge(token(nil), now: now, duration: 600, options: nil) == .noExpiry)
        // Stages: 0 → 10 VUs over 100 s, then 10 for 100 s (k6 starts the stages at 1 VU by default; 0 here):
        // after 100 s, 1000 of 1500 VU-seconds remain.
        var o = K6Options()
        o.vus = 0
        o.stages = [.init(duration: "100s", target: 10), .init(duration: "100s", target: 10)]
        guard case .expiresDuring(100, let share, true) = TokenLifetime.judge(token(now + 100), now: now, duration: 200, options: o) else {
            Issue.record("not weighted by the stages"); return
        }
        #expect(abs(share - 1000.0 / 1500.0) < 1e-9)
        #expect(TokenLifetime.span(250) == "4 min 10 s")
        #expect(TokenLifetime.span(7500) == "2 h 5 min")
    }

    @Test func theCheckSaysTheMinuteAndTheShareAndNeverTheToken() async throws {
        let now = Date().timeIntervalSince1970
        let expiring = makeJWT(exp: now + 150), expired = makeJWT(exp: now - 7200), valid = makeJWT(exp: now + 86_400)
        func run(_ token: String) async throws -> CheckOutcome {
            let (dir, _) = try writeScript("import http from 'k6/http';\nexport const options = { vus: 5, duration: '10m' };\nexport default function () {\n  http.get('http://127.0.0.1:3001/api/v1/x', { headers: { Authorization: `Bearer ${__ENV.TOKEN}` } });\n}\n")
            defer { try? FileManager.default.removeItem(at: dir) }
            var c = scriptConfig("/load.js", env: ["TOKEN": token])
            c.file = dir.appendingPathComponent("preflight.yml").path
            var load = c.section(LoadSettings.self)
            load.script = "load.js"
            c.set(load)
            return try await ScriptCheck(probes: staticProbes).run(context(c, timeout: .seconds(1)))
        }
        let o = try await run(expiring)
        #expect(o.status == .fail)
        #expect(o.summary.hasPrefix("the JWT in TOKEN (load.env), read at load.js:4 expires 2 min"), "\(o.summary)")
        #expect(o.summary.contains("into the 10 min run (minute 3)"), "\(o.summary)")
        let effect = try #require(o.findings.first?.effect)
        #expect(effect.k6 == "401")
        #expect(effect.share.map { abs($0.low - 0.75) < 0.01 } == true, "\(String(describing: effect.share))")
        #expect(o.findings.first?.location?.line == 4)
        let old = try await run(expired)
        #expect(old.status == .fail)
        #expect(old.summary.contains("expired 2 h ago"), "\(old.summary)")
        #expect(old.findings.first?.effect?.share == .exactly(1))
        let fine = try await run(valid)
        #expect(fine.status == .pass, "\(fine.summary)")
        #expect(fine.summary.contains(", JWT valid 23 h ") && fine.summary.hasSuffix("min past the planned end"), "\(fine.summary)")
        // The outcome never holds a token (every reporter renders the report made of it), nor does the redacted report.
        for outcome in [o, old, fine] {
            let report = Report(results: [CheckResult(id: "script", title: "Load script", layer: .script, outcome: outcome)], duration: .zero)
            for text in [String(describing: outcome), String(describing: report.redacted(using: Secrets.shared))] {
                for t in [expiring, expired, valid] { #expect(!text.contains(t) && !text.contains(t.split(separator: ".")[1])) }
            }
        }
    }
}

/// A real k6 run against a service that checks exp: a JWT expiring 5 s into a 15 s run (issue 34).
@Suite(.serialized, .tags(.live), .runsLive) struct ScriptTokensK6 {
    @Test(.enabled(if: k6OnPath != nil, k6Missing)) func k6SeesTheExpiryWherePreflightSaidAndTheShareAgrees() async throws {
        let k6 = try #require(k6OnPath)
        let server = try await FixtureServer.start("jwt")
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-jwt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("load.js")
        try """
            import http from 'k6/http';
            import { sleep } from 'k6';
            export const options = { vus: 2, duration: '15s' };
            export default function () {
              http.get(`${__ENV.BASE}/items`, { headers: { Authorization: `Bearer ${__ENV.TOKEN}` } });
              sleep(0.1);
            }
            """.write(to: script, atomically: true, encoding: .utf8)
        // The check reads statically (no k6 inspect: its seconds on a busy machine would eat the token's 5), then k6 runs.
        var probes = Probes.live
        probes.host = quietHost(programs: [:])
        let exp = Date().timeIntervalSince1970 + 5
        let token = makeJWT(exp: exp)
        var c = scriptConfig(script.path, target: server.url, env: ["BASE": server.url, "TOKEN": token])
        c.file = dir.appendingPathComponent("preflight.yml").path
        let o = try await ScriptCheck(probes: probes).run(context(c, timeout: .seconds(10)))
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.contains("into the 15 s run (minute 1)"), "\(o.summary)")
        let predicted = try #require(o.findings.first?.effect?.share?.low, "\(o.findings)")

        let summary = dir.appendingPathComponent("summary.json")
        let r = try await run(k6, ["run", "--quiet", "--no-color", "--summary-export", summary.path,
                                   "-e", "BASE=\(server.url)", "-e", "TOKEN=\(token)", script.path],
                              environment: ProcessInfo.processInfo.environment.merging(ScriptCheck.k6Environment) { $1 }, limit: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any])
        let metrics = try #require(json["metrics"] as? [String: Any])
        let failed = try #require((metrics["http_req_failed"] as? [String: Any])?["value"] as? Double)
        let tally = await CurlHTTPClient().get(server.url + "/__tally", timeout: .seconds(3), bodyCap: 4096)
        let seen = try #require(try JSONSerialization.jsonObject(with: tally.body) as? [String: Any])
        let first = try #require(seen["first"] as? Double, "\(seen)")
        // The same arithmetic, from k6's first request (k6 starts a second or more after the check on a busy machine).
        guard case .expiresDuring(_, let fromStart, _) = TokenLifetime.judge(ScriptToken(line: 5, source: "TOKEN (load.env)", expires: Double(Int(exp))),
                                                                             now: first, duration: 15, options: nil) else {
            Issue.record("k6 started \(first - exp + 5) s after the token was made, after it expired: \(seen)"); return
        }
        FileHandle.standardError.write(Data("jwt k6: predicted \(Int((predicted * 100).rounded())) % after exp (\(Int((fromStart * 100).rounded())) % from k6's first request), k6 http_req_failed \(Int((failed * 100).rounded())) %\n".utf8))
        #expect(abs(failed - fromStart) < 0.1, "predicted from k6's start \(fromStart), k6 \(failed)")
        #expect(failed >= predicted - 0.05, "a later start only adds 401s: predicted \(predicted), k6 \(failed)")
        // From the expiry on, 401s only: the server's last 200 came before its first 401.
        let lastOK = try #require(seen["last_ok"] as? Double), firstRefused = try #require(seen["first_refused"] as? Double)
        #expect(lastOK <= firstRefused)
        #expect((seen["ok"] as? Int ?? 0) > 0 && (seen["refused"] as? Int ?? 0) > 0, "\(seen)")
    }
}
