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
    }

    public var status: Int?
    public var headers: [(name: String, value: String)] = []
    public var body = Data()
    public var bodyTruncated = false
    public var timings = Timings()
    public var failure: Failure?

    public func header(_ name: String) -> String? {
        headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// The seam for HTTP: the live client is libcurl.
public protocol HTTPClient: Sendable {
    func send(_ method: String, url: String, headers: [String: String], body: Data?,
              timeout: Duration, bodyCap: Int) async -> HTTPExchange
}

extension HTTPClient {
    public func get(_ url: String, timeout: Duration, bodyCap: Int = 1 << 20) async -> HTTPExchange {
        await send("GET", url: url, headers: [:], body: nil, timeout: timeout, bodyCap: bodyCap)
    }
}

/// libcurl easy interface, one handle per request, on a thread of its own.
public struct CurlHTTPClient: HTTPClient {
    public init() {}

    /// curl_global_init, once per process and only when a request is made (it loads OpenSSL):
    /// Swift runs a static's initialiser exactly once, and libcurl ≥ 7.84 makes it thread-safe.
    private static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    public static func globalInit() { _ = initialised }

    public func send(_ method: String, url: String, headers: [String: String], body: Data?,
                     timeout: Duration, bodyCap: Int) async -> HTTPExchange {
        await Blocking.run {
            Self.perform(method, url: url, headers: headers, body: body,
                         timeoutMs: Int(max(1, timeout.milliseconds)), bodyCap: bodyCap)
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
        let cap: Int
        init(cap: Int) { self.cap = cap }
    }

    static func perform(_ method: String, url: String, headers: [String: String], body: Data?,
                        timeoutMs: Int, bodyCap: Int) -> HTTPExchange {
        var exchange = HTTPExchange()
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
            preflight_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
            // No CURLOPT_MAXFILESIZE: it fails a 200 whose Content-Length is large (curl 63) instead of
            // cutting it; the write callback below stops at the cap whatever the length says.
            preflight_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, eb.baseAddress)
            preflight_easy_setopt_write_cb(h, CURLOPT_WRITEFUNCTION, write)
            preflight_easy_setopt_pointer(h, CURLOPT_WRITEDATA, box.toOpaque())
            preflight_easy_setopt_write_cb(h, CURLOPT_HEADERFUNCTION, header)
            preflight_easy_setopt_pointer(h, CURLOPT_HEADERDATA, box.toOpaque())
            preflight_easy_setopt_string(h, CURLOPT_USERAGENT, "preflight")
            preflight_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list)
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

    /// Header pairs of the final response only (after any 100 Continue).
    static func headerPairs(_ lines: [String]) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        for line in lines {
            if line.hasPrefix("HTTP/") { pairs.removeAll(); continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            pairs.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                          String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
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
