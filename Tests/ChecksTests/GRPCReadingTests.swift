import Foundation
import PreflightCore
import PreflightProbes
import Testing
import TestSupport
@testable import PreflightChecks

/// The grpc check's readers: .proto files, the protobuf wire (bytes the real protobuf library wrote), the script's
/// k6/net/grpc use, and what a gRPC effect predicts.
struct GRPCReadingTests {
    @Test func protoServicesWithStreamsCommentsAndOptions() throws {
        let text = """
            // events
            syntax = "proto3";
            package acme.events.v1;
            import "google/protobuf/empty.proto";
            /* a block
               comment */
            service Events {
              option deprecated = false;
              rpc Send(Event) returns (Ack);
              rpc Watch(WatchRequest) returns (stream Event) { option idempotency_level = NO_SIDE_EFFECTS; }
              rpc Upload(stream Event) returns (Ack);
              rpc Chat(stream Event) returns (stream Event);
              rpc Ping(google.protobuf.Empty) returns (.acme.events.v1.Ack);
            }
            message Event { string id = 1; message Inner { string rpc = 1; } }
            """
        let file = try ProtoFile.parse(text).get()
        #expect(file.package == "acme.events.v1")
        #expect(file.imports.map(\.path) == ["google/protobuf/empty.proto"])
        let s = try #require(file.services.first)
        #expect(s.name == "acme.events.v1.Events")
        #expect(s.methods.map(\.name) == ["Send", "Watch", "Upload", "Chat", "Ping"])
        #expect(s.methods.map(\.shape) == ["unary", "server streaming", "client streaming", "bidirectional streaming", "unary"])
        #expect(s.methods[0].input == "acme.events.v1.Event")
        #expect(s.methods[4].input == "google.protobuf.Empty")
        #expect(s.methods[4].output == "acme.events.v1.Ack")
    }

    @Test(arguments: [
        ("service S {\n  rpc A(X) returns (Y);\n", 1, "not closed"),
        ("/* never closed\nservice S {}", 1, "comment is not closed"),
        ("import \"a.proto\nservice S {}", 1, "unterminated string"),
        ("service S {\n  rpc A(X) returns Y;\n}", 2, "returns (Response)"),
        ("}", 1, "without its"),
    ])
    func brokenProtoIsOneErrorWithItsLine(text: String, line: Int, words: String) {
        guard case .failure(let p) = ProtoFile.parse(text) else { Issue.record("\(text) parsed"); return }
        #expect(p.line == line)
        #expect(p.message.contains(words), "\(p.message)")
    }

    /// Bytes the real protobuf library wrote (grpcio-tools' compiled descriptor of an events.proto without
    /// SendEvent, framed as a reflection server answers): the fuzz target's seed, read here as the check reads it.
    @Test func reflectionAnswerFromRealProtobuf() throws {
        let data = try Data(contentsOf: packageRoot.appendingPathComponent("Fuzz/corpus/FuzzGRPC/reflection-answer"))
        let messages = try #require(ProtoWire.unframe(Array(data.dropFirst())))
        #expect(messages.count == 2)
        #expect(ProtoWire.reflectionAnswer(messages[0]) == .services(["events.Events"]))
        guard case .files(let files)? = ProtoWire.reflectionAnswer(messages[1]) else { Issue.record("no files"); return }
        let descriptor = try #require(files.first)
        let services = try #require(ProtoWire.services(inDescriptor: descriptor))
        #expect(services.map(\.name) == ["events.Events"])
        #expect(services[0].methods.map(\.name) == ["Send", "History"])
        #expect(services[0].methods[1] == GRPCMethod(name: "History", input: "events.HistoryRequest", output: "events.Event", serverStreaming: true))
    }

    @Test func descriptorRoundTripsAndHostileBytesAreNil() throws {
        let file = try ProtoFile.parse("package p; service S { rpc A(stream X) returns (Y); }").get()
        #expect(ProtoWire.services(inDescriptor: ProtoWire.descriptor(file)) == file.services)
        #expect(ProtoWire.services(inDescriptor: [0x32, 0xff, 0xff, 0xff, 0xff, 0x0f]) == nil)  // a length past the end
        #expect(ProtoWire.fields([0x08]) == nil)                                                // a varint cut short
        #expect(ProtoWire.fields(Array(repeating: 0xff, count: 20)) == nil)                     // a varint over 64 bits
        #expect(ProtoWire.unframe([1, 0, 0, 0, 1, 0]) == nil)                                    // compressed
        #expect(ProtoWire.unframe([0, 0xff, 0xff, 0xff, 0xff]) == nil)                           // over the cap
        #expect(ProtoWire.healthStatus([8, 2]) == .notServing)
    }

