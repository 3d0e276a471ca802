import Foundation
import PreflightCore
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
