import Foundation
import PreflightCore

/// A piece of a statically evaluated string: known text, an environment variable, or a run-time hole.
public enum URLPiece: Sendable, Equatable {
    case text(String)
    /// `__ENV.NAME`, with the value after `||`/`??` when there is one.
    case env(String, fallback: [URLPiece]?)
    /// An expression only known at run time (token range in the script).
    case hole(Range<Int>)
}

/// One `http.*` call found in the script.
public struct K6Request: Sendable {
    public let method: String
    public let line: Int
    /// The URL argument's possible values (one per branch of a ternary or `let` reassignment).
    public let alternatives: [[URLPiece]]
    /// The top-level keys of a JSON body written out (`JSON.stringify({ title, body: … })`); nil when not known.
    public var bodyKeys: [String]? = nil
}

/// `export const options`, as far as it can be read statically.
public struct K6Options: Sendable, Equatable {
    public struct Stage: Sendable, Equatable { public var duration: String?; public var target: Int? }
    public struct Scenario: Sendable, Equatable {
        public var name: String
        public var executor: String?
        public var vus: Int?
        public var startVUs: Int?
        public var maxVUs: Int?
        public var preAllocatedVUs: Int?
        public var stages: [Stage] = []
        /// Arrival-rate executors: iterations per `timeUnit` (for ramping-arrival-rate, the stages' targets are rates).
        public var rate: Int?
        public var timeUnit: String?
        /// When it starts and how long it may hold VUs (k6's `startTime`, `duration`, `maxDuration`, `gracefulStop`, `gracefulRampDown`).
        public var startTime: String?
        public var duration: String?
        public var maxDuration: String?
        public var gracefulStop: String?
        public var gracefulRampDown: String?
        /// ramping-arrival-rate: the rate its first stage ramps from (k6's default 0), per `timeUnit`.
        public var startRate: Int? = nil
        /// shared-iterations (all VUs together) and per-vu-iterations (each VU): k6's default 1.
        public var iterations: Int? = nil
        public var peakVUs: Int? {
            let candidates = [vus, startVUs, maxVUs, preAllocatedVUs].compactMap { $0 } + stages.compactMap(\.target)
            return candidates.max()
        }

        /// The seconds during which the scenario may hold VUs, from the test's start: `startTime` to the end of its
        /// duration plus its graceful stop (k6 keeps the VUs for it). nil end: not known, so it overlaps everything.
        public var window: (start: Double, end: Double?) {
            let start = startTime.map { K6Options.seconds($0) ?? 0 } ?? 0
            let tail: Double = gracefulStop.flatMap(K6Options.seconds) ?? 30
            let length: Double?
            switch executor ?? "per-vu-iterations" {
            case "constant-vus", "constant-arrival-rate", "externally-controlled":
                length = duration.flatMap(K6Options.seconds)
            case "ramping-vus", "ramping-arrival-rate":
                let parts = stages.map { $0.duration.flatMap(K6Options.seconds) }
                let rampDown: Double = executor == "ramping-vus" ? (gracefulRampDown.flatMap(K6Options.seconds) ?? 30) : 0
                if parts.contains(where: { $0 == nil }) { length = nil } else { length = parts.compactMap { $0 }.reduce(0, +) + rampDown }
            case "per-vu-iterations", "shared-iterations":
                length = maxDuration == nil ? 600 : maxDuration.flatMap(K6Options.seconds)
            default:
                length = nil
            }
            return (start, length.map { start + $0 + tail })
        }
    }
    public struct Threshold: Sendable, Equatable {
        public var metric: String
        public var line: Int
        public var expressions: [String]
        /// Each expression with its object form's `abortOnFail` / `delayAbortEval` (Core's one threshold owner).
        public var declared: [ScriptThreshold] = []
    }
    public var found = false
    public var line: Int?
    public var vus: Int?
    public var duration: String?
    public var stages: [Stage] = []
    public var scenarios: [Scenario] = []
    public var thresholds: [Threshold] = []
    /// Connection options: `batch`/`batchPerHost` bound an `http.batch` call's parallel connections (k6's defaults
    /// 20 and 6); `noConnectionReuse`/`noVUConnectionReuse` turn keep-alive off (each request, or each iteration,
    /// opens a new connection).
    public var batch: Int?
    public var batchPerHost: Int?
    public var noConnectionReuse: Bool?
    public var noVUConnectionReuse: Bool?
    /// `maxRedirects`: how many redirects k6 follows (its default 10; 0 follows none).
    public var maxRedirects: Int?
    /// TLS as k6 will do it (`insecureSkipTLSVerify`, `tlsVersion`, `tlsCipherSuites`, `tlsAuth`): Checks/Readers/K6TLSOptions.swift.
    public var tls = K6TLSOptions()
    /// Not an option but the plan's other half: the mean seconds one iteration sleeps (the sum of its `sleep()` calls,
    /// `Math.random()` and `randomIntBetween` at their mean); nil when a call's argument cannot be read statically.
    public var iterationSleep: Double? = 0
    /// Why the peak cannot be read statically ("imports ./lib/x.js"): then there is no peak, never an understated one.
    public var peakUnknown: String?

