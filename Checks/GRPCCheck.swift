import Foundation
import PreflightCore
import PreflightProbes

/// `grpc.targets` in preflight.yml: the gRPC servers the script connects to, when their addresses come from
/// somewhere preflight cannot read (or to set the CA and server name a TLS server needs).
public struct GRPCSettings: ConfigSection {
    public static let key = "grpc"
    public static let keys = ["targets"]
    public struct Target: Sendable, Equatable {
        /// host:port
        public var address: String
        /// nil: as the script connects (k6's default is TLS).
        public var plaintext: Bool?
        public var ca: String?
        public var serverName: String?
    }
    public var targets: [Target] = []

    public init() {}
    public init(reading r: SectionReader) {
        targets = r.list("targets") { t in
            t.allowKeys(["address", "plaintext", "ca", "server_name"])
            guard let address = t.string("address"), !address.isEmpty else {
                t.problem(nil, "a gRPC target needs an address, like 127.0.0.1:50051")
                return nil
            }
            guard GRPCCheck.hostPort(address) != nil else {
                t.problem("address", "expected host:port, like 127.0.0.1:50051, found \"\(address)\"")
                return nil
            }
            return Target(address: address, plaintext: t.bool("plaintext"), ca: t.string("ca"), serverName: t.string("server_name"))
        }
    }

    public static let schemaDescription = "gRPC servers the k6 script connects to (k6/net/grpc)"
    public static let schema: ValueSchema = .object([
        SchemaKey("targets", "The gRPC servers, when the script's client.connect addresses are only known at run time", .list(.object([
            SchemaKey("address", "host:port", .string),
            SchemaKey("plaintext", "Connect without TLS (k6's plaintext: true); default: as the script connects", .boolean),
            SchemaKey("ca", "A CA bundle (PEM file) to trust for a TLS server (relative to the config file's folder)", .string),
            SchemaKey("server_name", "The TLS server name, when it is not the address's host", .string),
        ], required: ["address"]))),
    ])
}

/// A script that uses k6/net/grpc, against its gRPC servers (issue 33): the `.proto` files it loads found as k6
/// finds them, each server reachable with the transport the script uses, its health service, its reflection, and
/// every method the script invokes served with the types the script's protos give. Sends no application call:
/// only `grpc.health.v1.Health/Check` and one reflection exchange per server.
public struct GRPCCheck: BuiltInCheck {
    static let eventsProto = """
        syntax = "proto3";
        package events;
        service Events {
          rpc Send(Event) returns (Ack);
          rpc SendEvent(Event) returns (Ack);
          rpc History(HistoryRequest) returns (stream Event);
        }
        message Event { string id = 1; }
        message Ack { bool ok = 1; }
        message HistoryRequest { int32 limit = 1; }
        """
    static func script(_ connect: String, invoke: String = "events.Events/Send", load: Bool = true) -> String {
        """
        import grpc from 'k6/net/grpc';
        import { check } from 'k6';
        const client = new grpc.Client();
        \(load ? "client.load(['proto'], 'events.proto');" : "")
        export const options = { vus: 10, duration: '30s', thresholds: { checks: ['rate>0.99'] } };
        export default () => {
          \(connect)
          const r = client.invoke('\(invoke)', { id: '1' });
          check(r, { 'status OK': (x) => x && x.status === grpc.StatusOK });
          client.close();
        };
        """
    }
    static let files = ["load.js": script("client.connect('127.0.0.1:50051', { plaintext: true });"), "proto/events.proto": eventsProto]

