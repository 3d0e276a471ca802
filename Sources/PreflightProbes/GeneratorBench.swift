import Foundation
import Glibc
import PreflightCore
import Synchronization

/// What k6 sent in its short run against preflight's own loopback sink: the machine's k6 rate at that many VUs.
public struct GeneratorBenchResult: Sendable, Equatable {
    public var vus: Int
    /// k6's `http_reqs` count and its run's length (handleSummary's `state.testRunDurationMs`).
    public var requests: Int
    public var seconds: Double
    /// The requests the sink answered (the traffic, counted on our side).
    public var answered: Int
    public var failedShare: Double

    public init(vus: Int, requests: Int, seconds: Double, answered: Int, failedShare: Double = 0) {
        self.vus = vus
        self.requests = requests
        self.seconds = seconds
        self.answered = answered
        self.failedShare = failedShare
    }

    public var rate: Double { seconds > 0 ? Double(requests) / seconds : 0 }
}

/// The seam for measuring k6's own speed on this machine (issue 31): a short `k6 run` of `vus` VUs without sleep
/// against a loopback sink of preflight's own. Nothing reaches the target or leaves loopback.
public protocol GeneratorBench: Sendable {
    func measure(k6: String, vus: Int, seconds: Int, timeout: Duration) async -> Result<GeneratorBenchResult, SubprocessError>
}

/// The live bench: a keep-alive HTTP/1.1 sink on 127.0.0.1 (a thread per connection, at most `maxConnections`), a
/// script in a temporary folder, `k6 run` through `Subprocess` (bounded in time and output), everything removed after.
public struct LoopbackK6Bench: GeneratorBench {
    public static let maxConnections = 1_000

    public init() {}

    public func measure(k6: String, vus: Int, seconds: Int, timeout: Duration) async -> Result<GeneratorBenchResult, SubprocessError> {
        let sink: LoopbackSink
        do { sink = try LoopbackSink(maxConnections: Self.maxConnections) } catch { return .failure(error) }
        defer { sink.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-bench-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("bench.js")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Self.script(port: sink.port, vus: vus, seconds: seconds).write(to: script, atomically: true, encoding: .utf8)
        } catch {
            return .failure(SubprocessError("cannot write the bench script: \(error.localizedDescription)"))
        }
        var environment = ProcessInfo.processInfo.environment
        // Usage reports off; proxies at a closed loopback port (the sink is loopback, which Go never proxies).
        for (k, v) in ["K6_NO_USAGE_REPORT": "true", "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                       "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"] { environment[k] = v }
        let argv = [k6, "run", "--quiet", "--no-color", "--no-usage-report", "--no-thresholds", "--address", "", script.path]
        let r = await SpawnedSubprocess().run(argv, environment: environment, timeout: timeout, outputCap: 64 << 10)
        let answered = sink.answered
        switch r {
        case .failure(let e): return .failure(e)
        case .success(let out):
            if out.timedOut { return .failure(SubprocessError("k6 did not finish within \(format(timeout))")) }
            let text = String(decoding: out.stdout, as: UTF8.self)
            guard out.status == 0, let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{\"preflightBench\"") }),
                  let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let b = o["preflightBench"] as? [String: Any],
                  let requests = (b["reqs"] as? NSNumber)?.intValue, let ms = (b["ms"] as? NSNumber)?.doubleValue else {
                let why = String(decoding: out.stderr, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "no summary"
                return .failure(SubprocessError("k6 run exited \(out.status): \(why.prefix(200))"))
            }
            return .success(GeneratorBenchResult(vus: vus, requests: requests, seconds: ms / 1000, answered: answered,
                                                 failedShare: (b["failed"] as? NSNumber)?.doubleValue ?? 0))
        }
    }

    /// No sleep, bodies discarded, a JSON line of its own from handleSummary (k6's end-of-test summary is replaced).
    static func script(port: Int, vus: Int, seconds: Int) -> String {
        """
        import http from 'k6/http';
        export const options = { vus: \(vus), duration: '\(seconds)s', discardResponseBodies: true, summaryTrendStats: ['avg'] };
        export default function () { http.get('http://127.0.0.1:\(port)/'); }
        export function handleSummary(d) {
          const f = d.metrics.http_req_failed;
          return { stdout: JSON.stringify({ preflightBench: { reqs: d.metrics.http_reqs ? d.metrics.http_reqs.values.count : 0,
            ms: d.state.testRunDurationMs, failed: f ? f.values.rate : 1 } }) + '\\n' };
        }
        """
    }
}

/// A minimal HTTP/1.1 sink on 127.0.0.1: every request (a GET without a body) gets `200 ok` on the same
/// connection. Counted; stopped by closing every socket it holds.
final class LoopbackSink: Sendable {
    let port: Int
    private let listener: Int32
    private let state = Mutex<(open: Set<Int32>, answered: Int, stopped: Bool)>(([], 0, false))
    private let maxConnections: Int

    init(maxConnections: Int) throws(SubprocessError) {
        self.maxConnections = maxConnections
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SubprocessError("cannot open the bench's sink: \(String(cString: strerror(errno)))") }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 1024) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw SubprocessError("cannot listen on loopback for the bench: \(why)")
        }
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        listener = fd
        port = Int(UInt16(bigEndian: sin.sin_port))
        let accepting = Thread { [self] in acceptLoop() }
        accepting.start()
    }

    var answered: Int { state.withLock { $0.answered } }

    func stop() {
        let open = state.withLock { s -> Set<Int32> in
            s.stopped = true
            return s.open
        }
        shutdown(listener, Int32(SHUT_RDWR))
        for c in open { shutdown(c, Int32(SHUT_RDWR)) }
        // The accept thread closes the listener, each connection's thread its own socket.
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let c = accept(listener, nil, nil)
            if c >= 0 { _ = fcntl(c, F_SETFD, FD_CLOEXEC) }
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            let admitted = state.withLock { s -> Bool in
                guard !s.stopped, s.open.count < maxConnections else { return false }
                s.open.insert(c)
                return true
            }
            guard admitted else { close(c); continue }
            Thread { [self] in serve(c) }.start()
        }
    }

    private static let answer = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok".utf8)

    private func serve(_ c: Int32) {
        defer {
            state.withLock { _ = $0.open.remove(c) }
            close(c)
        }
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var tail: [UInt8] = []  // the end of the last read, to find a "\r\n\r\n" split across reads
        while true {
            let n = buffer.withUnsafeMutableBytes { read(c, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            let chunk = tail + buffer[0..<n]
            var ends = 0
            var i = 0
            while i + 3 < chunk.count {
                if chunk[i] == 13, chunk[i + 1] == 10, chunk[i + 2] == 13, chunk[i + 3] == 10 { ends += 1; i += 4 } else { i += 1 }
            }
            // Keep what follows the last complete head (at most a partial one).
            if let last = Self.lastEnd(chunk) { tail = Array(chunk[last...]) } else { tail = Array(chunk.suffix(16 << 10)) }
            guard ends > 0 else { continue }
            var out: [UInt8] = []
            out.reserveCapacity(Self.answer.count * ends)
            for _ in 0..<ends { out += Self.answer }
            var sent = 0
            while sent < out.count {
                let w = out[sent...].withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard w > 0 else { return }
                sent += w
            }
            state.withLock { $0.answered += ends }
        }
    }

    /// The index just past the last "\r\n\r\n" in `bytes`, if any.
    static func lastEnd(_ bytes: [UInt8]) -> Int? {
        var i = bytes.count - 4
        while i >= 0 {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return i + 4 }
            i -= 1
        }
        return nil
    }
}
