import Foundation
import PreflightCore
import PreflightProbes

/// The health check's https part: the request made as k6 will make it (its trust store, the script's TLS
/// options), and the certificate's problems said with the dates and names that prove them.
extension HealthCheck {
    enum TLSResult {
        /// k6 will not get through: the finding.
        case refused(CheckOutcome)
        /// The exchange to judge as HTTP, and a TLS warning to put first (k6 gets through, but …).
        case exchange(HTTPExchange, warning: (summary: String, fix: String)?)
    }

    /// libcurl's TLS failures (handshake, verification, certificates, client certificate files).
    static let tlsCodes: Set<Int> = [35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98]

    /// The trust store k6 (Go) will use: health.ca, else SSL_CERT_FILE / SSL_CERT_DIR, else the system's.
    func trust(_ settings: HealthSettings, configFile: String?) -> (file: String?, dir: String?, source: String) {
        if let ca = settings.ca {
            let full = LoadPlan.resolve(ca, configFile: configFile)
            return (full, nil, "trusted: health.ca \(ca)")
        }
        let file = probes.host.environment("SSL_CERT_FILE").flatMap { $0.isEmpty ? nil : $0 }
        let dir = probes.host.environment("SSL_CERT_DIR").flatMap { $0.isEmpty ? nil : $0 }
        if file != nil || dir != nil {
            return (file, dir, "trusted: " + [file.map { "SSL_CERT_FILE \($0)" }, dir.map { "SSL_CERT_DIR \($0)" }].compactMap { $0 }.joined(separator: ", "))
        }
        return (nil, nil, "trusted: the system's CA bundle")
    }

    /// The request as k6 will make it: its trust store, the script's TLS options, redirects followed, keep-alive probed.
    func k6RequestOptions(_ url: String, trust: (file: String?, dir: String?, source: String), k6: K6TLSOptions, plan: LoadPlan,
                          evidence: inout Evidence) -> HTTPRequestOptions {
        let host = URLComponents(string: url)?.host ?? ""
        var options = HTTPRequestOptions()
        options.maxRedirects = Self.maxRedirects
        options.checkReuse = true
        options.caFile = trust.file
        options.caPath = trust.dir
        // k6's defaults are Go's: TLS 1.2 and 1.3.
        options.tlsMin = k6.versionMin.flatMap(K6TLSOptions.version).flatMap(HTTPRequestOptions.TLSVersion.init) ?? .tls1_2
        options.tlsMax = k6.versionMax.flatMap(K6TLSOptions.version).flatMap(HTTPRequestOptions.TLSVersion.init)
        options.cipherList = k6.openSSLCipherList
        if let auth = k6.clientCertificates.first(where: { $0.domains.contains { d in host == d || host.hasSuffix("." + d) } }),
           let cert = auth.certFile, let key = auth.keyFile, let script = plan.scriptFile {
            let folder = URL(fileURLWithPath: script).deletingLastPathComponent().path
            options.clientCertificate = cert.hasPrefix("/") ? cert : folder + "/" + cert
            options.clientKey = key.hasPrefix("/") ? key : folder + "/" + key
            evidence["clientCertificate"] = .string(cert)
        }
        return options
    }

    /// An http:// target: the same request options, for a redirect to https (k6 follows it with the same TLS rules).
    func plainRequestOptions(_ url: String, settings: HealthSettings, context: CheckContext, evidence: inout Evidence) -> HTTPRequestOptions {
        let plan = context.fact(LoadPlan.self)
        let k6 = plan.options?.tls ?? K6TLSOptions()
        var trust = trust(settings, configFile: context.config.file)
        if let f = trust.file, probes.host.readFile(f) == nil { trust.file = nil }
        var options = k6RequestOptions(url, trust: trust, k6: k6, plan: plan, evidence: &evidence)
        options.verifyPeer = k6.insecureSkipVerify != true
        return options
    }

