import Foundation
import PreflightCore

/// Failed requests sharing one k6 error code (HTTP 4xx/5xx appear as 1400–1599) and one failure kind: a code
/// whose text tells causes apart (1213: file descriptors or local ports) has one entry per kind.
struct CodeStats: Sendable, Equatable {
    var code = 0
    let kind: FailureKind
    /// The kind's signature, worked out once per entry, not per failed request.
    let signature: Signature
    var count = 0
    var firstOffset = Double.infinity
    var lastOffset = -Double.infinity
    /// host:port of the first failed request with this code
    var target: String?
    var error: String?
    var endpoints: [String: Int] = [:]
    /// Requests that had succeeded when the first of these failed (file order): 0 for a run failing from the start.
    var succeededBefore = 0

    init(code: Int, kind: FailureKind, succeededBefore: Int) {
        self.code = code
        self.kind = kind
        self.signature = Signature(kind)
        self.succeededBefore = succeededBefore
    }
}

/// Streams a k6 `--out json` file line by line in constant memory and gathers `RunFacts`.
struct OutJSONReader {
    static let maxLine = 64 << 20

    struct Result {
        var facts: RunFacts
        var lines = 0
        var records = 0
        var garbageLines = 0
        var firstGarbageLine: Int?
        var truncatedLastLine = false
        var warnings: [String] = []
    }

    enum Role { case httpReqs, checks, iterations, dropped, dataReceived, duration, vus, grpc, other }

    final class Slot {
        let name: [UInt8]
        var role: Role
        var thresholds: [String] = []
        var type = ""
        var acc = MetricAccumulator()
        var tracked = false
        init(name: [UInt8], role: Role) { self.name = name; self.role = role }
    }

    /// Reads the whole input; throws only when nothing in it is a k6 record.
    static func read(_ input: ChunkedInput, displayPath: String) throws(ExplainError) -> Result {
        var record = K6Record()
        return try read(input, displayPath: displayPath, source: .outJSON) { line in
            K6RecordScanner.scan(line, into: &record) && record.kind != .other ? .record(record) : .garbage
        }
    }

    /// What one line is: a record, a line that is no record but belongs there (a CSV header), or garbage.
    enum Line { case record(K6Record), skip, garbage }

