import Foundation
import PreflightChecks
import PreflightProbes

/// What the grpc check reads from outside: a `.proto` file (the first byte even) or a server's bytes (odd): a gRPC
/// answer body, each message as a reflection answer, each descriptor in it, and a health answer; and the same bytes
/// as the first HTTP/2 frames of a plaintext server (its SETTINGS).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    if first % 2 == 0 {
        if case .success(let file) = ProtoFile.parse(String(decoding: bytes.dropFirst(), as: UTF8.self)) {
            _ = ProtoWire.services(inDescriptor: ProtoWire.descriptor(file))
        }
        return 0
    }
    let rest = Array(bytes.dropFirst())
    _ = HTTP2Settings.parse(rest)
    for m in ProtoWire.unframe(rest) ?? [rest] {
        _ = ProtoWire.healthStatus(m)
        if case .files(let files)? = ProtoWire.reflectionAnswer(m) {
            for f in files { _ = ProtoWire.services(inDescriptor: f) }
        }
        _ = ProtoWire.services(inDescriptor: m)
    }
    return 0
}
