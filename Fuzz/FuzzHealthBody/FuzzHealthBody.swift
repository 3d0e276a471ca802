import Foundation
import PreflightChecks

/// The health-endpoint body reader (JSON of any shape, or not JSON at all).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let body = HealthBody.parse(Data(bytes: data, count: size)) {
        for c in body.downComponents { _ = HealthBody.isDatabase(c.name) }
    }
    return 0
}
