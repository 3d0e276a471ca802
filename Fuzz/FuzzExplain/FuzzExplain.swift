import Foundation
import PreflightExplain

/// `preflight explain` on a file holding the input: kind detection, gzip, `--out json`, summary-export, handleSummary.
private let path = NSTemporaryDirectory() + "preflight-fuzz-explain-\(getpid()).json"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    _ = try? Explainer.explain(path: path)
    return 0
}
