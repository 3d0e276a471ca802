import ArgumentParser
import Foundation
import PreflightChecks
import PreflightCore
import PreflightExplain
import PreflightProbes
import PreflightReporters

/// `preflight exec [options] -- k6 run script.js`: the gate, then the load test only on go, watched while it runs.
struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run the checks; on go, run the load test, watch the stack while it runs, and pass its exit code through.",
        discussion: """
        On no-go the command is not run and preflight exits 1. While the load test runs, preflight samples the target
        port, the health endpoint, the database (one read-only session) and the listener on the target port, once per
        --watch-interval, into a JSON-lines samples file. For `k6 run` it adds --summary-export and, when the command
        has no --out json or --out csv, --out json=preflight-k6.json.gz (in the current directory); the samples go
        beside that file. --no-watch adds no output file (k6's writer is what costs the load test throughput).
        When the load test fails, preflight explains it with the samples; --report html=FILE draws the run.
        The load test's exit code passes through unchanged, whatever happens to the watch.
        """)

    @OptionGroup var options: RunOptions

    @Option(name: .customLong("watch-interval"), help: ArgumentHelp("Sample the stack this often while the load test runs (default 1s, 100ms to 60s).", valueName: "duration"))
    var watchInterval: String = "1s"

    @Option(name: .customLong("samples"), help: ArgumentHelp("Write the samples here (default: beside k6's --out json or csv file, else preflight-samples.jsonl).", valueName: "file"))
    var samplesPath: String?

    @Flag(name: .customLong("no-watch"), help: "Do not sample the stack while the load test runs, and add no --out file to k6.")
    var noWatch = false

    @Argument(parsing: .postTerminator, help: "The load test, after --, e.g. -- k6 run script.js")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the load test after --, e.g. preflight exec -- k6 run script.js") }
        guard let d = parseDuration(watchInterval), d >= .milliseconds(100), d <= .seconds(60) else {
            throw ValidationError("--watch-interval: expected a duration from 100ms to 60s, e.g. 1s or 500ms, found \"\(watchInterval)\"")
        }
    }

    func run() async throws {
        let gate = Gate(options: options)
        let config = try gate.loadConfig()
        let (report, facts) = try await gate.run(config: config)
        guard report.verdict == .go else {
            Output.stderr("preflight: no-go: not running \(command.joined(separator: " "))\n")
            throw ExitCode(report.exitCode)
        }
        var argv = command
        let outJSON = Self.k6Output(in: &argv, adding: !noWatch)
        let summary = Self.summaryExport(in: &argv)
        Output.stderr("preflight: go: running \(argv.joined(separator: " "))\n")
        Output.flush()

        // The watch: its own failures are reported, never passed on as the load test's.
        var watcher: StackWatcher?
        var samplesFile: String?
        var lines: OutputLines?
        if !noWatch {
            let path = samplesPath ?? outJSON.map { Self.samplesPath(beside: $0.path) } ?? "preflight-samples.jsonl"
            do {
                let file = try OutputLines(path: path)
                // How k6 reaches the target, as the checks just used it (the run's facts: nothing read twice).
                let reach = facts.get(TargetReach.self)
                let environment = Probes.live.host
                let plan = StackWatcher.Plan(
                    interval: parseDuration(watchInterval) ?? .seconds(1), target: reach.target, healthURL: reach.healthURL,
                    healthOptions: reach.healthURL.map { reach.requestOptions(for: $0, environment: environment.environment) } ?? HTTPRequestOptions(),
                    database: facts.get(DatabaseSettings.self).url, outJSON: outJSON?.path,
                    grpcURL: GRPCCheck.watchTarget(facts.get(LoadPlan.self), config.section(GRPCSettings.self))?.url)
                watcher = StackWatcher(plan: plan, probes: .live) { file.write($0) }
                samplesFile = path
                lines = file
            } catch {
                Output.stderr("preflight: not watching: cannot write \(path): \(error.localizedDescription)\n")
            }
        }
        let watch = watcher.map { w in Task { await w.run() } }
        let run = argv
        let result = await Blocking.run { Subprocess.runInheriting(run) }
        watcher?.stop()
        await watch?.value
        lines?.close()

        let status: Int32
        switch result {
        case .failure(let e):
            Output.stderr("preflight: \(e)\n")
            throw ExitCode(127)
        case .success(let s):
            status = s
        }
        if let watcher, let samplesFile {
            let t = watcher.sent
            Output.stderr("preflight: watched the stack: \(t.samples) samples in \(samplesFile) (sent \(t.connects) connects, \(t.healthGets) health GETs, \(t.dbQueries) database queries\(t.grpcChecks > 0 ? ", \(t.grpcChecks) gRPC health checks" : ""))\n")
        }

        // What the run's own output says, with the samples; the richest file first.
        let source = [outJSON?.path, summary?.path].compactMap { $0 }.first { Self.nonEmpty($0) }
        let wantsHTML = options.reports.filter(\.isHTML)
        if let source, status != 0 || !wantsHTML.isEmpty {
            let withSummary = summary.flatMap { source != $0.path && Self.nonEmpty($0.path) ? $0.path : nil }
            var explanation = (try? Explainer.explain(path: source, samples: samplesFile.flatMap { Self.nonEmpty($0) ? $0 : nil }, summary: withSummary))
                ?? (try? Explainer.explain(path: source, samples: nil, summary: withSummary))
                ?? (try? Explainer.explain(path: source))
            // What preflight predicted, beside what happened (issue 29): read back from the report's JSON contract.
            if let p = try? Prediction(reportJSON: Data(JSONReporter().render(report).utf8)), !p.isEmpty {
                explanation?.compare(with: p, report: "preflight's report")
            }
            if status != 0, let explanation {
                Output.stderr("\npreflight: the load test failed (exit \(status)); what its output says:\n")
                Output.stderr(ExplanationRenderer.text(explanation, color: !options.noColor && Output.stderrIsTerminal) + "\n")
            }
            for r in wantsHTML {
                guard let explanation else { Output.stderr("preflight: no timeline for \(r.path): \(source) could not be read\n"); break }
                do {
                    try Output.write(TimelinePage.html(explanation), toFile: r.path)
                } catch {
                    Output.stderr("preflight: cannot write report \(r.path): \(error.localizedDescription)\n")
                }
            }
        }
        if let outJSON, outJSON.added, let samplesFile, Self.nonEmpty(outJSON.path) {
            Output.stderr("preflight: again later: preflight explain \(outJSON.path) --samples \(samplesFile)\n")
        }
        if let summary, summary.added { try? FileManager.default.removeItem(atPath: summary.path) }
        throw ExitCode(status)
    }

    static func isK6Run(_ argv: [String]) -> Bool {
        argv.count >= 2 && URL(fileURLWithPath: argv[0]).lastPathComponent == "k6" && argv[1] == "run"
    }

    /// The --summary-export file of a `k6 run`, adding a temporary one when the command has none (explain reads
    /// it when the run fails; it also gives an --out csv file the thresholds it lacks).
    static func summaryExport(in argv: inout [String]) -> (path: String, added: Bool)? {
        guard isK6Run(argv) else { return nil }
        for (i, a) in argv.enumerated() {
            if a == "--" { break }
            if a.hasPrefix("--summary-export=") { return (String(a.dropFirst("--summary-export=".count)), false) }
            if a == "--summary-export", i + 1 < argv.count { return (argv[i + 1], false) }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-summary-\(getpid()).json").path
        argv.insert(contentsOf: ["--summary-export", path], at: 2)
        return (path, true)
    }

    /// The file k6 is told to add. Issue 36 measured the alternatives (BENCHMARKS.md, "What k6 can hand preflight"):
    /// k6's CSV writer costs it as much CPU a request as the gzipped JSON one, or more, with files ten times larger;
    /// every per-request output costs throughput, so the gzipped JSON stays and --no-watch adds none.
    static let addedOutput = (path: "preflight-k6.json.gz", argument: "json=preflight-k6.json.gz")

    /// The --out json or --out csv file of a `k6 run` (`--out json=F`, `-o csv=F`, `--out=csv=fileName=F,…`), adding
    /// `addedOutput` in the current directory when the command has neither and `adding` (not with --no-watch).
    /// A CSV file of the user's own is read (its time format as they chose: k6's default is whole seconds).
    static func k6Output(in argv: inout [String], adding: Bool = true) -> (path: String, added: Bool)? {
        guard isK6Run(argv) else { return nil }
        var i = 2
        while i < argv.count {
            let a = argv[i]
            if a == "--" { break }
            var value: String?
            if a == "--out" || a == "-o", i + 1 < argv.count { value = argv[i + 1]; i += 1 }
            else if a.hasPrefix("--out=") { value = String(a.dropFirst(6)) }
            else if a.hasPrefix("-o=") { value = String(a.dropFirst(3)) }
            if let value, let path = outputFile(value) { return (path, false) }
            i += 1
        }
        guard adding else { return nil }
        argv.insert(contentsOf: ["--out", addedOutput.argument], at: 2)
        return (addedOutput.path, true)
    }

    /// `json=F` → F; `csv=F` or `csv=fileName=F,timeFormat=…` → F; other outputs → nil.
    static func outputFile(_ value: String) -> String? {
        if value.hasPrefix("json=") { return String(value.dropFirst(5)) }
        guard value.hasPrefix("csv=") else { return nil }
        let rest = value.dropFirst(4)
        guard rest.contains("=") else { return String(rest) }
        for part in rest.split(separator: ",") where part.hasPrefix("fileName=") || part.hasPrefix("file_name=") {
            return String(part.drop { $0 != "=" }.dropFirst())
        }
        return "file.csv"  // k6's default name
    }

    /// run.json.gz → run.samples.jsonl, in the same folder.
    static func samplesPath(beside out: String) -> String {
        var base = out
        for ext in [".gz", ".json", ".jsonl", ".ndjson", ".csv"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
        return base + ".samples.jsonl"
    }

    static func nonEmpty(_ path: String) -> Bool {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0) > 0
    }
}
