import CCurl
import Foundation
import PreflightCore

/// A burst to send: the same request `count` times over at most `concurrency` kept-alive connections.
public struct BurstPlan: Sendable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: Data?
    public var count: Int
    public var concurrency: Int
    /// The whole burst ends by then; requests still in flight are abandoned.
    public var timeLimit: Duration
    /// Per request.
    public var requestTimeout: Duration
    /// Stop sending once this many responses were `isLimited` (the limiter has answered; more adds nothing).
    public var stopAfterLimited: Int
    /// TLS, trust and redirects as the load generator makes the request (`tlsEvidence` and `checkReuse` are not used).
    public var options = HTTPRequestOptions()
    /// False: a new connection for every request (k6's noConnectionReuse).
    public var reuseConnections = true
    /// The response headers kept (the rest are dropped as they arrive); the caller's rule decides, none by default.
    public var keptHeaders = HeaderNames()

    public init(method: String, url: String, headers: [String: String] = [:], body: Data? = nil, count: Int,
                concurrency: Int, timeLimit: Duration, requestTimeout: Duration, stopAfterLimited: Int = 10) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.count = count
        self.concurrency = concurrency
        self.timeLimit = timeLimit
        self.requestTimeout = requestTimeout
        self.stopAfterLimited = stopAfterLimited
    }
}

/// One answer of a burst.
public struct BurstResponse: Sendable {
    /// 1-based, in the order the requests were started.
    public var number: Int
    /// 1-based, in the order the answers came back: close to the order the server counted them,
    /// which the start order is not (a connection started first may reach the server last).
    public var answered: Int
    public var status: Int?
    /// The headers named by the plan's `keptHeaders` only: enough to judge, small enough for 5,000 answers.
    public var headers: [(name: String, value: String)]
    /// The first bytes of the body (up to 256).
    public var bodySample: Data
    /// libcurl's error text, when the request failed.
    public var failure: String?
    public var failureCode: Int?
    /// From the request's start to its last byte (libcurl's CURLINFO_TOTAL_TIME_T), when measured.
    public var seconds: Double?

    public init(number: Int, answered: Int? = nil, status: Int?, headers: [(name: String, value: String)] = [],
                bodySample: Data = Data(), failure: String? = nil, failureCode: Int? = nil, seconds: Double? = nil) {
        self.seconds = seconds
        self.number = number
        self.answered = answered ?? number
        self.status = status
        self.headers = headers
        self.bodySample = bodySample
        self.failure = failure
        self.failureCode = failureCode
    }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// What came back from a burst, in the order the answers arrived.
public struct BurstResult: Sendable {
    public enum Stop: Sendable, Equatable {
        /// Every planned request was sent and answered (or failed).
        case completed
        /// The limiter answered `stopAfterLimited` times: no more were sent.
        case limiterAnswered
        /// The time limit ran out with requests unsent or unanswered.
        case timeLimit
    }
    public var responses: [BurstResponse]
    /// Requests put on the wire (a request abandoned in flight may still have reached the server).
    public var sent: Int
    public var stop: Stop
    public var elapsed: Duration
    /// New TCP connections libcurl opened; fewer than requests means keep-alive worked.
    public var connections: Int

    public init(responses: [BurstResponse], sent: Int, stop: Stop, elapsed: Duration, connections: Int) {
        self.responses = responses
        self.sent = sent
        self.stop = stop
        self.elapsed = elapsed
        self.connections = connections
    }

    public var requestsPerSecond: Double {
        let s = Double(elapsed.milliseconds) / 1000
        return s > 0 ? Double(responses.count) / s : 0
    }
}

/// The seam for bursts: the live one is libcurl's multi interface.
public protocol HTTPBurster: Sendable {
    /// `isLimited` is asked for each answer (status and kept headers) to decide when to stop early.
    func burst(_ plan: BurstPlan, isLimited: @escaping @Sendable (Int, [(name: String, value: String)]) -> Bool) async -> BurstResult
}

/// libcurl multi interface on a thread of its own: `concurrency` easy handles, each reused for the
/// next request so its connection stays alive.
public struct CurlHTTPBurst: HTTPBurster {
    /// Loads nothing: libcurl is opened and initialised by the first burst (a run without one never loads it).
    public init() {}

    public func burst(_ plan: BurstPlan, isLimited: @escaping @Sendable (Int, [(name: String, value: String)]) -> Bool) async -> BurstResult {
        await Blocking.run { Self.perform(plan, isLimited: isLimited) }
    }

