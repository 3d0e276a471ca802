import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// Certificates made once per test process by Tests/Fixtures/tls-certs.sh (openssl), in a temporary folder.
enum TestCertificates {
    static let folder: Result<URL, FixtureError> = {
        do {
            let dir = try temporaryDirectory("pf-certs")
            let out = try runProcess("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/tls-certs.sh").path, dir.path], limit: 120)
            guard out.status == 0 else { return .failure(FixtureError("tls-certs.sh failed: \(out.stderr)")) }
            return .success(dir)
        } catch { return .failure(FixtureError("\(error)")) }
    }()

    static func path(_ name: String) throws -> String { try folder.get().appendingPathComponent(name).path }

    /// A real TLS server (Python's ssl) on loopback with the named certificate.
    static func server(_ name: String, status: String = "200", body: String = #"{"status":"ok"}"#, extra: [String] = []) async throws -> FixtureServer {
        try await FixtureServer.start("json", [status, body], options: ["--tls", try path("\(name).pem"), try path("\(name).key")] + extra)
    }
}

func tlsConfig(_ server: FixtureServer, ca: String? = nil, script: String? = nil, duration: Duration? = nil, host: String = "127.0.0.1") throws -> Config {
    var c = config(target: "https://\(host):\(server.port)", healthPath: "/health")
    var h = c.section(HealthSettings.self)
    h.ca = ca
    c.set(h)
    var load = LoadSettings()
    load.duration = duration
    if let script {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pf-tls-\(UUID().uuidString.prefix(8)).js")
        try script.write(to: file, atomically: true, encoding: .utf8)
        load.script = file.path
    }
    c.set(load)
    return c
}

let insecureScript = """
import http from "k6/http";
export const options = { insecureSkipTLSVerify: true, vus: 1, duration: "2s" };
export default function () { http.get(`${__ENV.TARGET}/health`); }
"""

