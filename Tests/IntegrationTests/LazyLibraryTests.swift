import Foundation
import Testing
import TestSupport

/// The built binary loads libpq and libcurl only for a run that talks to PostgreSQL or HTTP (Sources/CLazyLibs):
/// ld.so's own trace (LD_DEBUG=libs) says which libraries a run initialised.
@Suite(.tags(.live), .runsLive) struct LazyLibraryTests {
    func traced(_ args: [String]) async throws -> (out: ProcessOutput, loaded: Set<String>) {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        var environment = ProcessInfo.processInfo.environment
        environment["LD_DEBUG"] = "libs"
        let out = try await run(preflightBinary, args, environment: environment, limit: 60)
        // "  4242:	calling init: /lib/x86_64-linux-gnu/libpq.so.5"
        let loaded = out.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "calling init: ") else { return nil }
            return line[r.upperBound...].split(separator: "/").last.map(String.init)
        }
        return (out, Set(loaded))
    }

    func heavy(_ loaded: Set<String>) -> [String] {
        loaded.filter { $0.hasPrefix("libpq.") || $0.hasPrefix("libcurl") || $0.hasPrefix("libcrypto") || $0.hasPrefix("libssl") }.sorted()
    }

    @Test func versionAndADeadPortRunLoadNeitherLibpqNorLibcurl() async throws {
        let version = try await traced(["--version"])
        #expect(version.out.status == 0)
        #expect(version.out.stdout.hasPrefix("0.1.0"), "\(version.out.stdout)")
        #expect(!version.loaded.isEmpty, "LD_DEBUG=libs traced nothing: \(version.out.stderr.prefix(300))")
        #expect(heavy(version.loaded).isEmpty)

        let closed = try await FixtureServer.start("json", ["200", "{}"])
        let dead = closed.port
        closed.stop()
        let port = try await traced(["--target", "http://127.0.0.1:\(dead)", "--only", "port", "--no-color"])
        #expect(port.out.status == 1, "\(port.out.stdout)")
        #expect(port.out.stdout.contains("connection refused"))
        #expect(heavy(port.loaded).isEmpty)
    }

    @Test func aRunAgainstRealPostgresAndHTTPLoadsBothAndIsGo() async throws {
        let pg = try await PostgresCluster.shared()
        let api = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { api.stop() }
        let run = try await traced(["--target", api.url, "--database-url", pg.url, "--only", "port,health,database", "--no-color"])
        #expect(run.out.status == 0, "\(run.out.stdout)")
        #expect(run.out.stdout.hasPrefix("GO"))
        #expect(run.loaded.contains("libpq.so.5"), "\(run.loaded.sorted())")
        #expect(run.loaded.contains("libcurl.so.4"), "\(run.loaded.sorted())")
    }
}
