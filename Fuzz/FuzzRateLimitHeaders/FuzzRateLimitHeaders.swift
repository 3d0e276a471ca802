import Foundation
import PreflightChecks

private let now = Date(timeIntervalSince1970: 1_790_000_000)

/// The rate-limit header reader: each input line is `Name: value` (a line without a colon is a value
/// for `RateLimit`); the whole input also goes through Retry-After parsing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var headers: [(name: String, value: String)] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
        if let colon = line.firstIndex(of: ":") {
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        } else {
            headers.append(("RateLimit", String(line)))
        }
    }
    _ = RateLimitHeaders.parse(headers, now: now)
    _ = RateLimitHeaders.retryAfter(text, now: now)
    for h in headers { _ = RateLimitHeaders.isRateLimitHeader(h.name) }
    return 0
}