/// The health check's https part against real certificates on a real TLS server.
@Suite(.serialized, .tags(.live), .runsLive) struct HealthTLSLoopback {
    let check = HealthCheck(probes: .live)

    func run(_ c: Config) async throws -> CheckOutcome { try await check.run(context(c, timeout: .seconds(5))) }

    @Test func trustedThroughHealthCAPassesWithEvidence() async throws {
        let s = try await TestCertificates.server("good")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(o.status == .pass, "\(o.summary)")
        guard case .object(let tls)? = o.evidence["tls"] else { Issue.record("no tls evidence: \(o.evidence)"); return }
        #expect(tls["protocol"] == .string("TLSv1.3"))
        #expect(tls["alpn"] == .string("http/1.1"))
        #expect(tls["issuer"] == .string("CN = preflight test CA"))
        #expect(tls["names"] == .array([.string("localhost"), .string("127.0.0.1"), .string("::1")]))
        #expect(tls["notAfter"] != nil && tls["notBefore"] != nil)
    }

    @Test func privateCAWithoutHealthCAIsAnUnknownIssuer() async throws {
        let s = try await TestCertificates.server("good")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s))
        #expect(o.status == .fail)
        #expect(o.summary.contains("k6 will refuse the TLS connection: the certificate's issuer CN = preflight test CA is not a trusted CA (trusted: "), "\(o.summary)")
        #expect(o.fix?.contains("SSL_CERT_FILE") == true)
    }

    @Test func sslCertFileIsTheTrustStoreK6Uses() async throws {
        struct Env: HostFacts {
            let ca: String
            func fileLimits() -> (soft: Int, hard: Int) { (1024, 1024) }
            func readFile(_ path: String) -> String? { LiveHostFacts().readFile(path) }
            func cores() -> Int { 2 }
            func which(_ program: String) -> String? { nil }
            func environment(_ name: String) -> String? { name == "SSL_CERT_FILE" ? ca : nil }
            func entryCount(_ directory: String) -> Int? { nil }
        }
        let s = try await TestCertificates.server("good")
        defer { s.stop() }
        var probes = Probes.live
        probes.host = Env(ca: try TestCertificates.path("ca.pem"))
        let o = try await HealthCheck(probes: probes).run(context(try tlsConfig(s), timeout: .seconds(5)))
        #expect(o.status == .pass, "\(o.summary)")
    }

    @Test func expiredSaysOnWhichDate() async throws {
        let s = try await TestCertificates.server("expired")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(o.status == .fail)
        #expect(o.summary.contains("the certificate expired on 2021-01-01 00:00 UTC"), "\(o.summary)")
        #expect(o.fix?.contains("renew") == true)
    }

    @Test func notYetValidShowsTheLocalClock() async throws {
        let s = try await TestCertificates.server("future")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(o.status == .fail)
        #expect(o.summary.contains("the certificate is not valid before 2090-01-01 00:00 UTC; this machine's clock says 20"), "\(o.summary)")
        #expect(o.fix?.contains("clock") == true)
    }

    @Test func selfSignedNamesTheIssuer() async throws {
        let s = try await TestCertificates.server("self")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s))
        #expect(o.status == .fail)
        #expect(o.summary.contains("the certificate is self-signed (issuer CN = 127.0.0.1)"), "\(o.summary)")
        #expect(o.fix?.contains("insecureSkipTLSVerify") == true)
    }

    @Test func wrongNameListsTheNamesItHas() async throws {
        let s = try await TestCertificates.server("wrongsan")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(o.status == .fail)
        #expect(o.summary.contains("the certificate does not name 127.0.0.1: it has only app.example.test"), "\(o.summary)")
    }

    @Test func commonNameOnlyIsRefusedAsGoRefusesIt() async throws {
        // libcurl falls back to the CN and accepts it; k6 (Go) does not.
        let s = try await TestCertificates.server("cnonly")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(o.status == .fail)
        #expect(o.summary.contains("it has no subjectAltName, only CN 127.0.0.1 (k6 ignores the CN)"), "\(o.summary)")
    }

    @Test func insecureSkipTLSVerifyMakesABadCertificateAWarning() async throws {
        let s = try await TestCertificates.server("self")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, script: insecureScript))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("self-signed"), "\(o.summary)")
        #expect(o.summary.contains("k6 accepts it only because the script sets insecureSkipTLSVerify: true"), "\(o.summary)")
        #expect(o.findings.dropFirst().contains { $0.severity == .pass && $0.sentence.contains("https://127.0.0.1:\(s.port)/health answers 200") }, "\(o.findings)")
    }

    @Test func expiringBeforeTheTestEndsWarns() async throws {
        let s = try await TestCertificates.server("short")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem"), duration: .seconds(2 * 86400)))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("before the load test ends (now + 2 d"), "\(o.summary)")
        #expect(o.summary.contains("from load.duration"), "\(o.summary)")
    }

    @Test func theScriptsDurationCountsWhenLoadDurationIsUnset() async throws {
        let s = try await TestCertificates.server("short")
        defer { s.stop() }
        let script = #"export const options = { stages: [{ duration: "30h", target: 10 }, { duration: "1h", target: 0 }] };"#
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem"), script: script))
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.contains("from the script's duration"), "\(o.summary)")
        let long = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem"), duration: .seconds(3600)))
        #expect(long.status == .pass, "a one-day certificate outlives a one-hour test: \(long.summary)")
    }

    @Test func aTLSVersionTheServerDoesNotSpeakFails() async throws {
        let s = try await TestCertificates.server("good", extra: ["--tls-max", "1.2"])
        defer { s.stop() }
        let script = #"export const options = { tlsVersion: "tls1.3" };"#
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem"), script: script))
        #expect(o.status == .fail)
        #expect(o.summary.contains("no TLS version in common: k6 allows tlsVersion min tls1.3, max tls1.3 (the server negotiates TLSv1.2"), "\(o.summary)")
        let fine = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(fine.status == .pass, "k6's default (TLS 1.2 and 1.3) meets a TLS 1.2 server: \(fine.summary)")
    }

    @Test func aLegacyTLSServerIsRefusedAsK6RefusesIt() async throws {
        let s = try await TestCertificates.server("good", extra: ["--tls-max", "1.1"])
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(o.status == .fail)
        #expect(o.summary.contains("no TLS version in common: k6 allows TLS 1.2 and 1.3 (its default) (the server negotiates TLSv1.1"), "\(o.summary)")
        #expect(o.fix?.contains("enable TLS 1.2 or 1.3 on the server") == true)
    }

    @Test func aCipherSuiteTheServerRefusesFails() async throws {
        // The server's key is RSA: an ECDSA-only suite list has nothing in common with it (TLS 1.2; 1.3 suites are not configurable).
        let s = try await TestCertificates.server("good", extra: ["--tls-max", "1.2"])
        defer { s.stop() }
        let script = #"export const options = { tlsCipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"] };"#
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem"), script: script))
        #expect(o.status == .fail)
        #expect(o.summary.contains("no cipher suite in common: k6 offers tlsCipherSuites TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), "\(o.summary)")
        let rsa = #"export const options = { tlsCipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"] };"#
        let fine = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem"), script: rsa))
        #expect(fine.status == .pass, "\(fine.summary)")
        guard case .object(let tls)? = fine.evidence["tls"] else { Issue.record("no tls evidence"); return }
        #expect(tls["cipher"] == .string("ECDHE-RSA-AES128-GCM-SHA256"))
    }

    @Test func aClientCertificateFromTLSAuthIsPresented() async throws {
        let s = try await TestCertificates.server("good", extra: ["--client-ca", try TestCertificates.path("ca.pem")])
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem")))
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.contains("requires a client certificate"), "\(o.summary)")
        #expect(o.fix?.contains("tlsAuth") == true)
        let script = """
        export const options = { tlsAuth: [{ domains: ["127.0.0.1"], cert: open("\(try TestCertificates.path("client.pem"))"), key: open("\(try TestCertificates.path("client.key"))") }] };
        """
        let fine = try await run(try tlsConfig(s, ca: try TestCertificates.path("ca.pem"), script: script))
        #expect(fine.status == .pass, "\(fine.summary)")
    }

    @Test func aMissingHealthCAFileIsSaid() async throws {
        let s = try await TestCertificates.server("good")
        defer { s.stop() }
        let o = try await run(try tlsConfig(s, ca: "/nonexistent/ca.pem"))
        #expect(o.status == .fail)
        #expect(o.summary.contains("health.ca /nonexistent/ca.pem: no such readable file"), "\(o.summary)")
    }
}

