import Foundation
import PreflightCore
import Testing
@testable import PreflightExplain

/// Every code of k6's error table (lib/netext/httpext/error_codes.go and the "Error codes" docs page), as one
/// recorded `--out json` line of the shape k6 1.1.0 writes, must come out of explain named by its failure kind,
/// never as only "thresholds".
@Suite struct ErrorCodeTests {
    struct Case: Sendable, CustomStringConvertible {
        var code: Int
        var status = 0
        var error: String?
        /// The kind explain must name, written out here (not derived from FailureKind's own table).
        var kind: String
        var description: String { "\(code) \(error ?? "status \(status)") -> \(kind)" }
    }

    static let networkCases: [Case] = [
        Case(code: 1000, error: "something k6 has no code for", kind: "generic"),
        Case(code: 1010, error: "read udp 127.0.0.1:40000->127.0.0.1:9: i/o timeout", kind: "non-tcp-network"),
        Case(code: 1020, error: "invalid URL", kind: "invalid-url"),
        Case(code: 1050, error: "request timeout", kind: "request-timeout"),
        Case(code: 1100, error: "lookup api.example.invalid on 127.0.0.53:53: server misbehaving", kind: "dns"),
        Case(code: 1101, error: "lookup: no such host", kind: "no-such-host"),
        Case(code: 1110, error: "ip is blacklisted", kind: "blacklisted-ip"),
        Case(code: 1111, error: "hostname is blocked", kind: "blocked-hostname"),
        Case(code: 1200, error: "read tcp 127.0.0.1:40000->127.0.0.1:9: use of closed network connection", kind: "tcp"),
        Case(code: 1201, error: "write: broken pipe", kind: "broken-pipe"),
        Case(code: 1202, error: "read: unknown errno `113` on linux with message `no route to host`", kind: "tcp-errno"),
        Case(code: 1210, error: "dial tcp 127.0.0.1:9: operation was canceled", kind: "dial"),
        Case(code: 1211, error: "dial: i/o timeout", kind: "dial-timeout"),
        Case(code: 1212, error: "dial: connection refused", kind: "connection-refused"),
        Case(code: 1213, error: "dial: unknown errno 113 error with msg `no route to host`", kind: "dial-errno"),
        Case(code: 1220, error: "read: connection reset by peer", kind: "connection-reset"),
        Case(code: 1300, error: "tls: handshake failure", kind: "tls"),
        Case(code: 1301, error: "tls: first record does not look like a TLS handshake", kind: "tls-record-header"),
        Case(code: 1310, error: "x509: unknown authority", kind: "unknown-authority"),
        Case(code: 1311, error: "x509: certificate doesn't match hostname", kind: "hostname-mismatch"),
        Case(code: 1600, error: "http2: server sent GOAWAY and closed the connection", kind: "http2"),
        Case(code: 1701, error: "error decompressing response body (gzip): unexpected EOF", kind: "decompression"),
        // Told apart by k6's text (the first two measured: 1213 for both; the last three: 1000).
        Case(code: 1213, error: "dial: unknown errno 24 error with msg `too many open files`", kind: "file-descriptor-limit"),
        Case(code: 1213, error: "dial: unknown errno 99 error with msg `cannot assign requested address`", kind: "ephemeral-ports"),
        Case(code: 1000, error: "unsupported protocol scheme \"\"", kind: "unsupported-scheme"),
        Case(code: 1000, error: "malformed HTTP status code \"OK-ish\"", kind: "not-http"),
        Case(code: 1000, error: "tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-12-07T03:00:00Z is after 2026-01-01T00:00:00Z", kind: "certificate-invalid"),
    ]

    /// HTTP/2: 1611 + the HTTP/2 error code (0 NO_ERROR ... 13 HTTP_1_1_REQUIRED) for GoAway, 1631 + for a
    /// stream, 1651 + for a connection error; 1610, 1630 and 1650 when the code is past 13.
    static let http2Cases: [Case] = {
        let names = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED",
                     "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
                     "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
        var out: [Case] = []
        for (base, text, kind) in [(1610, "http2: received GoAway with http2 ErrCode", "http2-goaway"),
                                   (1630, "http2: stream error with http2 ErrCode", "http2-stream"),
                                   (1650, "http2: connection error with http2 ErrCode", "http2-connection")] {
            out.append(Case(code: base, error: "\(text) unknown error code 0x20", kind: kind))
            for (i, n) in names.enumerated() { out.append(Case(code: base + 1 + i, error: "\(text) \(n)", kind: kind)) }
        }
        return out
    }()

    /// 1400-1599: 1000 + the status, no `error` tag (as k6 writes a 4xx or 5xx response).
    static let statusCases: [Case] = (400...599).map { s in
        let kind = s == 429 ? "rate-limited" : (s == 401 || s == 403) ? "auth-rejected" : s < 500 ? "client-error" : "server-error"
        return Case(code: 1000 + s, status: s, error: nil, kind: kind)
    }

