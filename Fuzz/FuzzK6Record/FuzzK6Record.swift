@testable import PreflightExplain

/// The hand-written `--out json` line scanner on one line (exactly the input bytes, so ASan sees any over-read).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var record = K6Record()
    if K6RecordScanner.scan(UnsafeBufferPointer(start: data, count: size), into: &record) {
        _ = record.metric.string
        _ = record.name.string
        _ = record.url.string
        _ = record.error.string
        _ = record.status.int
        _ = record.errorCode.int
    }
    return 0
}