    /// The most VUs the options ask for: scenarios that overlap in time (startTime, duration, graceful stop) add up.
    public var peakVUs: Int? {
        if peakUnknown != nil { return nil }
        if !scenarios.isEmpty {
            let known = scenarios.filter { $0.peakVUs != nil }
            guard !known.isEmpty else { return nil }
            return Self.overlappingPeak(known.map { ($0.window.start, $0.window.end, $0.peakVUs!) })
        }
        let fromStages = stages.compactMap(\.target).max()
        switch (vus, fromStages) {
        case let (v?, s?): return max(v, s)
        case let (v?, nil): return v
        case let (nil, s?): return s
        default: return nil
        }
    }

    /// The largest sum of VUs over scenarios active at the same moment (the maximum is reached at some start).
    static func overlappingPeak(_ s: [(start: Double, end: Double?, vus: Int)]) -> Int {
        var best = 0
        for a in s {
            let t = a.start
            var sum = 0
            for b in s where b.start <= t && (b.end.map { t < $0 } ?? true) { sum = sum.addingReportingOverflow(b.vus).overflow ? Int.max : sum + b.vus }
            best = max(best, sum)
        }
        return best
    }

    /// A k6 duration in seconds: "1m30s", "500ms", "2h", "1d", "1.5s"; a bare number is milliseconds (k6's JS options).
    public static func seconds(_ text: String) -> Double? {
        let s = Array(text.trimmingCharacters(in: .whitespaces).lowercased().utf8)
        guard !s.isEmpty, s.count < 64 else { return nil }
        if let v = Double(String(decoding: s, as: UTF8.self)) { return v.isFinite && v >= 0 ? v / 1000 : nil }
        var total = 0.0, i = 0
        while i < s.count {
            let start = i
            while i < s.count, (s[i] >= 48 && s[i] <= 57) || s[i] == 46 { i += 1 }
            guard i > start, let v = Double(String(decoding: s[start..<i], as: UTF8.self)) else { return nil }
            let u = i
            while i < s.count, s[i] >= 97 && s[i] <= 122 { i += 1 }
            let factor: Double
            switch String(decoding: s[u..<i], as: UTF8.self) {
            case "ns": factor = 1e-9
            case "us": factor = 1e-6
            case "ms": factor = 1e-3
            case "s": factor = 1
            case "m": factor = 60
            case "h": factor = 3600
            case "d": factor = 86400
            default: return nil
            }
            total += v * factor
        }
        return total.isFinite ? total : nil
    }
}

/// Where a cursor-like value comes from.
public enum ValueOrigin: Sendable, Equatable {
    case response
    case time(String)
    case random(String)
    case counter(String)
    case literal(String)
    case empty
    case unknown

    var isGenerated: Bool {
        switch self {
        case .time, .random, .counter: return true
        default: return false
        }
    }
}

/// A k6 script read statically: its requests with their URL expressions, options and custom metrics.
public final class K6Script {
    /// k6 reads these as TypeScript.
    public static func isTypeScript(path: String) -> Bool {
        path.hasSuffix(".ts") || path.hasSuffix(".mts") || path.hasSuffix(".cts")
    }

    public let tokens: JSTokens
    public let problems: [JSProblem]
    public let problemCount: Int
    /// Every request, in order, when the script is read with `init(source:env:typescript:)`; a reading that hands each
    /// request on as it is found (`init(bytes:env:typescript:onRequest:)`) keeps none.
    public internal(set) var requests: [K6Request] = []
    public internal(set) var options = K6Options()
    /// Metrics made with `new Rate/Trend/Counter/Gauge("name")`.
    public internal(set) var customMetrics: Set<String> = []
    /// How many requests each `http.batch(…)` call lists, when its list is written out (nil: built at run time).
    public internal(set) var batchSizes: [Int?] = []
    /// `http.batch(list)` calls whose list is built at run time: their line and the list's source.
    public internal(set) var opaqueBatches: [(line: Int, source: String)] = []
    /// Every import's module specifier, with its line.
    public internal(set) var modules: [(line: Int, specifier: String)] = []
    /// Names bound by imports of modules other than k6's own (`./lib/config.js`, remote modules): name → module.
    public internal(set) var importedNames: [String: String] = [:]

    enum BindingKind { case value, element, counter }
    struct Binding { let kind: BindingKind; let range: Range<Int> }

    var bindings: [String: [Binding]] = [:]
    let match: BracketMatch
    /// The one object-literal and list reader (shared with the Prisma code scanner).
    let literal: JSObjectLiteral
    let env: [String: String]
    var evalMemo: [String: [[URLPiece]]] = [:]
    var classMemo: [String: ValueOrigin] = [:]
    var inProgress: Set<String> = []
    var depth = 0
    static let maxDepth = 24
    static let maxAlternatives = 16

