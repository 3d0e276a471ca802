import ArgumentParser
import Foundation
import PreflightCore
import PreflightReporters

/// `preflight merge REPORT.json… | -`: one verdict from the JSON reports of one config run on several machines.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the JSON reports of one config run from several machines (load generators) into one verdict.",
        discussion: """
        Each REPORT is the output of `preflight --format json` on one runner; `-` reads JSON lines (one report \
        per line) from stdin. A check that fails from some runners and passes from others names them. \
        Exit codes: those of the merged verdict (0 go, 1 no-go, 3 a check crashed and nothing failed); \
        2 when an input is unreadable, not a preflight JSON report, or of another check list.
        """)

    @Argument(help: ArgumentHelp("JSON reports (preflight --format json), or - for JSON lines on stdin.", valueName: "report"))
    var inputs: [String]

    @OptionGroup var report: ReportOptions

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let merged: (Report, [Runner])
        var target: String?
        do {
            var parsed: [RunnerReport] = []
            for input in inputs {
                if input == "-" {
                    parsed += try Self.jsonLines(FileHandle.standardInput, source: "stdin")
                } else {
                    parsed.append(try ReportMerger.parse(Self.read(input), source: input))
                }
                if parsed.count > ReportMerger.maxReports { throw MergeError("more than \(ReportMerger.maxReports) reports; at most \(ReportMerger.maxReports) can be merged") }
            }
            merged = try ReportMerger.merge(parsed)
            target = ReportMerger.target(of: parsed)
        } catch let error as MergeError {
            Output.stderr("preflight merge: \(error.description)\n")
            throw ExitCode(2)
        }
        let color = !report.noColor && environment["NO_COLOR"] == nil && Output.stdoutIsTerminal
        let rendering = Rendering(color: color, verbose: report.verbose, runners: merged.1, target: target)
        try rendering.write(merged.0, format: report.format, output: report.output, reports: report.reports, environment: environment)
        throw ExitCode(merged.0.exitCode)
    }

    static func read(_ path: String) throws(MergeError) -> Data {
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           let size = (attributes[.size] as? NSNumber)?.intValue, size > ReportMerger.maxReportBytes {
            throw MergeError("\(path): \(size) bytes; a preflight JSON report is at most \(ReportMerger.maxReportBytes >> 20) MiB")
        }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw MergeError("\(path): \(FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist")")
        }
    }

    /// Reads stdin to its end, bounded: one report per non-empty line.
    static func jsonLines(_ handle: FileHandle, source: String) throws(MergeError) -> [RunnerReport] {
        let limit = ReportMerger.maxReportBytes * 4
        var data = Data()
        while true {
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { break }
            data.append(chunk)
            if data.count > limit { throw MergeError("\(source): more than \(limit >> 20) MiB of reports") }
        }
        var out: [RunnerReport] = []
        var skipped = 0
        for (i, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }
            if trimmed.isEmpty { continue }
            // Logs gathered from pods hold other lines too (kubectl logs mixes stderr in): a report is an object.
            guard trimmed.first == UInt8(ascii: "{") else { skipped += 1; continue }
            out.append(try ReportMerger.parse(Data(trimmed), source: "\(source) line \(i + 1)"))
        }
        if skipped > 0 { Output.stderr("preflight merge: \(source): skipped \(skipped) line\(skipped == 1 ? "" : "s") that are not JSON objects\n") }
        if out.isEmpty { throw MergeError("\(source): no reports (expected one JSON report per line)") }
        return out
    }
}