    /// Per-handle state for the request in flight.
    final class Slot {
        let handle: UnsafeMutableRawPointer
        var number = 0
        var headers: [(name: String, value: String)] = []
        var body = Data()
        /// libcurl keeps this address for the handle's life: allocated once, freed in deinit.
        let errorBuffer: UnsafeMutablePointer<CChar>
        let kept: HeaderNames
        init(handle: UnsafeMutableRawPointer, kept: HeaderNames) {
            self.handle = handle
            self.kept = kept
            errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
            errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        }
        deinit { errorBuffer.deallocate() }

        func reset(number: Int) {
            self.number = number
            headers.removeAll(keepingCapacity: true)
            body.removeAll(keepingCapacity: true)
            errorBuffer[0] = 0
        }
    }

    static func perform(_ plan: BurstPlan, isLimited: (Int, [(name: String, value: String)]) -> Bool) -> BurstResult {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + plan.timeLimit
        let count = max(0, plan.count)
        let width = max(1, min(plan.concurrency, count))
        if count > 0, let missing = NativeLibrary.libcurl.loadError {
            let failed = BurstResponse(number: 1, status: nil, failure: missing, failureCode: HTTPExchange.Failure.libraryMissing)
            return BurstResult(responses: [failed], sent: 0, stop: .completed, elapsed: .zero, connections: 0)
        }
        if count > 0 { CurlHTTPClient.globalInit() }
        guard count > 0, let multi = curl_multi_init() else {
            return BurstResult(responses: [], sent: 0, stop: .completed, elapsed: .zero, connections: 0)
        }
        defer { curl_multi_cleanup(multi) }
        preflight_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, width)
        preflight_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, width)

        var list: UnsafeMutablePointer<curl_slist>?
        for (k, v) in plan.headers.sorted(by: { $0.key < $1.key }) { list = curl_slist_append(list, "\(k): \(v)") }
        defer { curl_slist_free_all(list) }

        let write: preflight_curl_write_cb = { ptr, size, count, user in
            let slot = Unmanaged<Slot>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            if let ptr, slot.body.count < 256 {
                slot.body.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: min(n, 256 - slot.body.count))
            }
            return n
        }
        let header: preflight_curl_write_cb = { ptr, size, count, user in
            let slot = Unmanaged<Slot>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            guard let ptr, n > 2 else { return n }
            let bytes = UnsafeRawBufferPointer(start: ptr, count: n)
            // A status line starts a new header block (after 100 Continue, or a redirect): keep the final one only.
            if n > 5, bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[4] == UInt8(ascii: "/") {
                slot.headers.removeAll(keepingCapacity: true)
                return n
            }
            guard slot.headers.count < 32, let field = slot.kept.field(bytes) else { return n }
            slot.headers.append(field)
            return n
        }

        let timeoutMs = max(1, Int(plan.requestTimeout.milliseconds))
        var slots: [UnsafeMutableRawPointer: Slot] = [:]
        var boxes: [Unmanaged<Slot>] = []
        defer {
            for (h, _) in slots {
                curl_multi_remove_handle(multi, h)
                curl_easy_cleanup(h)
            }
            boxes.forEach { $0.release() }
        }
        for _ in 0..<width {
            guard let h = curl_easy_init() else { break }
            let slot = Slot(handle: h, kept: plan.keptHeaders)
            let box = Unmanaged.passRetained(slot)
            boxes.append(box)
            slots[h] = slot
            preflight_easy_setopt_string(h, CURLOPT_URL, plan.url)
            preflight_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            preflight_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, timeoutMs)
            preflight_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, timeoutMs)
            preflight_easy_setopt_long(h, CURLOPT_FOLLOWLOCATION, plan.options.maxRedirects > 0 ? 1 : 0)
            if plan.options.maxRedirects > 0 { preflight_easy_setopt_long(h, CURLOPT_MAXREDIRS, plan.options.maxRedirects) }
            if !plan.reuseConnections { preflight_easy_setopt_long(h, CURLOPT_FORBID_REUSE, 1) }
            CurlHTTPClient.applyTLSOptions(h, plan.options)
            preflight_easy_setopt_write_cb(h, CURLOPT_WRITEFUNCTION, write)
            preflight_easy_setopt_pointer(h, CURLOPT_WRITEDATA, box.toOpaque())
            preflight_easy_setopt_write_cb(h, CURLOPT_HEADERFUNCTION, header)
            preflight_easy_setopt_pointer(h, CURLOPT_HEADERDATA, box.toOpaque())
            preflight_easy_setopt_pointer(h, CURLOPT_ERRORBUFFER, slot.errorBuffer)
            preflight_easy_setopt_string(h, CURLOPT_USERAGENT, "preflight")
            preflight_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list)
            switch plan.method {
            case "GET": preflight_easy_setopt_long(h, CURLOPT_HTTPGET, 1)
            case "HEAD": preflight_easy_setopt_long(h, CURLOPT_NOBODY, 1)
            default: preflight_easy_setopt_string(h, CURLOPT_CUSTOMREQUEST, plan.method)
            }
            if let body = plan.body {
                preflight_easy_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                body.withUnsafeBytes { raw in
                    _ = preflight_easy_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS,
                                                      UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
                }
            }
        }
        var responses: [BurstResponse] = []
        responses.reserveCapacity(count)
        var sent = 0, limited = 0, connections = 0
        var stop = BurstResult.Stop.completed
        var idle = Array(slots.keys)

        func launch(_ h: UnsafeMutableRawPointer) {
            sent += 1
            slots[h]!.reset(number: sent)
            curl_multi_add_handle(multi, h)
        }
        while sent < count, let h = idle.popLast() { launch(h) }

        var running: Int32 = 1
        while true {
            curl_multi_perform(multi, &running)
            var left: Int32 = 0
            while let msg = curl_multi_info_read(multi, &left) {
                guard preflight_multi_msg_is_done(msg) != 0, let h = preflight_multi_msg_handle(msg), let slot = slots[h] else { continue }
                let rc = preflight_multi_msg_result(msg)
                var code = 0
                preflight_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &code)
                var fresh = 0
                preflight_easy_getinfo_long(h, CURLINFO_NUM_CONNECTS, &fresh)
                connections += fresh
                var total: curl_off_t = 0
                preflight_easy_getinfo_off_t(h, CURLINFO_TOTAL_TIME_T, &total)
                var r = BurstResponse(number: slot.number, answered: responses.count + 1, status: code > 0 ? code : nil, headers: slot.headers,
                                      bodySample: slot.body, seconds: Double(total) / 1e6)
                if rc != CURLE_OK {
                    let text = String(cString: slot.errorBuffer)
                    r.failure = text.isEmpty ? String(cString: curl_easy_strerror(rc)) : text
                    r.failureCode = Int(rc.rawValue)
                }
                if let s = r.status, rc == CURLE_OK, isLimited(s, r.headers) { limited += 1 }
                responses.append(r)
                curl_multi_remove_handle(multi, h)
                if limited >= plan.stopAfterLimited && stop == .completed { stop = .limiterAnswered }
                if sent < count && stop == .completed && clock.now < deadline { launch(h) } else { idle.append(h) }
            }
            if idle.count == slots.count { break }
            if clock.now >= deadline {
                if stop == .completed { stop = .timeLimit }
                break
            }
            let waitMs = Int32(max(1, min(100, (deadline - clock.now).milliseconds)))
            curl_multi_poll(multi, nil, 0, waitMs, nil)
        }
        if stop == .completed && sent < count { stop = .timeLimit }
        return BurstResult(responses: responses, sent: sent, stop: stop, elapsed: clock.now - start, connections: connections)
    }
}

