import Foundation
import PreflightChecks
import PreflightCore
import PreflightProbes

/// What `preflight init` learns from a project, each fact with where it came from. Read in this order: the start
/// folder and the repository root (the folder with .git), the backend's folder (not a frontend's), the k6 scripts
/// and their own defaults, `.env` files from the backend up to the root and the compose files' `env_file:`, the
/// port (from .env PORT, start commands, compose `ports:`, the script's default, the code), the live listeners,
/// the routes in the code. `probe` then asks the live service for the health route (bounded).
struct ProjectScan {
    struct Fact { var value: String; var source: String; var guessed: Bool }

    let start: URL
    /// The config's folder: every path written is relative to it (as a run reads them).
    let base: URL
    let root: URL
    let backend: URL
    let backendWhy: String
    var port = Fact(value: "", source: "", guessed: true)
    var basePath: Fact?
    var healthPath = Fact(value: "/health", source: "", guessed: true)
    var healthCandidates: [(path: String, source: String)] = []
    var probeLines: [String] = []
    var listenerNote: String?
    var envFiles: [String] = []
    var envValues: [String: (value: String, file: String)] = [:]
    var databaseURLVariable: String?
    var driver: String?
    var usesPrisma = false
    var prismaSchema: String?
    var sources: String?
    var build: String?
    var scripts: [String] = []
    var script: String?
    var scriptWhy = ""
    /// The script's `__ENV.X || "url"` defaults: kept (the script gets it right) or written retargeted.
    var scriptEnv: [(name: String, value: String, written: String?)] = []
    var serviceName = "api"
    /// Where the chosen script logs in (a POST to a login/token route, in `setup()` or not), and the env var it
    /// reads a token from, if any: the ramp needs a token too.
    var login: (route: String, inSetup: Bool, tokenVariable: String?)?
    var detected: [String] = []

    /// `start` relative path of a file or folder (`../.env` when it lies above).
    func shown(_ url: URL) -> String { Self.relative(url, from: base) }

