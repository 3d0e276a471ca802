import Foundation
import Testing

/// A real gRPC server from Tests/Fixtures/grpc-fixture.py (grpcio) on 127.0.0.1; it exits when `stop()` closes its stdin.
public final class GRPCFixture: @unchecked Sendable {
    public let port: Int
    /// The fixture's own folder (its stderr log, its tally): removed by `stop()`.
    public let directory: URL
    private let process: Process
    private let stdin: Pipe
    private let tallied: Bool

    /// Starts `grpc-fixture.py OPTIONS…` off the cooperative pool and waits for its port. Options are the script's
    /// (`--without Events/SendEvent`, `--no-reflection`, `--health NOT_SERVING|none`, `--tls CERT KEY`,
    /// `--max-streams N`, `--delay-ms N`, `--proto FILE`); `tally: true` adds `--tally` into `directory`.
    public static func start(_ options: [String] = [], tally: Bool = false) async throws -> GRPCFixture {
        try await offThread { try GRPCFixture(options, tally: tally) }
    }

    init(_ options: [String], tally: Bool) throws {
        let directory = try temporaryDirectory("pf-grpc-fixture")
        let log = directory.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [packageRoot.appendingPathComponent("Tests/Fixtures/grpc-fixture.py").path] + options
            + (tally ? ["--tally", directory.appendingPathComponent("tally.json").path] : [])
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        let line = FixtureServer.readLine(output.fileHandleForReading)
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            p.waitUntilExit()
            let why = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(at: directory)
            throw FixtureError("grpc-fixture.py \(options.joined(separator: " ")) did not start (exit \(p.terminationStatus)): \(why)")
        }
        self.port = port
        self.directory = directory
        self.process = p
        self.stdin = input
        self.tallied = tally
    }

    /// 127.0.0.1:PORT, as k6's `client.connect` takes it.
    public var address: String { "127.0.0.1:\(port)" }

    /// The fixture's process.
    public var pid: Int { Int(process.processIdentifier) }

    /// What the server was asked so far (`start(…, tally: true)`; empty before the first call).
    public func tally() throws -> GRPCTally {
        precondition(tallied, "start the fixture with tally: true")
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("tally.json").path) else {
            return GRPCTally(calls: [:], other: [:], unimplemented: [:], peakInFlight: 0)
        }
        return try JSONDecoder().decode(GRPCTally.self, from: data)
    }

    /// What the server wrote on stderr so far.
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
    }

    /// Closes its stdin and signals it, then removes its folder; does not wait (the fixture exits on its own).
    public func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        try? FileManager.default.removeItem(at: directory)
    }

    /// SIGKILL, as a crash (the server is gone at once, its temporary proto folder stays until `stop()`).
    public func kill() {
        let pid = process.processIdentifier
        if process.isRunning || FixtureServer.isChild(pid) || Self.isFixture(pid) { Glibc.kill(pid, SIGKILL) }
    }

    /// Its process still runs (a zombie counts as gone).
    public var isAlive: Bool { Self.isFixture(process.processIdentifier) }

    static func isFixture(_ pid: Int32) -> Bool {
        guard pid > 0, let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: cmdline, as: UTF8.self).contains("grpc-fixture.py")
    }

    deinit { stop() }
}

/// The fixture's call counts by full method name ("events.Events/Send"): application calls, health and reflection
/// calls, calls to methods the server does not serve (answered UNIMPLEMENTED by grpcio itself), and the most
/// application calls in progress at once.
public struct GRPCTally: Decodable, Sendable, Equatable {
    public let calls: [String: Int]
    public let other: [String: Int]
    public let unimplemented: [String: Int]
    /// The most application calls the server was handling at once.
    public let peakInFlight: Int

    enum CodingKeys: String, CodingKey {
        case calls, other, unimplemented
        case peakInFlight = "peak_in_flight"
    }
}

/// /usr/bin/python3 can import grpcio, its health and reflection services and grpc_tools (scripts/install-deps.sh
/// installs them from PyPI): tests that start a `GRPCFixture` are `.enabled(if: grpcioAvailable, grpcioMissing)`.
public let grpcioAvailable: Bool = {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
          let out = try? runProcess("/usr/bin/python3", ["-c", "import grpc, grpc_health.v1.health, grpc_reflection.v1alpha.reflection, grpc_tools.protoc"],
                                    limit: 30) else { return false }
    return out.status == 0
}()

/// Why a gRPC fixture test is skipped, for `.enabled(if:)`.
public let grpcioMissing: Comment = "/usr/bin/python3 lacks grpcio, grpcio-health-checking, grpcio-reflection or grpcio-tools (scripts/install-deps.sh installs them from PyPI)"
