import Foundation
import PreflightCore
import PreflightProbes

/// Speaking gRPC: one unary or one-message-each-way exchange over libcurl's HTTP/2 (prior knowledge or ALPN h2),
/// retried when grpcio resets a finished stream; and the health sample exec's watcher takes.
extension GRPCCheck {
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
