import Foundation
import PreflightCore
import PreflightProbes

/// One gRPC server against the script: TCP, transport, trust, health, stream limit, reflection and every invoked
/// method (the grpc check's second half, beside the script reading and the targets in GRPCCheck.swift).
extension GRPCCheck {
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
}
