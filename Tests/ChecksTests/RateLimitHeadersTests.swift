import Foundation
import Testing
import TestSupport
@testable import PreflightChecks

@Suite struct RateLimitHeadersGrammar {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    func parse(_ pairs: [(String, String)]) -> RateLimitHeaders {
        RateLimitHeaders.parse(pairs.map { (name: $0.0, value: $0.1) }, now: now)
    }

    @Test func legacyWithUnixReset() {
        let h = parse([("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1800000042")])
        #expect(h.generation == .legacy)
        #expect(h.limit == 20 && h.remaining == 0)
        #expect(h.resetSeconds == 42)
        #expect(h.policyText == "limit 20")
    }

    @Test func legacyWithDeltaResetAndLowercaseNames() {
        let h = parse([("x-ratelimit-limit", "600"), ("x-ratelimit-remaining", "599"), ("x-ratelimit-reset", "60")])
        #expect(h.limit == 600 && h.remaining == 599 && h.resetSeconds == 60)
    }

    @Test func draft6WithPolicy() {
        let h = parse([("RateLimit-Limit", "100"), ("RateLimit-Remaining", "99"), ("RateLimit-Reset", "898"),
                       ("RateLimit-Policy", "100;w=900")])
        #expect(h.generation == .draft6)
        #expect(h.limit == 100 && h.remaining == 99 && h.resetSeconds == 898 && h.windowSeconds == 900)
        #expect(h.policyText == "100 per 15 min")
    }

    @Test func draft6SeveralPolicies() {
        let h = parse([("RateLimit-Limit", "100, 100;w=900, 1000;w=86400"), ("RateLimit-Policy", "100;w=900, 1000;w=86400")])
        #expect(h.limit == 100 && h.windowSeconds == 900)
    }

    @Test func draft7Combined() {
        let h = parse([("RateLimit", "limit=600, remaining=598, reset=57"), ("RateLimit-Policy", "600;w=60")])
        #expect(h.generation == .draft7)
        #expect(h.limit == 600 && h.remaining == 598 && h.resetSeconds == 57 && h.windowSeconds == 60)
        #expect(h.policyText == "600 per 1 min")
    }

    @Test func draft8ExpressRateLimit() {
        let h = parse([("RateLimit-Policy", #""100-in-15min"; q=100; w=900; pk=:ZGVmYXVsdA==:"#),
                       ("RateLimit", #""100-in-15min"; r=97; t=812"#)])
        #expect(h.generation == .draft8)
        #expect(h.limit == 100 && h.remaining == 97 && h.resetSeconds == 812 && h.windowSeconds == 900)
        #expect(h.policyName == "100-in-15min")
    }

    @Test func draft8WithoutSpacesAndTwoPolicies() {
        let h = parse([("RateLimit-Policy", #""burst";q=10;w=1, "day";q=5000;w=86400"#), ("RateLimit", #""burst";r=3;t=1"#)])
        #expect(h.limit == 10 && h.windowSeconds == 1 && h.remaining == 3 && h.policyName == "burst")
    }

    @Test func retryAfterSecondsAndDates() {
        #expect(RateLimitHeaders.retryAfter("120") == 120)
        #expect(RateLimitHeaders.retryAfter("Fri, 15 Jan 2027 08:00:10 GMT", now: Date(timeIntervalSince1970: 1_800_000_000)) != nil)
        let d = Date(timeIntervalSince1970: 1_800_000_000)
        let later = "Fri, 15 Jan 2027 08:00:30 GMT"
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        let base = f.date(from: later)!
        #expect(RateLimitHeaders.retryAfter(later, now: base.addingTimeInterval(-30)) == 30)
        #expect(RateLimitHeaders.retryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now: d) == 0)  // in the past
        #expect(RateLimitHeaders.retryAfter("soon") == nil)
        #expect(RateLimitHeaders.retryAfter("-5") == nil)
        let h = parse([("Retry-After", "30")])
        #expect(!h.isEmpty && h.retryAfterSeconds == 30 && h.limit == nil)
    }

    @Test func noHeadersIsEmpty() {
        let h = parse([("Content-Type", "application/json"), ("Server", "nginx")])
        #expect(h.isEmpty && h.generation == nil && h.policyText == nil)
    }

    @Test func malformedValuesAreIgnored() {
        let cases: [[(String, String)]] = [
            [("X-RateLimit-Limit", ""), ("X-RateLimit-Remaining", "-1"), ("X-RateLimit-Reset", "NaN")],
            [("X-RateLimit-Limit", "99999999999999999999999"), ("X-RateLimit-Reset", "1e400")],
            [("RateLimit", "limit=, remaining==3, reset=\"")],
            [("RateLimit", "\"unterminated;r=5;t=")],
            [("RateLimit-Policy", ";;;,,,\"\"\";q=;w=x")],
            [("RateLimit-Policy", "=")],
            [("RateLimit", "\"a\\")],
            [("Retry-After", "Mon, 99 Foo 2026 99:99:99 GMT")],
            [("RateLimit-Limit", "\u{0}\u{7f}ÿ")],
        ]
        for c in cases {
            let h = parse(c)
            #expect(h.limit == nil || h.limit! >= 0)
            #expect(h.remaining == nil || h.remaining! >= 0)
            #expect(h.resetSeconds.map { $0.isFinite && $0 >= 0 } ?? true)
        }
        #expect(parse([("RateLimit", "\"unterminated;r=5;t=")]).remaining == nil)
    }

    /// Random bytes and fragments of the grammar: the parser must return, never trap.
    /// Found by the randomized test (then pinned down by brute force): Foundation's DateFormatter traps on
    /// this Retry-After value ("Incorrect range CFRange"), which a hostile server could send.
    @Test func nonASCIIRetryAfterIsNotADateAndNotACrash() {
        let hex = "54cc8f86d23a6e8bdc46d1d7066f87b7391b33706f35998002"
        let bytes = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
            UInt8(hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 2)], radix: 16)!
        }
        #expect(RateLimitHeaders.retryAfter(String(decoding: bytes, as: UTF8.self)) == nil)
        #expect(RateLimitHeaders.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: Date(timeIntervalSince1970: 1_445_412_000)) == 480)
    }

    @Test func randomizedInputNeverCrashes() {
        var rng = SeededRandom(state: 5150)
        let names = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Limit", "RateLimit-Remaining",
                     "RateLimit-Reset", "RateLimit-Policy", "RateLimit", "Retry-After"]
        let pieces = ["\"", ";", ",", "=", "q", "w", "r", "t", "limit", "remaining", "reset", " ", "\\", "-", "1", "99999999999999999999",
                      "0", ".", "e", "GMT", "Mon, ", "\u{0}", "ÿ", "🙂", "\t"]
        for _ in 0..<3000 {
            var headers: [(name: String, value: String)] = []
            for _ in 0..<Int.random(in: 1...5, using: &rng) {
                var v = ""
                if Bool.random(using: &rng) {
                    for _ in 0..<Int.random(in: 0...20, using: &rng) { v += pieces.randomElement(using: &rng)! }
                } else {
                    let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    v = String(decoding: bytes, as: UTF8.self)
                }
                headers.append((names.randomElement(using: &rng)!, v))
            }
            let h = RateLimitHeaders.parse(headers)
            _ = h.policyText
            #expect(h.limit.map { $0 >= 0 } ?? true)
            #expect(h.resetSeconds.map { $0.isFinite && $0 >= 0 } ?? true)
            #expect(h.retryAfterSeconds.map { $0.isFinite && $0 >= 0 } ?? true)
        }
    }
}