    public static let description = CheckDescription(
        id: "grpc", title: "gRPC targets", layer: .service,
        examples: [
            CheckExample(.pass, given: World(config: "load:\n  script: load.js", files: files, answers: ProbeAnswers {
                $0.tcp["127.0.0.1:50051"] = .connected(latencyMs: 0.2)
                $0.http["POST http://127.0.0.1:50051/grpc.health.v1.Health/Check"] = ProbeAnswers.grpc(messages: [[8, 1]])
                $0.http["POST http://127.0.0.1:50051/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] = ProbeAnswers.grpc(
                    messages: ProbeAnswers.reflection(services: ["events.Events"], proto: eventsProto))
            }), says: "127.0.0.1:50051 serves events.Events/Send (health SERVING, plaintext)"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js", files: ["load.js": script("client.connect('127.0.0.1:50051', { plaintext: true });", invoke: "events.Events/SendEvent"), "proto/events.proto": eventsProto], answers: ProbeAnswers {
                $0.tcp["127.0.0.1:50051"] = .connected(latencyMs: 0.2)
                $0.http["POST http://127.0.0.1:50051/grpc.health.v1.Health/Check"] = ProbeAnswers.grpc(messages: [[8, 1]])
                $0.http["POST http://127.0.0.1:50051/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] = ProbeAnswers.grpc(
                    messages: ProbeAnswers.reflection(services: ["events.Events"], proto: eventsProto.replacingOccurrences(of: "  rpc SendEvent(Event) returns (Ack);\n", with: "")))
            }), says: "events.Events/SendEvent is not served by 127.0.0.1:50051: it has events.Events/History, events.Events/Send"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js", files: ["load.js": script("client.connect('127.0.0.1:50051', { plaintext: true });")], answers: ProbeAnswers {
                $0.tcp["127.0.0.1:50051"] = .connected(latencyMs: 0.2)
            }), says: "client.load cannot find events.proto: k6 looked in proto/events.proto"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js", files: ["load.js": script("client.connect('127.0.0.1:50051', { plaintext: true, reflect: true });", load: false)], answers: ProbeAnswers {
                $0.tcp["127.0.0.1:50051"] = .connected(latencyMs: 0.2)
                $0.http["POST http://127.0.0.1:50051/grpc.health.v1.Health/Check"] = ProbeAnswers.grpc(messages: [[8, 1]])
                $0.http["POST http://127.0.0.1:50051/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] = ProbeAnswers.grpc(status: 12)
                $0.http["POST http://127.0.0.1:50051/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"] = ProbeAnswers.grpc(status: 12)
            }), says: "127.0.0.1:50051 has no reflection service, and load.js:7 connects with reflect: true"),
            CheckExample(.warn, given: World(config: "load:\n  script: load.js", files: files, answers: ProbeAnswers {
                $0.tcp["127.0.0.1:50051"] = .connected(latencyMs: 0.2)
                $0.http["POST http://127.0.0.1:50051/grpc.health.v1.Health/Check"] = ProbeAnswers.grpc(messages: [[8, 2]])
                $0.http["POST http://127.0.0.1:50051/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] = ProbeAnswers.grpc(
                    messages: ProbeAnswers.reflection(services: ["events.Events"], proto: eventsProto))
            }), says: "127.0.0.1:50051's health service answers NOT_SERVING: k6 calls it directly"),
            CheckExample(.warn, given: World(config: "load:\n  script: load.js", files: [
                "load.js": script("client.connect('127.0.0.1:50051', { plaintext: true });").replacingOccurrences(
                    of: "  client.close();", with: "  for (let i = 0; i < 8; i++) client.asyncInvoke('events.Events/Send', { id: `${i}` });\n  client.close();"),
                "proto/events.proto": eventsProto], answers: ProbeAnswers {
                $0.tcp["127.0.0.1:50051"] = .connected(latencyMs: 0.2)
                $0.http2["127.0.0.1:50051"] = HTTP2Settings(values: [0x3: 2])
                $0.http["POST http://127.0.0.1:50051/grpc.health.v1.Health/Check"] = ProbeAnswers.grpc(messages: [[8, 1]])
                $0.http["POST http://127.0.0.1:50051/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] = ProbeAnswers.grpc(
                    messages: ProbeAnswers.reflection(services: ["events.Events"], proto: eventsProto))
            }), says: "127.0.0.1:50051 allows 2 concurrent streams per connection, and the script starts gRPC calls without waiting in a loop (load.js:10)"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js", files: files),
                         says: "nothing accepts connections on 127.0.0.1:50051, where load.js:7 connects"),
            CheckExample(.fail, given: World(config: "load:\n  script: load.js", files: [
                "load.js": script("client.connect('127.0.0.1:50051', { plaintext: true });").replacingOccurrences(of: "x.status === grpc.StatusOK", with: "x.status === 0"),
                "proto/events.proto": eventsProto], answers: ProbeAnswers {
                $0.tcp["127.0.0.1:50051"] = .connected(latencyMs: 0.2)
                $0.http["POST http://127.0.0.1:50051/grpc.health.v1.Health/Check"] = ProbeAnswers.grpc(messages: [[8, 1]])
                $0.http["POST http://127.0.0.1:50051/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] = ProbeAnswers.grpc(
                    messages: ProbeAnswers.reflection(services: ["events.Events"], proto: eventsProto))
            }), says: "load.js:9 checks x.status===0: k6's response.status is an object, so === with a number fails on every call"),
            CheckExample(.warn, given: World(config: "load:\n  script: load.js", files: ["load.js": script("client.connect(servers[__VU % 2], { plaintext: true });"), "proto/events.proto": eventsProto]),
                         says: "load.js:7 connects to servers[__VU%2], known only at run time: its server is not checked"),
            CheckExample(.skipped, given: World(config: "load:\n  script: load.js", files: ["load.js": "import http from 'k6/http';\nexport default () => http.get('http://127.0.0.1:3000/');\n"]),
                         says: "the script does not use k6/net/grpc"),
        ],
        timeoutBudget: 8)

    public static let settings: [any ConfigSection.Type] = [GRPCSettings.self]
    public static let facts: [any Fact.Type] = [LoadPlan.self]

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    /// host:port (IPv6 in brackets) → (host, port); nil when it is not that shape.
    static func hostPort(_ address: String) -> (host: String, port: Int)? {
        var a = Substring(address)
        for scheme in ["dns:///", "passthrough:///"] where a.hasPrefix(scheme) { a = a.dropFirst(scheme.count) }
        if a.hasPrefix("["), let close = a.firstIndex(of: "]") {
            let host = a[a.index(after: a.startIndex)..<close]
            let rest = a[a.index(after: close)...]
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port), !host.isEmpty else { return nil }
            return (String(host), port)
        }
        guard let colon = a.lastIndex(of: ":"), !a[..<colon].contains(":") else { return nil }
        let host = a[..<colon]
        guard !host.isEmpty, !host.contains("/"), let port = Int(a[a.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// One server to check: where, how, and which line of the script (or config) named it.
    struct Target {
        var address: String
        var host: String
        var port: Int
        var plaintext: Bool
        var reflect: Bool
        var tlsObject: Bool
        var ca: String?
        var location: SourceLocation?
        var named: String
        /// The TLS server name when it is not the host (grpc.targets[].server_name): the URL names it, libcurl
        /// connects to host:port (CONNECT_TO), so it is never resolved.
        var serverName: String? = nil
        var url: String {
            let h = (!plaintext ? serverName : nil) ?? host
            return "\(plaintext ? "http" : "https")://\(h.contains(":") ? "[\(h)]" : h):\(port)"
        }
        var connectTo: [String] {
            guard !plaintext, let name = serverName else { return [] }
            return ["\(name):\(port):\(host.contains(":") ? "[\(host)]" : host):\(port)"]
        }
    }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        let plan = context.fact(LoadPlan.self)
        let settings = context.config.section(GRPCSettings.self)
        let use = plan.grpc
        guard !use.isEmpty || !settings.targets.isEmpty else {
            return .skipped(plan.scriptFile == nil ? "no k6 script (load.script) and no grpc.targets" : "the script does not use k6/net/grpc")
        }
        var findings: [Finding] = []
        var evidence = Evidence()

        // 1. The .proto files, found as k6 finds them.
        var protoServices: [GRPCService] = []
        var protosRead = 0
        let loadsProtos = use.loads.contains { !$0.protoset }
        for load in use.loads where !load.protoset {
            let scriptFull = LoadPlan.resolve(load.file, configFile: context.config.file)
            let scriptDir = URL(fileURLWithPath: scriptFull).deletingLastPathComponent()
            let roots = (load.importPaths?.isEmpty ?? true) ? [""] : load.importPaths!
            // As k6 1.1.0 resolves them (docs/grpc-k6-behaviour.md): each import path against the script's folder
            // unless absolute; without import paths the script's folder is prefixed even to an absolute file.
            func locate(_ file: String) -> (full: String?, tried: [String]) {
                let tried = roots.map { root -> String in
                    if root.isEmpty { return scriptDir.path + "/" + file }
                    if root.hasPrefix("/") { return URL(fileURLWithPath: root).appendingPathComponent(file).standardized.path }
                    return scriptDir.appendingPathComponent(root).appendingPathComponent(file).standardized.path
                }
                return (tried.first { FileManager.default.fileExists(atPath: $0) }, roots.map { $0.isEmpty ? file : "\($0)/\(file)" })
            }
            var queue = load.files.map { (file: $0, from: SourceLocation(file: load.file, line: load.line), importedBy: String?.none) }
            var seen = Set<String>()
            while !queue.isEmpty, seen.count < Self.protoFileCap {
                let (file, from, importedBy) = queue.removeFirst()
                guard seen.insert(file).inserted else { continue }
                let (found, shown) = locate(file)
                guard let found else {
                    let what = importedBy.map { "\($0) imports \(file), which k6 cannot find" } ?? "client.load cannot find \(file)"
                    findings.append(Finding(.fail, "\(what): k6 looked in \(shown.joined(separator: ", "))",
                                            fix: "correct the path in client.load: k6 resolves its import paths against the folder of \(load.file)"
                                                + (file.hasPrefix("/") && roots == [""] ? " (an absolute file needs an import path such as '/')" : ""),
                                            location: from,
                                            effect: Effect(share: nil, k6: "GoError: stat \(file): no such file or directory (k6 exits 107)", basis: "k6 stops in the init context: no iteration runs", grpc: true)))
                    continue
                }
                let size = (try? FileManager.default.attributesOfItem(atPath: found))?[.size] as? Int ?? 0
                guard size <= Self.protoCap, let data = FileManager.default.contents(atPath: found) else {
                    findings.append(Finding(.warn, "\(file) is over \(Self.protoCap >> 20) MiB: not read", location: from))
                    continue
                }
                switch ProtoFile.parse(String(decoding: data, as: UTF8.self)) {
                case .failure(let p):
                    findings.append(Finding(.fail, "\(file):\(p.line): \(p.message)", fix: "k6 cannot compile this .proto: correct it (protoc shows the same)",
                                            location: SourceLocation(file: file, line: p.line),
                                            effect: Effect(share: nil, k6: "GoError: \(file):\(p.line): syntax error (k6 exits 107)", basis: "k6 stops in the init context: no iteration runs", grpc: true)))
                case .success(let proto):
                    protosRead += 1
                    protoServices += proto.services
                    // Imports are found through the same import paths; the well-known types are built into k6.
                    for i in proto.imports where !i.path.hasPrefix("google/protobuf/") {
                        queue.append((i.path, SourceLocation(file: file, line: i.line), file))
                    }
                }
            }
        }
        if protosRead > 0 { evidence["protos"] = .int(protosRead) }

        // 2. The servers.
        var targets: [Target] = []
        if !settings.targets.isEmpty {
            let reflect = use.connects.contains { $0.reflect }
            for t in settings.targets {
                let (host, port) = Self.hostPort(t.address)!
                let scriptPlain = use.connects.first?.plaintext ?? false
                targets.append(Target(address: t.address, host: host, port: port, plaintext: t.plaintext ?? scriptPlain, reflect: reflect,
                                      tlsObject: use.connects.contains { $0.tls }, ca: t.ca.map { LoadPlan.resolve($0, configFile: context.config.file) },
                                      location: nil, named: "grpc.targets",
                                      serverName: t.serverName))
            }
        } else {
            var seen = Set<String>()
            for c in use.connects {
                let at = SourceLocation(file: c.file, line: c.line)
                guard let address = c.address else {
                    findings.append(Finding(.warn, "\(c.file):\(c.line) connects to \(c.source), known only at run time: its server is not checked",
                                            fix: "set grpc.targets in preflight.yml to the address the test will use", location: at))
                    continue
                }
                guard let (host, port) = Self.hostPort(address), address != "undefined" else {
                    let unset = c.envName.map { "__ENV.\($0) is not set (load.env)" }
                    findings.append(Finding(.fail, "\(c.file):\(c.line) connects to \"\(address)\"\(unset.map { ": \($0)" } ?? ""), not a host:port",
                                            fix: c.envName.map { "set \($0) in load.env to the server's host:port, as the test will (-e \($0)=…)" } ?? "connect to host:port, like 127.0.0.1:50051",
                                            location: at,
                                            effect: Effect(share: nil, k6: "GoError: invalid address", basis: "every client.connect fails: its iteration ends there", grpc: true)))
                    continue
                }
                guard seen.insert("\(address) \(c.plaintext ?? false)").inserted else { continue }
                targets.append(Target(address: address, host: host, port: port, plaintext: c.plaintext ?? false, reflect: c.reflect,
                                      tlsObject: c.tls, ca: nil, location: at, named: "\(c.file):\(c.line)"))
            }
        }

        let invoked = use.invokes.compactMap(\.method)
        var served: [String] = []
        // The servers at once: each is bounded by a few timeouts, so the check by its budget however many there are.
        let services = protoServices
        let checked = await withTaskGroup(of: (Int, [Finding], [String]).self) { group in
            for (i, target) in targets.prefix(Self.targetCap).enumerated() {
                group.addTask {
                    let (f, m) = await check(target, invoked: invoked, protoServices: services, loadsProtos: loadsProtos,
                                             use: use, timeout: context.timeout)
                    return (i, f, m)
                }
            }
            var all: [(Int, [Finding], [String])] = []
            for await r in group { all.append(r) }
            return all.sorted { $0.0 < $1.0 }
        }
        for (_, f, methods) in checked {
            findings += f
            served += methods
        }
        if targets.count > Self.targetCap {
            findings.append(Finding(.warn, "\(targets.count) gRPC servers; the first \(Self.targetCap) were checked"))
        }

        // 3. Methods the script invokes that its own protos do not have: k6 refuses them before sending.
        if loadsProtos, !protoServices.isEmpty {
            let known = Set(protoServices.flatMap { s in s.methods.map { "\(s.name)/\($0.name)" } })
            for i in use.invokes {
                guard let m = i.method, !known.contains(m) else { continue }
                findings.append(Finding(.fail, "\(m) is not in the .proto files the script loads: they have \(Self.nearest(m, in: known.sorted()))",
                                        fix: "correct the method name in the invoke, or load the .proto that defines it",
                                        location: SourceLocation(file: i.file, line: i.line),
                                        effect: Effect(requests: ["grpc \(m)"], share: nil, k6: "GoError: method not found in file descriptors",
                                                       basis: "k6 throws at every invoke of \(m): its iteration ends there", grpc: true)))
            }
        }
        // A check that compares k6's status object with a number: fails on every call (===) or never (!==).
        for st in use.strictStatus {
            let at = SourceLocation(file: st.file, line: st.line)
            if st.equals {
                let share = use.allConditions > 0 ? Double(use.strictStatus.filter(\.equals).count) / Double(use.allConditions) : nil
                findings.append(Finding(.fail, "\(st.file):\(st.line) checks \(st.source): k6's response.status is an object, so === with a number fails on every call, answered or not",
                                        fix: "compare with grpc.StatusOK (r.status === grpc.StatusOK) or use ==", location: at,
                                        effect: Effect(share: share.map { ShareRange(low: min($0, 1), high: min($0, 1)) }, k6: "a failed check (status OK)",
                                                       basis: "the condition is false for every gRPC answer, even OK", grpc: true)))
            } else {
                findings.append(Finding(.warn, "\(st.file):\(st.line) checks \(st.source): k6's response.status is an object, so !== with a number holds for every call, failed or not",
                                        fix: "compare with grpc.StatusOK (r.status !== grpc.StatusOK) or use !=", location: at))
            }
        }
        evidence["invokes"] = .array(Array(Set(invoked)).sorted().map { .string($0) })
        if let share = use.checkShare { evidence["checksOnGRPC"] = .double((share * 1000).rounded() / 1000) }

        let bad = findings.filter { $0.severity != .pass }
        if bad.isEmpty {
            let what = served.isEmpty ? "\(targets.count) gRPC server\(targets.count == 1 ? "" : "s") answer" : Array(Set(served)).sorted().joined(separator: ", ")
            let head = findings.first?.sentence ?? "gRPC: \(what)"
            return CheckOutcome(.pass, findings: [Finding(.pass, head, evidence: evidence)] + findings.dropFirst())
        }
        var ordered = bad.sorted { ($0.severity == .fail ? 0 : 1) < ($1.severity == .fail ? 0 : 1) }
        for (k, v) in evidence.entries where ordered[0].evidence[k] == nil { ordered[0].evidence[k] = v }
        return CheckOutcome(ordered.contains { $0.severity == .fail } ? .fail : .warn, findings: ordered)
    }

    static let protoCap = 8 << 20
    /// .proto files read per client.load, imports included.
    static let protoFileCap = 64
    static let targetCap = 8
}