@Suite struct K6TLSOptionsReading {
    @Test func readsEveryTLSOption() {
        let s = K6Script(source: """
        export const options = {
          insecureSkipTLSVerify: true,
          tlsVersion: { min: "tls1.2", max: "tls1.3" },
          tlsCipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384"],
          tlsAuth: [{ domains: ["example.com"], cert: open("./client.pem"), key: open("./client.key") }],
        };
        """, env: [:])
        let t = s.options.tls
        #expect(t.insecureSkipVerify == true)
        #expect(t.versionMin == "tls1.2" && t.versionMax == "tls1.3")
        #expect(t.openSSLCipherList == "ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384")
        #expect(t.clientCertificates == [.init(domains: ["example.com"], certFile: "./client.pem", keyFile: "./client.key")])
    }

    @Test func aSingleVersionIsBothBoundsAndAnUnknownSuiteIsNotJudged() {
        let s = K6Script(source: #"export const options = { tlsVersion: "tls1.3", tlsCipherSuites: ["TLS_NOT_A_SUITE"] };"#, env: [:])
        #expect(s.options.tls.versionMin == "tls1.3" && s.options.tls.versionMax == "tls1.3")
        #expect(s.options.tls.openSSLCipherList == nil)
        #expect(s.options.tls.insecureSkipVerify == nil)
    }

    @Test func hostNamesMatchAsGoMatchesThem() {
        let c = PeerCertificate(fields: [.init("Subject", "CN = x"), .init("Issuer", "CN = ca"),
                                         .init("X509v3 Subject Alternative Name", "DNS:*.example.com, IP Address:0:0:0:0:0:0:0:1")])
        #expect(c.matches(host: "api.example.com"))
        #expect(!c.matches(host: "a.b.example.com"))
        #expect(!c.matches(host: "example.com"))
        #expect(c.matches(host: "[::1]"))
        #expect(!c.matches(host: "127.0.0.1"))
        #expect(PeerCertificate.date("Jan  1 00:00:00 2021 GMT") == Date(timeIntervalSince1970: 1_609_459_200))
    }
}

/// The real k6 against the self-signed server: it fails the requests; with insecureSkipTLSVerify it gets through,
/// and preflight said so beforehand (fail, then warn).
@Suite(.serialized, .tags(.live), .runsLive) struct RealK6AgainstTLS {
    func k6(_ script: String, target: String) async throws -> ProcessOutput {
        let dir = try temporaryDirectory("pf-k6tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("t.js")
        try script.write(to: file, atomically: true, encoding: .utf8)
        return try await run("/usr/bin/env", ["k6", "run", "--no-usage-report", "--quiet", "-e", "TARGET=\(target)", file.path],
                             currentDirectory: dir, limit: 120)
    }

    static let strict = """
    import http from "k6/http";
    import { check } from "k6";
    export const options = { vus: 1, iterations: 1, thresholds: { checks: ["rate==1"] } };
    export default function () { check(http.get(`${__ENV.TARGET}/health`), { "200": (r) => r.status === 200 }); }
    """

    @Test func selfSignedFailsK6AndPreflightSaysSoFirst() async throws {
        let s = try await TestCertificates.server("self")
        defer { s.stop() }
        let target = "https://127.0.0.1:\(s.port)"
        guard realK6("RealK6AgainstTLS") != nil else {  // preflight's half still runs
            let pre = try await HealthCheck(probes: .live).run(context(try tlsConfig(s, script: Self.strict), timeout: .seconds(5)))
            #expect(pre.status == .fail, "\(pre.summary)")
            let insecure = Self.strict.replacingOccurrences(of: "vus: 1,", with: "vus: 1, insecureSkipTLSVerify: true,")
            let warned = try await HealthCheck(probes: .live).run(context(try tlsConfig(s, script: insecure), timeout: .seconds(5)))
            #expect(warned.status == .warn, "\(warned.summary)")
            return
        }
        let strict = try await k6(Self.strict, target: target)
        #expect(strict.status != 0, "k6 must fail against a self-signed certificate: \(strict.stdout.suffix(400))")
        #expect((strict.stdout + strict.stderr).contains("x509") || (strict.stdout + strict.stderr).contains("certificate"),
                "\((strict.stdout + strict.stderr).suffix(600))")
        let pre = try await HealthCheck(probes: .live).run(context(try tlsConfig(s, script: Self.strict), timeout: .seconds(5)))
        #expect(pre.status == .fail, "\(pre.summary)")

        let insecure = Self.strict.replacingOccurrences(of: "vus: 1,", with: "vus: 1, insecureSkipTLSVerify: true,")
        let passes = try await k6(insecure, target: target)
        #expect(passes.status == 0, "k6 with insecureSkipTLSVerify gets through: \((passes.stdout + passes.stderr).suffix(600))")
        let warned = try await HealthCheck(probes: .live).run(context(try tlsConfig(s, script: insecure), timeout: .seconds(5)))
        #expect(warned.status == .warn, "\(warned.summary)")
        #expect(warned.summary.contains("insecureSkipTLSVerify: true"))
    }
}

@Suite struct HealthTLSConfig {
    @Test func caIsReadRelativeToTheConfigFileAndABadUpstreamIsAProblem() async throws {
        let dir = try temporaryDirectory("pf-tlscfg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let certs = try TestCertificates.folder.get()
        try FileManager.default.copyItem(at: certs.appendingPathComponent("ca.pem"), to: dir.appendingPathComponent("ca.pem"))
        let s = try await TestCertificates.server("good")
        defer { s.stop() }
        let file = dir.appendingPathComponent("preflight.yml").path
        let c = try ConfigLoader(sections: AllChecks.sections).load(yaml: """
            target: https://127.0.0.1:\(s.port)
            health: {ca: ca.pem}
            """, file: file, environment: [:])
        let o = try await HealthCheck(probes: .live).run(context(c, timeout: .seconds(5)))
        #expect(o.status == .pass, "\(o.summary)")
        do {
            _ = try ConfigLoader(sections: AllChecks.sections).load(yaml: "health: {upstream: 'not a url'}", file: nil, environment: [:])
            Issue.record("a bad health.upstream must be a config problem")
        } catch {
            #expect(error.problems.contains { $0.path.contains("upstream") }, "\(error.problems)")
        }
    }
}
