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

    /// One server: TCP, transport, health, reflection, methods. Returns its findings (a pass finding first when all
    /// is well) and the methods it was seen to serve.
    func check(_ t: Target, invoked: [String], protoServices: [GRPCService], loadsProtos: Bool, use: K6GRPCUse,
               timeout: Duration) async -> ([Finding], [String]) {
        let at = t.location
        let allCalls = Effect(share: nil, k6: "GoError: connection error (at client.connect)", basis: "every client.connect to \(t.address) fails: each iteration ends there, before its checks, so no gRPC call is made and k6's checks thresholds pass on no data (k6 exits 0)", grpc: true)
        // TCP first: the port check's words.
        var address: SocketAddress?
        switch await probes.resolver.resolve(host: t.host, port: t.port) {
        case .failure(let e):
            return ([Finding(.fail, "DNS: \(t.host) does not resolve (\(e.message)), where \(t.named) connects", fix: "correct the gRPC address", location: at, effect: allCalls)], [])
        case .success(let addresses):
            guard let first = addresses.first else {
                return ([Finding(.fail, "DNS: \(t.host) resolved to no address, where \(t.named) connects", location: at, effect: allCalls)], [])
            }
            address = first
            let outcome = await probes.tcp.connect(to: first, timeout: timeout)
            guard case .connected = outcome else {
                let why = outcome == .refused ? "nothing accepts connections on \(t.address)" : "connecting to \(t.address) failed: \(outcome.description)"
                return ([Finding(.fail, "\(why), where \(t.named) connects", fix: "start the gRPC server on \(t.address), or correct the address the script connects to",
                                 location: at, effect: allCalls)], [])
            }
        }

        var findings: [Finding] = []
        var options = HTTPRequestOptions()
        options.http2 = true
        options.caFile = t.ca
        options.connectTo = t.connectTo
        // Health, overall.
        let health = await call(t, "/grpc.health.v1.Health/Check", [ProtoWire.healthRequest(service: "")], options: options, timeout: timeout)
        if let failure = health.failure {
            // The wrong transport shows as a failed exchange: try the other one to say so.
            var flipped = t
            flipped.plaintext.toggle()
            var o = options
            o.verifyPeer = false
            let other = await call(flipped, "/grpc.health.v1.Health/Check", [ProtoWire.healthRequest(service: "")], options: o, timeout: timeout)
            if other.failure == nil {
                let sentence = t.plaintext
                    ? "\(t.address) speaks TLS, and \(t.named) connects with plaintext: true"
                    : "\(t.address) speaks plaintext HTTP/2, and \(t.named) connects with TLS (k6's default without plaintext: true)"
                let fix = t.plaintext ? "remove plaintext: true (and trust the server's CA), or serve plaintext" : "add plaintext: true to client.connect's options, or serve TLS"
                return ([Finding(.fail, sentence, fix: fix, location: at, effect: allCalls)], [])
            }
            if !t.plaintext, failure.code == 60 || failure.code == 51 || failure.message.lowercased().contains("certificate") {
                return ([Finding(t.tlsObject ? .warn : .fail, "\(t.address)'s TLS certificate is not trusted: \(failure.message)",
                                 fix: "trust its CA (grpc.targets[].ca for preflight; for k6, SSL_CERT_FILE or client.connect's tls.cacerts)",
                                 location: at, effect: t.tlsObject ? nil : allCalls)], [])
            }
            return ([Finding(.fail, "\(t.address) does not answer gRPC: \(failure.message)", fix: "check that \(t.address) is a gRPC server (HTTP/2)", location: at, effect: allCalls)], [])
        }
        let transport = t.plaintext ? "plaintext" : "TLS"
        var healthWord = "no health service"
        switch health.status {
        case 0?:
            let status = health.messages.first.flatMap(ProtoWire.healthStatus) ?? .unknown
            switch status {
            case .serving: healthWord = "health SERVING"
            case .notServing:
                // k6 calls the server directly and has no health check of its own: its calls may still succeed
                // (measured: no effect on k6 1.1.0), but a load balancer or Kubernetes routes nothing to it.
                findings.append(Finding(.warn, "\(t.address)'s health service answers NOT_SERVING: k6 calls it directly, but a load balancer or Kubernetes would route nothing to it",
                                        fix: "the server says it is not ready: see why it reports NOT_SERVING (a dependency down?) before the load test",
                                        location: at))
                healthWord = "health NOT_SERVING"
            default: healthWord = "health \(status)"
            }
        case 12?: healthWord = "no health service"
        case let code?:
            healthWord = "health answered status \(code)"
        case nil:
            healthWord = "health answered HTTP \(health.httpStatus.map(String.init) ?? "?") without grpc-status"
        }
        // The streams one connection may carry (plaintext only: over TLS, libcurl does not show the SETTINGS frame).
        var streamsWord = ""
        if t.plaintext, let address, let settings = await probes.tcp.http2Settings(at: address, timeout: timeout) {
            let (finding, word) = Self.streams(settings, t, use: use)
            if let finding { findings.append(finding) }
            streamsWord = word
        }
        // Per service the script invokes, when the server has a health service.
        if health.status == 0 {
            for service in Set(invoked.compactMap { $0.split(separator: "/").first.map(String.init) }).sorted().prefix(4) {
                let h = await call(t, "/grpc.health.v1.Health/Check", [ProtoWire.healthRequest(service: service)], options: options, timeout: timeout)
                if h.status == 0, h.messages.first.flatMap(ProtoWire.healthStatus) == .notServing {
                    findings.append(Finding(.warn, "\(t.address)'s health service answers NOT_SERVING for \(service)",
                                            fix: "\(service) says it is not ready on \(t.address): see why before the load test", location: at))
                }
            }
        }

        // Reflection: v1, then v1alpha.
        let services = Set(invoked.compactMap { $0.split(separator: "/").first.map(String.init) }).sorted()
        let request = [ProtoWire.reflectionListServices()] + services.prefix(16).map(ProtoWire.reflectionFileContaining)
        // One exchange that makes the server build descriptors: twice the timeout (the budget holds 6).
        var reflection = await call(t, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", request, options: options, timeout: timeout * 2)
        if reflection.status == 12 {
            reflection = await call(t, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", request, options: options, timeout: timeout * 2)
        }
        var servedServices: [GRPCService]? = nil
        var listed: [String] = []
        if reflection.status == 0 {
            var all: [GRPCService] = []
            var readable = true
            for m in reflection.messages {
                switch ProtoWire.reflectionAnswer(m) {
                case .services(let names)?: listed = names
                case .files(let files)?:
                    for f in files { if let s = ProtoWire.services(inDescriptor: f) { all += s } else { readable = false } }
                case .error?: break
                case nil: readable = false
                }
            }
            if readable { servedServices = all } else {
                findings.append(Finding(.warn, "\(t.address)'s reflection answer could not be read: its methods are not checked", location: at))
            }
        } else if reflection.status != 12 {
            // Not "no reflection" (UNIMPLEMENTED): the exchange failed (a timeout, a reset, another status). Said, so
            // that an unchecked method is never a silent pass.
            let why = reflection.failure?.message ?? reflection.status.map { "status \($0)\(reflection.message.map { " \($0)" } ?? "")" } ?? "no grpc-status"
            findings.append(Finding(.warn, "\(t.address)'s reflection did not answer (\(why)): the methods the script invokes were not checked",
                                    fix: "run preflight again; a server this slow to answer one reflection call may be overloaded already",
                                    location: at))
        } else if t.reflect {
            findings.append(Finding(.fail, "\(t.address) has no reflection service, and \(t.named) connects with reflect: true",
                                    fix: "register the reflection service on the server, or load the .proto files with client.load and drop reflect: true",
                                    location: at, effect: allCalls))
        }

        var ok: [String] = []
        if let servedServices {
            var byName: [String: GRPCService] = [:]
            for s in servedServices { byName[s.name] = s }
            let servedMethods = servedServices.flatMap { s in s.methods.map { "\(s.name)/\($0.name)" } }
            for m in Set(invoked).sorted() {
                let parts = m.split(separator: "/", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { continue }
                guard let method = byName[parts[0]]?.methods.first(where: { $0.name == parts[1] }) else {
                    let has = servedMethods.isEmpty ? (listed.isEmpty ? "no service" : listed.sorted().joined(separator: ", ")) : Self.nearest(m, in: servedMethods)
                    let invokes = use.invokes.filter { $0.method == m }
                    findings.append(Finding(.fail, "\(m) is not served by \(t.address): it has \(has)",
                                            fix: "deploy the server version that implements \(m), or invoke a method it has",
                                            location: invokes.first.map { SourceLocation(file: $0.file, line: $0.line) } ?? at,
                                            effect: Effect(requests: ["grpc \(m)"], share: Self.checkShare(use, failing: m),
                                                           k6: "gRPC status 12 Unimplemented",
                                                           basis: "every call of \(m) answers UNIMPLEMENTED; k6 counts it in checks, not in http_req_failed", grpc: true)))
                    continue
                }
                if loadsProtos, let mine = protoServices.first(where: { $0.name == parts[0] })?.methods.first(where: { $0.name == parts[1] }),
                   mine.input != method.input || mine.output != method.output || mine.shape != method.shape {
                    findings.append(Finding(.fail, "\(m) differs: the script's .proto says (\(mine.input)) returns (\(mine.output)), \(mine.shape); \(t.address) serves (\(method.input)) returns (\(method.output)), \(method.shape)",
                                            fix: "load the server's current .proto in the script", location: at,
                                            effect: Effect(requests: ["grpc \(m)"], share: nil, k6: "gRPC status 13 Internal or 12 Unimplemented", basis: "calls with the old message types fail or are misread", grpc: true)))
                    continue
                }
                ok.append(m)
            }
        }
        let methodsWord = ok.isEmpty ? (invoked.isEmpty ? "no method invoked" : (servedServices == nil ? "methods not checked: no reflection" : "")) : ""
        if findings.allSatisfy({ $0.severity == .pass }) {
            let head = ok.isEmpty ? "\(t.address) answers gRPC (\(healthWord), \(transport)\(streamsWord)\(methodsWord.isEmpty ? "" : "; \(methodsWord)"))"
                                  : "\(t.address) serves \(ok.joined(separator: ", ")) (\(healthWord), \(transport)\(streamsWord))"
            findings.insert(Finding(.pass, head), at: 0)
        }
        return (findings, ok)
    }

    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS against the calls a VU has in flight at once on its connection
    /// (k6 1.1.0 opens one HTTP/2 connection per VU, grafana/k6#3188; a VU's `invoke`s run one at a time, its
    /// un-awaited `asyncInvoke`s and streams at once): calls beyond the limit wait in k6, inside grpc_req_duration.
    /// Returns the finding, if any, and the words for the pass sentence.
    static func streams(_ read: Result<HTTP2Settings, HTTP2SettingsError>, _ t: Target, use: K6GRPCUse) -> (Finding?, String) {
        guard case .success(let settings) = read else {
            if case .failure(let e) = read { return (nil, ", streams per connection not read: \(e.message)") }
            return (nil, "")
        }
        guard let limit = settings.maxConcurrentStreams else { return (nil, ", no stream limit") }
        let word = ", at most \(grouped(Int(limit))) streams per connection"
        let concurrent = use.invokes.filter(\.concurrent)
        let methods = Array(Set(concurrent.compactMap(\.method))).sorted()
        let lines = concurrent.prefix(4).map { "\($0.file.isEmpty ? "line " : "\($0.file):")\($0.line)" }.joined(separator: ", ")
        let wait = "k6 opens one HTTP/2 connection per VU, and its calls beyond the server's \(grouped(Int(limit))) streams wait in k6; the wait counts in grpc_req_duration (measured on k6 1.1.0: 8 calls of 300 ms under a limit of 2 took 774 ms on average, 319 ms without)"
        let fix = "raise the server's limit (grpc-go MaxConcurrentStreams, grpcio grpc.max_concurrent_streams, tonic max_concurrent_streams, Kestrel Http2.MaxStreamsPerConnection), or start fewer calls at once in each VU"
        if limit == 0 {
            return (Finding(.fail, "\(t.address) allows no stream per connection (SETTINGS_MAX_CONCURRENT_STREAMS 0): every call of \(t.named) waits until its timeout",
                            fix: fix, location: t.location,
                            effect: Effect(share: nil, k6: "gRPC status 4 DeadlineExceeded", basis: "no call can open a stream on the connection", grpc: true)), word)
        }
        guard !concurrent.isEmpty else { return (nil, word) }
        let effect = Effect(requests: methods.map { "grpc \($0)" }, share: nil, k6: "grpc_req_duration (calls wait for a free stream)",
                            basis: wait + "; they fail only in a burst sent before the server's SETTINGS frame arrived (status 14 REFUSED_STREAM, a race right after connect)", addsLatency: true, grpc: true)
        if concurrent.contains(where: \.inLoop) {
            // A loop's count is not read: Kestrel's default (100) and more is taken as room enough.
            guard limit < 100 else { return (nil, word) }
            return (Finding(.warn, "\(t.address) allows \(grouped(Int(limit))) concurrent streams per connection, and the script starts gRPC calls without waiting in a loop (\(lines)): each VU's calls beyond \(grouped(Int(limit))) wait for a stream",
                            fix: fix, location: concurrent.first { $0.inLoop }.map { SourceLocation(file: $0.file, line: $0.line) } ?? t.location, effect: effect), word)
        }
        guard concurrent.count > Int(limit) else { return (nil, word) }
        return (Finding(.warn, "\(t.address) allows \(grouped(Int(limit))) concurrent streams per connection, and each VU starts \(concurrent.count) gRPC calls at once (\(lines)): \(concurrent.count - Int(limit)) wait for a stream",
                        fix: fix, location: concurrent.first.map { SourceLocation(file: $0.file, line: $0.line) } ?? t.location, effect: effect), word)
    }

    /// The share of the `checks` metric's samples failed when every call of `method` fails: the conditions on gRPC
    /// answers over all conditions, times the share of the script's invokes that are this method's.
    static func checkShare(_ use: K6GRPCUse, failing method: String) -> ShareRange? {
        guard let onGRPC = use.checkShare, !use.invokes.isEmpty else { return nil }
        let mine = Double(use.invokes.filter { $0.method == method }.count) / Double(use.invokes.count)
        let s = onGRPC * mine
        return ShareRange(low: s, high: s)
    }

    /// The methods closest to `method` first (same service first), at most six.
    static func nearest(_ method: String, in all: [String]) -> String {
        let service = method.split(separator: "/").first.map(String.init) ?? ""
        let sorted = all.sorted { (a, b) in
            let sa = a.hasPrefix(service + "/"), sb = b.hasPrefix(service + "/")
            return sa != sb ? sa : a < b
        }
        let shown = sorted.prefix(6).joined(separator: ", ")
        return sorted.count > 6 ? shown + " and \(sorted.count - 6) more" : shown
    }

    /// The server exec's watcher samples: the first address the script connects to (or `grpc.targets`), with its transport.
    public static func watchTarget(_ plan: LoadPlan, _ settings: GRPCSettings) -> (url: String, address: String)? {
        if let t = settings.targets.first, let (h, p) = hostPort(t.address) {
            let plain = t.plaintext ?? plan.grpc.connects.first?.plaintext ?? false
            return ("\(plain ? "http" : "https")://\(h.contains(":") ? "[\(h)]" : h):\(p)", t.address)
        }
        for c in plan.grpc.connects {
            guard let a = c.address, let (h, p) = hostPort(a) else { continue }
            return ("\(c.plaintext == true ? "http" : "https")://\(h.contains(":") ? "[\(h)]" : h):\(p)", a)
        }
        return nil
    }

    /// One overall health check of the server at `url` (http:// plaintext, https:// TLS): its state word
    /// ("SERVING", "NOT_SERVING", "status 12"), or the failure; and how long it took.
    public static func health(_ http: any HTTPClient, url: String, timeout: Duration) async -> (state: String?, error: String?, ms: Double) {
        var o = HTTPRequestOptions()
        o.http2 = true
        let x = await http.send("POST", url: url + "/grpc.health.v1.Health/Check",
                                headers: ["content-type": "application/grpc", "te": "trailers", "grpc-timeout": "\(Int(max(1, timeout.milliseconds)))m"],
                                body: Data(ProtoWire.frame([])), timeout: timeout, bodyCap: 64 << 10, options: o)
        let ms = (x.timings.totalMs * 10).rounded() / 10
        if let f = x.failure { return (nil, f.message, ms) }
        guard let code = x.header("grpc-status").flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
            return (nil, "HTTP \(x.status.map(String.init) ?? "?") without grpc-status", ms)
        }
        guard code == 0 else { return ("status \(code)", nil, ms) }
        let status = ProtoWire.unframe(Array(x.body))?.first.flatMap(ProtoWire.healthStatus) ?? .unknown
        return ([.serving: "SERVING", .notServing: "NOT_SERVING", .serviceUnknown: "SERVICE_UNKNOWN"][status] ?? "UNKNOWN", nil, ms)
    }

    struct Reply {
        var status: Int?
        var message: String?
        var messages: [[UInt8]] = []
        var failure: HTTPExchange.Failure?
        var httpStatus: Int?
    }

    /// One gRPC call over HTTP/2: the request messages framed, `grpc-status` from the trailers (or a trailers-only
    /// answer's headers). Bounded by `timeout` and a 4 MiB answer.
    func call(_ t: Target, _ path: String, _ messages: [[UInt8]], options: HTTPRequestOptions, timeout: Duration) async -> Reply {
        let first = await callOnce(t, path, messages, options: options, timeout: timeout)
        // grpcio sometimes resets a finished stream (RST_STREAM) before libcurl 7.88 has taken the trailers, which it
        // calls "Stream error in the HTTP/2 framing layer" (92; seen in 1 of ~6 reflection exchanges): asked once more.
        var last = first
        // At most 4 more, 50 ms apart: bounded in count and time (each is answered or reset at once).
        for _ in 0..<4 {
            guard let f = last.failure, f.connected, f.code == 92 || f.code == 16 else { return last }
            try? await Task.sleep(for: .milliseconds(50))
            last = await callOnce(t, path, messages, options: options, timeout: timeout)
        }
        return last
    }

    func callOnce(_ t: Target, _ path: String, _ messages: [[UInt8]], options: HTTPRequestOptions, timeout: Duration) async -> Reply {
        let body = Data(messages.flatMap(ProtoWire.frame))
        let x = await probes.http.send("POST", url: t.url + path,
                                       headers: ["content-type": "application/grpc", "te": "trailers", "grpc-timeout": "\(Int(max(1, timeout.milliseconds)))m"],
                                       body: body, timeout: timeout, bodyCap: 4 << 20, options: options)
        var r = Reply()
        r.httpStatus = x.status
        // A stream reset after the answer (libcurl 92/16) still leaves a complete answer when grpc-status came:
        // it comes last (in the trailers, or alone in a trailers-only answer such as UNIMPLEMENTED).
        let answeredBeforeReset = x.failure.map { ($0.code == 92 || $0.code == 16) && x.status == 200 && x.header("grpc-status") != nil } ?? false
        if let f = x.failure, !answeredBeforeReset { r.failure = f; return r }
        if x.status != 200 || !(x.header("content-type") ?? "").hasPrefix("application/grpc") {
            r.failure = .init(code: -1, message: "HTTP \(x.status.map(String.init) ?? "?") \(x.header("content-type") ?? "without a content type"): not a gRPC answer", connected: true)
            return r
        }
        r.status = x.header("grpc-status").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        r.message = x.header("grpc-message").map { String($0.prefix(300)) }
        r.messages = ProtoWire.unframe(Array(x.body)) ?? []
        return r
    }
}
