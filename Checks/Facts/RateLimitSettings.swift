import Foundation
import PreflightCore
import PreflightProbes

/// `rate_limit:` in preflight.yml: the request the load test sends most, and how hard to send it (the traffic's
/// section: the rate-limit check judges what the limiter answers, the pool-traffic check may ramp this request).
public struct RateLimitSettings: ConfigSection {
    public static let key = "rate_limit"
    public static let keys = ["request", "body", "headers", "burst", "concurrency"]
    public static let burstCap = 5_000
    public static let concurrencyCap = 100
    /// False when the config has no `rate_limit` section: the check then reads the health response only.
    public var isConfigured = false
    public var method = "GET"
    /// Path under the target (or an absolute http(s) URL).
    public var path = "/"
    public var body: String?
    public var headers: [String: String] = [:]
    public var burst = 250
    public var concurrency = 25

    public init() {}
    public init(reading r: SectionReader) {
        guard r.isPresent else { return }
        isConfigured = true
        if let request = r.string("request") {
            let parts = request.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].allSatisfy({ $0.isASCII && $0.isLetter }),
               parts[1].hasPrefix("/") || parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://") {
                method = parts[0].uppercased()
                path = String(parts[1])
            } else {
                r.problem("request", "expected a method and a path under the target, like \"POST /chat/messages\", found \"\(request)\"")
            }
        } else {
            r.problem(nil, "rate_limit needs request, e.g. request: \"POST /chat/conversations/ID/messages\"")
        }
        body = r.string("body")
        let h = r.child("headers")
        if case .mapping(let pairs, _)? = h.node {
            for p in pairs { if let v = h.string(p.key) { headers[p.key] = v } }
        } else {
            h.allowKeys([])
        }
        burst = r.int("burst", in: 1...Self.burstCap) ?? burst
        concurrency = r.int("concurrency", in: 1...Self.concurrencyCap) ?? concurrency
    }
}

/// The secrets in `rate_limit:`: credential headers, what the body carries, and the credentials of an absolute request URL.
extension RateLimitSettings {
    public var secrets: [String] {
        Secrets.inURL(path) + Secrets.inHeaders(headers) + (body.map(Secrets.inText) ?? [])
    }
}

extension RateLimitSettings {
    public static let schemaDescription = "A burst that shows whether the rate limiter lets the test through (sends real requests)"
    public static let schema: ValueSchema = .object([
        SchemaKey("request", "Method and path under target, e.g. \"POST /chat/messages\"", .string),
        SchemaKey("body", "The request body", .scalar),
        SchemaKey("headers", "Request headers", .stringMap),
        SchemaKey("burst", "Requests in the burst (default 250)", .integer(1...burstCap)),
        SchemaKey("concurrency", "Requests in flight at once (default 25)", .integer(1...concurrencyCap)),
    ], required: ["request"])
}
