import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// A real nginx from Tests/Fixtures/nginx-proxy.sh (proxy_pass to an upstream, a login redirect, keep-alive off).
final class NginxProxy: @unchecked Sendable {
    let port: Int
    let directory: URL
    static let script = packageRoot.appendingPathComponent("Tests/Fixtures/nginx-proxy.sh").path

    static func start(_ mode: String, _ args: [String] = []) async throws -> NginxProxy {
        let dir = try temporaryDirectory("pf-ngx")
        let out = try await run("/bin/bash", [script, "start", dir.path, mode] + args, limit: 30)
        guard out.status == 0, let line = out.stdout.split(separator: "\n").first(where: { $0.hasPrefix("PORT=") }),
              let port = Int(line.dropFirst(5)) else { throw FixtureError("nginx-proxy.sh \(mode) did not start: \(out.stderr)") }
        return NginxProxy(port: port, directory: dir)
    }
    init(port: Int, directory: URL) { self.port = port; self.directory = directory }
    var url: String { "http://127.0.0.1:\(port)" }
    func stop() { _ = try? runProcess("/bin/bash", [Self.script, "stop", directory.path], limit: 30) }
}

@Suite struct ReverseProxyIdentification {
    func id(_ status: Int, _ headers: [(String, String)], _ body: String = "") -> String? {
        ReverseProxyAnswer.identify(status: status, headers: headers.map { (name: $0.0, value: $0.1) }, body: Data(body.utf8))?.proxy
    }

    @Test func eachProxyBySignature() {
        #expect(id(502, [("Server", "nginx/1.22.1")]) == "nginx")
        #expect(id(502, [], "<hr><center>openresty</center>") == "nginx")
        #expect(id(503, [], "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>") == "HAProxy")
        #expect(id(503, [("server", "envoy")], "no healthy upstream") == "Envoy")
        #expect(id(503, [], "upstream connect error or disconnect/reset before headers. reset reason: connection failure") == "Envoy")
        #expect(id(502, [("Content-Type", "text/plain")], "Bad Gateway") == "Traefik")
        #expect(id(502, [("Server", "Caddy")]) == "Caddy")
        #expect(id(502, [("Server", "awselb/2.0")]) == "an AWS load balancer")
        #expect(id(502, [("Via", "1.1 google")]) == "a Google Cloud load balancer")
        #expect(id(521, [("Server", "cloudflare"), ("CF-RAY", "8a1b")]) == "Cloudflare")
        #expect(id(500, [("Server", "nginx")]) == nil, "a 500 is the application's own")
        #expect(id(502, [("Server", "gunicorn")]) == nil)
        #expect(ReverseProxyAnswer.identify(status: 504, headers: [("Server", "nginx")], body: Data())?.upstreamState == "does not answer in time")
    }

