import Foundation
import PreflightCore
import PreflightProbes

/// `health.path` and `health.ca` in preflight.yml: where k6's way to the target is asked, and the CA k6 trusts.
/// Owned by `TargetReach`; the health check's own key (`health.upstream`) is `HealthUpstreamSettings`.
public struct HealthSettings: ConfigSection {
    public static let key = "health"
    public static let keys = ["path", "ca"]
    public var path = "/health"
    /// A CA bundle (PEM) to trust for an https target instead of the system's, as k6 will with SSL_CERT_FILE.
    public var ca: String?

    public init() {}
    public init(reading r: SectionReader) {
        if let p = r.string("path") {
            if p.isEmpty || p.contains(" ") {
                r.problem("path", "expected a path like /health, found \"\(p)\"")
            } else if p.hasPrefix("http://") || p.hasPrefix("https://") {
                let (_, why) = ServiceURL.parse(p)
                if let why { r.problem("path", why) } else { path = p }
            } else {
                path = p
            }
        }
        if let c = r.string("ca") {
            if c.isEmpty { r.problem("ca", "expected the path of a CA bundle (PEM file)") } else { ca = c }
        }
    }
}

/// `target` (or `--target`) alone: the service's base URL, parsed once at load (`ServiceURL.parse`). What a check
/// that only needs the address reads (port, generator, script), so it does not list or read health's keys and the
/// script's options; `TargetReach` is built on it.
public struct TargetURL: Fact, CoreKeysFact {
    public static let name = "target"
    public static let coreKeys = ["target"]
    public static let sections: [any ConfigSection.Type] = []
    public let url: ServiceURL?

    public static func derive(from config: Config) -> TargetURL { TargetURL(url: config.target) }
}

/// How k6 reaches the target, decided once per run: the target (origin and base path, `target` or `--target`), the
/// health URL (target + health.path), the CA k6 trusts (health.ca, else SSL_CERT_FILE / SSL_CERT_DIR, else the
/// system's), the script's TLS options (`insecureSkipTLSVerify`, `tlsVersion`, `tlsCipherSuites`, `tlsAuth`), keep-alive
/// (`noConnectionReuse`, `noVUConnectionReuse`) and redirects (`maxRedirects`). Every request preflight sends as k6
/// would (health, the ramp and the burst, exec's watcher) is made with `requestOptions`.
public struct TargetReach: Fact, CoreKeysFact {
    public static let name = "target reach"
    public static let coreKeys = ["target"]
    /// Also built on `LoadPlan` (the script's options, read once per run).
    public static let sections: [any ConfigSection.Type] = [HealthSettings.self]

    /// k6's default `maxRedirects`.
    public static let defaultMaxRedirects = 10

    /// Whether k6 keeps connections for the next request.
    public enum KeepAlive: Sendable, Equatable {
        case on
        /// Off, and the option that turns it off (`options.noConnectionReuse`, `options.noVUConnectionReuse`).
        case off(String)
    }

    /// The trust store k6 (Go) will use, and how to say it.
    public struct Trust: Sendable, Equatable {
        public var file: String?
        public var dir: String?
        /// "trusted: health.ca ca.pem", "trusted: SSL_CERT_FILE /x", "trusted: the system's CA bundle".
        public var source: String
    }

    /// A client certificate of the script's `tlsAuth` for one host: the files as written and where they are.
    public struct ClientCertificate: Sendable, Equatable {
        public var written: String
        public var certFile: String
        public var keyFile: String
    }

    public let target: ServiceURL?
    /// health.path as configured (a path under the target, or a full URL).
    public let healthPath: String
    /// health.ca as written, and the file it names (relative to the config file's folder).
    public let ca: (written: String, file: String)?
    public let tls: K6TLSOptions
    /// The script's folder: `tlsAuth`'s `open("client.pem")` is relative to it.
    public let scriptFolder: String?
    public let keepAlive: KeepAlive
    public let maxRedirects: Int

    public init(target: ServiceURL?, health: HealthSettings = HealthSettings(), configFile: String? = nil,
                options: K6Options? = nil, scriptFile: String? = nil) {
        self.target = target
        healthPath = health.path
        ca = health.ca.map { ($0, LoadPlan.resolve($0, configFile: configFile)) }
        tls = options?.tls ?? K6TLSOptions()
        scriptFolder = scriptFile.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        if options?.noConnectionReuse == true { keepAlive = .off("options.noConnectionReuse") }
        else if options?.noVUConnectionReuse == true { keepAlive = .off("options.noVUConnectionReuse") }
        else { keepAlive = .on }
        maxRedirects = max(0, options?.maxRedirects ?? Self.defaultMaxRedirects)
    }

