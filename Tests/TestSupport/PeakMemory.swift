import Foundation

/// A finished process and the most memory it held at once.
public struct MeasuredOutput: Sendable {
    public let output: ProcessOutput
    /// Peak resident set size, in KiB, as GNU time reports it.
    public let peakRSSKiB: Int
}

/// GNU time (the Debian package `time`, installed by scripts/install-deps.sh).
public let gnuTime = "/usr/bin/time"

/// Runs a program under `/usr/bin/time -v` (its report goes to a file, so the streams stay the program's)
/// and reads the peak resident memory: a bound on memory that needs no wall-clock threshold.
public func runMeasuringMemory(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                               currentDirectory: URL? = nil, limit: TimeInterval = 60) async throws -> MeasuredOutput {
    guard FileManager.default.isExecutableFile(atPath: gnuTime) else {
        throw FixtureError("\(gnuTime) is missing: install the Debian package time (scripts/install-deps.sh does)")
    }
    let report = try temporaryDirectory("pf-time")
    defer { try? FileManager.default.removeItem(at: report) }
    let file = report.appendingPathComponent("time.txt")
    let out = try await run(gnuTime, ["-v", "-o", file.path, executable] + arguments,
                            environment: environment, currentDirectory: currentDirectory, limit: limit)
    let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    guard let line = text.split(separator: "\n").first(where: { $0.contains("Maximum resident set size (kbytes):") }),
          let kib = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
        throw FixtureError("no peak memory from \(gnuTime) (killed at the \(Int(limit)) s limit?): status \(out.status), report: \(text)")
    }
    return MeasuredOutput(output: out, peakRSSKiB: kib)
}
