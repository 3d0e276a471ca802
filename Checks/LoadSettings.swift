import PreflightCore

/// `load:` in preflight.yml: the load test that will run. The script check reads the script;
/// the pool and rate-limit checks size their verdicts with `vus`.
public struct LoadSettings: ConfigSection {
    public static let key = "load"
    /// Path of the k6 script.
    public var script: String?
    /// The -e / environment values the test will run with.
    public var env: [String: String] = [:]
    /// Peak virtual users, when given (overrides the script's options).
    public var vus: Int?
    public var duration: Duration?

    public init() {}
    public init(reading r: SectionReader) {
        r.allowKeys(["script", "env", "vus", "duration"])
        script = r.string("script")
        vus = r.int("vus", in: 1...1_000_000)
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

/// The secrets in `load:`: load.env values of secret-named variables, and the credentials written in any value.
extension LoadSettings: SecretBearing {
    public var secrets: [String] { Secrets.inEnvironment(env) }
}