    static func line(_ c: Case, second: Int) -> String {
        var tags = ""
        if let e = c.error { tags += #""error":"# + JSONValue.quoted(e) + "," }
        tags += #""error_code":"\#(c.code)","expected_response":"false","group":"","method":"POST","name":"send","proto":"HTTP/1.1","scenario":"default","status":"\#(c.status)","url":"http://127.0.0.1:9/api/send""#
        return #"{"metric":"http_reqs","type":"Point","data":{"time":"2026-12-07T03:07:"# + String(format: "%02d", second) + #".5Z","value":1,"tags":{"# + tags + "}}}"
    }

    /// A run of one failed and one passed request, with the `http_req_failed` threshold k6 declares for it.
    static func explain(_ c: Case) throws -> Explanation {
        let lines = [
            #"{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}"#,
            #"{"type":"Metric","data":{"name":"http_req_failed","type":"rate","contains":"default","thresholds":["rate<0.01"],"submetrics":null},"metric":"http_req_failed"}"#,
            line(c, second: 1),
            #"{"metric":"http_req_failed","type":"Point","data":{"time":"2026-12-07T03:07:01.5Z","value":1,"tags":{"name":"send","status":"\#(c.status)"}}}"#,
            #"{"metric":"http_reqs","type":"Point","data":{"time":"2026-12-07T03:07:02.5Z","value":1,"tags":{"expected_response":"true","method":"POST","name":"send","status":"200","url":"http://127.0.0.1:9/api/send"}}}"#,
            #"{"metric":"http_req_failed","type":"Point","data":{"time":"2026-12-07T03:07:02.5Z","value":0,"tags":{"name":"send","status":"200"}}}"#,
        ]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("code-\(c.code)-\(UUID()).json")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try Explainer.explain(path: url.path)
    }

    func check(_ c: Case) throws {
        let e = try Self.explain(c)
        #expect(e.verdict == .fail)
        let named = try #require(e.diagnosis.first { $0.evidence["error_code_\(c.code)"] != nil }, "\(c)")
        #expect(named.evidence["kind"] == .string(c.kind), "\(c)")
        #expect(named.signature != .thresholds && named.share == 1, "\(c)")
        #expect(named.summary.hasPrefix("1 of 2 requests (50%)"), "\(named.summary)")
        // The crossed threshold is the symptom, not the explanation.
        #expect(e.first(.thresholds)?.fix == "thresholds are the symptom: fix the signatures above first")
        #expect(FailureKind.kind(id: c.kind) != nil)
    }

    @Test(arguments: networkCases) func networkAndContentCodes(_ c: Case) throws { try check(c) }
    @Test(arguments: http2Cases) func http2Codes(_ c: Case) throws { try check(c) }
    @Test(arguments: statusCases) func statusCodes(_ c: Case) throws { try check(c) }

    /// The four kinds explain named only as "thresholds" before, each from a real k6 1.1.0 run on loopback:
    /// `ulimit -n 48` and 60 VUs against a server that answers in 0.5 s (fds), a private network namespace whose
    /// local port range is 4 ports wide with 20 VUs (ephemeral), `${__ENV.BASE_URL || ''}/api/send` with BASE_URL
    /// unset (noscheme), and a raw TCP server answering `HTTP/1.1 OK-ish garbage` (badstatus).
    @Test(arguments: [
        ("fds.out.json.gz", Signature.generatorLimit, "file-descriptor-limit", 80, 120),
        ("ephemeral.out.json", Signature.generatorLimit, "ephemeral-ports", 37, 40),
        ("noscheme.out.json", Signature.invalidURL, "unsupported-scheme", 3, 3),
        ("badstatus.out.json", Signature.notHTTP, "not-http", 3, 3),
    ])
    func recordedGaps(file: String, signature: Signature, kind: String, failed: Int, requests: Int) throws {
        let e = try Fixture.explain(file)
        #expect(e.verdict == .fail)
        #expect(e.signatures.first == signature, "\(e.signatures)")
        let d = try #require(e.first(signature))
        #expect(d.evidence["kind"] == .string(kind))
        #expect(d.summary.hasPrefix("\(failed) of \(requests) requests"), "\(d.summary)")
        #expect(!d.fix.contains("slower"))
        #expect(e.first(.thresholds)?.fix == "thresholds are the symptom: fix the signatures above first")
    }

    /// One code, two causes interleaved (as concurrent VUs write them): each request counts for its own text's kind.
    @Test func interleavedTextsOfOneCode() throws {
        let fds = Case(code: 1213, error: "dial: unknown errno 24 error with msg `too many open files`", kind: "file-descriptor-limit")
        let ports = Case(code: 1213, error: "dial: unknown errno 99 error with msg `cannot assign requested address`", kind: "ephemeral-ports")
        let other = Case(code: 1213, error: "dial: unknown errno 113 error with msg `no route to host`", kind: "dial-errno")
        let order = [fds, fds, ports, fds, ports, other, fds]
        let lines = order.enumerated().map { Self.line($0.element, second: $0.offset) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mixed-\(UUID()).json")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let e = try Explainer.explain(path: url.path)
        let g = try #require(e.first(.generatorLimit))
        #expect(g.evidence["kind"] == .string("file-descriptor-limit, ephemeral-ports"))
        #expect(g.evidence["error_code_1213"] == .int(6))
        #expect(g.summary.hasPrefix("6 of 7 requests"))
        #expect(g.fix.contains("ulimit -n"))
        let n = try #require(e.first(.networkErrors))
        #expect(n.evidence["kind"] == .string("dial-errno") && n.evidence["error_code_1213"] == .int(1))
    }

    @Test func generatorLimitSaysWhereToLook() throws {
        let fds = try #require(try Fixture.explain("fds.out.json.gz").first(.generatorLimit))
        #expect(fds.summary.contains("failed on the load generator (k6 error 1213)") && fds.summary.contains("not the server"))
        #expect(fds.fix.contains("ulimit -n"))
        let ports = try #require(try Fixture.explain("ephemeral.out.json").first(.generatorLimit))
        #expect(ports.fix.contains("ip_local_port_range"))
    }
}
