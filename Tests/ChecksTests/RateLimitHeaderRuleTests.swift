import Foundation
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// One rule for the rate-limit headers: `RateLimitHeaders` owns it and hands it to the burst (`keptHeaders`), which
/// kept its own copy before (`RateLimitHeaderNames`: Server besides the rate-limit headers, names untrimmed).
@Suite struct RateLimitHeaderRule {
    typealias Headers = [(name: String, value: String)]

    /// Answers whose judging depends on the headers; each with headers no judge reads.
    static let answers: [(status: Int, headers: Headers)] = [
        (503, [("Server", "nginx/1.22.1"), ("Content-Type", "text/html")]),
        (503, [("server", "openresty"), ("X-Request-Id", "1")]),
        (503, [("Server", "gunicorn"), ("Content-Length", "0")]),
        (503, [("Retry-After", "30"), ("Via", "1.1 proxy")]),
        (503, [("RateLimit-Policy", "10;w=60"), ("Set-Cookie", "a=b")]),
        (503, [("RateLimit", "\"p\";r=0;t=30"), ("Cache-Control", "no-store")]),
        (429, [("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "60"), ("Date", "x")]),
        (200, [("ratelimit-limit", "100"), ("ratelimit-remaining", "99"), ("ratelimit-reset", "5"), ("ETag", "1")]),
        (200, [("RateLimit", "limit=100, remaining=50, reset=5"), ("Server", "nginx")]),
        (200, [("Content-Type", "application/json")]),
    ]

    @Test func theBurstKeepsExactlyWhatJudgingAnAnswerReads() {
        let kept = RateLimitHeaders.answerHeaders
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for a in Self.answers {
            let filtered = a.headers.filter { kept.contains($0.name) }
            #expect(RateLimitHeaders.isLimiterAnswer(a.status, filtered) == RateLimitHeaders.isLimiterAnswer(a.status, a.headers), "\(a)")
            #expect(RateLimitHeaders.parse(filtered, now: now) == RateLimitHeaders.parse(a.headers, now: now), "\(a)")
        }
        // Where the two copies differed: Server is kept for judging (nginx's bare 503), never shown as a rate-limit header.
        #expect(kept.contains("Server") && !RateLimitHeaders.isRateLimitHeader("Server"))
        #expect(RateLimitHeaders.isLimiterAnswer(503, [("Server", "nginx/1.22.1")].filter { kept.contains($0.0) }.map { (name: $0.0, value: $0.1) }))
        #expect(["X-RateLimit-Remaining", "RATELIMIT-POLICY", "RateLimit", "retry-after"].allSatisfy(RateLimitHeaders.isRateLimitHeader))
        #expect(!["Content-Type", "X-Rate-Limit", "Server"].contains(where: RateLimitHeaders.isRateLimitHeader))
    }

    func field(_ line: String, _ names: HeaderNames = RateLimitHeaders.answerHeaders) -> (name: String, value: String)? {
        Array(line.utf8).withUnsafeBytes { names.field($0) }
    }

    @Test func aRawHeaderLineSplitsAsTheClientSplitsIt() {
        // The burst kept "X-RateLimit-Remaining " (a space before the colon) as the name, which parse never found.
        let spaced = field("X-RateLimit-Remaining : 0\r\n")
        #expect(spaced?.name == "X-RateLimit-Remaining" && spaced?.value == "0")
        #expect(CurlHTTPClient.headerPairs(["HTTP/1.1 200 OK", "X-RateLimit-Remaining : 0"]).map(\.name) == ["X-RateLimit-Remaining"])
        #expect(field("server: nginx\r\n")?.value == "nginx")
        #expect(field("Content-Type: text/html\r\n") == nil)
        #expect(field("Set-Cookie: ratelimit=1\r\n") == nil)
        #expect(field(": no name\r\n") == nil)
        // 512 bytes after the colon, the space after it trimmed (as before).
        #expect(field("Retry-After: \(String(repeating: "9", count: 600))\r\n")?.value.count == 511)
        #expect(field("X-RateLimit-Limit: 5\r\n", HeaderNames()) == nil)
    }

    /// A real burst and the real client against one loopback server: the burst brings back the headers the client
    /// sees, filtered by the one rule, and nothing else.
    @Test func aRealBurstKeepsWhatTheClientSeesThroughTheRule() async throws {
        let headers = ["X-RateLimit-Limit: 5", "X-RateLimit-Remaining: 4", "RateLimit-Policy: 5;w=60", "Retry-After: 3",
                       "X-Other: y", "Server: nginx/1.22.1"]
        let s = try await FixtureServer.start("json", ["200", #"{"ok":true}"#] + headers)
        defer { s.stop() }
        var plan = BurstPlan(method: "GET", url: s.url + "/x", count: 3, concurrency: 1, timeLimit: .seconds(10), requestTimeout: .seconds(5))
        plan.keptHeaders = RateLimitHeaders.answerHeaders
        let burst = await CurlHTTPBurst().burst(plan) { _, _ in false }
        let client = await CurlHTTPClient().get(s.url + "/x", timeout: .seconds(5))
        #expect(burst.responses.count == 3)
        let expected = client.headers.filter { RateLimitHeaders.answerHeaders.contains($0.name) }
        #expect(expected.map(\.name) == ["X-RateLimit-Limit", "X-RateLimit-Remaining", "RateLimit-Policy", "Retry-After", "Server"])
        for r in burst.responses {
            #expect(r.headers.map(\.name) == expected.map(\.name))
            #expect(r.headers.map(\.value) == expected.map(\.value))
        }
    }
}
