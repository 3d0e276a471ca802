import Foundation
import PreflightProbes

/// The peer's certificate as libcurl's certinfo printed it: names and dates that prove a verdict.
public struct PeerCertificate: Sendable, Equatable {
    public var subject: String
    public var issuer: String
    public var dnsNames: [String] = []
    public var ipAddresses: [String] = []
    public var notBefore: Date?
    public var notAfter: Date?

    public init(fields: [TLSSession.Field]) {
        func value(_ name: String) -> String? { fields.first { $0.name == name }?.value }
        subject = value("Subject") ?? "?"
        issuer = value("Issuer") ?? "?"
        notBefore = value("Start date").flatMap(Self.date)
        notAfter = value("Expire date").flatMap(Self.date)
        for entry in (value("X509v3 Subject Alternative Name") ?? "").split(separator: ",") {
            let e = entry.trimmingCharacters(in: .whitespaces)
            if e.hasPrefix("DNS:") { dnsNames.append(String(e.dropFirst(4))) }
            if e.hasPrefix("IP Address:") { ipAddresses.append(Self.canonicalIP(String(e.dropFirst(11)))) }
        }
    }

    /// The names the certificate is valid for, as a person reads them.
    public var names: [String] { dnsNames + ipAddresses }
    public var selfSigned: Bool { subject == issuer }
    public var commonName: String? {
        subject.components(separatedBy: ", ").first { $0.hasPrefix("CN = ") || $0.hasPrefix("CN=") }
            .map { $0.replacingOccurrences(of: "CN = ", with: "").replacingOccurrences(of: "CN=", with: "") }
    }

    /// Go's rule (crypto/x509 VerifyHostname): subjectAltName only, the CN is ignored; one wildcard label.
    public func matches(host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h.contains(":") || h.allSatisfy({ $0.isNumber || $0 == "." }) { return ipAddresses.contains(Self.canonicalIP(h)) }
        for name in dnsNames.map({ $0.lowercased() }) {
            if name == h { return true }
            if name.hasPrefix("*."), let dot = h.firstIndex(of: "."), h[h.index(after: dot)...] == name.dropFirst(2), h[..<dot].count > 0 {
                return true
            }
        }
        return false
    }

    /// OpenSSL prints "Dec  1 22:00:00 2026 GMT".
    static func date(_ text: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "MMM d HH:mm:ss yyyy"
        let t = text.replacingOccurrences(of: " GMT", with: "").split(separator: " ").joined(separator: " ")
        return f.date(from: t)
    }

