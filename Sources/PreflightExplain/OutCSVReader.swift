import Foundation

/// The columns of a k6 `--out csv` file that `explain` reads, found by name in its header line
/// (`metric_name,timestamp,metric_value,check,error,…`): which system tags are columns depends on `--system-tags`.
struct K6CSVColumns {
    var metric = -1, timestamp = -1, value = -1
    var status = -1, errorCode = -1, error = -1, expectedResponse = -1, name = -1, url = -1
    var count = 0

    /// The header's columns; nil when the line is not a k6 CSV header.
    init?(header: UnsafeBufferPointer<UInt8>) {
        var fields: [String] = []
        var scratch = [UInt8](repeating: 0, count: header.count)
        let ok = scratch.withUnsafeMutableBufferPointer { out in
            K6CSVLine.split(header, scratch: out) { span in fields.append(span.string ?? ""); return true }
        }
        guard ok, fields.count >= 3, fields[0] == "metric_name", fields[1] == "timestamp", fields[2] == "metric_value" else { return nil }
        count = fields.count
        for (i, f) in fields.enumerated() {
            switch f {
            case "metric_name": metric = i
            case "timestamp": timestamp = i
            case "metric_value": value = i
            case "status": status = i
            case "error_code": errorCode = i
            case "error": error = i
            case "expected_response": expectedResponse = i
            case "name": name = i
            case "url": url = i
            default: break
            }
        }
    }
}

/// One line of k6's CSV (Go's encoding/csv: a field with a comma, quote or line break is quoted, its quotes doubled).
enum K6CSVLine {
    /// Calls `field` with each field in order; a quoted field with doubled quotes is unescaped into `scratch`
    /// (at least as long as the line). False when the line is not well-formed CSV or `field` says stop.
    static func split(_ line: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutableBufferPointer<UInt8>,
                      _ field: (ByteSpan) -> Bool) -> Bool {
        guard let base = line.baseAddress else { return false }
        var i = 0, out = 0
        let n = line.count
        while true {
            var span = ByteSpan()
            if i < n && base[i] == 0x22 {  // "
                i += 1
                let start = i
                var doubled = false
                var closed = false
                while i < n {
                    if base[i] == 0x22 {
                        if i + 1 < n && base[i + 1] == 0x22 { doubled = true; i += 2; continue }
                        closed = true
                        break
                    }
                    i += 1
                }
                guard closed else { return false }
                if doubled {
                    let from = out
                    var j = start
                    while j < i {
                        scratch[out] = base[j]
                        out += 1
                        j += base[j] == 0x22 ? 2 : 1
                    }
                    span = ByteSpan(start: UnsafePointer(scratch.baseAddress! + from), count: out - from)
                } else {
                    span = ByteSpan(start: base + start, count: i - start)
                }
                i += 1  // the closing quote
                guard i == n || base[i] == 0x2C else { return false }
            } else {
                let start = i
                while i < n && base[i] != 0x2C {
                    if base[i] == 0x22 { return false }
                    i += 1
                }
                span = ByteSpan(start: base + start, count: i - start)
            }
            guard field(span) else { return false }
            if i >= n { return true }
            i += 1  // the comma
        }
    }

    /// The record of one data line, read with the header's columns; nil when it is not one.
    static func record(_ line: UnsafeBufferPointer<UInt8>, columns c: K6CSVColumns,
                       scratch: UnsafeMutableBufferPointer<UInt8>) -> K6Record? {
        var r = K6Record()
        r.kind = .point
        var index = 0
        var valueOK = false
        let ok = split(line, scratch: scratch) { span in
            defer { index += 1 }
            guard span.count > 0 else { return true }  // an empty column is an absent tag
            switch index {
            case c.metric: r.metric = span
            case c.timestamp:
                r.time = span
                r.unixSeconds = unixSeconds(span)
            case c.value:
                (r.value, valueOK) = number(span)
            case c.status: r.status = span
            case c.errorCode: r.errorCode = span
            case c.error: r.error = span
            case c.expectedResponse: r.expectedResponse = span
            case c.name: r.name = span
            case c.url: r.url = span
            default: break
            }
            return true
        }
        guard ok, index == c.count, r.metric.isPresent, valueOK else { return nil }
        r.hasValue = true
        return r
    }

    /// k6's unix time formats: seconds (10 digits), milli-, micro- or nanoseconds (19); nil for RFC 3339 text.
    /// Whole seconds and the fraction apart, as the RFC 3339 reader adds them: both files give the same offsets.
    static func unixSeconds(_ span: ByteSpan) -> Double? {
        guard let s = span.start, span.count > 0, span.count <= 19 else { return nil }
        var v: Int64 = 0
        for i in 0..<span.count {
            let d = Int64(s[i]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            v = v * 10 + d
        }
        let unit: Int64
        switch span.count {
        case ...11: return Double(v)
        case 12...14: unit = 1_000
        case 15...17: unit = 1_000_000
        default: unit = 1_000_000_000
        }
        return Double(v / unit) + Double(v % unit) / Double(unit)
    }

    static func number(_ span: ByteSpan) -> (Double, Bool) {
        guard let s = span.start, span.count > 0, span.count < 64 else { return (0, false) }
        var buf = [CChar](repeating: 0, count: span.count + 1)
        for i in 0..<span.count { buf[i] = CChar(bitPattern: s[i]) }
        var end: UnsafeMutablePointer<CChar>?
        let v = buf.withUnsafeMutableBufferPointer { b in strtod(b.baseAddress!, &end) }
        let used = buf.withUnsafeMutableBufferPointer { b in end.map { b.baseAddress!.distance(to: $0) } ?? 0 }
        return (v, used == span.count && v.isFinite)
    }
}

/// Streams a k6 `--out csv` file (gzipped or not) in constant memory into the same `RunFacts` as `--out json`;
/// the CSV has no metric definitions, so its thresholds come from the run's `--summary-export` when given.
enum OutCSVReader {
    static func read(_ input: ChunkedInput, displayPath: String) throws(ExplainError) -> OutJSONReader.Result {
        var columns: K6CSVColumns?
        var scratch = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 4096)
        defer { scratch.deallocate() }
        return try OutJSONReader.read(input, displayPath: displayPath, source: .outCSV) { line in
            guard let c = columns else {
                columns = K6CSVColumns(header: line)
                return columns == nil ? .garbage : .skip
            }
            if scratch.count < line.count {
                scratch.deallocate()
                scratch = .allocate(capacity: line.count)
            }
            return K6CSVLine.record(line, columns: c, scratch: scratch).map { .record($0) } ?? .garbage
        }
    }
}
