import Foundation
import PreflightCore

/// Failed requests sharing one k6 error code (HTTP 4xx/5xx appear as 1400–1599).
struct CodeStats: Sendable, Equatable {
    var count = 0
    var firstOffset = Double.infinity
    var lastOffset = -Double.infinity
    /// host:port of the first failed request with this code
    var target: String?
    var error: String?
    var endpoints: [String: Int] = [:]
    /// Requests that had succeeded when the first of these failed (file order): 0 for a run failing from the start.
    var succeededBefore = 0
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

    private enum Role { case httpReqs, checks, iterations, dropped, dataReceived, duration, vus, other }

    private final class Slot {
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
        var agg = Aggregator()
        // Starts at 256 KiB (a k6 record is well under 1 KiB) and doubles only for a longer line, up to maxLine.
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        var filled = 0
        var result = Result(facts: RunFacts(source: .outJSON))
        var record = K6Record()

        func handle(_ line: UnsafeBufferPointer<UInt8>, last: Bool) {
            var line = line
            if line.count > 0 && line[line.count - 1] == 0x0D { line = UnsafeBufferPointer(rebasing: line[0..<(line.count - 1)]) }
            // blank lines are not records but not garbage either
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
            result.lines += 1
            if K6RecordScanner.scan(line, into: &record) && record.kind != .other {
                result.records += 1
                agg.add(record)
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
    private struct Aggregator {
        var slots: [Slot] = []
        var slotByHash: [UInt64: Int] = [:]
        var f = RunFacts(source: .outJSON)
        var endpoints: [String: EndpointCounts] = [:]
        var codes: [Int: CodeStats] = [:]
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
            case .vus: if let t = RFC3339.seconds(r.time) { timeline.vus(at: t, r.value) }
            case .other: break
            }
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
            let time = RFC3339.seconds(r.time)
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
            if let time { timeline.request(at: time, failure: code) }
            var c = codes[code] ?? CodeStats(succeededBefore: f.requests - f.failedRequests)
            c.count += 1
            c.endpoints[ep, default: 0] += 1
            if let time {
                c.firstOffset = min(c.firstOffset, time)
                c.lastOffset = max(c.lastOffset, time)
            }
            if c.target == nil, let url = r.url.string { c.target = hostPort(url) }
            if c.error == nil, let e = r.error.string { c.error = e }
            codes[code] = c
        }

        func facts() -> RunFacts {
            var out = f
            out.dataReceivedBytes = dataReceived
            out.durationAvgMs = durationCount > 0 ? durationSum / Double(durationCount) : nil
            out.requestsByEndpoint = endpoints
            out.failuresByStatus = statuses
            // absolute times become offsets from the first request
            let start = firstTime.isFinite ? firstTime : 0
            out.codeStats = codes.mapValues { c in
                var c = c
                if c.firstOffset.isFinite { c.firstOffset -= start; c.lastOffset -= start } else { c.firstOffset = 0; c.lastOffset = 0 }
                return c
            }
            out.failuresByCode = codes.mapValues(\.count)
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
