import CZlib
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file in fixed-size chunks, inflating it on the fly when it starts with the gzip magic.
/// Memory stays constant whatever the file's size: one 256 KiB chunk of compressed input; a plain file, once its
/// first chunk is used up, is read straight into the caller's buffer (no copy).
final class ChunkedInput {
    static let chunkSize = 256 << 10

    let path: String
    private let fd: Int32
    private var raw: [UInt8]
    private var rawCount = 0
    private var rawOffset = 0
    private var eof = false
    private(set) var isGzip = false
    private var zs = z_stream()
    private var zsOpen = false
    private var streamEnded = false
    /// Bytes of compressed or plain input consumed so far, for messages.
    private(set) var bytesRead = 0

    init(path: String) throws(ExplainError) {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) != S_IFDIR else { throw .unreadable(path, "is a directory") }
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        raw = [UInt8](repeating: 0, count: ChunkedInput.chunkSize)
        fillRaw()
        if rawCount >= 2 && raw[0] == 0x1F && raw[1] == 0x8B {
            isGzip = true
            // 15 + 32: zlib detects the gzip header itself
            let rc = inflateInit2_(&zs, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else { throw .unreadable(path, "zlib inflateInit2 failed (\(rc))") }
            zsOpen = true
        }
    }

    deinit {
        if zsOpen { inflateEnd(&zs) }
        close(fd)
    }

    private func fillRaw() {
        rawOffset = 0
        rawCount = 0
        while rawCount < raw.count && !eof {
            let n = raw.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + rawCount, $0.count - rawCount) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { eof = true; break }
            rawCount += n
            bytesRead += n
        }
    }

    /// Whether the gzip stream ended cleanly; false means the file was cut short.
    var gzipComplete: Bool { !isGzip || streamEnded }

    /// Fills `buffer[from..<buffer.count]`; returns bytes written, 0 at the end of input.
    func read(into buffer: UnsafeMutableBufferPointer<UInt8>) throws(ExplainError) -> Int {
        guard let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if !isGzip {
            if rawOffset == rawCount {
                if eof { return 0 }
                while true {
                    let n = Glibc.read(fd, out, buffer.count)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { eof = true; return 0 }
                    bytesRead += n
                    return n
                }
            }
            let n = min(buffer.count, rawCount - rawOffset)
            _ = raw.withUnsafeBytes { memcpy(out, $0.baseAddress! + rawOffset, n) }
            rawOffset += n
            return n
        }
        var produced = 0
        while produced == 0 {
            if rawOffset == rawCount {
                if eof { return 0 }
                fillRaw()
                if rawCount == 0 { return 0 }
            }
            if streamEnded {
                // A concatenated gzip member follows (k6 writes one, `cat a.gz b.gz` makes two)
                inflateReset(&zs)
                streamEnded = false
            }
            let rc: Int32 = raw.withUnsafeMutableBytes { rawBuf in
                zs.next_in = rawBuf.baseAddress!.assumingMemoryBound(to: UInt8.self) + rawOffset
                zs.avail_in = UInt32(rawCount - rawOffset)
                zs.next_out = out
                zs.avail_out = UInt32(buffer.count)
                let rc = inflate(&zs, Z_NO_FLUSH)
                rawOffset = rawCount - Int(zs.avail_in)
                produced = buffer.count - Int(zs.avail_out)
                return rc
            }
            if rc == Z_STREAM_END {
                streamEnded = true
            } else if rc != Z_OK && rc != Z_BUF_ERROR {
                let msg = zs.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw .corruptGzip(path, msg)
            }
        }
        return produced
    }
}
