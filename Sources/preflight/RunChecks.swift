import ArgumentParser
import Foundation
import Synchronization
import PreflightChecks
import PreflightCore
import PreflightProbes
import PreflightReporters

/// `preflight [run]`: load the config, run every check, print the verdict.
struct RunChecks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the checks and print a verdict ordered by root cause (the default command).")

    @OptionGroup var options: RunOptions

    func validate() throws {
        if options.reports.contains(where: \.isHTML) {
            throw ValidationError("--report html=FILE draws a k6 run: use it with preflight exec or preflight explain")
        }
    }

    func run() async throws {
        let report = try await Gate(options: options).run()
        throw ExitCode(report.exitCode)
    }
}

/// Loads the config, runs the checks (again and again under --wait), writes every requested report.
struct Gate {
    let options: RunOptions
    let environment = ProcessInfo.processInfo.environment

    func run() async throws -> Report { try await run(config: loadConfig()).report }

    /// The run on a loaded config, and the last attempt's facts (exec's watcher reads how k6 reaches the target there).
    func run(config: Config) async throws -> (report: Report, facts: FactStore) {
        let checks = AllChecks.make(config: config)
        let known = Set(checks.map { $0.description.id })
        let only = try ids(options.only, known: known, flag: "--only")
        let skip = try ids(options.skip, known: known, flag: "--skip")
        let engine = Engine(checks: checks)
        let timeout = config.effectiveTimeout

        let clock = ContinuousClock()
        let start = clock.now
        let waitLimit = options.wait.flatMap(parseDuration)
        var attempt = 0
        var report: Report
        var facts: FactStore
        while true {
            attempt += 1
            // Each attempt measures afresh (its own store: the traffic is sent again).
            let store = FactStore(config: config)
            facts = store
            let raw = await withProgress { running in
                await engine.run(config: config, timeout: timeout, only: only, skip: skip, facts: store, running: running)
            }
            // The verdict is the script's thresholds' (issue 29): the same reading of the script the checks had.
            report = Report(results: raw.results, duration: raw.duration, strict: options.strict,
                            thresholds: store.get(LoadPlan.self).thresholds.declaredByScript)
            guard let waitLimit, report.verdict == .noGo else { break }
            let left = waitLimit - start.duration(to: clock.now)
            if left <= .zero {
                Output.stderr("\(Output.stderrIsTerminal ? "\r\u{1B}[K" : "")preflight: still no-go after waiting \(format(waitLimit)) (\(attempt) attempts); what was failing at the deadline:\n")
                break
            }
            progress(report, attempt: attempt, left: left)
            try? await Task.sleep(for: min(.seconds(1), left))
        }
        if waitLimit != nil && report.verdict == .go && attempt > 1 {
            Output.stderr("\(Output.stderrIsTerminal ? "\r\u{1B}[K" : "")preflight: go after \(attempt) attempts (\(format(start.duration(to: clock.now))))\n")
        }
        try write(report, config: config)
        return (report, facts)
    }

    /// On a terminal, a line naming the checks still running once a run takes longer than a moment
    /// (a burst, a connection probe); erased before the report. Nothing when stderr is not a terminal.
    func withProgress(_ body: (@escaping @Sendable ([CheckID]) -> Void) async -> Report) async -> Report {
        guard Output.stderrIsTerminal else { return await body { _ in } }
        let running = Mutex<[CheckID]>([])
        let start = ContinuousClock.now
        let ticker = Task {
            var drawn = false
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                let ids = running.withLock { $0 }
                let elapsed = start.duration(to: .now)
                guard elapsed > .milliseconds(500), !ids.isEmpty else { continue }
                let line = "⏳ \(String(format: "%.1f", elapsed.seconds)) s, still running: \(ids.joined(separator: ", "))"
                Output.stderr("\r\u{1B}[K" + Secrets.shared.excerpt(line, max(40, Output.terminalWidth - 1)))
                drawn = true
            }
            if drawn { Output.stderr("\r\u{1B}[K") }
        }
        let report = await body { ids in running.withLock { $0 = ids } }
        ticker.cancel()
        _ = await ticker.value
        return report
    }

    /// One line per attempt: rewritten in place on a terminal, plain lines otherwise (CI logs).
    func progress(_ report: Report, attempt: Int, left: Duration) {
        let first = report.rootCauses.first.flatMap { report.result($0) }
        let why = first.map { "\($0.id): \($0.outcome.summary)" } ?? "blocked"
        let secondsLeft = Int(left.seconds.rounded(.up))
        if Output.stderrIsTerminal {
            let line = "⏳ waiting for go, \(secondsLeft) s left (attempt \(attempt)): \(why)"
            Output.stderr("\r\u{1B}[K" + Secrets.shared.excerpt(line, max(40, Output.terminalWidth - 1)))
        } else {
            Output.stderr("preflight: attempt \(attempt) no-go, \(secondsLeft) s left: \(why)\n")
        }
    }

    func write(_ report: Report, config: Config) throws {
        let color = !options.noColor && environment["NO_COLOR"] == nil && Output.stdoutIsTerminal
        let rendering = Rendering(color: color, verbose: options.verbose, runner: Self.runner(of: report, config: config),
                                  target: config.target?.raw)
        try rendering.write(report, format: options.format, output: options.output, reports: options.reports, environment: environment)
    }

    /// This machine, and the source addresses toward what the run connected to: the target's addresses the port
    /// check resolved (or the target's IP), the database host when it is an IP. Names are not resolved again.
    static func runner(of report: Report, config: Config) -> Runner {
        var destinations: [SocketAddress] = []
        if let target = config.target {
            if let ip = LocalRoutes.literal(target.host, port: target.port) {
                destinations.append(ip)
            } else if case .array(let resolved)? = report.result("port")?.outcome.evidence["resolved"] {
                for case .string(let ip) in resolved { if let a = LocalRoutes.literal(ip, port: target.port) { destinations.append(a) } }
            }
        }
        if let db = config.section(DatabaseSettings.self).url, let host = db.host, let ip = LocalRoutes.literal(host, port: db.port) {
            destinations.append(ip)
        }
        return LocalRoutes.runner(toward: destinations)
    }

    /// The config from the file, the environment and the flags; `requireInputs`: exit 2 when no check has anything to do.
    func loadConfig(requireInputs: Bool = true) throws -> Config {
        var overrides: ConfigLoader.Overrides = []
        for f in options.overridingFlags { if let v = f.value { overrides.append((f.path, v)) } }
        let loader = ConfigLoader(sections: AllChecks.sections)
        let loaded: Config
        do {
            if let file = options.config {
                loaded = try loader.load(file: file, environment: environment, overrides: overrides)
            } else if FileManager.default.fileExists(atPath: "preflight.yml") {
                loaded = try loader.load(file: "preflight.yml", environment: environment, overrides: overrides)
            } else if !overrides.isEmpty {
                loaded = try loader.load(yaml: "", file: nil, environment: environment, overrides: overrides)
            } else {
                Output.stderr("preflight: no preflight.yml here: give --config FILE, or --target URL and/or --database-url URL (preflight init writes one)\n")
                throw ExitCode(2)
            }
        } catch let error as ConfigError {
            Output.stderr("preflight: \(error)\n")
            throw ExitCode(2)
        }
        // Runnable when the config gives any check its inputs (a script-only or schema-only config too).
        let sectionKeys = Set(AllChecks.sections.map { $0.key })
        if requireInputs && loaded.target == nil && loaded.givenKeys.isDisjoint(with: sectionKeys) {
            Output.stderr("preflight: nothing to check: set target, database.url, load.script, schema.prisma or checks (or --target / --database-url)\n")
            throw ExitCode(2)
        }
        return loaded
    }

    func ids(_ list: String?, known: Set<CheckID>, flag: String) throws -> Set<CheckID> {
        guard let list else { return [] }
        let ids = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        let unknown = ids.subtracting(known).sorted()
        if !unknown.isEmpty {
            throw ValidationError("\(flag): unknown check \(unknown.joined(separator: ", ")); known: \(known.sorted().joined(separator: ", "))")
        }
        return ids
    }
}
