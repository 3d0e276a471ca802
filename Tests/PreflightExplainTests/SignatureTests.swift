import Testing
@testable import PreflightExplain

/// Each signature from a genuine k6 1.1.0 run against a loopback server.
@Suite struct SignatureTests {
    @Test func connectionRefusedFromOutJSON() throws {
        let e = try Fixture.explain("refused.out.json")
        #expect(e.verdict == .fail)
        #expect(e.exitCode == 1)
        #expect(e.signatures.first == .connectionRefused)
        let d = try #require(e.first(.connectionRefused))
        #expect(d.share == 1)
        #expect(d.summary.hasPrefix("30 of 30 requests (100%) were refused: nothing listened on 127.0.0.1:"))
        #expect(d.evidence["error_code_1212"] == .int(30))
        #expect(d.fix.contains("port check"))
    }

    @Test(arguments: ["refused.summary-export.json", "refused.handle-summary.json"])
    func connectionRefusedInferredFromSummaries(file: String) throws {
        let e = try Fixture.explain(file)
        let d = try #require(e.first(.connectionRefused))
        #expect(d.share == 1)
        #expect(d.summary.contains("inferred connection refused"))
        #expect(e.first(.uncheckedFailures) == nil)  // the check covered every failure
    }

    @Test func requestTimeoutAndDroppedIterations() throws {
        let e = try Fixture.explain("slow.out.json")
        #expect(e.signatures == [.requestTimeout, .droppedIterations, .thresholds])
        let d = try #require(e.first(.requestTimeout))
        #expect(d.share == 1)
        #expect(d.evidence["error_code_1050"] == .int(11))
        #expect(d.fix.contains("health check"))
        let dropped = try #require(e.first(.droppedIterations))
        #expect(dropped.evidence["dropped_iterations"] == .int(20))
    }

    @Test(arguments: ["slow.summary-export.json", "slow.handle-summary.json"])
    func droppedIterationsFromSummaries(file: String) throws {
        let d = try #require(try Fixture.explain(file).first(.droppedIterations))
        #expect(d.summary.hasPrefix("20 of 31 scheduled iterations"))
    }

    @Test func rateLimited() throws {
        let e = try Fixture.explain("ratelimit.out.json.gz")
        let d = try #require(e.first(.rateLimited))
        #expect(e.signatures.first == .rateLimited)
        #expect(d.share == 1)
        #expect(d.summary.hasPrefix("25 of 30 requests (83.3%) were rate limited (429)"))
        #expect(d.fix.contains("rate-limit check"))
    }

    @Test func serverErrorsOnOneEndpointAndUncheckedFailures() throws {
        let e = try Fixture.explain("servererror.out.json")
        #expect(e.signatures == [.serverErrors, .uncheckedFailures, .thresholds])
        let d = try #require(e.first(.serverErrors))
        #expect(d.summary == "20 of 40 requests (50%) got 5xx, 20 on orders (100% of its requests)")
        #expect(d.evidence["endpoint orders"] == .string("20 of 20 (100%)"))
        #expect(d.fix.contains("health check"))
        let u = try #require(e.first(.uncheckedFailures))
        #expect(u.summary == "20 of 20 failed requests were not covered by any check")
    }

    @Test(arguments: ["servererror.summary-export.json", "servererror.handle-summary.json"])
    func uncheckedFailuresFromSummaries(file: String) throws {
        let u = try #require(try Fixture.explain(file).first(.uncheckedFailures))
        #expect(u.share == 1)
        #expect(u.evidence["failed_checks"] == .int(0))
    }

    @Test func clientErrorsConcentratedOnOneEndpoint() throws {
        let e = try Fixture.explain("cursor.out.json")
        let d = try #require(e.first(.clientErrors))
        #expect(d.summary == "15 of 60 requests (25%) got 4xx, 15 on feed (50% of its requests)")
        #expect(d.fix == "4xx concentrated on feed: suspect the script's parameters, run `preflight` with the script check")
        #expect(e.first(.uncheckedFailures) == nil)
    }

    @Test func connectionReset() throws {
        let e = try Fixture.explain("reset.out.json")
        let d = try #require(e.first(.connectionReset))
        #expect(e.signatures.first == .connectionReset)
        #expect(d.share == 1)
        #expect(d.evidence["error"] == .string("read: connection reset by peer"))
    }

    @Test func tls() throws {
        let e = try Fixture.explain("tls.out.json")
        let d = try #require(e.first(.tls))
        #expect(d.share == 1)
        #expect(d.evidence["error_code_1301"] == .int(20))
    }

    @Test func thresholdsCrossedByHowMuch() throws {
        let d = try #require(try Fixture.explain("slow.summary-export.json").first(.thresholds))
        // the server sleeps 2 s and the script times out at 500 ms: p(95) is just over 500
        #expect(d.summary.contains("http_req_duration p(95)<250 crossed: p(95) was 50"))
        #expect(d.summary.contains(", 2.00") || d.summary.contains(", 2.01"))
        #expect(d.summary.contains("http_req_failed rate<0.01 crossed: rate was 1 (100%), 100x the limit"))
    }

    @Test(arguments: ["pass.summary-export.json", "pass.handle-summary.json", "pass.out.json"])
    func passingRun(file: String) throws {
        let e = try Fixture.explain(file)
        #expect(e.verdict == .pass)
        #expect(e.diagnosis.isEmpty)
        #expect(e.exitCode == 0)
    }
}
