import Foundation
import PreflightCore
import PreflightProbes

/// What the plan asks of the generator: peak VUs, connections per VU, new connections per second.
struct Demand: Sendable {
    var vus: Int
    var vuSource: String
    var perVU: Int
    var perVUSource: String
    /// The option that turns keep-alive off, when one does.
    var keepAliveOff: String?
    /// New connections per second when keep-alive is off, with where the rate came from.
    var newConnectionsPerSecond: (value: Int, source: String)?

    var connections: Int { vus * perVU }
    var descriptors: Int { connections + GeneratorCheck.k6OwnDescriptors }

    /// k6's defaults for `batch` and `batchPerHost`.
    static let defaultBatch = 20, defaultBatchPerHost = 6

    init?(plan: LoadPlan, settings: GeneratorSettings) {
        guard let vus = plan.peakVUs, vus > 0 else { return nil }
        self.vus = vus
        let options = plan.options ?? K6Options()
        let file = plan.scriptPath ?? "the script"
        if plan.settings.vus != nil {
            vuSource = "load.vus"
        } else if !options.scenarios.isEmpty {
            let parts = options.scenarios.map { "\($0.name) \($0.peakVUs ?? 0)" }
            let sum = options.scenarios.compactMap(\.peakVUs).reduce(0, +)
            // Scenarios that never run at the same time do not add up (K6Options.peakVUs).
            vuSource = "options.scenarios in \(file) (" + (sum == vus ? parts.joined(separator: " + ") : parts.joined(separator: ", ") + "; the most at the same time") + ")"
        } else if let s = options.stages.compactMap(\.target).max(), s >= (options.vus ?? 0) {
            vuSource = "options.stages in \(file)"
        } else {
            vuSource = "options.vus in \(file)"
        }

        // HTTP/1.1 keep-alive: a VU holds one connection (one host assumed); http.batch opens up to
        // min(its requests, batch, batchPerHost) at once.
        var batches: [Int?] = []
        if case .read(_, let a)? = plan.reading { batches = a.batchSizes }
        if batches.isEmpty {
            perVU = 1
            perVUSource = "HTTP/1.1 keep-alive"
        } else {
            let batch = options.batch ?? Self.defaultBatch, perHost = options.batchPerHost ?? Self.defaultBatchPerHost
            let unlimited = Int.max
            let largest = batches.contains(where: { $0 == nil }) ? (batch > 0 ? batch : unlimited) : (batches.compactMap { $0 }.max() ?? 1)
            var n = largest
            if batch > 0 { n = min(n, batch) }
            if perHost > 0 { n = min(n, perHost) }
            if n == unlimited { n = 1 }
            perVU = max(1, n)
            let written = largest == unlimited || batches.contains(where: { $0 == nil }) ? "a run-time list" : "\(largest) requests"
            perVUSource = "http.batch of \(written), batch \(batch)\(options.batch == nil ? " (default)" : ""), batchPerHost \(perHost)\(options.batchPerHost == nil ? " (default)" : "")"
        }

        // Keep-alive off: every request (noConnectionReuse) or every iteration (noVUConnectionReuse) connects anew.
        if options.noConnectionReuse == true { keepAliveOff = "options.noConnectionReuse" }
        else if options.noVUConnectionReuse == true { keepAliveOff = "options.noVUConnectionReuse" }
        if keepAliveOff != nil {
            newConnectionsPerSecond = Self.rate(plan: plan, options: options, settings: settings, vus: vus)
        }
    }

    /// Requests per second: generator.requests_per_second, else the arrival-rate scenarios' rates plus one
    /// request per second per VU of the others, else the estimate of one request per VU per second.
    static func rate(plan: LoadPlan, options: K6Options, settings: GeneratorSettings, vus: Int) -> (value: Int, source: String) {
        if let r = settings.requestsPerSecond { return (r, "generator.requests_per_second") }
        let arrival = options.scenarios.filter { ($0.executor ?? "").hasSuffix("arrival-rate") }
        if plan.settings.vus == nil, !arrival.isEmpty {
            var total = 0.0
            var parts: [String] = []
            for s in options.scenarios {
                if arrival.contains(where: { $0.name == s.name }) {
                    let per = s.executor == "ramping-arrival-rate" ? (s.stages.compactMap(\.target).max() ?? s.rate ?? 0) : (s.rate ?? 0)
                    // k6's duration, not the config's: "1m30s" is 90 s, a bare number is milliseconds.
                    let unit = s.timeUnit.flatMap(K6Options.seconds) ?? 1
                    total += unit > 0 ? Double(per) / unit : 0
                    let shown = s.timeUnit.map { Double($0) == nil ? $0 : "\($0)ms" } ?? "1s"
                    parts.append("\(s.name) \(per)/\(shown)")
                } else if let v = s.peakVUs {
                    total += Double(v)
                    parts.append("\(s.name) \(v) VUs × 1/s (estimate)")
                }
            }
            return (max(1, Int(total.rounded(.up))), "options.scenarios: " + parts.joined(separator: " + "))
        }
        return (vus, "estimate: \(grouped(vus)) VUs × 1 request/s")
    }
}
