import Foundation
import PreflightCore

/// `load:` in preflight.yml: the load test that will run.
public struct LoadSettings: ConfigSection {
    public static let key = "load"
    public static let keys = ["script", "env", "vus", "duration", "request", "headers", "body", "smoke"]
    /// Path of the k6 script.
    public var script: String?
    /// The -e / environment values the test will run with.
    public var env: [String: String] = [:]
    /// Peak virtual users, when given (overrides the script's options).
    public var vus: Int?
    public var duration: Duration?
    /// A read-only request of the test (`GET /chat/conversations/ID/messages`) for the concurrency ramp.
    public var request: (method: String, path: String)?
    /// Headers the ramp sends with `request` (an `Authorization: Bearer ${TOKEN}` the script also sends).
    public var headers: [String: String] = [:]
    /// The body the ramp sends with `request`, as `rate_limit.body` (issue 30: the ramp sends what the load sends).
    /// Only when the user writes one: the ramp's up to 600 requests then write through the service, as the test will.
    public var body: String?
    /// One real iteration of the script before the test (the smoke check); `--no-smoke` or `smoke: false` turns it off.
    public var smoke = true

    public init() {}
    public init(reading r: SectionReader) {
        script = r.string("script")
        if let text = r.string("request") {
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].allSatisfy({ $0.isASCII && $0.isLetter }),
               parts[1].hasPrefix("/") || parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://") {
                request = (parts[0].uppercased(), String(parts[1]))
            } else {
                r.problem("request", "expected a method and a path under the target, like \"GET /chat/conversations/ID/messages\", found \"\(text)\"")
            }
        }
        let h = r.child("headers")
        if case .mapping(let pairs, _)? = h.node {
            for p in pairs { if let v = h.string(p.key) { headers[p.key] = v } }
        } else {
            h.allowKeys([])
        }
        body = r.string("body")
        vus = r.int("vus", in: 1...1_000_000)
        if let b = r.bool("smoke") { smoke = b }
        duration = r.duration("duration", in: .seconds(1)...(.seconds(7 * 24 * 3600)))
        let e = r.child("env")
        if case .mapping(let pairs, _)? = e.node {
            for p in pairs {
                if let v = e.string(p.key) { env[p.key] = v }
            }
        } else {
            e.allowKeys([])
        }
    }
}

/// The load plan: `load:` plus the one reading of the k6 script that every check shares (the script
/// check's findings, the pool and rate-limit checks' peak VUs). The script is read once per run, under one size cap.
public struct LoadPlan: Fact {
    public static let name = "load plan"
    public static let sections: [any ConfigSection.Type] = [LoadSettings.self]

    /// Scripts past 20 MiB are not k6 scripts anyone edits by hand.
    public static let sizeCap = 20 << 20

    /// How the script read, when `load.script` is set.
    enum Reading: Sendable {
        case missing(full: String, exists: Bool)
        case tooLarge(bytes: Int)
        case read(options: K6Options, analysis: ScriptAnalysis)
    }

    public let settings: LoadSettings
    /// `load.script` as written, and where it was looked for (relative to the config file's folder).
    public let scriptPath: String?
    public let scriptFile: String?
    let reading: Reading?

    /// The script's evaluated options, when it was read.
    public var options: K6Options? {
        if case .read(let o, _)? = reading { return o }
        return nil
    }

    /// The script's distinct requests (method and URL template), empty without a script.
    public var requests: [RequestShape] {
        if case .read(_, let a)? = reading { return a.requestShapes }
        return []
    }

    /// How many `http.*` calls the script (and its local modules) makes in all: what a request's share is of.
    public var requestCount: Int {
        if case .read(_, let a)? = reading { return a.requestCount }
        return 0
    }

    /// The script's gRPC use (k6/net/grpc), read with it; empty without a script or without gRPC.
    public var grpc: K6GRPCUse {
        if case .read(_, let a)? = reading { return a.grpc }
        return K6GRPCUse()
    }

    /// How long the test runs, in seconds: `load.duration`, else the script's `duration` or its stages' sum.
    public var plannedSeconds: Double? {
        if let d = settings.duration { return d.seconds }
        guard let o = options else { return nil }
        if let d = o.duration.flatMap(K6Options.seconds) { return d }
        let stages = o.stages.map { $0.duration.flatMap(K6Options.seconds) }
        if !stages.isEmpty, !stages.contains(where: { $0 == nil }) { return stages.compactMap { $0 }.reduce(0, +) }
        return nil
    }

    /// Peak virtual users of the test: `load.vus` when given, else what the script's options ask for.
    public var peakVUs: Int? { settings.vus ?? options?.peakVUs }

    public static func derive(from config: Config) -> LoadPlan {
        let load = config.section(LoadSettings.self)
        guard let path = load.script else { return LoadPlan(settings: load, scriptPath: nil, scriptFile: nil, reading: nil) }
        let full = resolve(path, configFile: config.file)
        return LoadPlan(settings: load, scriptPath: path, scriptFile: full, reading: read(full, path: path, load: load, target: config.target))
    }

    static func read(_ full: String, path: String, load: LoadSettings, target: ServiceURL?) -> Reading {
        // The size is known before reading: a huge file is never loaded whole.
        let size = (try? FileManager.default.attributesOfItem(atPath: full))?[.size] as? Int
        if let size, size > sizeCap { return .tooLarge(bytes: size) }
        guard let bytes = contents(full, size: size ?? 0) else {
            return .missing(full: full, exists: FileManager.default.fileExists(atPath: full))
        }
        guard bytes.count <= sizeCap else { return .tooLarge(bytes: bytes.count) }
        // Each request is reviewed as it is found and dropped: a 200,000-request script keeps no list of them.
        var analysis = ScriptAnalysis(path: path, load: load, target: target)
        let script = K6Script(bytes: bytes, env: load.env, typescript: K6Script.isTypeScript(path: full)) { script, request in
            analysis.review(request, in: script)
        }
        analysis.finish(script)
        followModules(of: script, at: full, shown: path, load: load, analysis: &analysis)
        return .read(options: script.options, analysis: analysis)
    }