/// A rule for which response headers to keep, by whole name or prefix, case-insensitive: data, so that the one
/// who owns the rule (the rate-limit headers' reader) hands it to the burst, which applies it byte by byte.
public struct HeaderNames: Sendable, Equatable {
    /// Lowercased.
    public let names: Set<String>
    public let prefixes: [String]
    /// The lowercased first byte of every name and prefix: most header lines are dropped on it, without a String.
    let firstBytes: Set<UInt8>

    public init(names: [String] = [], prefixes: [String] = []) {
        self.names = Set(names.map { $0.lowercased() })
        self.prefixes = prefixes.map { $0.lowercased() }
        firstBytes = Set((names + prefixes).compactMap { $0.lowercased().utf8.first })
    }

    public func contains(_ name: String) -> Bool {
        let n = name.lowercased()
        return names.contains(n) || prefixes.contains { n.hasPrefix($0) }
    }

    /// Both rules together.
    public func union(_ other: HeaderNames) -> HeaderNames {
        HeaderNames(names: Array(names.union(other.names)).sorted(), prefixes: prefixes + other.prefixes.filter { !prefixes.contains($0) })
    }

    /// One raw header line (`Name: value\r\n`), when its name is kept: split as `HTTPHeaderField.split` splits it,
    /// the value cut at 512 bytes.
    func field(_ line: UnsafeRawBufferPointer) -> (name: String, value: String)? {
        guard let first = line.first, firstBytes.contains(first | 0x20) || firstBytes.contains(first) else { return nil }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let text = String(decoding: line[..<min(line.count, colon + 1 + 512)], as: UTF8.self)
        guard let f = HTTPHeaderField.split(text), contains(f.name) else { return nil }
        return f
    }
}

/// How a header line splits into name and value, for every reader of responses (the client and the burst).
public enum HTTPHeaderField {
    /// `Name: value` → ("Name", "value"), both trimmed; nil without a colon or a name.
    public static func split(_ line: String) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return nil }
        return (name, line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