    @Test func loginPages() {
        let form = Data(#"<!DOCTYPE html><form><input type="password" name="p"></form>"#.utf8)
        #expect(HealthLanding.isLoginPage(contentType: "text/html; charset=utf-8", body: form, finalURL: "http://x/health"))
        #expect(HealthLanding.isLoginPage(contentType: "text/html", body: Data("<html>Sign in with SSO</html>".utf8), finalURL: "http://x/auth/sso"))
        #expect(!HealthLanding.isLoginPage(contentType: "application/json", body: Data(#"{"status":"ok"}"#.utf8), finalURL: "http://x/login"))
        #expect(!HealthLanding.isLoginPage(contentType: "text/html", body: Data("<html>OK</html>".utf8), finalURL: "http://x/health"))
    }
}

/// Real nginx in front of a dead (or live) upstream, a real login redirect and a server without keep-alive.
@Suite(.serialized, .tags(.live), .runsLive) struct HealthBehindAProxy {
    let check = HealthCheck(probes: .live)

    func run(_ target: String, upstream: String? = nil) async throws -> CheckOutcome {
        var c = config(target: target, healthPath: "/health")
        var h = c.section(HealthUpstreamSettings.self)
        h.upstream = upstream
        c.set(h)
        return try await check.run(context(c, timeout: .seconds(3)))
    }

    @Test func nginxInFrontOfADeadUpstreamSaysSo() async throws {
        let dead = closedLoopbackPort()
        let n = try await NginxProxy.start("proxy", ["127.0.0.1:\(dead)"])
        defer { n.stop() }
        let o = try await run(n.url)
        #expect(o.status == .fail)
        #expect(o.summary == "nginx answers on :\(n.port) but its upstream is down (502 Bad Gateway)", "\(o.summary)")
        #expect(o.fix?.contains("proxy_pass") == true)
        #expect(o.fix?.contains("health.upstream") == true)
    }

    @Test func healthUpstreamBecomesTheRootCause() async throws {
        let dead = closedLoopbackPort()
        let n = try await NginxProxy.start("proxy", ["127.0.0.1:\(dead)"])
        defer { n.stop() }
        let o = try await run(n.url, upstream: "http://127.0.0.1:\(dead)/health")
        #expect(o.status == .fail)
        #expect(o.summary == "the upstream http://127.0.0.1:\(dead)/health refuses connections (nothing listens there): nginx on :\(n.port) answers 502 Bad Gateway because of it", "\(o.summary)")
        #expect(o.fix?.hasPrefix("start the upstream at http://127.0.0.1:\(dead)/health") == true)
        #expect(o.evidence["requests"] == .int(3), "GET, keep-alive probe, the upstream")
    }

    @Test func aLiveUpstreamBehindAWrongProxyPass() async throws {
        let app = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { app.stop() }
        let n = try await NginxProxy.start("proxy", ["127.0.0.1:\(closedLoopbackPort())"])
        defer { n.stop() }
        let o = try await run(n.url, upstream: "\(app.url)/health")
        #expect(o.status == .fail)
        #expect(o.summary.contains("although the upstream \(app.url)/health answers 200 directly: nginx forwards somewhere else"), "\(o.summary)")
        // And through a proxy that does reach it, the health check passes.
        let good = try await NginxProxy.start("proxy", ["127.0.0.1:\(app.port)"])
        defer { good.stop() }
        let pass = try await run(good.url, upstream: "\(app.url)/health")
        #expect(pass.status == .pass, "\(pass.summary)")
    }

    @Test func aRedirectToALoginPageIsNotHealthy() async throws {
        let n = try await NginxProxy.start("login")
        defer { n.stop() }
        let o = try await run(n.url)
        #expect(o.status == .fail)
        #expect(o.summary == "\(n.url)/health after 1 redirect, at \(n.url)/login?next=/health answers 200 with an HTML login page, not a health answer", "\(o.summary)")
        #expect(o.evidence["redirects"] == .string("1, ended at \(n.url)/login?next=/health"))
        #expect(o.evidence["requests"] == .int(4))
    }

    @Test func aRedirectToHTTPSIsFollowedWithK6sTrustAndSaid() async throws {
        let tls = try await TestCertificates.server("good")
        defer { tls.stop() }
        let end = "https://127.0.0.1:\(tls.port)/health"
        let n = try await NginxProxy.start("redirect", [end])
        defer { n.stop() }
        var c = config(target: n.url, healthPath: "/health")
        var h = c.section(HealthSettings.self)
        h.ca = try TestCertificates.path("ca.pem")
        c.set(h)
        let o = try await check.run(context(c, timeout: .seconds(3)))
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary.hasPrefix("\(n.url)/health after 1 redirect, at \(end) answers 200"), "\(o.summary)")
        // Without the private CA the redirect's TLS fails as k6's would.
        let refused = try await run(n.url)
        #expect(refused.status == .fail, "\(refused.summary)")
    }

