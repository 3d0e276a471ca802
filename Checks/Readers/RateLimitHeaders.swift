import Foundation
import PreflightProbes

/// What a response's rate-limit headers say, whichever of the three generations the server speaks.
/// Parsing never fails: unreadable values are left nil.
public struct RateLimitHeaders: Sendable, Equatable {
    public enum Generation: String, Sendable {
        case legacy = "X-RateLimit-*"
        case draft6 = "RateLimit-* (IETF draft 6)"
        case draft7 = "RateLimit (IETF draft 7)"
        case draft8 = "RateLimit (IETF draft 8)"
    }

    public var generation: Generation?
    public var limit: Int?
    public var remaining: Int?
    /// Seconds until the window resets.
    public var resetSeconds: Double?
    /// The window's length in seconds, when a policy says it.
    public var windowSeconds: Int?
    public var policyName: String?
    public var retryAfterSeconds: Double?

    public init() {}

    /// No rate-limit header (Retry-After alone counts as one).
    public var isEmpty: Bool { generation == nil && retryAfterSeconds == nil && limit == nil && windowSeconds == nil }

    /// "20 per 60 s", "limit 20 (window unknown)"; nil when no limit is known.
    public var policyText: String? {
        guard let limit else { return nil }
        if let w = windowSeconds { return "\(limit) per \(Self.seconds(Double(w)))" }
        return "limit \(limit)"
    }

