import Foundation
import PreflightCore
import PreflightProbes

/// The health check's https part: the request made as k6 will make it (its trust store, the script's TLS
/// options), and the certificate's problems said with the dates and names that prove them.
extension HealthCheck {
    enum TLSResult {
        /// k6 will not get through: the finding.
        case refused(CheckOutcome)
        /// The exchange to judge as HTTP, and TLS warnings to put first (k6 gets through, but …).
        case exchange(HTTPExchange, warnings: [Finding])
    }

    /// libcurl's TLS failures (handshake, verification, certificates, client certificate files).
    static let tlsCodes: Set<Int> = [35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98]

    /// The request as k6 will make it (`TargetReach`), keep-alive probed; the client certificate named in the evidence.
    func k6RequestOptions(_ url: String, reach: TargetReach, trust: TargetReach.Trust, evidence: inout Evidence) -> HTTPRequestOptions {
        var options = reach.requestOptions(for: url, trust: trust)
        options.checkReuse = true
        if let c = reach.clientCertificate(for: url) { evidence["clientCertificate"] = .string(c.written) }
        return options
    }

    /// An http:// target: the same request options, for a redirect to https (k6 follows it with the same TLS rules).
    func plainRequestOptions(_ url: String, reach: TargetReach, evidence: inout Evidence) -> HTTPRequestOptions {
        var trust = reach.trust(environment: probes.host.environment)
        if let f = trust.file, probes.host.readFile(f) == nil { trust.file = nil }
        return k6RequestOptions(url, reach: reach, trust: trust, evidence: &evidence)
    }

    func tlsExchange(_ url: String, reach: TargetReach, context: CheckContext, evidence: inout Evidence) async -> TLSResult {
        let plan = context.fact(LoadPlan.self)
        let k6 = reach.tls
        let host = URLComponents(string: url)?.host ?? ""
        let u = redactURL(url)
        let trust = reach.trust(environment: probes.host.environment)
        if let f = trust.file, probes.host.readFile(f) == nil {
            return .refused(.fail("\(trust.source.dropFirst(9)): no such readable file", evidence: evidence,
                                  fix: "point health.ca (or SSL_CERT_FILE) at a PEM file of the CA certificates k6 should trust"))
        }
        var options = k6RequestOptions(url, reach: reach, trust: trust, evidence: &evidence)
        // The first look verifies as if insecureSkipTLSVerify were off, to name what it waives.
        options.verifyPeer = true
        options.tlsEvidence = true
        let insecure = reach.insecureSkipVerify
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
            if insecure && problems.allSatisfy(\.waivable) {
                // k6 will accept this certificate: judge the rest as k6 will see it.
                if x.failure != nil {
                    options.verifyPeer = false
                    x = await probes.http.send("GET", url: url, headers: [:], body: nil, timeout: context.timeout, bodyCap: Self.bodyCap, options: options)
                    Self.count(x, &evidence)
                    evidence["error"] = nil
                }
                // One finding per problem: the first says what k6 does, each has its own fix.
                return .exchange(x, warnings: problems.enumerated().map { i, p in
                    Finding(.warn, i == 0 ? "\(u): \(p.sentence); k6 accepts it only because the script sets insecureSkipTLSVerify: true" : "\(u): \(p.sentence)",
                            fix: "fine for a test environment; remove insecureSkipTLSVerify once the certificate is fixed: \(p.fix)")
                })
            }
            return .refused(CheckOutcome(findings: problems.enumerated().map { i, p in
                Finding(.fail, i == 0 ? "\(u): k6 will refuse the TLS connection: \(p.sentence)" : "\(u): \(p.sentence)", fix: p.fix,
                        effect: i == 0 ? EffectModel.everyRequest(k6: Self.k6Failure(p.kind).k6, basis: "k6 refuses the target's TLS handshake on every connection") : nil)
            }, evidence: evidence))
        }
        if x.failure == nil, !insecure, let leaf = session?.certificates.first.map(PeerCertificate.init), let end = leaf.notAfter,
           let seconds = plan.settings.duration.map({ Double($0.components.seconds) }) ?? plan.options?.plannedSeconds {
            let testEnd = now.addingTimeInterval(seconds)
            if end < testEnd {
                let source = plan.settings.duration != nil ? "load.duration" : "the script's duration"
                return .exchange(x, warnings: [Finding(.warn, "\(u): the certificate expires on \(TLSVerdict.day(end)), before the load test ends (now + \(Self.span(seconds)) from \(source) = \(TLSVerdict.day(testEnd)))",
                                                         fix: "renew the certificate before the test, or the rest of the run fails its TLS handshakes")])
            }
        }
        return .exchange(x, warnings: [])
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

extension HealthCheck {
    /// How k6 reports a TLS problem it refuses (its x509 and TLS error codes, from the one vocabulary).
    static func k6Failure(_ kind: TLSVerdict.Kind) -> FailureKind {
        switch kind {
        case .selfSigned, .unknownCA: return .unknownAuthority
        case .hostMismatch: return .hostnameMismatch
        case .expired, .notYetValid: return .certificateInvalid
        default: return .tls
        }
    }
}
