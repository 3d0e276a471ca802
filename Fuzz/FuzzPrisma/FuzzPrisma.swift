import PreflightChecks

/// The Prisma schema parser, then the code scanner against that schema.
/// Input: schema text, optionally followed by a NUL byte and the code to scan (else the same text).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let schemaBytes: UnsafeBufferPointer<UInt8>
    let codeBytes: UnsafeBufferPointer<UInt8>
    if let nul = bytes.firstIndex(of: 0) {
        schemaBytes = UnsafeBufferPointer(rebasing: bytes[..<nul])
        codeBytes = UnsafeBufferPointer(rebasing: bytes[(nul + 1)...])
    } else {
        schemaBytes = bytes
        codeBytes = bytes
    }
    let schema = PrismaSchema.parse(String(decoding: schemaBytes, as: UTF8.self))
    _ = PrismaCodeScanner(schema: schema).scan(String(decoding: codeBytes, as: UTF8.self), file: "fuzz.ts")
    return 0
}
