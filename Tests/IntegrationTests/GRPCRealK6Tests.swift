import Foundation
import Testing
import TestSupport

/// Real k6 (`k6/net/grpc`) against a real grpcio server (Tests/Fixtures/grpc-fixture.py): the ground truth the gRPC
/// check predicts (issue 33). The texts asserted here are recorded in docs/grpc-k6-behaviour.md.
@Suite(.serialized, .tags(.live), .runsLive)
struct GRPCRealK6Tests {
    static let scripts = packageRoot.appendingPathComponent("Tests/Fixtures/k6-scripts/grpc")

    /// `k6 run -q` of one script from Tests/Fixtures/k6-scripts/grpc, from a foreign working directory (k6 resolves
    /// the proto's import paths from the script's folder, not from the working directory).
    func k6(_ script: String, _ env: [String: String], out json: URL? = nil) async throws -> ProcessOutput {
        let k6 = try #require(k6OnPath)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(env) { $1 }
        let cwd = try temporaryDirectory("pf-grpc-k6")
        defer { try? FileManager.default.removeItem(at: cwd) }
        let path = Self.scripts.appendingPathComponent(script).path
        return try await run(k6, ["run", "--no-usage-report", "--no-color", "-q"] + (json.map { ["--out", "json=\($0.path)"] } ?? []) + [path],
                             environment: environment, currentDirectory: cwd, limit: 60)
    }