    /// The line loop both line formats share (`--out json`, `--out csv`): `parse` tells what one line (without
    /// its newline or carriage return) is.
    static func read(_ input: ChunkedInput, displayPath: String, source: RunFacts.Source,
                     parse: (UnsafeBufferPointer<UInt8>) -> Line) throws(ExplainError) -> Result {
        var agg = Aggregator(source: source)
        // Starts at 256 KiB (a k6 record is well under 1 KiB) and doubles only for a longer line, up to maxLine.
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        var filled = 0
        var result = Result(facts: RunFacts(source: source))

        func handle(_ line: UnsafeBufferPointer<UInt8>, last: Bool) {
            var line = line
            if line.count > 0 && line[line.count - 1] == 0x0D { line = UnsafeBufferPointer(rebasing: line[0..<(line.count - 1)]) }
            // blank lines are not records but not garbage either
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            result.lines += 1
            let parsed = parse(line)
            if case .record(let record) = parsed {
                result.records += 1
                agg.add(record)
            } else if case .skip = parsed {
                return
            } else if last {
                result.truncatedLastLine = true
            } else {
                result.garbageLines += 1
                if result.firstGarbageLine == nil { result.firstGarbageLine = result.lines }
            }
        }

        while true {
            if filled == buffer.count {
                guard buffer.count < maxLine else { throw .notK6(displayPath, "a line longer than \(maxLine >> 20) MiB") }
                buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count))
            }
            let n = try buffer.withUnsafeMutableBufferPointer { b throws(ExplainError) in
                try input.read(into: UnsafeMutableBufferPointer(rebasing: b[filled...]))
            }
            if n == 0 { break }
            filled += n
            let consumed = buffer.withUnsafeBufferPointer { b -> Int in
                let base = b.baseAddress!
                var start = 0
                while start < filled, let nl = memchr(base + start, 0x0A, filled - start) {
                    let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                    handle(UnsafeBufferPointer(start: base + start, count: end - start), last: false)
                    start = end + 1
                }
                return start
            }
            if consumed > 0 {
                buffer.withUnsafeMutableBytes { b in
                    _ = memmove(b.baseAddress!, b.baseAddress! + consumed, filled - consumed)
                }
                filled -= consumed
            }
        }
        if filled > 0 {
            buffer.withUnsafeBufferPointer { b in handle(UnsafeBufferPointer(rebasing: b[0..<filled]), last: true) }
        }

        guard result.records > 0 else { throw .nothingParsed(displayPath, result.lines) }
        if result.truncatedLastLine {
            result.warnings.append("\(displayPath): last line \(formatCount(result.lines)) is truncated (\(formatCount(filled)) bytes), ignored")
        }
        if result.garbageLines > 0 {
            result.warnings.append("\(displayPath): \(formatCount(result.garbageLines)) of \(formatCount(result.lines)) lines \(result.garbageLines == 1 ? "is not a k6 record" : "are not k6 records") (first at line \(formatCount(result.firstGarbageLine!))), skipped")
        }
        if !input.gzipComplete {
            result.warnings.append("\(displayPath): gzip stream ends early: the file was cut short")
        }
        result.facts = agg.facts()
        return result
    }

    /// Adds records to running totals; nothing here grows with the number of lines.
    struct Aggregator {
        var slots: [Slot] = []
        var slotByHash: [UInt64: Int] = [:]
        var f: RunFacts
        init(source: RunFacts.Source) { f = RunFacts(source: source) }
        var endpoints: [String: EndpointCounts] = [:]
        /// By code and the index (+1) of the text-told kind in `FailureKind.byText` (0: the code decides).
        var codes: [Int: CodeStats] = [:]
        /// The text-told kind of each error text seen, by the text's bytes (a run repeats a few texts).
        var refinedCache: [UInt64: (bytes: [UInt8], index: Int)] = [:]
        static let maxCachedErrors = 256
        var statuses: [Int: Int] = [:]
        var firstTime = Double.infinity
        var lastTime = -Double.infinity
        var durationSum = 0.0, durationCount = 0
        var dataReceived = 0.0
        var timeline = TimelineAccumulator()

        mutating func slot(for span: ByteSpan) -> Slot? {
            guard let s = span.start else { return nil }
            var h: UInt64 = 0xcbf29ce484222325
            for i in 0..<span.count { h = (h ^ UInt64(s[i])) &* 0x100000001b3 }
            if let i = slotByHash[h], slots[i].name.count == span.count,
               slots[i].name.withUnsafeBufferPointer({ memcmp($0.baseAddress!, s, span.count) == 0 }) {
                return slots[i]
            }
            let name = Array(UnsafeBufferPointer(start: s, count: span.count))
            if let existing = slots.first(where: { $0.name == name }) { return existing }
            let role: Role
            switch String(decoding: name, as: UTF8.self) {
            case "http_reqs": role = .httpReqs
            case "checks": role = .checks
            case "iterations": role = .iterations
            case "dropped_iterations": role = .dropped
            case "data_received": role = .dataReceived
            case "http_req_duration": role = .duration
            case "vus": role = .vus
            case "grpc_req_duration": role = .grpc
            default: role = .other
            }
            let slot = Slot(name: name, role: role)
            slots.append(slot)
            slotByHash[h] = slots.count - 1
            return slot
        }

        /// Endpoint names already redacted, by the raw bytes of their tag (k6 repeats a handful of names or URLs
        /// over millions of records): at most `maxCachedEndpoints`, then each new one is redacted as it comes.
        var endpointCache: [UInt64: (bytes: [UInt8], name: String)] = [:]
        static let maxCachedEndpoints = 1_000

        mutating func endpoint(_ r: K6Record) -> String {
            let span = r.name.isPresent ? r.name : r.url
            guard let s = span.start else { return "(unnamed)" }
            if span.escaped { return redactURL(span.string ?? "(unreadable)") }
            var h: UInt64 = 0xcbf29ce484222325
            for i in 0..<span.count { h = (h ^ UInt64(s[i])) &* 0x100000001b3 }
            if let hit = endpointCache[h], hit.bytes.count == span.count,
               hit.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, s, span.count) == 0 }) {
                return hit.name
            }
            let name = redactURL(span.string ?? "(unreadable)")
            if endpointCache.count < Self.maxCachedEndpoints {
                endpointCache[h] = (Array(UnsafeBufferPointer(start: s, count: span.count)), name)
            }
            return name
        }

        /// Which kind told apart by its text an `error` tag names: its index in `FailureKind.byText` + 1, or 0.
        mutating func refined(_ span: ByteSpan) -> Int {
            guard let s = span.start, span.count > 0 else { return 0 }
            // Failures come in runs of one text: the last one is compared first, without hashing.
            if lastError.count == span.count, lastError.withUnsafeBufferPointer({ memcmp($0.baseAddress!, s, span.count) == 0 }) {
                return lastErrorIndex
            }
            let index = refinedByHash(span, s)
            lastError.removeAll(keepingCapacity: true)
            lastError.append(contentsOf: UnsafeBufferPointer(start: s, count: span.count))
            lastErrorIndex = index
            return index
        }

        var lastError: [UInt8] = []
        var lastErrorIndex = 0

        mutating func refinedByHash(_ span: ByteSpan, _ s: UnsafePointer<UInt8>) -> Int {
            var h: UInt64 = 0xcbf29ce484222325
            for i in 0..<span.count { h = (h ^ UInt64(s[i])) &* 0x100000001b3 }
            if let hit = refinedCache[h], hit.bytes.count == span.count,
               hit.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, s, span.count) == 0 }) {
                return hit.index
            }
            let text = span.string ?? ""
            let index = FailureKind.byText.firstIndex { $0.matches(text) }.map { $0 + 1 } ?? 0
            if refinedCache.count < Self.maxCachedErrors {
                refinedCache[h] = (Array(UnsafeBufferPointer(start: s, count: span.count)), index)
            }
            return index
        }

        mutating func add(_ r: K6Record) {
            guard let slot = slot(for: r.metric) else { return }
            if r.kind == .metric {
                if !r.thresholds.isEmpty { slot.thresholds = r.thresholds; slot.tracked = true }
                if let t = r.metricType.string { slot.type = t }
                return
            }
            guard r.hasValue else { return }
            if slot.tracked { slot.acc.add(r.value) }
            switch slot.role {
            case .httpReqs: addRequest(r)
            case .checks: if r.value == 0 { f.checkFails += 1 } else { f.checkPasses += 1 }
            case .iterations: f.iterations += 1
            case .dropped: f.droppedIterations += Int(r.value)
            case .dataReceived: dataReceived += r.value
            case .duration: durationSum += r.value; durationCount += 1
            case .vus: if let t = r.seconds { timeline.vus(at: t, r.value) }
            case .grpc: addGRPC(r)
            case .other: break
            }
        }

        /// gRPC calls by method (the `name` tag) and status code (the `status` tag: 0 OK … 16).
        var grpcCalls: [String: [Int: Int]] = [:]
        static let maxGRPCMethods = 1_000

        mutating func addGRPC(_ r: K6Record) {
            f.grpcCalls += 1
            // A gRPC-only run has its clock from its calls (the watcher's samples line up with it).
            if let time = r.seconds {
                firstTime = min(firstTime, time)
                lastTime = max(lastTime, time)
            }
            let status = r.status.int ?? -1
            guard status != 0 else { return }
            var method = endpoint(r)
            if method.hasPrefix("/") { method.removeFirst() }  // k6's name tag "/events.Events/Send": the method as scripts name it
            guard grpcCalls[method] != nil || grpcCalls.count < Self.maxGRPCMethods else { return }
            grpcCalls[method, default: [:]][status, default: 0] += 1
        }

        mutating func addRequest(_ r: K6Record) {
            f.requests += 1
            let status = r.status.int ?? 0
            let failed: Bool
            if r.expectedResponse.isPresent {
                failed = r.expectedResponse.equals("false")
            } else {
                failed = status == 0 || status >= 400
            }
            let ep = endpoint(r)
            var counts = endpoints[ep] ?? EndpointCounts()
            counts.total += 1
            if status >= 400 && status < 500 { counts.status4xx += 1 }
            if status >= 500 && status < 600 { counts.status5xx += 1 }
            if status == 429 { counts.status429 += 1 }
            let time = r.seconds
            if let time {
                firstTime = min(firstTime, time)
                lastTime = max(lastTime, time)
            }
            guard failed else {
                endpoints[ep] = counts
                if let time { timeline.request(at: time, failure: nil) }
                return
            }
            counts.failed += 1
            endpoints[ep] = counts
            f.failedRequests += 1
            statuses[status, default: 0] += 1
            let code = r.errorCode.int ?? (status >= 400 ? 1000 + status : 1000)
            let refined = refined(r.error)
            let key = code * 64 + refined
            var c = codes[key] ?? CodeStats(code: code, kind: refined > 0 ? FailureKind.byText[refined - 1] : FailureKind.classify(code: code),
                                            succeededBefore: f.requests - f.failedRequests)
            if let time { timeline.request(at: time, failure: c.signature) }
            c.count += 1
            c.endpoints[ep, default: 0] += 1
            if let time {
                c.firstOffset = min(c.firstOffset, time)
                c.lastOffset = max(c.lastOffset, time)
            }
            if c.target == nil, let url = r.url.string { c.target = hostPort(url) }
            if c.error == nil, let e = r.error.string { c.error = e }
            codes[key] = c
        }

        func facts() -> RunFacts {
            var out = f
            out.dataReceivedBytes = dataReceived
            out.durationAvgMs = durationCount > 0 ? durationSum / Double(durationCount) : nil
            out.requestsByEndpoint = endpoints
            out.failuresByStatus = statuses
            out.grpcFailures = grpcCalls.flatMap { m, byStatus in byStatus.map { GRPCFailure(method: m, status: $0.key, count: $0.value) } }
                .sorted { ($1.count, $0.method, $0.status) < ($0.count, $1.method, $1.status) }
            // absolute times become offsets from the first request
            let start = firstTime.isFinite ? firstTime : 0
            out.codeStats = codes.values.sorted { ($0.code, $0.kind.id) < ($1.code, $1.kind.id) }.map { c in
                var c = c
                if c.firstOffset.isFinite { c.firstOffset -= start; c.lastOffset -= start } else { c.firstOffset = 0; c.lastOffset = 0 }
                return c
            }
            for c in codes.values { out.failuresByCode[c.code, default: 0] += c.count }
            out.runSpan = firstTime.isFinite ? lastTime - firstTime : nil
            out.startUnix = firstTime.isFinite ? firstTime : nil
            out.timeline = firstTime.isFinite ? timeline.timeline(startUnix: firstTime) : nil
            for slot in slots where !slot.thresholds.isEmpty {
                let name = String(decoding: slot.name, as: UTF8.self)
                for expr in slot.thresholds {
                    let observed = slot.acc.value(for: expr, type: slot.type, span: out.runSpan)
                    let failed = observed.flatMap { v in ThresholdExpression(expr).map { !$0.holds(for: v) } } ?? false
                    out.thresholds.append(ThresholdResult(metric: name, expression: expr, failed: failed, observed: observed))
                }
            }
            return out
        }
    }
}

/// "http://user:secret@127.0.0.1:3001/api?q=1" → "127.0.0.1:3001".
func hostPort(_ url: String) -> String? {
    guard let c = URLComponents(string: url), let host = c.host else { return nil }
    let port = c.port ?? (c.scheme == "https" ? 443 : 80)
    return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}
