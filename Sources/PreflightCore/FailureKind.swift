import Foundation

/// How a request of a k6 run fails, in k6's own terms: the one vocabulary that predictions (a finding's
/// `effect.k6`) and `explain` (what a run's `error_code` and `error` tags say) share.
///
/// It covers every code of k6's error table (lib/netext/httpext/error_codes.go, and the "Error codes" page
/// of k6's JavaScript API docs): 1000-1099 general, 1100-1199 DNS, 1200-1299 TCP, 1300-1399 TLS, 1400-1599 the
/// HTTP status plus 1000, 1600-1699 HTTP/2 and 1700-1799 content. Some kinds are told apart by the text k6 puts in
/// the `error` tag, not by the code: k6 reports a generator out of file descriptors or local ports as 1213
/// (`dial: unknown errno 24 error with msg \`too many open files\``), an unset base URL and a port that does not
/// speak HTTP as 1000 (measured with k6 1.1.0 on loopback).
public struct FailureKind: Sendable, Hashable, CustomStringConvertible {
    /// Stable, kebab-case: what JSON and tests name it by.
    public let id: String
    /// k6's error codes for it (`error_code` tag); a status kind holds 1000 + its statuses.
    public let codes: [ClosedRange<Int>]
    /// The constant's name in k6's error_codes.go, when k6 has one.
    public let k6Name: String?
    /// One line for users: what happened and, where it is not obvious, where to look.
    public let meaning: String
    /// Substrings of k6's `error` tag that name this kind whatever the code (the most specific first).
    public let signatures: [String]
    /// The text k6 writes in the `error` tag, when it is fixed.
    public let k6Text: String?

    init(_ id: String, _ codes: [ClosedRange<Int>], k6Name: String? = nil, text: String? = nil,
         signatures: [String] = [], _ meaning: String) {
        self.id = id
        self.codes = codes
        self.k6Name = k6Name
        self.meaning = meaning
        self.signatures = signatures
        self.k6Text = text
    }

    public var description: String { id }

    /// The code k6 reports it with (the first of its codes).
    public var code: Int { codes[0].lowerBound }

    /// How k6 shows it, for an effect's `k6` field: "1212 dial: connection refused", "429", "1000 malformed HTTP …".
    public var k6: String {
        if let status = httpStatus { return String(status) }
        return k6Text.map { "\(code) \($0)" } ?? String(code)
    }

    /// The HTTP status of a status kind (its first code minus 1000), nil for an error before any response.
    public var httpStatus: Int? { (1400...1599).contains(code) ? code - 1000 : nil }

    public static func == (a: FailureKind, b: FailureKind) -> Bool { a.id == b.id }
    public func hash(into h: inout Hasher) { h.combine(id) }
}

extension FailureKind {
    // MARK: general (1000-1099)
    public static let generic = FailureKind("generic", [1000...1000], k6Name: "defaultErrorCode",
        "an error k6 has no code for: its text says what happened")
    public static let nonTCPNetwork = FailureKind("non-tcp-network", [1010...1010], k6Name: "defaultNetNonTCPErrorCode",
        "a network error outside TCP (k6 knows nothing that triggers it)")
    public static let invalidURL = FailureKind("invalid-url", [1020...1020], k6Name: "invalidURLErrorCode", text: "invalid URL",
        signatures: ["invalid URL"], "the request's URL is not a valid URL")
    public static let requestTimeout = FailureKind("request-timeout", [1050...1050], k6Name: "requestTimeoutErrorCode",
        text: "request timeout", signatures: ["request timeout"],
        "no response within the request's timeout (60 s unless the script sets `timeout`)")

    // MARK: DNS (1100-1199)
    public static let dns = FailureKind("dns", [1100...1100], k6Name: "defaultDNSErrorCode", signatures: ["lookup "],
        "the host name could not be resolved (a DNS failure other than no such host)")
    public static let noSuchHost = FailureKind("no-such-host", [1101...1101], k6Name: "dnsNoSuchHostErrorCode",
        text: "lookup: no such host", signatures: ["no such host"], "the host name does not exist in DNS")
    public static let blacklistedIP = FailureKind("blacklisted-ip", [1110...1110], k6Name: "blackListedIPErrorCode",
        text: "ip is blacklisted", signatures: ["ip is blacklisted"], "the host resolved to an address the script's `blacklistIPs` option blocks")
    public static let blockedHostname = FailureKind("blocked-hostname", [1111...1111], k6Name: "blockedHostnameErrorCode",
        text: "hostname is blocked", signatures: ["hostname is blocked"], "the host is in the script's `blockHostnames` option")