    /// OpenSSL prints IPv6 SANs in full ("0:0:0:0:0:0:0:1"); compare in the short form.
    static func canonicalIP(_ s: String) -> String {
        guard s.contains(":") else { return s }
        var a = in6_addr()
        guard inet_pton(AF_INET6, s, &a) == 1 else { return s.lowercased() }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
        return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// What k6 will make of the target's TLS: one sentence per problem, with the dates and names that prove it.
public struct TLSVerdict: Sendable {
    public enum Kind: String, Sendable { case expired, notYetValid, selfSigned, unknownCA, hostMismatch, protocolRefused, cipherRefused, clientCertificate, other }
    public struct Problem: Sendable, Equatable {
        public var kind: Kind
        public var sentence: String
        public var fix: String
        /// A certificate problem (which insecureSkipTLSVerify waives), not a protocol one.
        public var waivable: Bool { [.expired, .notYetValid, .selfSigned, .unknownCA, .hostMismatch].contains(kind) }
    }

    public static func day(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return f.string(from: d)
    }

    /// The certificate's own problems (dates, issuer, names), judged as Go does, whatever libcurl said.
    /// `trustFailure`: libcurl's verification failed on the chain (unknown issuer), in its words.
    public static func certificateProblems(_ leaf: PeerCertificate, host: String, now: Date, trustFailure: String?,
                                           caSource: String) -> [Problem] {
        var out: [Problem] = []
        if let end = leaf.notAfter, end < now {
            out.append(Problem(kind: .expired, sentence: "the certificate expired on \(day(end)) (subject \(leaf.subject))",
                               fix: "renew the certificate (e.g. certbot renew) and reload the server"))
        }
        if let start = leaf.notBefore, start > now {
            out.append(Problem(kind: .notYetValid,
                               sentence: "the certificate is not valid before \(day(start)); this machine's clock says \(day(now))",
                               fix: "if the clock is wrong, fix it (k6 uses the same clock: timedatectl, NTP); otherwise wait or reissue the certificate with a start date in the past"))
        }
        if let why = trustFailure {
            if leaf.selfSigned {
                out.append(Problem(kind: .selfSigned, sentence: "the certificate is self-signed (issuer \(leaf.issuer)) and not trusted (\(caSource))",
                                   fix: "trust it for k6 (run k6 with SSL_CERT_FILE=FILE and set health.ca: FILE), use a certificate from a trusted CA, or set insecureSkipTLSVerify: true in the script's options for a test environment"))
            } else {
                out.append(Problem(kind: .unknownCA, sentence: "the certificate's issuer \(leaf.issuer) is not a trusted CA (\(caSource); libcurl: \(why))",
                                   fix: "give k6 the CA: run it with SSL_CERT_FILE=CA.pem (Go's system roots) and set health.ca: CA.pem so preflight trusts the same; or have the server send its intermediate certificates"))
            }
        }
        if !leaf.matches(host: host) {
            let names = leaf.names.isEmpty ? "no subjectAltName, only \(leaf.commonName.map { "CN \($0)" } ?? "subject \(leaf.subject)") (k6 ignores the CN)"
                : "only " + leaf.names.joined(separator: ", ")
            out.append(Problem(kind: .hostMismatch, sentence: "the certificate does not name \(host): it has \(names)",
                               fix: "target a name the certificate has, or reissue it with \(host) in its subjectAltName"))
        }
        return out
    }

    /// A handshake libcurl refused for reasons other than the certificate: protocol, cipher, client certificate.
    public static func handshakeProblem(code: Int, message: String, tls: K6TLSOptions, server: TLSSession?, requested: Bool = false) -> Problem? {
        let m = message.lowercased()
        let serverSpeaks = server?.protocol.map { " (the server negotiates \($0)\(server?.cipher.map { " with \($0)" } ?? "") when allowed)" } ?? ""
        if requested || m.contains("certificate required") || m.contains("alert bad certificate") {
            return Problem(kind: .clientCertificate,
                           sentence: "the server requires a client certificate and refused the one offered (\(message))",
                           fix: tls.clientCertificates.isEmpty ? "add tlsAuth: [{ domains: [...], cert: open(\"client.pem\"), key: open(\"client.key\") }] to the script's options"
                               : "check that tlsAuth's cert and key are the pair the server's CA signed, for this host's domain")
        }
        let legacy = ["SSLv3", "TLSv1", "TLSv1.1"].contains(server?.protocol ?? "")
            && !["tls1.0", "tls1.1"].contains(tls.versionMin?.lowercased() ?? "")
        if legacy || m.contains("unsupported protocol") || m.contains("protocol version") || m.contains("no protocols available")
            || m.contains("wrong version number") || m.contains("legacy sigalg") {
            let asked = [tls.versionMin.map { "min \($0)" }, tls.versionMax.map { "max \($0)" }].compactMap { $0 }
            return Problem(kind: .protocolRefused,
                           sentence: "no TLS version in common: k6 allows \(asked.isEmpty ? "TLS 1.2 and 1.3 (its default)" : "tlsVersion " + asked.joined(separator: ", "))\(serverSpeaks); libcurl: \(message)",
                           fix: asked.isEmpty ? "enable TLS 1.2 or 1.3 on the server (k6 refuses older versions by default)" : "widen tlsVersion in the script's options, or enable that version on the server")
        }
        if m.contains("no shared cipher") || m.contains("no cipher match") || m.contains("handshake failure") || m.contains("failed setting cipher") {
            let asked = tls.cipherSuites.map { "tlsCipherSuites " + $0.joined(separator: ", ") } ?? "its default cipher suites"
            return Problem(kind: .cipherRefused, sentence: "no cipher suite in common: k6 offers \(asked)\(serverSpeaks); libcurl: \(message)",
                           fix: tls.cipherSuites == nil ? "enable a modern cipher suite (ECDHE with AES-GCM or ChaCha20) on the server" : "add a suite the server supports to tlsCipherSuites, or remove the option")
        }
        return nil
    }
}
