import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Follows the `--out json` or `--out csv` file k6 is still writing (gzipped or not) and counts its requests, failures and
/// 429s so far. Each `poll` reads at most `maxBytesPerPoll` new bytes, so a watcher tick stays bounded; what is
/// left is read at the next one. k6's gzip writer emits whole deflate blocks, so a gzipped file's counts lag.
public final class LiveOutTail {
    public static let maxBytesPerPoll = 8 << 20
    static let maxLine = 1 << 20

    let path: String
    private var fd: Int32 = -1
    private var isGzip: Bool?
    private var zs = z_stream()
    private var zsOpen = false
    private var pending: [UInt8] = []
    private var skippingLongLine = false
    /// Set by a CSV file's header line; nil for JSON lines.
    private var csvColumns: K6CSVColumns?
    private var sawFirstLine = false
    public private(set) var requests = 0
    public private(set) var failed = 0
    public private(set) var status429 = 0

    public init(path: String) { self.path = path }
    static let httpReqsRow = Array("http_reqs,".utf8)

    deinit {
        if zsOpen { inflateEnd(&zs) }
        if fd >= 0 { close(fd) }
    }

    /// Reads what was appended since the last poll; false while the file does not exist yet.
    @discardableResult
    public func poll() -> Bool {
        if fd < 0 {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { return false }
        }
        var raw = [UInt8](repeating: 0, count: 256 << 10)
        var total = 0
        while total < Self.maxBytesPerPoll {
            let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            total += n
            if isGzip == nil {
                isGzip = n >= 2 && raw[0] == 0x1F && raw[1] == 0x8B
                if isGzip == true {
                    guard inflateInit2_(&zs, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return true }
                    zsOpen = true
                }
            }
            if isGzip == true { inflateChunk(raw, count: n) } else { consume(raw[0..<n]) }
        }
        return true
    }

    private func inflateChunk(_ raw: [UInt8], count: Int) {
        guard zsOpen else { return }
        var input = raw
        var out = [UInt8](repeating: 0, count: 256 << 10)
        input.withUnsafeMutableBytes { inBuf in
            zs.next_in = inBuf.baseAddress!.assumingMemoryBound(to: UInt8.self)
            zs.avail_in = UInt32(count)
            while zs.avail_in > 0 {
                let (rc, produced): (Int32, Int) = out.withUnsafeMutableBytes { outBuf in
                    zs.next_out = outBuf.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    zs.avail_out = UInt32(outBuf.count)
                    let rc = inflate(&zs, Z_NO_FLUSH)
                    return (rc, outBuf.count - Int(zs.avail_out))
                }
                if produced > 0 { consume(out[0..<produced]) }
                if rc == Z_STREAM_END { inflateReset(&zs); continue }
                if rc != Z_OK { if rc != Z_BUF_ERROR { inflateEnd(&zs); zsOpen = false }; break }
            }
        }
    }

    private func consume(_ bytes: ArraySlice<UInt8>) {
        var start = bytes.startIndex
        while let nl = bytes[start...].firstIndex(of: 0x0A) {
            if skippingLongLine {
                skippingLongLine = false
            } else if pending.isEmpty {
                line(bytes[start..<nl])
            } else {
                pending.append(contentsOf: bytes[start..<nl])
                line(pending[...])
                pending.removeAll(keepingCapacity: true)
            }
            start = nl + 1
        }
        guard !skippingLongLine else { return }
        pending.append(contentsOf: bytes[start...])
        if pending.count > Self.maxLine { pending.removeAll(); skippingLongLine = true }
    }

    private func line(_ bytes: ArraySlice<UInt8>) {
        if !sawFirstLine {
            sawFirstLine = true
            if let header = bytes.withUnsafeBufferPointer({ K6CSVColumns(header: $0) }) { csvColumns = header; return }
        }
        // Only http_reqs rows of a CSV file are split: the other dozen metrics of each request are skipped by name.
        if csvColumns != nil, !bytes.starts(with: Self.httpReqsRow) { return }
        var scratch = [UInt8](repeating: 0, count: csvColumns == nil ? 0 : bytes.count)
        // The record's spans point into the line: read them before the buffers go.
        let request: (status: Int, failed: Bool)? = bytes.withUnsafeBufferPointer { line in
            scratch.withUnsafeMutableBufferPointer { scratch in
                var record = K6Record()
                if let csvColumns {
                    guard let r = K6CSVLine.record(line, columns: csvColumns, scratch: scratch) else { return nil }
                    record = r
                } else {
                    guard K6RecordScanner.scan(line, into: &record) else { return nil }
                }
                guard record.kind == .point, record.metric.equals("http_reqs") else { return nil }
                let status = record.status.int ?? 0
                let failed = record.expectedResponse.isPresent ? record.expectedResponse.equals("false") : (status == 0 || status >= 400)
                return (status, failed)
            }
        }
        guard let request else { return }
        requests += 1
        if request.failed { failed += 1 }
        if request.status == 429 { status429 += 1 }
    }
}