    // MARK: TCP (1200-1299)
    public static let tcp = FailureKind("tcp", [1200...1200], k6Name: "defaultTCPErrorCode",
        "a TCP error on an open connection that k6 does not name")
    public static let brokenPipe = FailureKind("broken-pipe", [1201...1201], k6Name: "tcpBrokenPipeErrorCode",
        signatures: ["broken pipe"], "k6 wrote to a connection the server had already closed (broken pipe)")
    public static let tcpErrno = FailureKind("tcp-errno", [1202...1202], k6Name: "netUnknownErrnoErrorCode",
        "an operating-system error on an open connection (the text has the errno)")
    public static let dial = FailureKind("dial", [1210...1210], k6Name: "tcpDialErrorCode",
        "connecting failed for a reason k6 does not name")
    public static let dialTimeout = FailureKind("dial-timeout", [1211...1211], k6Name: "tcpDialTimeoutErrorCode",
        text: "dial: i/o timeout", signatures: ["dial: i/o timeout"],
        "connecting timed out: nothing answered the TCP handshake (a firewall, a wrong address or a full accept queue)")
    public static let connectionRefused = FailureKind("connection-refused", [1212...1212], k6Name: "tcpDialRefusedErrorCode",
        text: "dial: connection refused", signatures: ["connection refused"],
        "connecting was refused: nothing listens on that address and port")
    public static let dialErrno = FailureKind("dial-errno", [1213...1213], k6Name: "tcpDialUnknownErrnoCode",
        signatures: ["dial: unknown errno"], "connecting failed with an operating-system error (the text has the errno)")
    public static let connectionReset = FailureKind("connection-reset", [1220...1220], k6Name: "tcpResetByPeerErrorCode",
        signatures: ["connection reset by peer"],
        "the server reset the connection (it crashed, restarted or hit a connection limit)")

    // MARK: TLS (1300-1399)
    public static let tls = FailureKind("tls", [1300...1300], k6Name: "defaultTLSErrorCode",
        "the TLS handshake failed")
    public static let tlsRecordHeader = FailureKind("tls-record-header", [1301...1301], k6Name: "tlsHeaderErrorCode",
        signatures: ["first record does not look like a TLS handshake"],
        "the port did not answer TLS: an https:// URL on a plain-HTTP port")
    public static let unknownAuthority = FailureKind("unknown-authority", [1310...1310], k6Name: "x509UnknownAuthorityErrorCode",
        text: "x509: unknown authority", signatures: ["unknown authority"],
        "k6 does not trust the certificate's issuer (self-signed or a private CA)")
    public static let hostnameMismatch = FailureKind("hostname-mismatch", [1311...1311], k6Name: "x509HostnameErrorCode",
        text: "x509: certificate doesn't match hostname", signatures: ["doesn't match hostname", "certificate is valid for"],
        "the certificate is not valid for the host name in the URL")

    // MARK: HTTP statuses (1400-1599: 1000 + the status)
    public static let rateLimited = FailureKind("rate-limited", [1429...1429],
        "the server answered 429 Too Many Requests: a rate limiter rejected the load")
    public static let authRejected = FailureKind("auth-rejected", [1401...1401, 1403...1403],
        "the server answered 401 or 403: the request's credentials were missing, wrong or expired")
    public static let clientError = FailureKind("client-error", [1400...1499],
        "the server answered 4xx: it refused the request itself (path, parameters or payload)")
    public static let serverError = FailureKind("server-error", [1500...1599],
        "the server answered 5xx: it failed while handling the request")

    // MARK: HTTP/2 (1600-1699)
    public static let http2 = FailureKind("http2", [1600...1600],
        "an HTTP/2 error k6 does not name")
    public static let http2GoAway = FailureKind("http2-goaway", [1610...1624], k6Name: "unknownHTTP2GoAwayErrorCode",
        signatures: ["received GoAway"],
        "the server sent HTTP/2 GOAWAY: it is closing the connection (1611 + the HTTP/2 error code)")
    public static let http2Stream = FailureKind("http2-stream", [1630...1644], k6Name: "unknownHTTP2StreamErrorCode",
        signatures: ["http2: stream error"], "the server reset an HTTP/2 stream (1631 + the HTTP/2 error code)")
    public static let http2Connection = FailureKind("http2-connection", [1650...1664], k6Name: "unknownHTTP2ConnectionErrorCode",
        signatures: ["http2: connection error"], "the HTTP/2 connection failed (1651 + the HTTP/2 error code)")

