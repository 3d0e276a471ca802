import Foundation

/// A byte range inside the line being scanned; `escaped` when it holds backslash escapes.
struct ByteSpan {
    var start: UnsafePointer<UInt8>?
    var count = 0
    var escaped = false

    var isPresent: Bool { start != nil }

    func equals(_ s: StaticString) -> Bool {
        guard let start, count == s.utf8CodeUnitCount else { return false }
        return memcmp(start, s.utf8Start, count) == 0
    }

    /// The decoded string (escapes resolved); only called for the few strings we keep.
    var string: String? {
        guard let start else { return nil }
        let raw = UnsafeBufferPointer(start: start, count: count)
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        // Reuse Foundation's decoder for the rare escaped string: wrap it back in quotes.
        var quoted: [UInt8] = [0x22]
        quoted.append(contentsOf: raw)
        quoted.append(0x22)
        return (try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed)) as? String
    }

    /// An integer written as a JSON string's content (k6 writes `"status":"429"`).
    var int: Int? {
        guard let start, count > 0, count <= 18, !escaped else { return nil }
        var v = 0
        for i in 0..<count {
            let d = Int(start[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            v = v * 10 + d
        }
        return v
    }
}

/// The fields of one `--out json` line that `explain` uses.
struct K6Record {
    enum Kind { case metric, point, other }
    var kind: Kind = .other
    var metric = ByteSpan()
    var metricType = ByteSpan()
    var thresholds: [String] = []
    var time = ByteSpan()
    var value: Double = 0
    var hasValue = false
    var status = ByteSpan()
    var errorCode = ByteSpan()
    var error = ByteSpan()
    var expectedResponse = ByteSpan()
    var name = ByteSpan()
    var url = ByteSpan()
    /// The time as seconds since 1970 when the line wrote it so (`--out csv` with a unix time format).
    var unixSeconds: Double?

    /// When the sample was taken, in seconds since 1970.
    var seconds: Double? { unixSeconds ?? RFC3339.seconds(time) }

    mutating func reset() { self = K6Record() }
}

/// A focused JSON scanner for k6 `--out json` lines: it validates the whole line as JSON
/// but keeps only the fields `explain` reads, without allocating per line.
/// Why not JSONDecoder: a 30-minute run writes gigabytes; decoding every line into objects is the bottleneck.
struct K6RecordScanner {
    private var p: UnsafePointer<UInt8>
    private let end: UnsafePointer<UInt8>
    private static let maxDepth = 64

    /// Scans one line (without its newline); false when the line is not one JSON object.
    static func scan(_ line: UnsafeBufferPointer<UInt8>, into record: inout K6Record) -> Bool {
        guard let base = line.baseAddress, line.count > 0 else { return false }
        record.reset()
        var s = K6RecordScanner(p: base, end: base + line.count)
        guard s.topLevel(&record) else { return false }
        s.skipSpace()
        return s.p == s.end
    }

    private init(p: UnsafePointer<UInt8>, end: UnsafePointer<UInt8>) {
        self.p = p
        self.end = end
    }

    private mutating func skipSpace() {
        while p < end, p.pointee == 0x20 || p.pointee == 0x09 || p.pointee == 0x0D || p.pointee == 0x0A { p += 1 }
    }

    private mutating func expect(_ c: UInt8) -> Bool {
        skipSpace()
        guard p < end, p.pointee == c else { return false }
        p += 1
        return true
    }

    /// Iterates an object's members; `member` is called with the key and must consume the value.
    private mutating func object(_ member: (inout K6RecordScanner, ByteSpan) -> Bool) -> Bool {
        guard expect(0x7B) else { return false }  // {
        skipSpace()
        if p < end && p.pointee == 0x7D { p += 1; return true }
        while true {
            skipSpace()
            guard let key = string() else { return false }
            guard expect(0x3A) else { return false }  // :
            skipSpace()
            guard member(&self, key) else { return false }
            skipSpace()
            guard p < end else { return false }
            if p.pointee == 0x2C { p += 1; continue }  // ,
            if p.pointee == 0x7D { p += 1; return true }
            return false
        }
    }

    private mutating func topLevel(_ r: inout K6Record) -> Bool {
        object { s, key in
            if key.equals("type") {
                guard let v = s.string() else { return false }
                r.kind = v.equals("Point") ? .point : (v.equals("Metric") ? .metric : .other)
                return true
            }
            if key.equals("metric") {
                guard let v = s.string() else { return false }
                r.metric = v
                return true
            }
            if key.equals("data") {
                guard s.p < s.end, s.p.pointee == 0x7B else { return s.skipValue(depth: 1) }
                return s.data(&r)
            }
            return s.skipValue(depth: 1)
        }
    }

    private mutating func data(_ r: inout K6Record) -> Bool {
        object { s, key in
            if key.equals("time") {
                guard let v = s.string() else { return false }
                r.time = v
                return true
            }
            if key.equals("value") {
                guard let v = s.number() else { return s.skipValue(depth: 2) }
                r.value = v
                r.hasValue = true
                return true
            }
            if key.equals("tags") {
                guard s.p < s.end, s.p.pointee == 0x7B else { return s.skipValue(depth: 2) }
                return s.tags(&r)
            }
            if key.equals("type") {
                guard let v = s.string() else { return s.skipValue(depth: 2) }
                r.metricType = v
                return true
            }
            if key.equals("thresholds") {
                return s.thresholdList(&r)
            }
            return s.skipValue(depth: 2)
        }
    }

    private mutating func tags(_ r: inout K6Record) -> Bool {
        object { s, key in
            guard s.p < s.end, s.p.pointee == 0x22 else { return s.skipValue(depth: 3) }
            guard let v = s.string() else { return false }
            switch key.count {
            case 3: if key.equals("url") { r.url = v }
            case 4: if key.equals("name") { r.name = v }
            case 5: if key.equals("error") { r.error = v }
            case 6: if key.equals("status") { r.status = v }
            case 10: if key.equals("error_code") { r.errorCode = v }
            case 17: if key.equals("expected_response") { r.expectedResponse = v }
            default: break
            }
            return true
        }
    }

    private mutating func thresholdList(_ r: inout K6Record) -> Bool {
        skipSpace()
        guard p < end else { return false }
        if p.pointee != 0x5B { return skipValue(depth: 2) }  // null or anything else
        p += 1
        skipSpace()
        if p < end && p.pointee == 0x5D { p += 1; return true }
        while true {
            skipSpace()
            guard p < end else { return false }
            if p.pointee == 0x22 {
                guard let v = string() else { return false }
                if let t = v.string { r.thresholds.append(t) }
            } else if !skipValue(depth: 3) {
                return false
            }
            skipSpace()
            guard p < end else { return false }
            if p.pointee == 0x2C { p += 1; continue }
            if p.pointee == 0x5D { p += 1; return true }
            return false
        }
    }

    /// A JSON string; the span excludes the quotes.
    private mutating func string() -> ByteSpan? {
        skipSpace()
        guard p < end, p.pointee == 0x22 else { return nil }
        p += 1
        let start = p
        var escaped = false
        while p < end {
            let c = p.pointee
            if c == 0x22 {
                let span = ByteSpan(start: start, count: p - start, escaped: escaped)
                p += 1
                return span
            }
            if c == 0x5C {  // backslash: skip the escaped byte
                escaped = true
                p += 2
                continue
            }
            if c < 0x20 { return nil }  // control characters are not allowed inside JSON strings
            p += 1
        }
        return nil
    }

    private static let pow10: [Double] = (0...22).map { pow(10.0, Double($0)) }

    /// A JSON number; exact for the short decimals k6 writes, strtod for the rest.
    private mutating func number() -> Double? {
        skipSpace()
        let start = p
        var neg = false
        if p < end && p.pointee == 0x2D { neg = true; p += 1 }
        var mantissa: UInt64 = 0, digits = 0, fracDigits = 0
        var sawDigit = false
        while p < end, p.pointee &- 48 < 10 {
            if digits < 18 { mantissa = mantissa &* 10 &+ UInt64(p.pointee &- 48); digits += 1 } else { digits += 1 }
            sawDigit = true
            p += 1
        }
        guard sawDigit else { p = start; return nil }
        var simple = digits <= 18
        if p < end && p.pointee == 0x2E {
            p += 1
            var sawFrac = false
            while p < end, p.pointee &- 48 < 10 {
                if digits < 18 { mantissa = mantissa &* 10 &+ UInt64(p.pointee &- 48); digits += 1; fracDigits += 1 } else { simple = false }
                sawFrac = true
                p += 1
            }
            guard sawFrac else { return nil }
        }
        if p < end && (p.pointee == 0x65 || p.pointee == 0x45) {
            simple = false
            p += 1
            if p < end && (p.pointee == 0x2B || p.pointee == 0x2D) { p += 1 }
            var sawExp = false
            while p < end, p.pointee &- 48 < 10 { sawExp = true; p += 1 }
            guard sawExp else { return nil }
        }
        if simple && fracDigits <= 22 {
            let v = Double(mantissa) / K6RecordScanner.pow10[fracDigits]
            return neg ? -v : v
        }
        // Rare: exponent or many digits. Copy into a terminated buffer for strtod.
        let n = p - start
        var buf = [CChar](repeating: 0, count: n + 1)
        for i in 0..<n { buf[i] = CChar(bitPattern: start[i]) }
        return strtod(buf, nil)
    }

    private mutating func literal(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard end - p >= n, memcmp(p, s.utf8Start, n) == 0 else { return false }
        p += n
        return true
    }

    /// Skips any JSON value, refusing nesting deeper than `maxDepth` so garbage cannot exhaust the stack.
    private mutating func skipValue(depth: Int) -> Bool {
        guard depth < K6RecordScanner.maxDepth else { return false }
        skipSpace()
        guard p < end else { return false }
        switch p.pointee {
        case 0x22: return string() != nil
        case 0x7B: return object { s, _ in s.skipValue(depth: depth + 1) }
        case 0x5B:
            p += 1
            skipSpace()
            if p < end && p.pointee == 0x5D { p += 1; return true }
            while true {
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                guard p < end else { return false }
                if p.pointee == 0x2C { p += 1; continue }
                if p.pointee == 0x5D { p += 1; return true }
                return false
            }
        case 0x74: return literal("true")
        case 0x66: return literal("false")
        case 0x6E: return literal("null")
        default: return number() != nil
        }
    }
}
