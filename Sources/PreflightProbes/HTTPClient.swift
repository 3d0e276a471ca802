import CCurl
import Foundation
import PreflightCore

/// One HTTP request and what came back, or how it failed.
public struct HTTPExchange: Sendable {
    public struct Timings: Sendable, Equatable {
        public var dnsMs = 0.0, connectMs = 0.0, tlsMs = 0.0, firstByteMs = 0.0, totalMs = 0.0
        public init() {}
    }
    public struct Failure: Sendable, Equatable {
        /// libcurl's CURLcode.
        public let code: Int
        /// libcurl's own error text (CURLOPT_ERRORBUFFER), passed on as it is.
        public let message: String
        /// The TCP connection was established before the failure.
        public let connected: Bool
        /// Not a CURLcode: the header block was too large to read (see `message`).
        public static let headersTooLarge = -2
        /// Not a CURLcode: libcurl itself could not be loaded (`NativeLibrary`; `message` says why).
        public static let libraryMissing = -3

        public init(code: Int, message: String, connected: Bool) {
            self.code = code
            self.message = message
            self.connected = connected
        }
    }

    public var status: Int?
    public var headers: [(name: String, value: String)] = []
    public var body = Data()
    public var bodyTruncated = false
    public var timings = Timings()
    public var failure: Failure?
    /// The TLS session as libcurl saw it (https only, when `HTTPRequestOptions.tlsEvidence` asked for it).
    public var tls: TLSSession?
    /// "1.0", "1.1", "2": the HTTP version of the last response.
    public var httpVersion: String?
    /// Redirects followed (`HTTPRequestOptions.maxRedirects`) and the URL the request ended at.
    public var redirects = 0
    public var finalURL: String?
    /// `HTTPRequestOptions.checkReuse`: whether a second request on the same handle reused the connection
    /// (false: the server closed it after the response); nil when not asked or the second request failed.
    public var connectionReused: Bool?
    /// libcurl closed the connection after the response ("Closing connection" in its own log).
    public var closedAfterResponse = false
    /// Requests this exchange sent (2 with `checkReuse`), not counting redirects followed.
    public var requestsSent = 1

    public init() {}

