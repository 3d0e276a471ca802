import Foundation
import PreflightCore
import Testing
@testable import PreflightExplain

/// gRPC calls in a finished run (issue 33): grpc-unimplemented.out.{json,csv} are real k6 1.1.0 outputs of a script
/// that invokes events.Events/SendEvent (a grpcio server without it: status 12) and events.Events/Send (OK), 20
/// iterations, one check on each answer, `checks: ['rate>0.99']`.
struct GRPCExplainTests {
    @Test(arguments: ["grpc-unimplemented.out.json", "grpc-unimplemented.out.csv"])
    func unimplementedCallsAreNamedWithTheirMethodAndStatus(file: String) throws {
        let e = try Fixture.explain(file)
        #expect(e.verdict == .fail)
        let d = try #require(e.diagnosis.first { $0.signature == .grpcErrors })
        #expect(d.share == 0.5)
        #expect(d.summary.hasPrefix("20 of 40 gRPC calls (50%) failed: 20 events.Events/SendEvent answered status 12 Unimplemented"), "\(d.summary)")
        #expect(d.summary.contains("not in http_req_failed"))
        #expect(d.fix.contains("deploy the server version that implements events.Events/SendEvent"))
        #expect(e.source.contains("40 gRPC calls, 20 failed"))
        // No HTTP request was sent: nothing else is invented.
        #expect(!e.diagnosis.contains { $0.signature == .uncheckedFailures || $0.signature == .connectionRefused })
    }

    @Test func aRunWithoutGRPCHasNoGRPCSignature() throws {
        let e = try Fixture.explain("cursor.out.json")
        #expect(!e.diagnosis.contains { $0.signature == .grpcErrors })
        #expect(!e.source.contains("gRPC"))
    }

    /// exec's watcher saw the gRPC server's health go from SERVING to refused: the gRPC signature says when.
    @Test func theWatchersGRPCHealthTellsWhenTheServerStopped() throws {
        var e = try Fixture.explain("grpc-unimplemented.out.json")
        let start = try #require(e.facts?.startUnix)
        let samples = (0..<4).map { i -> WatchSample in
            var s = WatchSample(t: Double(i), unix: start + Double(i))
            s.grpc = i < 2 ? GRPCHealthSample(state: "SERVING", ms: 1) : GRPCHealthSample(ms: 0.2, error: "Failed to connect: Connection refused")
            return s
        }
        e.attach(WatchSamples(header: WatchHeader(intervalS: 1, target: nil, healthUrl: nil, database: nil, startedUnix: start), samples: samples))
        let d = try #require(e.diagnosis.first { $0.signature == .grpcErrors })
        #expect(d.summary.hasSuffix("at 2.00 s the gRPC server's health went from SERVING to no answer (Failed to connect: Connection refused)"), "\(d.summary)")
    }
}
