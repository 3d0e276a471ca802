import Foundation

/// A k6 script's TLS options, read with the rest of its options (K6ScriptRequests.readOptions): what k6 will
/// accept from the target's TLS.
public struct K6TLSOptions: Sendable, Equatable {
    /// `insecureSkipTLSVerify: true`: k6 accepts any certificate.
    public var insecureSkipVerify: Bool?
    /// `tlsVersion: "tls1.2"` (min and max) or `{ min: "tls1.2", max: "tls1.3" }`, as written.
    public var versionMin: String?
    public var versionMax: String?
    /// `tlsCipherSuites: ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", …]` (Go's names; TLS ≤ 1.2 only).
    public var cipherSuites: [String]?
    /// `tlsAuth: [{ domains: […], cert: open("client.pem"), key: open("client.key") }]`.
    public var clientCertificates: [ClientCertificate] = []
    public struct ClientCertificate: Sendable, Equatable {
        public var domains: [String]
        /// The files `open()` reads, as written (relative to the script's folder); nil when not a literal `open("…")`.
        public var certFile: String?
        public var keyFile: String?
    }

    public init() {}

    /// k6's names (`tls1.2`) as version numbers; nil for a name k6 does not know either.
    public static func version(_ name: String) -> String? {
        ["tls1.0": "1.0", "tls1.1": "1.1", "tls1.2": "1.2", "tls1.3": "1.3"][name.lowercased()]
    }

    /// Go's cipher suite names (crypto/tls) and OpenSSL's for the same suite. TLS 1.3 suites are absent on
    /// purpose: Go does not let them be configured.
    public static let openSSLCiphers: [String: String] = [
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
        "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
        "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    ]

    /// The OpenSSL cipher list for the script's suites; nil when it names none or one this table does not know
    /// (then the suites are not judged rather than misjudged).
    public var openSSLCipherList: String? {
        guard let suites = cipherSuites, !suites.isEmpty else { return nil }
        let names = suites.compactMap { Self.openSSLCiphers[$0.uppercased()] }
        return names.count == suites.count ? names.joined(separator: ":") : nil
    }
}

extension K6Options {
    /// How long the test runs, in seconds, as the options say (the longest scenario's window, else the stages'
    /// sum, else `duration`); nil when not known.
    public var plannedSeconds: Double? {
        if !scenarios.isEmpty {
            let ends = scenarios.map { $0.window.end }
            return ends.contains { $0 == nil } ? nil : ends.compactMap { $0 }.max()
        }
        if !stages.isEmpty {
            let parts = stages.map { $0.duration.flatMap(K6Options.seconds) }
            return parts.contains { $0 == nil } ? nil : parts.compactMap { $0 }.reduce(0, +)
        }
        return duration.flatMap(K6Options.seconds)
    }
}

extension K6Script {
    func readTLSOptions(_ f: [String: Range<Int>]) -> K6TLSOptions {
        var t = K6TLSOptions()
        t.insecureSkipVerify = f["insecureSkipTLSVerify"].flatMap(bool)
        if let v = f["tlsVersion"] {
            if let o = objectStart(v, opener: "{") {
                let g = objectFields(o)
                t.versionMin = g["min"].flatMap(resolvedText)
                t.versionMax = g["max"].flatMap(resolvedText)
            } else if let text = resolvedText(v) {
                t.versionMin = text
                t.versionMax = text
            }
        }
        if let c = f["tlsCipherSuites"], let open = objectStart(c, opener: "[") {
            t.cipherSuites = arguments(open).compactMap(resolvedText)
        }
        if let a = f["tlsAuth"], let open = objectStart(a, opener: "[") {
            for item in arguments(open).prefix(64) {
                guard let o = objectStart(item, opener: "{") else { continue }
                let g = objectFields(o)
                var domains: [String] = []
                if let d = g["domains"], let l = objectStart(d, opener: "[") { domains = arguments(l).compactMap(resolvedText) }
                t.clientCertificates.append(.init(domains: domains, certFile: g["cert"].flatMap(openedFile),
                                                  keyFile: g["key"].flatMap(openedFile)))
            }
        }
        return t
    }

    /// `open("client.pem")` (also `open("client.pem", "r")`): the file named, when it is written out.
    func openedFile(_ r: Range<Int>) -> String? {
        let r = stripParens(r)
        guard r.count >= 4, tokens[r.lowerBound].isIdent("open"), tok(r.lowerBound + 1)?.isPunct("(") == true else { return nil }
        let args = arguments(r.lowerBound + 1)
        return args.first.flatMap(resolvedText)
    }
}