    @Test func aRedirectLoopStopsAtTenAsK6Does() async throws {
        let s = try await FixtureServer.start("json", ["302", "", "Location: /health"])
        defer { s.stop() }
        let o = try await run(s.url)
        #expect(o.status == .fail)
        #expect(o.summary.contains("more than 10 redirects (a redirect loop?)"), "\(o.summary)")
    }

    @Test func alpnH2IsEvidence() async throws {
        let n = try await NginxProxy.start("h2", [try TestCertificates.path("good.pem"), try TestCertificates.path("good.key")])
        defer { n.stop() }
        var c = config(target: "https://127.0.0.1:\(n.port)", healthPath: "/health")
        var h = c.section(HealthSettings.self)
        h.ca = try TestCertificates.path("ca.pem")
        c.set(h)
        let o = try await check.run(context(c, timeout: .seconds(3)))
        #expect(o.status == .pass, "\(o.summary)")
        guard case .object(let tls)? = o.evidence["tls"] else { Issue.record("no tls evidence"); return }
        #expect(tls["alpn"] == .string("h2"), "\(tls)")
        #expect(o.evidence["http"] == .string("2"))
        #expect(o.evidence["keepAlive"] == .string("yes"))
    }

    @Test func keepAliveOffIsEvidenceAndSaid() async throws {
        let n = try await NginxProxy.start("close")
        defer { n.stop() }
        let o = try await run(n.url)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["keepAlive"] == .string("no: the server answers Connection: close"))
        #expect(o.summary.contains("keep-alive off (the server answers Connection: close): every k6 request opens a new connection"), "\(o.summary)")
    }

    @Test func keptAliveConnectionsAreSeenReused() async throws {
        let s = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { s.stop() }
        let o = try await run(s.url)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["keepAlive"] == .string("yes"))
        #expect(o.evidence["requests"] == .int(2), "the GET and its keep-alive probe are the traffic sent")
    }

    @Test func aServerThatClosesSilentlyAfterEachResponse() async throws {
        let s = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#], options: ["--close"])
        defer { s.stop() }
        let o = try await run(s.url)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["keepAlive"] == .string("no: the server closes the connection after each response"), "\(o.evidence)")
    }

    @Test func http10WithoutKeepAlive() async throws {
        let s = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#], options: ["--http10"])
        defer { s.stop() }
        let o = try await run(s.url)
        #expect(o.evidence["keepAlive"] == .string("no: the server answers HTTP/1.0 without keep-alive"), "\(o.evidence)")
    }
}

/// `localhost` as both ::1 and 127.0.0.1 (the fake resolver: this machine's /etc/hosts has no ::1 line), with
/// real connects to real servers on one family only.
@Suite(.tags(.live), .runsLive) struct LocalhostFamilies {
    func check() -> PortCheck {
        PortCheck(probes: Probes(resolver: FakeResolver(answers: ["localhost": .success([v6("::1"), v4("127.0.0.1")])]),
                                 tcp: SystemTCPConnector(), sockets: FakeSocketTable(sockets: [])))
    }

    @Test func onlyIPv4AnswersAsNodePrefersIPv6() async throws {
        let s = try await FixtureServer.start("json", ["200", "{}"])
        defer { s.stop() }
        let o = try await check().run(context(config(target: "http://localhost:\(s.port)")))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("only 127.0.0.1 accepts, [::1]:\(s.port) refused: k6 (Go) tries both families and gets through; Node ≥ 17 prefers ::1 and gets ECONNREFUSED"), "\(o.summary)")
    }

    @Test func onlyIPv6Answers() async throws {
        let s = try await FixtureServer.start("json", ["200", "{}"], host: "::1")
        defer { s.stop() }
        let o = try await check().run(context(config(target: "http://localhost:\(s.port)")))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("only ::1 accepts"), "\(o.summary)")
        #expect(o.summary.contains("clients that take 127.0.0.1 (Node < 17"), "\(o.summary)")
    }
}