    public static func derive(from facts: FactStore) -> TargetReach {
        let plan = facts.get(LoadPlan.self)
        return TargetReach(target: facts.get(TargetURL.self).url, health: facts.config.section(HealthSettings.self),
                           configFile: facts.config.file, options: plan.options, scriptFile: plan.scriptFile)
    }

    /// Alone (outside a run): reads the load plan for itself.
    public static func derive(from config: Config) -> TargetReach { derive(from: FactStore(config: config)) }

    /// scheme://host:port of the target.
    public var origin: String? { target.map { "\($0.scheme)://\($0.hostPort)" } }
    /// The target's path (`/api/v1`), under which paths are joined.
    public var basePath: String { target?.path ?? "" }
    /// A path under the target (or a full http(s) URL as given).
    public func url(_ path: String) -> String? { target?.appending(path: path) }
    /// target + health.path: what the health check, the rate-limit check without a burst and exec's watcher ask.
    public var healthURL: String? { url(healthPath) }
    public var insecureSkipVerify: Bool { tls.insecureSkipVerify == true }

    /// health.ca, else SSL_CERT_FILE / SSL_CERT_DIR from `environment`, else the system's CA bundle.
    public func trust(environment: (String) -> String?) -> Trust {
        if let ca { return Trust(file: ca.file, dir: nil, source: "trusted: health.ca \(ca.written)") }
        let file = environment("SSL_CERT_FILE").flatMap { $0.isEmpty ? nil : $0 }
        let dir = environment("SSL_CERT_DIR").flatMap { $0.isEmpty ? nil : $0 }
        if file != nil || dir != nil {
            let named = [file.map { "SSL_CERT_FILE \($0)" }, dir.map { "SSL_CERT_DIR \($0)" }].compactMap { $0 }
            return Trust(file: file, dir: dir, source: "trusted: " + named.joined(separator: ", "))
        }
        return Trust(file: nil, dir: nil, source: "trusted: the system's CA bundle")
    }

    /// The script's `tlsAuth` entry for the URL's host, when its files are named.
    public func clientCertificate(for url: String) -> ClientCertificate? {
        let host = URLComponents(string: url)?.host ?? ""
        guard let auth = tls.clientCertificates.first(where: { $0.domains.contains { d in host == d || host.hasSuffix("." + d) } }),
              let cert = auth.certFile, let key = auth.keyFile, let folder = scriptFolder else { return nil }
        return ClientCertificate(written: cert, certFile: cert.hasPrefix("/") ? cert : folder + "/" + cert,
                                 keyFile: key.hasPrefix("/") ? key : folder + "/" + key)
    }

    /// A request to `url` as k6 makes it: its trust store, the script's TLS options (a bad certificate accepted with
    /// insecureSkipTLSVerify), its client certificate for the host, and redirects followed up to maxRedirects.
    public func requestOptions(for url: String, trust: Trust) -> HTTPRequestOptions {
        var o = HTTPRequestOptions()
        o.verifyPeer = !insecureSkipVerify
        o.caFile = trust.file
        o.caPath = trust.dir
        // k6's defaults are Go's: TLS 1.2 and 1.3.
        o.tlsMin = tls.versionMin.flatMap(K6TLSOptions.version).flatMap(HTTPRequestOptions.TLSVersion.init) ?? .tls1_2
        o.tlsMax = tls.versionMax.flatMap(K6TLSOptions.version).flatMap(HTTPRequestOptions.TLSVersion.init)
        o.cipherList = tls.openSSLCipherList
        if let c = clientCertificate(for: url) {
            o.clientCertificate = c.certFile
            o.clientKey = c.keyFile
        }
        o.maxRedirects = maxRedirects
        return o
    }

    public func requestOptions(for url: String, environment: (String) -> String?) -> HTTPRequestOptions {
        requestOptions(for: url, trust: trust(environment: environment))
    }
}

extension TargetReach.KeepAlive {
    public var reusesConnections: Bool { self == .on }
}

/// The secrets in `health:`: the credentials of health.path when it is an absolute URL.
extension HealthSettings {
    public var secrets: [String] { Secrets.inURL(path) }
}

extension HealthSettings {
    public static let schemaDescription = "The health endpoint the service answers"
    public static let schema: ValueSchema = .object([
        SchemaKey("path", "Path under target (or a full http(s) URL) that answers 200 when the service is ready (default /health)", .string),
        SchemaKey("ca", "A CA bundle (PEM) to trust for an https target, as k6 would with SSL_CERT_FILE; relative to the config file", .string),
    ])
}