    func tlsExchange(_ url: String, settings: HealthSettings, context: CheckContext, evidence: inout Evidence) async -> TLSResult {
        let plan = context.fact(LoadPlan.self)
        let k6 = plan.options?.tls ?? K6TLSOptions()
        let host = URLComponents(string: url)?.host ?? ""
        let u = redactURL(url)
        let trust = trust(settings, configFile: context.config.file)
        if let f = trust.file, probes.host.readFile(f) == nil {
            return .refused(.fail("\(trust.source.dropFirst(9)): no such readable file", evidence: evidence,
                                  fix: "point health.ca (or SSL_CERT_FILE) at a PEM file of the CA certificates k6 should trust"))
        }
        var options = k6RequestOptions(url, trust: trust, k6: k6, plan: plan, evidence: &evidence)
        options.tlsEvidence = true
        let insecure = k6.insecureSkipVerify == true
        if insecure { evidence["insecureSkipTLSVerify"] = .bool(true) }

        var x = await probes.http.send("GET", url: url, headers: [:], body: nil, timeout: context.timeout, bodyCap: Self.bodyCap, options: options)
        Self.count(x, &evidence)
        var session = x.tls
        var problems: [TLSVerdict.Problem] = []
        let now = Date()
        if let f = x.failure, Self.tlsCodes.contains(f.code) || ([55, 56].contains(f.code) && (f.message.contains("SSL") || x.tls?.clientCertificateRequested == true)) {
            evidence["error"] = .string("curl \(f.code): \(f.message)")
            // A second look that accepts any certificate and any version: the certificate and what the server speaks.
            var look = HTTPRequestOptions()
            look.verifyPeer = false
            look.tlsEvidence = true
            look.tlsMin = .tls1_0
            look.cipherList = "DEFAULT:@SECLEVEL=0"  // a legacy server's TLS 1.0/1.1 too, to name what it speaks
            let seen = await probes.http.send("GET", url: url, headers: [:], body: nil, timeout: context.timeout, bodyCap: 1024, options: look)
            Self.count(seen, &evidence)
            session = seen.tls
            if let p = TLSVerdict.handshakeProblem(code: f.code, message: f.message, tls: k6, server: seen.tls,
                                                      requested: x.tls?.clientCertificateRequested == true && ![51, 60].contains(f.code)) {
                problems = [p]
            } else if let leaf = seen.tls?.certificates.first.map(PeerCertificate.init) {
                let chain = [60, 58, 77, 83].contains(f.code) && !f.message.contains("expired") && !f.message.contains("not yet valid")
                    && !f.message.contains("subject name")
                problems = TLSVerdict.certificateProblems(leaf, host: host, now: now, trustFailure: chain ? f.message : nil, caSource: trust.source)
            }
            if problems.isEmpty {
                problems = [TLSVerdict.Problem(kind: .other, sentence: "TLS failed: \(f.message)",
                                               fix: "if the port speaks plain HTTP, use http:// in target; otherwise fix the server's TLS set-up")]
            }
        } else if x.failure == nil, let leaf = x.tls?.certificates.first.map(PeerCertificate.init) {
            // libcurl accepted it; Go is stricter on names (subjectAltName only).
            problems = TLSVerdict.certificateProblems(leaf, host: host, now: now, trustFailure: nil, caSource: trust.source)
        }
        record(session, into: &evidence)

        if !problems.isEmpty {
            let sentences = problems.map(\.sentence).joined(separator: "; ")
            if insecure && problems.allSatisfy(\.waivable) {
                // k6 will accept this certificate: judge the rest as k6 will see it.
                if x.failure != nil {
                    options.verifyPeer = false
                    x = await probes.http.send("GET", url: url, headers: [:], body: nil, timeout: context.timeout, bodyCap: Self.bodyCap, options: options)
                    Self.count(x, &evidence)
                    evidence["error"] = nil
                }
                return .exchange(x, warning: ("\(u): \(sentences); k6 accepts it only because the script sets insecureSkipTLSVerify: true",
                                              "fine for a test environment; remove insecureSkipTLSVerify once the certificate is fixed: \(problems[0].fix)"))
            }
            return .refused(.fail("\(u): k6 will refuse the TLS connection: \(sentences)", evidence: evidence, fix: problems[0].fix))
        }
        if x.failure == nil, !insecure, let leaf = session?.certificates.first.map(PeerCertificate.init), let end = leaf.notAfter,
           let seconds = plan.settings.duration.map({ Double($0.components.seconds) }) ?? plan.options?.plannedSeconds {
            let testEnd = now.addingTimeInterval(seconds)
            if end < testEnd {
                let source = plan.settings.duration != nil ? "load.duration" : "the script's duration"
                return .exchange(x, warning: ("\(u): the certificate expires on \(TLSVerdict.day(end)), before the load test ends (now + \(Self.span(seconds)) from \(source) = \(TLSVerdict.day(testEnd)))",
                                              "renew the certificate before the test, or the rest of the run fails its TLS handshakes"))
            }
        }
        return .exchange(x, warning: nil)
    }

    /// 172800 → "2 d", 5400 → "1 h 30 min", 90 → "1 min 30 s".
    static func span(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let parts = [(s / 86400, "d"), (s % 86400 / 3600, "h"), (s % 3600 / 60, "min"), (s % 60, "s")].filter { $0.0 > 0 }
        return parts.isEmpty ? "0 s" : parts.prefix(2).map { "\($0.0) \($0.1)" }.joined(separator: " ")
    }

    func record(_ s: TLSSession?, into evidence: inout Evidence) {
        // No certificate and no protocol: the handshake never happened (refused, timed out); nothing to show.
        guard let s, !s.certificates.isEmpty || s.protocol != nil else { return }
        var e = Evidence()
        if let p = s.protocol { e["protocol"] = .string(p) }
        if let c = s.cipher { e["cipher"] = .string(c) }
        e["alpn"] = .string(s.alpn ?? "none (http/1.1)")
        if let leaf = s.certificates.first.map(PeerCertificate.init) {
            e["subject"] = .string(leaf.subject)
            e["issuer"] = .string(leaf.issuer)
            e["names"] = .array(leaf.names.map { .string($0) })
            if let d = leaf.notBefore { e["notBefore"] = .string(TLSVerdict.day(d)) }
            if let d = leaf.notAfter { e["notAfter"] = .string(TLSVerdict.day(d)) }
        }
        if s.certificates.count > 1 { e["chain"] = .int(s.certificates.count) }
        evidence["tls"] = .object(e)
    }
}