    static func seconds(_ s: Double) -> String {
        if s >= 3600, s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600)) h" }
        if s >= 60, s.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(s / 60)) min" }
        return s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }

    /// Reads every generation present; a newer generation's value wins over an older one's.
    /// A limiter's answer: 429, or a 503 that a limiter marked (rate-limit headers, Retry-After) or that nginx sent
    /// (`limit_req` answers 503 by default, with no header at all). The one rule of the rate-limit check and the traffic.
    public static func isLimiterAnswer(_ status: Int, _ headers: [(name: String, value: String)]) -> Bool {
        if status == 429 { return true }
        guard status == 503 else { return false }
        if !parse(headers).isEmpty { return true }
        let server = headers.last { $0.name.caseInsensitiveCompare("Server") == .orderedSame }?.value.lowercased() ?? ""
        return server.hasPrefix("nginx") || server.hasPrefix("openresty")
    }

    public static func parse(_ headers: [(name: String, value: String)], now: Date = Date()) -> RateLimitHeaders {
        var h = RateLimitHeaders()
        func value(_ name: String) -> String? {
            headers.last { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        // Legacy X-RateLimit-*: Reset is a Unix time (GitHub, flask-limiter) or a delta (some proxies).
        if let l = value("X-RateLimit-Limit").flatMap(firstInt) {
            h.generation = .legacy
            h.limit = l
        }
        if let r = value("X-RateLimit-Remaining").flatMap(firstInt) {
            h.generation = .legacy
            h.remaining = r
        }
        if let reset = value("X-RateLimit-Reset").flatMap(number) {
            h.generation = .legacy
            h.resetSeconds = reset > 1_000_000_000 ? max(0, reset - now.timeIntervalSince1970) : reset
        }

        // Draft 6: RateLimit-Limit/Remaining/Reset (delta seconds) + RateLimit-Policy: 100;w=900
        var sawDraft6 = false
        if let l = value("RateLimit-Limit").flatMap(firstInt) { h.limit = l; sawDraft6 = true }
        if let r = value("RateLimit-Remaining").flatMap(firstInt) { h.remaining = r; sawDraft6 = true }
        if let reset = value("RateLimit-Reset").flatMap(number) { h.resetSeconds = reset; sawDraft6 = true }
        if sawDraft6 { h.generation = .draft6 }

        // RateLimit-Policy: draft 6/7 `100;w=900`, draft 8 `"id";q=100;w=900`. The first policy is the one in force.
        if let policy = value("RateLimit-Policy"), let item = structuredList(policy).first {
            if let q = item.params["q"].flatMap(firstInt) {
                h.limit = h.limit ?? q
                if h.generation == nil { h.generation = .draft8 }
            } else if let q = firstInt(item.token) {
                h.limit = h.limit ?? q
            }
            if let w = item.params["w"].flatMap(firstInt) { h.windowSeconds = w }
            if item.isQuoted { h.policyName = item.token }
        }

        // RateLimit: draft 7 `limit=100, remaining=50, reset=5`; draft 8 `"id";r=50;t=30`.
        if let combined = value("RateLimit") {
            let items = structuredList(combined)
            if items.contains(where: { ["limit", "remaining", "reset"].contains($0.key) }) {
                h.generation = .draft7
                for item in items {
                    switch item.key {
                    case "limit": if let v = item.value.flatMap(firstInt) { h.limit = v }
                    case "remaining": if let v = item.value.flatMap(firstInt) { h.remaining = v }
                    case "reset": if let v = item.value.flatMap(number) { h.resetSeconds = v }
                    default: break
                    }
                }
            } else if let item = items.first(where: { $0.params["r"] != nil || $0.params["t"] != nil }) {
                h.generation = .draft8
                if let r = item.params["r"].flatMap(firstInt) { h.remaining = r }
                if let t = item.params["t"].flatMap(number) { h.resetSeconds = t }
                if item.isQuoted, h.policyName == nil { h.policyName = item.token }
            }
        }

        if let ra = value("Retry-After") { h.retryAfterSeconds = retryAfter(ra, now: now) }
        return h
    }

    /// Retry-After: delay-seconds or an HTTP-date (IMF-fixdate, RFC 850, asctime).
    public static func retryAfter(_ text: String, now: Date = Date()) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let n = number(t) { return n }
        // An HTTP-date is short ASCII; Foundation's DateFormatter traps on some other input (a hostile header
        // must not take preflight down), so nothing else reaches it.
        guard t.count <= 64, t.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || " ,:-".unicodeScalars.contains($0)) }) else {
            return nil
        }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            f.dateFormat = format
            if let d = f.date(from: t) { return max(0, d.timeIntervalSince(now)) }
        }
        return nil
    }

    /// A non-negative whole number at the start of the text ("100", "100, 100;w=900" → 100).
    static func firstInt(_ text: String) -> Int? {
        let digits = text.trimmingCharacters(in: .whitespaces).prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        return Int(digits)
    }

    /// A non-negative finite number (seconds may be fractional).
    static func number(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.count <= 20, t.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let v = Double(t), v.isFinite, v >= 0 else { return nil }
        return v
    }

    /// One member of a structured-field list or dictionary: `token;k=v;k=v` or `key=value`.
    struct Item {
        var token: String
        var isQuoted: Bool
        var params: [String: String]
        /// For dictionary members (`limit=100`): the key and its value.
        var key: String { token.lowercased() }
        var value: String?
    }

    /// Splits a structured-field list on commas outside quotes, each member on semicolons outside quotes.
    /// Lenient on purpose: servers get the grammar wrong, and nothing here may crash.
    static func structuredList(_ text: String) -> [Item] {
        split(text.prefix(4096), on: ",").compactMap { member in
            let parts = split(member, on: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let head = parts.first, !head.isEmpty || parts.count > 1 else { return nil }
            var item: Item
            if head.hasPrefix("\"") {
                item = Item(token: unquote(head), isQuoted: true, params: [:])
            } else if let eq = head.firstIndex(of: "=") {
                item = Item(token: head[..<eq].trimmingCharacters(in: .whitespaces), isQuoted: false, params: [:],
                            value: unquote(head[head.index(after: eq)...].trimmingCharacters(in: .whitespaces)))
            } else {
                item = Item(token: head, isQuoted: false, params: [:])
            }
            for p in parts.dropFirst() {
                guard let eq = p.firstIndex(of: "=") else { continue }
                let k = p[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
                item.params[k] = unquote(p[p.index(after: eq)...].trimmingCharacters(in: .whitespaces))
            }
            return item
        }
    }

    static func split<S: StringProtocol>(_ text: S, on separator: Character) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for c in text {
            if escaped { current.append(c); escaped = false; continue }
            if quoted && c == "\\" { escaped = true; current.append(c); continue }
            if c == "\"" { quoted.toggle() }
            if c == separator && !quoted { out.append(current); current = ""; continue }
            current.append(c)
        }
        out.append(current)
        return out
    }

    static func unquote(_ s: String) -> String {
        guard s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") else {
            return s.hasPrefix("\"") ? String(s.dropFirst()) : s
        }
        return String(s.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
    }

    /// The rate-limit headers (`parse` reads no other): every generation's, and Retry-After.
    public static let names = HeaderNames(names: ["retry-after"], prefixes: ["x-ratelimit", "ratelimit"])
    /// What judging an answer reads (`isLimiterAnswer`): the rate-limit headers and Server (nginx's bare 503).
    /// The burst keeps exactly these, so the answers it brings back are judged as a full response would be.
    public static let answerHeaders = names.union(HeaderNames(names: ["server"]))

    /// Whether a header name belongs to rate limiting (shown as evidence).
    public static func isRateLimitHeader(_ name: String) -> Bool { names.contains(name) }
}