    // MARK: content (1700-1799)
    public static let decompression = FailureKind("decompression", [1701...1701], k6Name: "responseDecompressionErrorCode",
        "the response body could not be decompressed as its Content-Encoding says")

    // MARK: told apart by k6's text, whatever the code (measured with k6 1.1.0)
    public static let fileDescriptorLimit = FailureKind("file-descriptor-limit", [1213...1213],
        text: "dial: unknown errno 24 error with msg `too many open files`", signatures: ["too many open files"],
        "the load generator ran out of file descriptors (`ulimit -n` of k6's machine), not the server")
    public static let ephemeralPorts = FailureKind("ephemeral-ports", [1213...1213],
        text: "dial: unknown errno 99 error with msg `cannot assign requested address`",
        signatures: ["cannot assign requested address"],
        "the load generator ran out of local ports for new connections (ephemeral port range, TIME_WAIT)")
    public static let unsupportedScheme = FailureKind("unsupported-scheme", [1000...1000],
        text: "unsupported protocol scheme \"\"", signatures: ["unsupported protocol scheme"],
        "the URL has no http:// or https:// scheme: \"\" is a base URL from an unset environment variable")
    public static let notHTTP = FailureKind("not-http", [1000...1000],
        text: "malformed HTTP status code", signatures: ["malformed HTTP", "malformed MIME header"],
        "the port answered, but not in HTTP: another protocol (a database, TLS, a raw TCP service) listens there")
    public static let certificateInvalid = FailureKind("certificate-invalid", [1000...1000],
        text: "x509: certificate has expired or is not yet valid", signatures: ["certificate has expired", "not yet valid"],
        "the server's certificate has expired or is not yet valid")

    /// Every kind, in the order of k6's table, then the kinds told apart by text.
    public static let all: [FailureKind] = [
        generic, nonTCPNetwork, invalidURL, requestTimeout,
        dns, noSuchHost, blacklistedIP, blockedHostname,
        tcp, brokenPipe, tcpErrno, dial, dialTimeout, connectionRefused, dialErrno, connectionReset,
        tls, tlsRecordHeader, unknownAuthority, hostnameMismatch,
        rateLimited, authRejected, clientError, serverError,
        http2, http2GoAway, http2Stream, http2Connection,
        decompression,
        fileDescriptorLimit, ephemeralPorts, unsupportedScheme, notHTTP, certificateInvalid,
    ]

    /// Kinds whose text is more specific than any code: looked for first.
    public static let byText: [FailureKind] = [
        fileDescriptorLimit, ephemeralPorts, unsupportedScheme, notHTTP, certificateInvalid,
    ]

    public static func kind(id: String) -> FailureKind? { all.first { $0.id == id } }

    /// The kind of one failed request from its `error_code`, `status` and `error` tags (any may be missing).
    /// The text wins when it names a cause the code lumps together (1213 for a generator's file descriptors);
    /// a code outside the table falls back to its range (a new TLS code is still TLS), an unknown one to generic.
    public static func classify(code: Int?, status: Int? = nil, error: String? = nil) -> FailureKind {
        if let error, !error.isEmpty, let k = byText.first(where: { $0.matches(error) }) { return k }
        let code = code ?? status.flatMap { $0 >= 400 && $0 < 600 ? 1000 + $0 : nil }
        if let code {
            // The narrowest range holding the code: 1429 is rate-limited before it is a client error.
            let holding = all.filter { k in !byText.contains(k) && k.codes.contains { $0.contains(code) } }
            if let k = holding.min(by: { $0.width < $1.width }) { return k }
            switch code {
            case 1100..<1200: return .dns
            case 1200..<1300: return .tcp
            case 1300..<1400: return .tls
            case 1600..<1700: return .http2
            default: break
            }
        }
        if let error, !error.isEmpty, let k = all.first(where: { !byText.contains($0) && $0.matches(error) }) { return k }
        return .generic
    }

    /// The kind an effect's `k6` field names ("1212 dial: connection refused", "429", "500"), or nil.
    public static func classify(k6 text: String) -> FailureKind? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isNumber }
        let rest = String(trimmed.dropFirst(digits.count)).trimmingCharacters(in: .whitespaces)
        guard let n = Int(digits) else { return rest.isEmpty ? nil : classify(code: nil, error: rest) }
        if (100...599).contains(n) { return classify(code: nil, status: n, error: rest) }
        return classify(code: n, error: rest)
    }

    public func matches(_ error: String) -> Bool { signatures.contains { error.contains($0) } }

    private var width: Int { codes.reduce(0) { $0 + $1.count } }
}