    public func header(_ name: String) -> String? {
        headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// The TLS session of one request: the peer's certificate chain (libcurl's certinfo, leaf first, each
/// certificate's fields as OpenSSL prints them) and the handshake's protocol, cipher and ALPN.
public struct TLSSession: Sendable, Equatable {
    public var certificates: [[Field]] = []
    /// "TLSv1.3", "TLSv1.2"
    public var `protocol`: String?
    public var cipher: String?
    /// "h2", "http/1.1"; nil when the server agreed on none.
    public var alpn: String?
    /// The server asked for a client certificate (a CertificateRequest in the handshake).
    public var clientCertificateRequested = false
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }
    public init() {}
}

/// How to make a request, beyond the method and URL: TLS as the load generator will do it, redirects, keep-alive.
public struct HTTPRequestOptions: Sendable, Equatable {
    public enum TLSVersion: String, Sendable, CaseIterable { case tls1_0 = "1.0", tls1_1 = "1.1", tls1_2 = "1.2", tls1_3 = "1.3" }
    /// false: accept any certificate (k6's insecureSkipTLSVerify).
    public var verifyPeer = true
    /// The CA bundle to trust instead of the system's (a file), and a folder of hashed CA files.
    public var caFile: String?
    public var caPath: String?
    public var tlsMin: TLSVersion?
    public var tlsMax: TLSVersion?
    /// OpenSSL cipher list for TLS ≤ 1.2 (TLS 1.3 suites stay the library's, as Go's are).
    public var cipherList: String?
    /// A client certificate and its key (PEM files).
    public var clientCertificate: String?
    public var clientKey: String?
    /// Collect the certificate chain, protocol, cipher and ALPN into `HTTPExchange.tls`.
    public var tlsEvidence = false
    /// Follow up to this many redirects (0: none).
    public var maxRedirects = 0
    /// Send the request a second time on the same handle, to see whether the connection was kept.
    public var checkReuse = false
    /// HTTP/2 only, as gRPC speaks it: prior knowledge on http:// (no upgrade), ALPN "h2" on https://. The
    /// response's trailers (grpc-status, grpc-message) come with its headers.
    public var http2 = false
    /// libcurl's CONNECT_TO ("name:port:address:port"): the URL's host is the TLS server name (SNI, certificate
    /// check), the connection goes to the address; the name is never resolved.
    public var connectTo: [String] = []
    public init() {}
}

/// The seam for HTTP: the live client is libcurl.
public protocol HTTPClient: Sendable {
    func send(_ method: String, url: String, headers: [String: String], body: Data?,
              timeout: Duration, bodyCap: Int) async -> HTTPExchange
    /// The same, with TLS, redirect and keep-alive options; a client that knows none of them ignores them.
    func send(_ method: String, url: String, headers: [String: String], body: Data?,
              timeout: Duration, bodyCap: Int, options: HTTPRequestOptions) async -> HTTPExchange
}

extension HTTPClient {
    public func send(_ method: String, url: String, headers: [String: String], body: Data?,
                     timeout: Duration, bodyCap: Int, options: HTTPRequestOptions) async -> HTTPExchange {
        await send(method, url: url, headers: headers, body: body, timeout: timeout, bodyCap: bodyCap)
    }
    public func get(_ url: String, timeout: Duration, bodyCap: Int = 1 << 20) async -> HTTPExchange {
        await send("GET", url: url, headers: [:], body: nil, timeout: timeout, bodyCap: bodyCap)
    }
}

/// libcurl easy interface, one handle per request, on a thread of its own.
public struct CurlHTTPClient: HTTPClient {
    public init() {}

    /// curl_global_init, once per process and only when a request is made (it loads OpenSSL):
    /// Swift runs a static's initialiser exactly once, and libcurl ≥ 7.84 makes it thread-safe.
    /// Callers have loaded libcurl first (`NativeLibrary.libcurl.loadError == nil`).
    private static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    static func globalInit() { _ = initialised }

    public func send(_ method: String, url: String, headers: [String: String], body: Data?,
                     timeout: Duration, bodyCap: Int) async -> HTTPExchange {
        await send(method, url: url, headers: headers, body: body, timeout: timeout, bodyCap: bodyCap, options: HTTPRequestOptions())
    }

    public func send(_ method: String, url: String, headers: [String: String], body: Data?,
                     timeout: Duration, bodyCap: Int, options: HTTPRequestOptions) async -> HTTPExchange {
        await Blocking.run {
            Self.perform(method, url: url, headers: headers, body: body,
                         timeoutMs: Int(max(1, timeout.milliseconds)), bodyCap: bodyCap, options: options)
        }
    }

    /// Collects the response; the write callback stops the transfer past `cap` bytes.
    final class Sink {
        var body = Data()
        var headerLines: [String] = []
        var truncated = false
        /// The header block went past 500 lines or 256 KiB and reading stopped.
        var headersCut = false
        var headerBytes = 0
        /// libcurl's informational lines that carry TLS and connection facts (bounded).
        var logLines: [String] = []
        let cap: Int
        init(cap: Int) { self.cap = cap }
    }

    static func perform(_ method: String, url: String, headers: [String: String], body: Data?,
                        timeoutMs: Int, bodyCap: Int, options: HTTPRequestOptions = HTTPRequestOptions()) -> HTTPExchange {
        var exchange = HTTPExchange()
        if let missing = NativeLibrary.libcurl.loadError {
            exchange.failure = .init(code: HTTPExchange.Failure.libraryMissing, message: missing, connected: false)
            exchange.requestsSent = 0
            return exchange
        }
        globalInit()
        guard let h = curl_easy_init() else {
            exchange.failure = .init(code: -1, message: "libcurl could not create a handle", connected: false)
            return exchange
        }
        defer { curl_easy_cleanup(h) }
        let sink = Sink(cap: bodyCap)
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var list: UnsafeMutablePointer<curl_slist>?
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { list = curl_slist_append(list, "\(k): \(v)") }
        defer { curl_slist_free_all(list) }
        var connectToList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(connectToList) }

