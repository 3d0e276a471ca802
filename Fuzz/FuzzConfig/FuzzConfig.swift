import PreflightChecks
import PreflightCore

/// The YAML config loader (Yams + every check's section reader) on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let env = ["DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db", "API_URL": "http://127.0.0.1:8080", "EMPTY": ""]
    _ = try? ConfigLoader(sections: AllChecks.sections).load(yaml: yaml, file: "fuzz.yml", environment: env)
    return 0
}