    /// `"metric|tag=value"` → number of points in a k6 `--out json` file, for the tags asked.
    func points(_ file: URL, _ metric: String, tag: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], o["type"] as? String == "Point",
                  o["metric"] as? String == metric, let data = o["data"] as? [String: Any],
                  let tags = data["tags"] as? [String: Any] else { continue }
            counts["\(tags[tag] ?? "-")", default: 0] += 1
        }
        return counts
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func healthyScriptPassesAndEveryCallReachesTheServer() async throws {
        let server = try await GRPCFixture.start(tally: true)
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-grpc-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("run.json")
        let out = try await k6("healthy.js", ["GRPC_ADDR": server.address], out: json)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("5 out of 5"), "\(out.stdout)")
        #expect(try server.tally().calls == ["events.Events/Send": 5])
        // One grpc_req_duration point per call, tagged with the numeric status as a string and the full method name.
        #expect(try points(json, "grpc_req_duration", tag: "status") == ["0": 5])
        #expect(try points(json, "grpc_req_duration", tag: "name") == ["/events.Events/Send": 5])
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func reflectionDescribesTheServiceThroughV1() async throws {
        let server = try await GRPCFixture.start(tally: true)
        defer { server.stop() }
        let out = try await k6("reflect.js", ["GRPC_ADDR": server.address])
        #expect(out.status == 0, "\(out.stderr)")
        let tally = try server.tally()
        #expect(tally.calls == ["events.Events/Send": 5])
        #expect(tally.other["grpc.reflection.v1.ServerReflection/ServerReflectionInfo", default: 0] > 0, "\(tally)")
        #expect(tally.other["grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"] == nil, "\(tally)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func methodTheServerLacksIsUnimplementedAndCrossesTheChecksThreshold() async throws {
        let server = try await GRPCFixture.start(["--without", "Events/SendEvent"], tally: true)
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-grpc-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("run.json")
        let out = try await k6("healthy.js", ["GRPC_ADDR": server.address, "GRPC_METHOD": "events.Events/SendEvent"], out: json)
        #expect(out.status == 99, "\(out.stderr)")
        #expect(out.stderr.contains("thresholds on metrics 'checks' have been crossed"), "\(out.stderr)")
        #expect(out.stdout.contains("0 out of 5"), "\(out.stdout)")
        // The call is made and answered: no exception, status 12 (grpc.StatusUnimplemented) on every point.
        #expect(try points(json, "grpc_req_duration", tag: "status") == ["12": 5])
        #expect(try points(json, "checks", tag: "check") == ["status is OK": 5])
        let tally = try server.tally()
        #expect(tally.calls.isEmpty && tally.unimplemented == ["events.Events/SendEvent": 5], "\(tally)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func methodTheServerLacksAsSeenThroughReflectionIsAScriptErrorNotAStatus() async throws {
        let server = try await GRPCFixture.start(["--without", "Events/SendEvent"], tally: true)
        defer { server.stop() }
        let out = try await k6("reflect.js", ["GRPC_ADDR": server.address, "GRPC_METHOD": "events.Events/SendEvent"])
        // invoke throws before any request: no check runs, the threshold sees no sample and passes.
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains(#"GoError: method \"/events.Events/SendEvent\" not found in file descriptors"#), "\(out.stderr)")
        #expect(out.stdout.contains("0 out of 0"), "\(out.stdout)")
        #expect(try server.tally().unimplemented.isEmpty)
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing))
    func serverDownFailsConnectAndTheRunStillPasses() async throws {
        let port = closedLoopbackPort()
        let out = try await k6("healthy.js", ["GRPC_ADDR": "127.0.0.1:\(port)"])
        // connect throws, every later iteration's invoke throws, no check ever runs: exit 0 with 0 of 0 checks.
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains(#"GoError: connection error: desc = \"transport: error while dialing: dial tcp 127.0.0.1:\#(port): connect: connection refused\""#),
                "\(out.stderr)")
        #expect(out.stderr.contains("GoError: no gRPC connection, you must call connect first"), "\(out.stderr)")
        #expect(out.stdout.contains("0 out of 0"), "\(out.stdout)")
        #expect(out.stdout.contains("✓ 'rate>0.99'"), "\(out.stdout)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func reflectAgainstAServerWithoutReflectionCannotListServices() async throws {
        let server = try await GRPCFixture.start(["--no-reflection"], tally: true)
        defer { server.stop() }
        let out = try await k6("reflect.js", ["GRPC_ADDR": server.address])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("GoError: can't list services: rpc error: code = Unimplemented desc = Method not found!"), "\(out.stderr)")
        #expect(out.stderr.contains(#"GoError: method \"/events.Events/Send\" not found in file descriptors"#), "\(out.stderr)")
        let tally = try server.tally()
        #expect(tally.calls.isEmpty, "\(tally)")
        #expect(tally.unimplemented["grpc.reflection.v1.ServerReflection/ServerReflectionInfo", default: 0] >= 1, "\(tally)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing))
    func protoNotFoundIsAnInitErrorWithExit107() async throws {
        let out = try await k6("missing-proto.js", ["GRPC_ADDR": "127.0.0.1:\(closedLoopbackPort())"])
        #expect(out.status == 107, "\(out.stderr)")
        let proto = Self.scripts.appendingPathComponent("../../grpc/does-not-exist.proto").standardized.path
        #expect(out.stderr.contains("GoError: ../../grpc/does-not-exist.proto: stat \(proto): no such file or directory"), "\(out.stderr)")
        #expect(out.stderr.contains(#"hint="script exception""#), "\(out.stderr)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func healthNotServingDoesNotChangeTheRun() async throws {
        let server = try await GRPCFixture.start(["--health", "NOT_SERVING"], tally: true)
        defer { server.stop() }
        let out = try await k6("healthy.js", ["GRPC_ADDR": server.address])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try server.tally().calls == ["events.Events/Send": 5])
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func plaintextAgainstTLSAndTLSAgainstPlaintext() async throws {
        let certs = try temporaryDirectory("pf-grpc-certs")
        defer { try? FileManager.default.removeItem(at: certs) }
        let made = try await run("/bin/bash", [packageRoot.appendingPathComponent("Tests/Fixtures/tls-certs.sh").path, certs.path], limit: 120)
        try #require(made.status == 0, "\(made.stderr)")
        let tls = try await GRPCFixture.start(["--tls", certs.appendingPathComponent("good.pem").path, certs.appendingPathComponent("good.key").path],
                                              tally: true)
        defer { tls.stop() }
        let plain = try await GRPCFixture.start(tally: true)
        defer { plain.stop() }
        let timeout = #""timeout": "1s""#

        let plaintextToTLS = try await k6("connect.js", ["GRPC_ADDR": tls.address, "GRPC_CONNECT": #"{"plaintext": true, \#(timeout)}"#])
        #expect(plaintextToTLS.status == 0, "\(plaintextToTLS.stderr)")
        #expect(plaintextToTLS.stderr.contains(#"GoError: context deadline exceeded: connection error: desc = \"error reading server preface: EOF\""#),
                "\(plaintextToTLS.stderr)")

        let tlsToPlaintext = try await k6("connect.js", ["GRPC_ADDR": plain.address, "GRPC_CONNECT": #"{"plaintext": false, \#(timeout)}"#])
        #expect(tlsToPlaintext.status == 0, "\(tlsToPlaintext.stderr)")
        #expect(tlsToPlaintext.stderr.contains(
            #"GoError: context deadline exceeded: connection error: desc = \"transport: authentication handshake failed: tls: first record does not look like a TLS handshake\""#),
                "\(tlsToPlaintext.stderr)")

        let unknownCA = try await k6("connect.js", ["GRPC_ADDR": tls.address, "GRPC_CONNECT": #"{"plaintext": false, \#(timeout)}"#])
        #expect(unknownCA.stderr.contains("tls: failed to verify certificate: x509: certificate signed by unknown authority"), "\(unknownCA.stderr)")

        let skipVerify = try await k6("connect.js", ["GRPC_ADDR": tls.address, "GRPC_CONNECT": #"{"plaintext": false, \#(timeout)}"#,
                                                     "K6_INSECURE_SKIP_TLS_VERIFY": "true"])
        #expect(skipVerify.status == 0 && skipVerify.stdout.contains("1 out of 1"), "\(skipVerify.stderr)")

        // With the CA handed to connect (tls.cacerts), the call goes through.
        let ca = try String(contentsOf: certs.appendingPathComponent("ca.pem"), encoding: .utf8)
        let caJSON = String(decoding: try JSONSerialization.data(withJSONObject: [ca]), as: UTF8.self)
        let trusted = try await k6("connect.js", ["GRPC_ADDR": tls.address,
                                                  "GRPC_CONNECT": #"{"plaintext": false, \#(timeout), "tls": {"cacerts": \#(caJSON)}}"#])
        #expect(trusted.status == 0, "\(trusted.stderr)")
        #expect(try tls.tally().calls == ["events.Events/Send": 2])
        #expect(try plain.tally().calls.isEmpty)
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func reflectionFallsBackToV1alphaOnAStockGrpcioServer() async throws {
        let server = try await GRPCFixture.start(["--reflection-only", "v1alpha"], tally: true)
        defer { server.stop() }
        let out = try await k6("reflect.js", ["GRPC_ADDR": server.address])
        #expect(out.status == 0, "\(out.stderr)")
        let tally = try server.tally()
        #expect(tally.calls == ["events.Events/Send": 5])
        // k6 asks v1 first, gets UNIMPLEMENTED, and describes the service through v1alpha.
        #expect(tally.unimplemented["grpc.reflection.v1.ServerReflection/ServerReflectionInfo", default: 0] >= 1, "\(tally)")
        #expect(tally.other["grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", default: 0] >= 1, "\(tally)")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func maxConcurrentStreamsBoundsOneVUsCallsInFlight() async throws {
        // After one call, 8 asyncInvoke calls at once on one connection, each held 200 ms by the server: the server
        // sees all 8 at once unless it advertises max_concurrent_streams 2, then never more than 2 (the rest wait in
        // k6). Without the first call the burst can beat the server's SETTINGS frame (docs/grpc-k6-behaviour.md).
        let open = try await GRPCFixture.start(["--delay-ms", "200"], tally: true)
        defer { open.stop() }
        let limited = try await GRPCFixture.start(["--delay-ms", "200", "--max-streams", "2"], tally: true)
        defer { limited.stop() }
        let free = try await k6("concurrent.js", ["GRPC_ADDR": open.address, "GRPC_CALLS": "8"])
        #expect(free.status == 0, "\(free.stderr)")
        #expect(free.stdout.contains("9 out of 9"), "\(free.stdout)")
        let freeTally = try open.tally()
        #expect(freeTally.calls == ["events.Events/Send": 9])
        // All 8 at once (a loaded machine may dispatch them a little apart: more than the limited server's 2 proves it).
        #expect(freeTally.peakInFlight > 2, "\(freeTally)")

        let out = try await k6("concurrent.js", ["GRPC_ADDR": limited.address, "GRPC_CALLS": "8"])
        let tally = try limited.tally()
        #expect(tally.peakInFlight <= 2, "\(tally)")
        // Every call was answered, except those the server refused before grpc-go had its SETTINGS (REFUSED_STREAM,
        // status 14: the race docs/grpc-k6-behaviour.md describes, which a loaded machine makes likelier).
        let answered = tally.calls["events.Events/Send", default: 0]
        #expect(answered == 9 || out.stderr.contains("REFUSED_STREAM"), "\(tally) \(out.stderr.suffix(1500))")
        if answered == 9 { #expect(out.status == 0 && out.stdout.contains("9 out of 9"), "\(out.stdout)") }
    }

    /// An inline script (in a temporary folder) that loads events.proto through an absolute import path.
    func k6Inline(_ body: String, _ env: [String: String], run: String = "iterations: 1", load: String? = nil,
                  out json: URL? = nil) async throws -> ProcessOutput {
        let k6 = try #require(k6OnPath)
        let dir = try temporaryDirectory("pf-grpc-inline")
        defer { try? FileManager.default.removeItem(at: dir) }
        let protoDir = packageRoot.appendingPathComponent("Tests/Fixtures/grpc").path
        let quoted = String(decoding: try JSONSerialization.data(withJSONObject: [protoDir]), as: UTF8.self).dropFirst().dropLast()
        let script = """
            import grpc from 'k6/net/grpc';
            import { check } from 'k6';
            const client = new grpc.Client();
            \(load ?? "client.load([\(quoted)], 'events.proto');")
            export const options = { vus: 1, \(run), thresholds: { checks: ['rate>0.99'] } };
            \(body)
            """
        try script.write(to: dir.appendingPathComponent("inline.js"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(env) { $1 }
        return try await TestSupport.run(k6, ["run", "--no-usage-report", "--no-color", "-q"] + (json.map { ["--out", "json=\($0.path)"] } ?? []) + ["inline.js"],
                             environment: environment, currentDirectory: dir, limit: 60)
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func responseStatusIsNotTheNumberZero() async throws {
        let server = try await GRPCFixture.start(tally: true)
        defer { server.stop() }
        // response.status is a wrapped Go value: `=== grpc.StatusOK` holds, `=== 0` never does, so a check written
        // against the literal fails on every successful call.
        let out = try await k6Inline("""
            export default () => {
              client.connect(__ENV.GRPC_ADDR, { plaintext: true, timeout: '2s' });
              const r = client.invoke('events.Events/Send', { id: 'a' });
              console.log(`status typeof=${typeof r.status} ok=${r.status === grpc.StatusOK} zero=${r.status === 0} loose=${r.status == 0}`);
              check(r, { 'status is 0': (x) => x.status === 0 });
            };
            """, ["GRPC_ADDR": server.address])
        #expect(out.status == 99, "\(out.stderr)")
        #expect(out.stderr.contains("status typeof=object ok=true zero=false"), "\(out.stderr)")
        #expect(try server.tally().calls == ["events.Events/Send": 1])
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func invokeTimeoutIsStatus4AndLeavesNoDurationPoint() async throws {
        let server = try await GRPCFixture.start(["--delay-ms", "1500"], tally: true)
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-grpc-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("run.json")
        let out = try await k6Inline("""
            export default () => {
              client.connect(__ENV.GRPC_ADDR, { plaintext: true, timeout: '2s' });
              const r = client.invoke('events.Events/Send', { id: 'a' }, { timeout: '300ms' });
              console.log('invoke ' + JSON.stringify({ status: r.status, error: r.error }));
              check(r, { 'status is OK': (x) => x.status === grpc.StatusOK });
            };
            """, ["GRPC_ADDR": server.address], out: json)
        #expect(out.status == 99, "\(out.stderr)")
        // The error's keys come in Go's map order, which varies. Its message is whichever side's deadline fired
        // first: grpc-go's own ("context deadline exceeded") or grpcio's answer to the propagated deadline ("Deadline
        // Exceeded", seen once in a loaded fresh-root run); the status is 4 either way.
        let logged = out.stderr.split(separator: "\n").first { $0.contains("msg=\"invoke ") }.map(String.init) ?? ""
        #expect(logged.contains(#"invoke {\"status\":4,\"error\":{"#) && logged.contains(#"\"code\":4"#)
                && (logged.contains(#"\"message\":\"context deadline exceeded\""#) || logged.contains(#"\"message\":\"Deadline Exceeded\""#)),
                "\(out.stderr)")
        #expect(try points(json, "grpc_req_duration", tag: "status").isEmpty)
        #expect(try points(json, "checks", tag: "check") == ["status is OK": 1])
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing), .enabled(if: grpcioAvailable, grpcioMissing))
    func serverKilledMidRunTurnsCallsIntoStatus14() async throws {
        let server = try await GRPCFixture.start(tally: true)
        defer { server.stop() }
        let dir = try temporaryDirectory("pf-grpc-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("run.json")
        // 2 s of calls 50 ms apart; the server is SIGKILLed once it has answered 3 of them.
        async let k6run = k6Inline("""
            import { sleep } from 'k6';
            export default () => {
              if (__ITER === 0) client.connect(__ENV.GRPC_ADDR, { plaintext: true, timeout: '2s' });
              const r = client.invoke('events.Events/Send', { id: 'a' });
              if (r.status !== grpc.StatusOK) console.log('failed ' + JSON.stringify({ status: r.status, error: r.error }));
              check(r, { 'status is OK': (x) => x.status === grpc.StatusOK });
              sleep(0.05);
            };
            """, ["GRPC_ADDR": server.address], run: "duration: '2s'", out: json)
        var answered = 0
        for _ in 0..<200 where answered < 3 {
            try await Task.sleep(for: .milliseconds(50))
            answered = try server.tally().calls["events.Events/Send", default: 0]
        }
        try #require(answered >= 3, "the fixture answered \(answered) calls")
        server.kill()
        let out = try await k6run
        #expect(out.status == 99, "\(out.stderr)")
        let statuses = try points(json, "grpc_req_duration", tag: "status")
        // Answered calls, then failed ones: 14 (Unavailable) once the port refuses; the call in flight at the kill may
        // end otherwise (the stream torn down), so only "some non-OK status after OK ones" is required of every run.
        let failed = statuses.filter { $0.key != "0" }.values.reduce(0, +)
        #expect(statuses["0", default: 0] >= 3 && failed >= 1, "\(statuses)")
        #expect(statuses["14", default: 0] >= 1 || out.stderr.contains(#"failed {\"status\":"#), "\(statuses) \(out.stderr.suffix(1500))")
    }

    @Test(.enabled(if: k6OnPath != nil, k6Missing))
    func absoluteProtoWithoutImportPathsIsLookedForUnderTheScriptsFolder() async throws {
        let proto = packageRoot.appendingPathComponent("Tests/Fixtures/grpc/events.proto").path
        let out = try await k6Inline("export default () => {};", [:], load: "client.load([], '\(proto)');")
        #expect(out.status == 107, "\(out.stderr)")
        // k6 joins the script's folder (a temporary one) and the absolute path: the file exists, k6 does not find it.
        #expect(out.stderr.contains("pf-grpc-inline-"), "\(out.stderr)")
        #expect(out.stderr.contains("\(proto): no such file or directory"), "\(out.stderr)")
        #expect(!out.stderr.contains("GoError: stat \(proto):"), "\(out.stderr)")
    }

    @Test(.enabled(if: grpcioAvailable, grpcioMissing))
    func fixtureRefusesAnRPCItsProtoLacks() async throws {
        let error = await #expect(throws: FixtureError.self) { try await GRPCFixture.start(["--without", "Events/Nope"]) }
        #expect(error?.description.contains("--without Events/Nope: no such rpc in") == true, "\(String(describing: error))")
        #expect(error?.description.contains("exit 2") == true, "\(String(describing: error))")
    }
}
