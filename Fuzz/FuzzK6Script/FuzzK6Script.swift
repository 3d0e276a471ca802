import PreflightChecks

/// The JS tokenizer on raw bytes (every token read back), then the k6 script reader (options, requests, values) on the text, as JavaScript and as TypeScript.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Every token read back from the compact form (text, line), last first so that each block is read cold.
    let tokens = JSTokenizer.tokenize(bytes: bytes).tokens
    for k in tokens.indices.reversed() { _ = (tokens[k].text, tokens[k].line) }
    let source = String(decoding: bytes, as: UTF8.self)
    let script = K6Script(source: source, env: ["BASE_URL": "http://127.0.0.1:8080", "VUS": "10"])
    for r in script.requests { _ = r.alternatives.count }
    _ = script.options.peakVUs
    // The JWTs it sends (literals, and __ENV.TOKEN's value), decoded: claims only.
    _ = script.jwts(env: ["TOKEN": source]) { _ in }
    // The same bytes as a .ts script: the type stripper first.
    let ts = K6Script(source: source, env: ["BASE_URL": "http://127.0.0.1:8080"], typescript: true)
    for r in ts.requests { _ = r.alternatives.count }
    _ = ts.options.peakVUs
    return 0
}