    /// Local modules k6 would load with the script: `./x.js` and `../x.js`, resolved against the importing file's
    /// folder as k6 resolves them, breadth first. Bounded: 4 levels, 32 modules, each under `sizeCap`, 8 MiB in all.
    static let moduleDepth = 4, moduleCount = 32, moduleBytes = 8 << 20

    static func followModules(of script: K6Script, at full: String, shown: String, load: LoadSettings, analysis: inout ScriptAnalysis) {
        var queue: [(script: K6Script, full: String, shown: String, depth: Int)] = [(script, full, shown, 0)]
        var seen: Set<String> = [URL(fileURLWithPath: full).standardized.path]
        var bytesRead = 0
        while !queue.isEmpty {
            let (parent, parentFull, parentShown, depth) = queue.removeFirst()
            guard depth < moduleDepth else { continue }
            for m in parent.modules where m.specifier.hasPrefix("./") || m.specifier.hasPrefix("../") {
                guard seen.count <= moduleCount else { return }
                let moduleFull = URL(fileURLWithPath: parentFull).deletingLastPathComponent().appendingPathComponent(m.specifier).standardized.path
                guard seen.insert(moduleFull).inserted else { continue }
                let size = (try? FileManager.default.attributesOfItem(atPath: moduleFull))?[.size] as? Int ?? 0
                guard size <= sizeCap, bytesRead + size <= moduleBytes, let bytes = contents(moduleFull, size: size),
                      bytes.count <= sizeCap else { continue }  // a missing module: k6 inspect names it, at its import line
                bytesRead += bytes.count
                let moduleShown = joined(parentShown, m.specifier)
                analysis.file = moduleShown
                let module = K6Script(bytes: bytes, env: load.env, typescript: K6Script.isTypeScript(path: moduleFull)) { script, request in
                    analysis.review(request, in: script)
                }
                analysis.finishModule(module)
                queue.append((module, moduleFull, moduleShown, depth + 1))
            }
        }
    }

    /// `lib/gql.js` for `./gql.js` imported from `lib/api.js`: the module as the user would name it, no file system.
    static func joined(_ importer: String, _ specifier: String) -> String {
        var parts = importer.split(separator: "/", omittingEmptySubsequences: false).dropLast().map(String.init)
        for c in specifier.split(separator: "/") {
            if c == "." { continue }
            if c == "..", let last = parts.last, last != "..", !last.isEmpty { parts.removeLast() } else { parts.append(String(c)) }
        }
        return parts.joined(separator: "/")
    }

    /// The file's bytes, read once into the one buffer the script reader keeps (no `Data`, no `String` beside it);
    /// nil when it cannot be read. At most `sizeCap` + 1 bytes: a file that grew past the cap reads as too large.
    static func contents(_ path: String, size: Int) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(sizeCap, size) + 1)
        do {
            while bytes.count <= sizeCap, let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                bytes.append(contentsOf: chunk)
            }
        } catch {
            return nil
        }
        return bytes
    }

    /// Relative paths start at the config file's folder (or the current one).
    public static func resolve(_ path: String, configFile: String?) -> String {
        if path.hasPrefix("/") { return path }
        // Absolute first: a relative URL's standardized path drops a leading "..", so "../x" would lose a level.
        let cwd = FileManager.default.currentDirectoryPath
        let base = configFile.map { URL(fileURLWithPath: $0.hasPrefix("/") ? $0 : cwd + "/" + $0).deletingLastPathComponent() }
            ?? URL(fileURLWithPath: cwd, isDirectory: true)
        return base.appendingPathComponent(path).standardized.path
    }
}
/// The secrets in `load:`: load.env values of secret-named variables, JWTs in any value, and the credentials written in any value.
extension LoadSettings {
    public var secrets: [String] {
        // A JWT is a secret whatever its variable is called (JWT, BEARER, SESSION…).
        let jwts = env.keys.sorted().flatMap { JWT.find(in: env[$0]!).map(String.init) }
        return Secrets.inEnvironment(env) + jwts + (request.map { Secrets.inURL($0.path) } ?? []) + Secrets.inHeaders(headers)
            + (body.map(Secrets.inText) ?? [])
    }
}

extension LoadSettings {
    public static let schemaDescription = "The k6 load test"
    public static let schema: ValueSchema = .object([
        SchemaKey("script", "Path of the k6 script (JavaScript or TypeScript)", .string),
        SchemaKey("env", "The -e / environment values the test will run with", .stringMap),
        SchemaKey("vus", "Peak virtual users (overrides the script's options)", .integer(1...1_000_000)),
        SchemaKey("duration", "How long the test runs, e.g. 10m", .duration),
        SchemaKey("request", "A request of the test for the pool-traffic ramp (a read, unless load.body is set), e.g. \"GET /chat/conversations/ID/messages\"", .string),
        SchemaKey("headers", "Headers the ramp sends with load.request, e.g. Authorization: Bearer ${TOKEN}", .stringMap),
        SchemaKey("body", "The body the ramp sends with load.request (its up to 600 requests then write through the service, as the test will)", .scalar),
        SchemaKey("smoke", "Run one real iteration of the script (k6 run --vus 1 --iterations 1, setup() included) when the port and health checks pass (default true; --no-smoke turns it off)", .boolean),
    ])
}