    @Test func scriptGRPCUseWithEnvAndChecks() {
        let source = """
            import grpc from 'k6/net/grpc';
            import { check, sleep } from 'k6';
            import http from 'k6/http';
            const client = new grpc.Client();
            client.load(['../proto', 'vendor'], 'events.proto', "common.proto");
            export default async () => {
              if (__ITER == 0) client.connect(__ENV.GRPC_ADDR || 'localhost:50051', { plaintext: true, timeout: '2s' });
              const r = client.invoke('/events.Events/Send', { id: 1 });
              check(r, { 'ok': (x) => x.status === grpc.StatusOK, 'body': (x) => x.message !== null });
              const a = await client.asyncInvoke('events.Events/SendEvent', {});
              check(a, { ok: (x) => x.status === grpc.StatusOK });
              const h = http.get('http://localhost:3000/');
              check(h, { '200': (x) => x.status === 200 });
              const s = new grpc.Stream(client, 'events.Events/History');
            };
            """
        let use = K6Script(source: source, env: ["GRPC_ADDR": "10.0.0.5:9000"]).grpcUse()
        #expect(use.imported)
        #expect(use.loads.first?.importPaths == ["../proto", "vendor"])
        #expect(use.loads.first?.files == ["events.proto", "common.proto"])
        #expect(use.connects.first?.address == "10.0.0.5:9000")
        #expect(use.connects.first?.envName == "GRPC_ADDR")
        #expect(use.connects.first?.plaintext == true)
        #expect(use.connects.first?.reflect == false)
        #expect(use.invokes.map(\.method) == ["events.Events/History", "events.Events/Send", "events.Events/SendEvent"]
                || use.invokes.map(\.method) == ["events.Events/Send", "events.Events/SendEvent", "events.Events/History"])
        #expect(use.invokes.contains { $0.stream && $0.method == "events.Events/History" })
        #expect(use.allChecks == 3 && use.grpcChecks == 2)
        #expect(use.allConditions == 4 && use.grpcConditions == 3)
        #expect(use.checkShare == 0.75)

        #expect(use.strictStatus.isEmpty)
        let strict = K6Script(source: source.replacingOccurrences(of: "(x) => x.status === grpc.StatusOK, 'body'", with: "(x) => x.status === 0, 'body'")
            .replacingOccurrences(of: "ok: (x) => x.status === grpc.StatusOK", with: "ok: (x) => x.status !== 2")).grpcUse()
        #expect(strict.strictStatus.map(\.line) == [9, 11])
        #expect(strict.strictStatus.map(\.equals) == [true, false])