        let write: preflight_curl_write_cb = { ptr, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            guard let ptr else { return n }
            let room = sink.cap - sink.body.count
            if n > room {
                sink.body.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: max(0, room))
                sink.truncated = true
                return 0  // stop: the cap is reached
            }
            sink.body.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: n)
            return n
        }
        let debug: preflight_curl_debug_cb = { _, type, ptr, n, user in
            guard type == CURLINFO_TEXT, let ptr, let user else { return 0 }
            let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
            guard sink.logLines.count < 200, n < 4096 else { return 0 }
            let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasPrefix("SSL connection using") || line.hasPrefix("ALPN") || line.contains("onnection") || line.contains("Request CERT") { sink.logLines.append(line) }
            return 0
        }
        let header: preflight_curl_write_cb = { ptr, size, count, user in
            let sink = Unmanaged<Sink>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            // A header block of megabytes is hostile: stop reading it.
            sink.headerBytes += n
            if sink.headerLines.count > 500 || sink.headerBytes > 256 << 10 { sink.headersCut = true; return 0 }
            if let ptr, let line = String(bytes: UnsafeRawBufferPointer(start: ptr, count: n), encoding: .isoLatin1) {
                sink.headerLines.append(line.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return n
        }
        errorBuffer.withUnsafeMutableBufferPointer { eb in
            preflight_easy_setopt_string(h, CURLOPT_URL, url)
            preflight_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            preflight_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, timeoutMs)
            preflight_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, timeoutMs)
            preflight_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, options.maxRedirects > 0 ? 1 : 0)
            if options.maxRedirects > 0 { preflight_easy_setopt_long(h, CURLOPT_MAXREDIRS, options.maxRedirects) }
            applyTLS(h, options, debug: debug, sink: box.toOpaque())
            // No CURLOPT_MAXFILESIZE: it fails a 200 whose Content-Length is large (curl 63) instead of
            // cutting it; the write callback below stops at the cap whatever the length says.
            preflight_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, eb.baseAddress)
            preflight_easy_setopt_write_cb(h, CURLOPT_WRITEFUNCTION, write)
            preflight_easy_setopt_pointer(h, CURLOPT_WRITEDATA, box.toOpaque())
            preflight_easy_setopt_write_cb(h, CURLOPT_HEADERFUNCTION, header)
            preflight_easy_setopt_pointer(h, CURLOPT_HEADERDATA, box.toOpaque())
            preflight_easy_setopt_string(h, CURLOPT_USERAGENT, "preflight")
            preflight_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list)
            if !options.connectTo.isEmpty {
                var to: UnsafeMutablePointer<curl_slist>?
                for c in options.connectTo { to = curl_slist_append(to, c) }
                preflight_easy_setopt_slist(h, CURLOPT_CONNECT_TO, to)
                connectToList = to
            }
            if options.http2 {
                let tls = url.lowercased().hasPrefix("https://")
                preflight_easy_setopt_long(h, CURLOPT_HTTP_VERSION, Int(tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE))
            }
            if method == "GET" {
                preflight_easy_setopt_long(h, CURLOPT_HTTPGET, 1)
            } else if method == "HEAD" {
                preflight_easy_setopt_long(h, CURLOPT_NOBODY, 1)
            } else {
                preflight_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)
            }
            if let body {
                preflight_easy_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                body.withUnsafeBytes { raw in
                    _ = preflight_easy_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
                }
            }
            let rc = curl_easy_perform(h)
            var code = 0
            preflight_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &code)
            exchange.timings = timings(h)
            if options.tlsEvidence, url.lowercased().hasPrefix("https://") { exchange.tls = tlsSession(h, log: sink.logLines) }
            var version = 0
            preflight_easy_getinfo_long(h, CURLINFO_HTTP_VERSION, &version)
            exchange.httpVersion = [1: "1.0", 2: "1.1", 3: "2", 30: "3"][version]
            var redirects = 0
            preflight_easy_getinfo_long(h, CURLINFO_REDIRECT_COUNT, &redirects)
            exchange.redirects = redirects
            var effective: UnsafeMutablePointer<CChar>?
            preflight_easy_getinfo_string(h, CURLINFO_EFFECTIVE_URL, &effective)
            exchange.finalURL = effective.map { String(cString: $0) }
            exchange.closedAfterResponse = sink.logLines.contains { $0.hasPrefix("Closing connection") }
            if rc == CURLE_OK && options.checkReuse && !exchange.closedAfterResponse {
                // The same request again on the same handle: a kept connection is reused (no new connect).
                let keptBody = sink.body, keptHeaders = sink.headerLines, keptTruncated = sink.truncated
                sink.body = Data(); sink.headerLines = []
                exchange.requestsSent = 2
                if curl_easy_perform(h) == CURLE_OK {
                    var connects = 0
                    preflight_easy_getinfo_long(h, CURLINFO_NUM_CONNECTS, &connects)
                    exchange.connectionReused = connects == 0
                }
                sink.body = keptBody; sink.headerLines = keptHeaders; sink.truncated = keptTruncated
            }
            if rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && sink.truncated) {
                var text = String(cString: eb.baseAddress!)
                if text.isEmpty { text = String(cString: curl_easy_strerror(rc)) }
                var connectUs: curl_off_t = 0
                preflight_easy_getinfo_off_t(h, CURLINFO_CONNECT_TIME_T, &connectUs)
                // libcurl words an oversized header block as "Out of memory" (one huge line, 27), "Failed writing
                // header" (our callback stopped, 23) or "Too large response headers" (100 in newer versions).
                if sink.headersCut || ((rc == CURLE_OUT_OF_MEMORY || rc.rawValue == 100) && sink.headerLines.last != "") {
                    text = "header block over 500 lines or 256 KiB (libcurl: \(text))"
                    exchange.failure = .init(code: HTTPExchange.Failure.headersTooLarge, message: text, connected: true)
                } else {
                    exchange.failure = .init(code: Int(rc.rawValue), message: text, connected: connectUs > 0)
                }
            }
            if code > 0 { exchange.status = code }
        }
        exchange.body = sink.body
        exchange.bodyTruncated = sink.truncated
        exchange.headers = headerPairs(sink.headerLines)
        return exchange
    }

    static func applyTLS(_ h: UnsafeMutableRawPointer, _ o: HTTPRequestOptions, debug: preflight_curl_debug_cb, sink: UnsafeMutableRawPointer) {
        applyTLSOptions(h, o)
        if o.tlsEvidence { preflight_easy_setopt_long(h, CURLOPT_CERTINFO, 1) }
        // libcurl's own log lines carry the protocol, cipher, ALPN and whether it closed the connection.
        preflight_easy_setopt_debug_cb(h, CURLOPT_DEBUGFUNCTION, debug)
        preflight_easy_setopt_pointer(h, CURLOPT_DEBUGDATA, sink)
        preflight_easy_setopt_long(h, CURLOPT_VERBOSE, 1)
    }

    /// Trust, verification, TLS versions, ciphers and the client certificate: shared by the client and the burst.
    static func applyTLSOptions(_ h: UnsafeMutableRawPointer, _ o: HTTPRequestOptions) {
        if !o.verifyPeer {
            preflight_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
            preflight_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let ca = o.caFile { preflight_easy_setopt_string(h, CURLOPT_CAINFO, ca) }
        if let dir = o.caPath { preflight_easy_setopt_string(h, CURLOPT_CAPATH, dir) }
        func number(_ v: HTTPRequestOptions.TLSVersion) -> Int {
            switch v {
            case .tls1_0: return Int(CURL_SSLVERSION_TLSv1_0)
            case .tls1_1: return Int(CURL_SSLVERSION_TLSv1_1)
            case .tls1_2: return Int(CURL_SSLVERSION_TLSv1_2)
            case .tls1_3: return Int(CURL_SSLVERSION_TLSv1_3)
            }
        }
        if o.tlsMin != nil || o.tlsMax != nil {
            // CURL_SSLVERSION_MAX_x is x << 16.
            let value = number(o.tlsMin ?? .tls1_0) | (o.tlsMax.map { number($0) << 16 } ?? 0)
            preflight_easy_setopt_long(h, CURLOPT_SSLVERSION, value)
        }
        if let c = o.cipherList { preflight_easy_setopt_string(h, CURLOPT_SSL_CIPHER_LIST, c) }
        if let c = o.clientCertificate { preflight_easy_setopt_string(h, CURLOPT_SSLCERT, c) }
        if let k = o.clientKey { preflight_easy_setopt_string(h, CURLOPT_SSLKEY, k) }
    }

    static func tlsSession(_ h: UnsafeMutableRawPointer, log: [String]) -> TLSSession {
        var s = TLSSession()
        var info: UnsafeMutablePointer<curl_certinfo>?
        if preflight_easy_getinfo_certinfo(h, &info) == CURLE_OK, let info {
            for i in 0..<min(10, Int(preflight_certinfo_count(info))) {
                var fields: [TLSSession.Field] = []
                var item = preflight_certinfo_at(info, Int32(i))
                while let node = item {
                    if let d = node.pointee.data {
                        let line = String(cString: d)
                        if let colon = line.firstIndex(of: ":"), !line.hasPrefix("Cert:") {
                            fields.append(.init(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
                        }
                    }
                    item = node.pointee.next
                }
                s.certificates.append(fields)
            }
        }
        // "SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384", "ALPN: server accepted h2" (libcurl 7.88 wording).
        if let line = log.first(where: { $0.hasPrefix("SSL connection using") }) {
            let parts = line.dropFirst("SSL connection using".count).split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            s.protocol = parts.first
            if parts.count > 1 { s.cipher = parts[1] }
        }
        s.clientCertificateRequested = log.contains { $0.contains("Request CERT") }
        if let line = log.first(where: { $0.hasPrefix("ALPN") && $0.contains("accepted") }),
           let r = line.range(of: "accepted") {
            let v = line[r.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: " :"))
            if !v.isEmpty { s.alpn = v }
        }
        return s
    }

    /// Header pairs of the final response only (after any 100 Continue).
    static func headerPairs(_ lines: [String]) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        for line in lines {
            if line.hasPrefix("HTTP/") { pairs.removeAll(); continue }
            if let field = HTTPHeaderField.split(line) { pairs.append(field) }
        }
        return pairs
    }

    static func timings(_ h: UnsafeMutableRawPointer) -> HTTPExchange.Timings {
        func us(_ info: CURLINFO) -> Double {
            var v: curl_off_t = 0
            preflight_easy_getinfo_off_t(h, info, &v)
            return Double(v) / 1000
        }
        var t = HTTPExchange.Timings()
        t.dnsMs = us(CURLINFO_NAMELOOKUP_TIME_T)
        t.connectMs = us(CURLINFO_CONNECT_TIME_T)
        let app = us(CURLINFO_APPCONNECT_TIME_T)
        t.tlsMs = app > 0 ? app - t.connectMs : 0
        t.firstByteMs = us(CURLINFO_STARTTRANSFER_TIME_T)
        t.totalMs = us(CURLINFO_TOTAL_TIME_T)
        return t
    }
}