    static func relative(_ url: URL, from base: URL) -> String {
        let a = base.standardizedFileURL.pathComponents, b = url.standardizedFileURL.pathComponents
        var i = 0
        while i < a.count && i < b.count && a[i] == b[i] { i += 1 }
        let parts = Array(repeating: "..", count: a.count - i) + b[i...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    init(directory: URL, configFolder: URL? = nil, listeners: [ListeningSocket], script given: String? = nil) {
        start = directory.standardizedFileURL
        base = (configFolder ?? directory).standardizedFileURL
        root = ProjectFiles.repositoryRoot(from: start)
        (backend, backendWhy) = ProjectFiles.backendFolder(from: start)
        let backendPath = Self.relative(backend, from: base)
        if backend.path != start.path { detected.append("backend \(backendPath)/ (\(backendWhy))") }

        // Packages and project kind.
        let package = ProjectFiles.packageJSON(backend)
        let pyproject = ProjectFiles.read(backend.appendingPathComponent("pyproject.toml")) ?? ""
        let requirements = (ProjectFiles.read(backend.appendingPathComponent("requirements.txt")) ?? "") + pyproject
        if let name = package?["name"] as? String, !name.isEmpty {
            serviceName = name.split(separator: "/").last.map(String.init) ?? name
        } else if let name = ProjectFiles.firstMatch(#"(?m)^name\s*=\s*['"]([^'"]+)['"]"#, in: pyproject) {
            serviceName = name
        } else if backend.path != root.path || backend.path != start.path {
            serviceName = backend.lastPathComponent
        }
        let isPython = !pyproject.isEmpty || ProjectFiles.exists(backend.appendingPathComponent("manage.py")) || !requirements.isEmpty
        if let p = PrismaSchemaLocation.find(in: backend.path) {
            prismaSchema = backend.path == base.path ? p : backendPath + "/" + p
            usesPrisma = true; driver = "prisma"
        } else if requirements.lowercased().contains("sqlalchemy") || requirements.lowercased().contains("sqlmodel") {
            driver = "sqlalchemy"
        }
        if ProjectFiles.exists(backend.appendingPathComponent("src")) { sources = backend.path == base.path ? "src" : backendPath + "/src" }
        if ProjectFiles.exists(backend.appendingPathComponent("dist")) { build = backend.path == base.path ? "dist" : backendPath + "/dist" }

        // Compose files at the root, the start folder and the backend's; the backend's service among them.
        var composeDirs = [root, start, backend]
        composeDirs = composeDirs.enumerated().filter { i, d in !composeDirs[..<i].contains { $0.path == d.path } }.map(\.1)
        var services: [(dir: URL, service: ProjectFiles.ComposeService)] = []
        for dir in composeDirs {
            let prefix = dir.path == base.path ? "" : Self.relative(dir, from: base) + "/"
            services += ProjectFiles.composeServices(in: dir, shownAs: prefix).map { (dir, $0) }
        }
        let infrastructure = ["postgres", "redis", "mysql", "mongo", "adminer", "traefik", "nginx", "mailcatcher", "rabbitmq", "pgbouncer", "frontend", "playwright"]
        let backendService = services.first { s in
            s.service.buildContext.map { s.dir.appendingPathComponent($0).standardizedFileURL.path == backend.path } ?? false
        } ?? services.first { ["backend", "api", "server", "app", "web"].contains($0.service.name) }
          ?? { let apps = services.filter { s in !infrastructure.contains { s.service.name.contains($0) || (s.service.image ?? "").contains($0) } && !s.service.ports.isEmpty }
               return apps.count == 1 ? apps[0] : nil }()

        // .env files from the backend up to the repository root (and the start folder's), then the compose
        // service's env_file: read farthest first, so the nearest wins (as a later env_file wins in Compose).
        var envURLs: [URL] = []
        for dir in (ProjectFiles.folders(from: backend, upTo: root) + ProjectFiles.folders(from: start, upTo: root)).reversed() {
            let f = dir.appendingPathComponent(".env")
            if ProjectFiles.read(f) != nil, !envURLs.contains(where: { $0.path == f.path }) { envURLs.append(f) }
        }
        if let s = backendService {
            for name in s.service.envFiles {
                let f = s.dir.appendingPathComponent(name).standardizedFileURL
                if ProjectFiles.read(f) != nil, !envURLs.contains(where: { $0.path == f.path }) { envURLs.append(f) }
            }
        }
        envURLs.sort { $0.pathComponents.count < $1.pathComponents.count }
        for f in envURLs {
            let name = shown(f)
            envFiles.append(name)
            for (k, v) in EnvFile.parse(ProjectFiles.read(f) ?? "") { envValues[k] = (v, name) }
        }
        for name in ["DATABASE_URL", "DATABASE_URI", "DB_URL", "POSTGRES_URL", "SQLALCHEMY_DATABASE_URI", "PG_URL"] where envValues[name] != nil {
            databaseURLVariable = name
            break
        }

        // The k6 scripts: every one found, the chosen one said with why.
        var scriptDirs: [URL] = [start]
        if backend.path != start.path { scriptDirs.append(backend) }
        if root.path != start.path { scriptDirs.append(root) }
        var found: [URL] = []
        for base in scriptDirs {
            for dir in ["k6", "load-tests", "loadtests", "load-test", "loadtest", "tests/load", "test/load", "tests/k6", "perf", "scripts", "."] {
                for f in ProjectFiles.sourceFiles(base, in: [dir], extensions: ["js", "ts"], depth: dir == "." ? 0 : 3)
                where !found.contains(where: { $0.path == f.path }) && (ProjectFiles.read(f)?.contains("k6/http") == true) {
                    found.append(f)
                }
            }
        }
        scripts = found.map(shown)
        let texts = found.map { ProjectFiles.read($0) ?? "" }
        if let i = texts.firstIndex(where: { $0.contains("thresholds") }) {
            script = scripts[i]
            scriptWhy = found.count == 1 ? "the only k6 script" : "the first with thresholds (what preflight predicts against)"
        } else if !found.isEmpty {
            script = scripts[0]
            scriptWhy = found.count == 1 ? "the only k6 script" : "none has thresholds: the first by name"
        }
        var scriptText = script.flatMap { s in scripts.firstIndex(of: s).map { texts[$0] } } ?? ""
        if let given {
            let url = URL(fileURLWithPath: given, relativeTo: start).standardizedFileURL
            script = shown(url)
            if !scripts.contains(script!) { scripts.append(script!) }
            scriptWhy = "given with --script"
            scriptText = ProjectFiles.read(url) ?? ""
        }
        if let route = ProjectFiles.firstMatch(#"http\.post\(\s*[`'"]?[^,)]*?(/[\w/.-]*(?:login|token|auth|signin|session)[\w/.-]*)"#, in: scriptText) {
            login = (route, scriptText.contains("function setup("),
                     ProjectFiles.firstMatch(#"__ENV\.([A-Za-z0-9_]*(?:TOKEN|JWT|BEARER)[A-Za-z0-9_]*)"#, in: scriptText))
        }
        let defaults = Self.urlVariables(scriptText)
        let literal = ProjectFiles.firstMatch(#"['"`](https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0)(?::\d+)?[^'"`$\s]*)['"`]"#, in: scriptText)
        let scriptURL = defaults.first.map(\.value) ?? literal

        // The port: every candidate with its source, in the order a developer's own setting wins.
        var candidates: [(port: String, source: String)] = []
        let nearestEnv = envValues["PORT"]
        if let p = nearestEnv, Int(p.value) != nil { candidates.append((p.value, "\(p.file) PORT")) }
        for dir in [backend] + (backend.path == start.path ? [] : [start]) {
            for (source, line) in ProjectFiles.startCommands(in: dir) {
                if let (p, how) = ProjectFiles.port(inCommand: line) {
                    let prefix = dir.path == base.path ? "" : Self.relative(dir, from: base) + "/"
                    candidates.append((p, "\(prefix)\(source) (\(how) \(p))"))
                }
            }
        }
        // Spring's server.port, puma's `port ENV.fetch("PORT") { 3000 }`.
        for (file, pattern) in [("src/main/resources/application.properties", #"(?m)^\s*server\.port\s*[=:]\s*\$?\{?[A-Z_]*:?(\d{2,5})"#),
                                ("src/main/resources/application.yml", #"(?m)^server:\s*\n(?:\s+.*\n)*?\s+port:\s*\$?\{?[A-Z_]*:?(\d{2,5})"#),
                                ("config/puma.rb", #"port\s+ENV\.fetch\(\s*["']PORT["']\s*\)\s*\{\s*(\d{2,5})"#)] {
            if let text = ProjectFiles.read(backend.appendingPathComponent(file)), let p = ProjectFiles.firstMatch(pattern, in: text) {
                candidates.append((p, "\(backend.path == base.path ? "" : backendPath + "/")\(file)"))
            }
        }
        if let s = backendService {
            if let p = s.service.ports.first { candidates.append((p, "\(s.service.file) service \(s.service.name) ports")) }
            if let c = s.service.command, let (p, how) = ProjectFiles.port(inCommand: c) { candidates.append((p, "\(s.service.file) service \(s.service.name) command (\(how) \(p))")) }
            if let p = s.service.environment["PORT"], Int(p) != nil { candidates.append((p, "\(s.service.file) service \(s.service.name) environment PORT")) }
        }
        if let u = scriptURL, let c = URLComponents(string: u), let p = c.port {
            candidates.append((String(p), "the k6 script's default \(u)"))
        }
        let code = ProjectFiles.sourceFiles(backend, in: ["src", "app", "server", "lib", "api", "."], depth: 4).prefix(400)
            .compactMap { url in ProjectFiles.read(url).map { (url: url, text: $0) } }
        if let p = code.lazy.compactMap({ ProjectFiles.firstMatch(#"(?:env\.PORT\s*(?:\|\||\?\?)\s*|listen\(\s*|port\s*=\s*)(\d{4,5})\b"#, in: $0.text) }).first {
            candidates.append((p, "the code's default port"))
        }

        // The live listeners (the port check's table): one on a candidate port confirms it.
        let live = listeners.filter { $0.address.isLoopback || $0.address.isWildcard }
        func listener(_ port: String) -> ListeningSocket? { live.first { String($0.address.port) == port } }
        if let c = candidates.first(where: { listener($0.port) != nil }), let l = listener(c.port) {
            port = Fact(value: c.port, source: "\(c.source); \(l.owner) listens on \(l.address)", guessed: false)
        } else if let c = candidates.first {
            port = Fact(value: c.port, source: c.source, guessed: false)
            listenerNote = "nothing listens on port \(c.port) on this machine now"
        } else {
            let apps = live.filter { l in ["uvicorn", "gunicorn", "python", "node", "java", "ruby", "puma", "hypercorn", "daphne"].contains { (l.process ?? "").hasPrefix($0) } }
            let ports = Set(apps.map(\.address.port))
            if ports.count == 1, let l = apps.first {
                port = Fact(value: String(l.address.port), source: "no port in the project's files; \(l.owner) is the one application listening", guessed: true)
            } else {
                let guess = isPython ? "8000" : "3000"
                port = Fact(value: guess, source: "nothing found; \(guess) is a guess (\(isPython ? "uvicorn's and Django's" : "Node's usual")) default", guessed: true)
            }
        }
        if candidates.count > 1 {
            let others = candidates.filter { $0.port != port.value }
            if !others.isEmpty { detected.append("other ports named: " + others.map { "\($0.port) (\($0.source))" }.joined(separator: "; ")) }
        }

        // The base path: the app's own (its settings constant or global prefix), else the script's default URL's.
        if let m = code.lazy.compactMap({ f in ProjectFiles.firstMatch(#"API_V\d+_STR\s*(?::\s*str)?\s*=\s*['"]([^'"]+)['"]"#, in: f.text).map { ($0, f.url) } }).first {
            basePath = Fact(value: m.0, source: "\(shown(m.1)) API_V1_STR", guessed: false)
        } else if let m = code.lazy.compactMap({ f in ProjectFiles.firstMatch(#"setGlobalPrefix\(\s*['"`]/?([^'"`]+)['"`]"#, in: f.text).map { ($0, f.url) } }).first {
            basePath = Fact(value: "/" + m.0, source: "\(shown(m.1)) setGlobalPrefix", guessed: false)
        } else if let u = scriptURL, let c = URLComponents(string: u), c.path.count > 1 {
            let path = c.path.hasSuffix("/") ? String(c.path.dropLast()) : c.path
            basePath = Fact(value: path, source: "the k6 script's default \(u)", guessed: false)
        }

        // Health routes in the code (under the base path, as routers include them), then the usual ones.
        let base = basePath?.value ?? ""
        for r in ProjectFiles.healthRoutes(in: Array(code), shownFrom: start) {
            let path = (!base.isEmpty && r.path.hasPrefix(base + "/")) ? String(r.path.dropFirst(base.count)) : r.path
            if !healthCandidates.contains(where: { $0.path == path }) { healthCandidates.append((path, r.source)) }
        }
        for p in ["/health", "/healthz", "/health-check/", "/utils/health-check/", "/status", "/ping"]
        where !healthCandidates.contains(where: { $0.path == p }) { healthCandidates.append((p, "a usual health route")) }
        let first = healthCandidates[0]
        healthPath = first.source == "a usual health route"
            ? Fact(value: "/health", source: "no health route found; /health is a guess", guessed: true)
            : Fact(value: first.path, source: "a route in the code: \(first.source)", guessed: false)

        scriptDefaults(scriptText)
    }

    /// The script's URL defaults: kept when they already reach the target, else pointed at it.
    mutating func scriptDefaults(_ text: String) {
        scriptEnv = []
        for d in Self.urlVariables(text) {
            if let c = URLComponents(string: d.value), ["localhost", "127.0.0.1", "0.0.0.0"].contains(c.host ?? ""),
               String(c.port ?? (c.scheme == "https" ? 443 : 80)) == port.value {
                scriptEnv.append((d.name, d.value, nil))
            } else {
                scriptEnv.append((d.name, d.value, Self.retarget(d.value, to: target)))
            }
        }
    }

    var target: String { "http://127.0.0.1:\(port.value)" + (basePath?.value ?? "") }

    /// The script's default URL with its scheme, host and port replaced by the target's.
    static func retarget(_ url: String, to target: String) -> String {
        guard var c = URLComponents(string: url), let t = URLComponents(string: target) else { return url }
        c.scheme = t.scheme; c.host = t.host; c.port = t.port
        return c.string ?? url
    }

    /// `__ENV.CHAT_BASE_URL || "http://localhost:3000/api/v1/chat"` → (CHAT_BASE_URL, its default).
    static func urlVariables(_ text: String) -> [(name: String, value: String)] {
        var out: [(String, String)] = []
        for m in ProjectFiles.allMatches(#"__ENV\.([A-Za-z0-9_]+)\s*(?:\|\||\?\?)\s*['"`](https?://[^'"`$]+)['"`]"#, in: text)
        where !out.contains(where: { $0.0 == m[0] }) { out.append((m[0], m[1])) }
        return out
    }
}