    /// `typescript`: a `.ts` script (k6 runs TypeScript by stripping its types): the types are stripped first.
    public convenience init(source: String, env: [String: String] = [:], typescript: Bool = false) {
        self.init(bytes: Array(source.utf8), env: env, typescript: typescript) { script, request in script.requests.append(request) }
    }

    /// Reads the script and hands each request to `onRequest` as it is found, with the script (its bindings and
    /// `origin` ready); `options` are read after the last request.
    public init(bytes: [UInt8], env: [String: String] = [:], typescript: Bool = false,
                onRequest: (K6Script, K6Request) -> Void) {
        let t = JSTokenizer.tokenize(bytes: bytes)
        tokens = typescript ? TypeScriptStripper.strip(t.tokens) : t.tokens
        problems = t.problems
        problemCount = t.problemCount
        self.env = env
        match = BracketMatch(tokens)
        literal = JSObjectLiteral(tokens: tokens, match: match)
        collectBindings()
        collectRequests(onRequest)
        readOptions()
    }

    // MARK: - structure

    func tok(_ i: Int) -> JSToken? { i >= 0 && i < tokens.count ? tokens[i] : nil }

    static let continuation: Set<String> = [".", "?.", "?", ":", "+", "-", "*", "/", "%", "**", "||", "&&", "??", "==",
                                            "===", "!=", "!==", "<", ">", "<=", ">=", "=>", "(", "[", "&", "|", "^",
                                            "instanceof", "in", "="]

    /// End (exclusive) of the expression starting at `start`, JavaScript-style.
    func exprEnd(_ start: Int, _ limit: Int) -> Int {
        var j = start
        while j < limit {
            let t = tokens[j]
            if j > start && t.newlineBefore {
                let prev = tokens[j - 1]
                let prevOpen = prev.kind == .punctuator && ![")", "]", "}", "++", "--"].contains(prev.text)
                let nextCont = (t.kind == .punctuator && Self.continuation.contains(t.text)) || t.kind == .template
                    || t.kind == .templateHead
                if !prevOpen && !nextCont { return j }
            }
            switch t.kind {
            case .punctuator:
                switch t.text {
                case ";", ",", ")", "]", "}": return j
                case "(", "[", "{":
                    let m = match[j]
                    if m < 0 || m >= limit { return limit }
                    j = m + 1
                    continue
                default: break
                }
            case .templateHead:
                let m = match[j]
                if m < 0 || m >= limit { return limit }
                j = m + 1
                continue
            case .templateMiddle, .templateTail: return j
            default: break
            }
            j += 1
        }
        return limit
    }

    /// Indices of the tokens in `r` that are not inside brackets.
    func topLevel(_ r: Range<Int>) -> [Int] { literal.topLevel(r) }

    /// `c ? a : b` at the top level of `r`: nil when there is no `?`; .some(nil) when its `:` is missing;
    /// otherwise the two branches (nested ternaries in the first branch are skipped over).
    func ternary(_ r: Range<Int>, top: [Int]) -> (Range<Int>, Range<Int>)?? {
        guard let q = top.firstIndex(where: { tokens[$0].isPunct("?") }) else { return nil }
        var nest = 0
        for k in top[(q + 1)...] {
            if tokens[k].isPunct("?") { nest += 1 }
            if tokens[k].isPunct(":") {
                if nest == 0 { return .some(((top[q] + 1)..<k, (k + 1)..<r.upperBound)) }
                nest -= 1
            }
        }
        return .some(nil)
    }

    func stripParens(_ r: Range<Int>) -> Range<Int> {
        var r = r
        while r.count >= 2, tokens[r.lowerBound].isPunct("("), match[r.lowerBound] == r.upperBound - 1 {
            r = (r.lowerBound + 1)..<(r.upperBound - 1)
        }
        return r
    }

    /// Splits at top-level commas.
    func arguments(_ open: Int) -> [Range<Int>] { literal.items(open) }

    /// Readable source for a token range (for messages).
    public func source(_ r: Range<Int>) -> String {
        var out = ""
        var prev: JSToken?
        for j in r where j < tokens.count {
            let t = tokens[j]
            let text: String
            switch t.kind {
            case .string: text = "\"\(t.text)\""
            case .template: text = "`\(t.text)`"
            case .templateHead: text = "`\(t.text)${"
            case .templateMiddle: text = "}\(t.text)${"
            case .templateTail: text = "}\(t.text)`"
            default: text = t.text
            }
            if let p = prev, (p.kind == .identifier || p.kind == .number) && (t.kind == .identifier || t.kind == .number) {
                out += " "
            } else if let p = prev, p.kind == .punctuator, [",", "?", ":", "<", ">", "||", "&&", "??", "=", "*", "+", "-"].contains(p.text) {
                out += " "
            } else if t.kind == .punctuator, ["?", ":", "<", ">", "||", "&&", "??", "=", "*", "+", "-"].contains(t.text) {
                out += " "
            }
            out += text
            prev = t
            if out.count > 200 { return out + "…" }
        }
        return out
    }

}
