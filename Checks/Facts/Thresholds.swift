import PreflightCore

/// The thresholds the k6 run will be judged by: what the script declares, or, when it declares none, the
/// `http_req_failed: rate<0.01` preflight judges it against (issue 29), marked as a default. Taken from the
/// load plan's one reading of the script (`LoadPlan.thresholds`), or from k6's own evaluation of the options
/// (`k6 inspect`) where a check has it: never a second reading of the file.
public struct Thresholds: Sendable, Equatable {
    public enum Origin: Sendable, Equatable {
        /// Read from the script's `options.thresholds`.
        case script
        /// From `k6 inspect` (imports followed, `__ENV` applied).
        case k6Inspect
        /// The script declares none (or there is no script): the default judges the run.
        case `default`
        /// The options could not be read statically (they come from another module): the default stands in.
        case unknown(String)
    }

    /// In the order declared; each with its metric, tag filter, expression and abort options.
    public let declared: [ScriptThreshold]
    public let origin: Origin

    public init(declared: [ScriptThreshold], origin: Origin) {
        self.declared = declared
        self.origin = origin
    }

    /// From a reading of the options: k6's (`k6 inspect`) or the static one; nil options is no script.
    public init(options: K6Options?, origin: Origin = .script) {
        let all = (options?.thresholds ?? []).flatMap { t in
            t.declared.isEmpty ? t.expressions.map { ScriptThreshold(key: t.metric, source: $0, line: t.line) } : t.declared
        }
        if !all.isEmpty {
            self.init(declared: all, origin: origin)
        } else if origin != .k6Inspect, let why = options?.peakUnknown {
            self.init(declared: [.defaultFailedRequests], origin: .unknown(why))
        } else {
            self.init(declared: [.defaultFailedRequests], origin: .default)
        }
    }

    /// True when no threshold of the script judges the run, only the default.
    public var isDefault: Bool {
        switch origin {
        case .default, .unknown: return true
        case .script, .k6Inspect: return false
        }
    }

    /// What the script declares, empty when only the default judges the run (the prediction puts the default in).
    public var declaredByScript: [ScriptThreshold] { isDefault ? [] : declared }

    /// The declared thresholds on one metric (tag-filtered ones included).
    public func on(_ metric: String) -> [ScriptThreshold] { declared.filter { $0.metric == metric } }

    /// Expressions k6 would refuse: they judge nothing, and k6 will not start.
    public var unreadable: [ScriptThreshold] { declared.filter { $0.expression == nil } }
}

extension LoadPlan {
    /// The run's thresholds from this plan's one reading of the script.
    public var thresholds: Thresholds { Thresholds(options: options) }
}