        let unset = K6Script(source: source).grpcUse()
        #expect(unset.connects.first?.address == "localhost:50051")
        #expect(K6Script(source: "import http from 'k6/http';\nexport default () => http.get('http://x/');").grpcUse().isEmpty)
    }

    /// Which calls can be in flight at once on a VU's connection: an un-awaited asyncInvoke and a stream are; an
    /// invoke and an awaited asyncInvoke are not. Loops: a for/while block, a single-statement for, do, map/forEach/
    /// Array.from callbacks; a call after a loop is not in it.
    @Test func concurrentCallsAndLoops() {
        let source = """
            import grpc from 'k6/net/grpc';
            const client = new grpc.Client();
            export default async () => {
              client.invoke('a.A/Sync', {});
              await client.asyncInvoke('a.A/Awaited', {});
              const one = client.asyncInvoke('a.A/Once', {});
              for (let i = 0; i < Number(__ENV.N || 8); i++) { calls.push(client.asyncInvoke('a.A/ForBlock', {})); }
              for (const x of xs) calls.push(client.asyncInvoke('a.A/ForStatement', {}));
              const after = client.asyncInvoke('a.A/AfterLoop', {});
              while (more()) { const s = new grpc.Stream(client, 'a.A/WhileStream'); }
              do { client.asyncInvoke('a.A/Do', {}); } while (again());
              const all = ids.map((id) => client.asyncInvoke('a.A/Map', { id }));
              Array.from({ length: 4 }, () => client.asyncInvoke('a.A/From', {}));
              if (x) { y(); } client.asyncInvoke('a.A/AfterIf', {});
            };
            """
        let use = K6Script(source: source).grpcUse()
        var by: [String: K6GRPCUse.Invoke] = [:]
        for i in use.invokes { if let m = i.method { by[m] = i } }
        #expect(by["a.A/Sync"]?.concurrent == false)
        #expect(by["a.A/Awaited"]?.concurrent == false)
        #expect(by["a.A/Once"].map { $0.concurrent && !$0.inLoop } == true)
        for looped in ["a.A/ForBlock", "a.A/ForStatement", "a.A/WhileStream", "a.A/Do", "a.A/Map", "a.A/From"] {
            #expect(by[looped].map { $0.concurrent && $0.inLoop } == true, "\(looped): \(String(describing: by[looped]))")
        }
        #expect(by["a.A/AfterLoop"].map { $0.concurrent && !$0.inLoop } == true)
        #expect(by["a.A/AfterIf"].map { $0.concurrent && !$0.inLoop } == true)
    }

    /// A server's first frame, as grpc-go, grpcio and any HTTP/2 server sends it; what is not one is said.
    @Test func http2SettingsFrames() throws {
        // SETTINGS with MAX_CONCURRENT_STREAMS 2 and INITIAL_WINDOW_SIZE 65535.
        let frame: [UInt8] = [0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 4, 0, 0, 0xff, 0xff]
        #expect(HTTP2Settings.parse(Array(frame.prefix(8))) == nil)
        #expect(HTTP2Settings.parse(Array(frame.prefix(15))) == nil)
        let s = try #require(HTTP2Settings.parse(frame + [0, 0, 0, 4, 1, 0, 0, 0, 0])).get()
        #expect(s.maxConcurrentStreams == 2)
        #expect(s.values[0x4] == 65535)
        #expect(try HTTP2Settings.parse([0, 0, 0, 4, 0, 0, 0, 0, 0])?.get().maxConcurrentStreams == nil)
        let http1 = HTTP2Settings.parse(Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
        #expect(throws: HTTP2SettingsError.self) { try http1?.get() }
        #expect(throws: HTTP2SettingsError.self) { try HTTP2Settings.parse([0, 0, 0, 1, 4, 0, 0, 0, 1])?.get() }  // HEADERS first
        #expect(throws: HTTP2SettingsError.self) { try HTTP2Settings.parse([0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5])?.get() }  // not 6 × n
        #expect(throws: HTTP2SettingsError.self) { try HTTP2Settings.parse([0xff, 0xff, 0xfe, 4, 0, 0, 0, 0, 0])?.get() }  // too long
    }

    /// The streams finding: a limit below a VU's calls at once warns (latency, no share); a limit of 0 fails; no
    /// concurrent call, no limit, or a loop against a limit of 100 or more says nothing.
    @Test func streamLimitAgainstTheCallsAtOnce() throws {
        let t = GRPCCheck.Target(address: "127.0.0.1:50051", host: "127.0.0.1", port: 50051, plaintext: true, reflect: false,
                                 tlsObject: false, location: nil, named: "load.js:3")
        func use(_ calls: Int, loop: Bool) -> K6GRPCUse {
            var u = K6GRPCUse()
            u.invokes = (0..<calls).map { K6GRPCUse.Invoke(line: 10 + $0, method: "a.A/M", source: "", concurrent: true, inLoop: loop) }
            return u
        }
        let two = Result<HTTP2Settings, HTTP2SettingsError>.success(HTTP2Settings(values: [0x3: 2]))
        let (warn, word) = GRPCCheck.streams(two, t, use: use(3, loop: false))
        #expect(word == ", at most 2 streams per connection")
        let w = try #require(warn)
        #expect(w.severity == .warn)
        #expect(w.sentence.contains("each VU starts 3 gRPC calls at once (line 10, line 11, line 12): 1 wait for a stream"), "\(w.sentence)")
        #expect(w.effect?.addsLatency == true && w.effect?.grpc == true && w.effect?.share == nil)
        #expect(GRPCCheck.streams(two, t, use: use(2, loop: false)).0 == nil)
        #expect(GRPCCheck.streams(two, t, use: use(1, loop: true)).0?.severity == .warn)
        #expect(GRPCCheck.streams(.success(HTTP2Settings(values: [0x3: 100])), t, use: use(1, loop: true)).0 == nil)
        #expect(GRPCCheck.streams(.success(HTTP2Settings(values: [:])), t, use: use(50, loop: true)) .1 == ", no stream limit")
        #expect(GRPCCheck.streams(.success(HTTP2Settings(values: [0x3: 0])), t, use: K6GRPCUse()).0?.severity == .fail)
        #expect(GRPCCheck.streams(.failure(HTTP2SettingsError("it answers HTTP/1")), t, use: use(9, loop: false)).0 == nil)

        // Slower gRPC calls fail no check and no request: the prediction holds both thresholds, and leaves a
        // grpc_req_duration threshold undecided with the basis, http_req_duration unpredicted.
        let result = CheckResult(id: "grpc", title: "gRPC targets", layer: .service,
                                 outcome: CheckOutcome(.warn, findings: [w]), durationMs: 0)
        let p = Prediction.make(results: [result], thresholds: [
            ScriptThreshold(key: "checks", source: "rate>0.99"), ScriptThreshold(key: "http_req_failed", source: "rate<0.01"),
            ScriptThreshold(key: "grpc_req_duration", source: "p(95)<500"), ScriptThreshold(key: "http_req_duration", source: "p(95)<500")])
        #expect(p.thresholds.first { $0.threshold.metric == "checks" }?.crossed == false)
        #expect(p.thresholds.first { $0.threshold.metric == "http_req_failed" }?.crossed == false)
        let grpcDuration = try #require(p.thresholds.first { $0.threshold.metric == "grpc_req_duration" })
        #expect(grpcDuration.crossed == nil && grpcDuration.from == ["grpc"])
        #expect(p.thresholds.first { $0.threshold.metric == "http_req_duration" }?.from.isEmpty == true)
    }

    @Test func grpcEffectsCountInChecksNotInFailedRequests() throws {
        let effect = Effect(requests: ["grpc events.Events/SendEvent"], share: .exactly(0.5), k6: "gRPC status 12 Unimplemented",
                            basis: "every call answers UNIMPLEMENTED", grpc: true)
        let result = CheckResult(id: "grpc", title: "gRPC targets", layer: .service,
                                 outcome: CheckOutcome(.fail, findings: [Finding(.fail, "events.Events/SendEvent is not served", effect: effect)]),
                                 durationMs: 0)
        let thresholds = [ScriptThreshold(key: "checks", source: "rate>0.99"), ScriptThreshold(key: "http_req_failed", source: "rate<0.01")]
        let p = Prediction.make(results: [result], thresholds: thresholds)
        let checks = try #require(p.thresholds.first { $0.threshold.metric == "checks" })
        #expect(checks.predicted == .exactly(0.5))
        #expect(checks.crossed == true)
        let failed = try #require(p.thresholds.first { $0.threshold.metric == "http_req_failed" })
        #expect(failed.crossed == false)
        #expect(failed.predicted == .exactly(0))
    }
}

/// Paths in preflight.yml are relative to its folder, also when the config was named relatively and the path climbs.
struct ConfigRelativePathTests {
    @Test func aParentPathUnderARelativeConfigKeepsItsLevel() {
        let cwd = FileManager.default.currentDirectoryPath
        let parent = URL(fileURLWithPath: cwd).deletingLastPathComponent().path
        #expect(LoadPlan.resolve("../ca.pem", configFile: "preflight.yml") == parent + "/ca.pem")
        #expect(LoadPlan.resolve("../ca.pem", configFile: "sub/preflight.yml") == cwd + "/ca.pem")
        #expect(LoadPlan.resolve("/etc/ca.pem", configFile: "preflight.yml") == "/etc/ca.pem")
        #expect(LoadPlan.resolve("k6/load.js", configFile: nil) == cwd + "/k6/load.js")
    }
}
