import Foundation
import PreflightCore
import Yams

/// The project files `preflight init` reads, each reader bounded and pure over the folder it is given.
enum ProjectFiles {
    static let fm = FileManager.default

    /// A project file's text; none past 1 MiB is read (a real .env, compose file or package.json is a few KiB).
    static func read(_ url: URL) -> String? {
        // Regular files only: a FIFO named .env would block init forever.
        guard let attributes = try? fm.attributesOfItem(atPath: url.path), attributes[.type] as? FileAttributeType == .typeRegular,
              let size = attributes[.size] as? Int, size <= 1 << 20 else { return nil }
        return try? String(contentsOf: url, encoding: .utf8)
    }

    static func exists(_ url: URL) -> Bool { fm.fileExists(atPath: url.path) }

    /// The repository root: the nearest folder at or above `start` holding `.git`; `start` when there is none.
    static func repositoryRoot(from start: URL) -> URL {
        var dir = start.standardizedFileURL
        while true {
            if exists(dir.appendingPathComponent(".git")) { return dir }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return start.standardizedFileURL }
            dir = parent
        }
    }

    /// The folders from `start` up to `root`, nearest first (just `start` when `root` is not above it).
    static func folders(from start: URL, upTo root: URL) -> [URL] {
        var out = [start.standardizedFileURL]
        let rootPath = root.standardizedFileURL.path
        guard start.standardizedFileURL.path.hasPrefix(rootPath) else { return out }
        var dir = start.standardizedFileURL
        while dir.path != rootPath && dir.path.count > rootPath.count {
            dir = dir.deletingLastPathComponent()
            out.append(dir)
        }
        return out
    }

    static func packageJSON(_ dir: URL) -> [String: Any]? {
        read(dir.appendingPathComponent("package.json")).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static let backendPackages = ["@nestjs/core", "express", "fastify", "koa", "@hapi/hapi", "@prisma/client", "prisma", "pg", "typeorm", "sequelize", "knex", "hono"]
    static let frontendPackages = ["react", "vue", "svelte", "@angular/core", "next", "nuxt", "vite", "@sveltejs/kit", "solid-js"]

    static func dependencies(_ package: [String: Any]) -> Set<String> {
        var out = Set<String>()
        for key in ["dependencies", "devDependencies"] { out.formUnion(((package[key] as? [String: Any]) ?? [:]).keys) }
        return out
    }

    /// What kind of project a folder holds: a backend (its language's markers, or a package.json with a server
    /// framework, ORM or driver), a frontend (a package.json with only UI frameworks), or neither.
    enum Kind { case backend(String), frontend, none }
    static func kind(of dir: URL) -> Kind {
        for marker in ["manage.py", "alembic.ini", "pyproject.toml", "requirements.txt", "Pipfile", "go.mod", "pom.xml", "build.gradle", "build.gradle.kts", "Gemfile"]
        where exists(dir.appendingPathComponent(marker)) { return .backend(marker) }
        if let package = packageJSON(dir) {
            let deps = dependencies(package)
            if let d = backendPackages.first(where: deps.contains) { return .backend("package.json (\(d))") }
            if frontendPackages.contains(where: deps.contains) { return .frontend }
        }
        if exists(dir.appendingPathComponent("prisma/schema.prisma")) { return .backend("prisma/schema.prisma") }
        return .none
    }

    /// The backend's folder: `start` when it is one, else the child folder that is (backend, server, api first).
    static func backendFolder(from start: URL) -> (folder: URL, why: String) {
        if case .backend(let marker) = kind(of: start) { return (start, "its \(marker)") }
        let names = ((try? fm.contentsOfDirectory(atPath: start.path)) ?? []).filter { !$0.hasPrefix(".") && $0 != "node_modules" }.sorted()
        let preferred = ["backend", "server", "api", "service", "app"]
        let ordered = preferred.filter(names.contains) + names.filter { !preferred.contains($0) }
        let kinds = ordered.map { ($0, kind(of: start.appendingPathComponent($0))) }
        let frontends = kinds.compactMap { name, kind in if case .frontend = kind { return name + "/" } else { return nil } }
        for (name, kind) in kinds {
            if case .backend(let marker) = kind {
                let skipped = frontends.isEmpty ? "" : "; not \(frontends.joined(separator: ", ")) (a frontend)"
                return (start.appendingPathComponent(name), "\(name)/\(marker)\(skipped)")
            }
        }
        return (start, "no backend marker found; the start folder")
    }

    // MARK: Start commands

    /// The port a start command line names: uvicorn/hypercorn `--port N`, gunicorn `--bind host:N` / `-b`,
    /// Django `runserver [host:]N`, Node `PORT=N`, Spring `--server.port=N`, a `-p N` of `flask run`.
    static func port(inCommand line: String) -> (port: String, how: String)? {
        let patterns: [(String, String)] = [
            (#"--port[= ]+(\d{2,5})"#, "--port"),
            (#"(?:--bind|-b)[= ]+['"]?[^\s:'"]*:(\d{2,5})"#, "--bind"),
            (#"runserver\s+(?:[\w.]+:)?(\d{2,5})"#, "runserver"),
            (#"server\.port[= ]+(\d{2,5})"#, "server.port"),
            (#"\bPORT[= ](\d{2,5})"#, "PORT"),
            (#"flask\s+run\b.*\s-p\s+(\d{2,5})"#, "-p"),
        ]
        for (p, how) in patterns { if let m = firstMatch(p, in: line) { return (m, how) } }
        return nil
    }

    /// The start commands the project keeps: Procfile lines, Dockerfile CMD/ENTRYPOINT, package.json scripts
    /// (start first), shell scripts under scripts/ named start/run/prestart: (where, the command line).
    static func startCommands(in dir: URL) -> [(source: String, line: String)] {
        var out: [(String, String)] = []
        if let text = read(dir.appendingPathComponent("Procfile")) {
            for line in text.split(whereSeparator: \.isNewline) where line.contains(":") { out.append(("Procfile", String(line))) }
        }
        for name in ["Dockerfile", "dockerfile"] {
            if let text = read(dir.appendingPathComponent(name)) {
                for line in text.split(whereSeparator: \.isNewline) {
                    let t = line.trimmingCharacters(in: .whitespaces)
                    if t.uppercased().hasPrefix("CMD") || t.uppercased().hasPrefix("ENTRYPOINT") {
                        out.append(("Dockerfile \(t.split(separator: " ").first ?? "CMD")", t.replacingOccurrences(of: "\", \"", with: " ").replacingOccurrences(of: "\",\"", with: " ")))
                    }
                }
                break
            }
        }
        if let scripts = packageJSON(dir)?["scripts"] as? [String: String] {
            for key in ["start", "start:prod", "start:dev", "dev", "serve"] { if let s = scripts[key] { out.append(("package.json scripts.\(key)", s)) } }
            for (key, s) in scripts.sorted(by: { $0.key < $1.key }) where !["start", "start:prod", "start:dev", "dev", "serve"].contains(key) { out.append(("package.json scripts.\(key)", s)) }
        }
        if let names = try? fm.contentsOfDirectory(atPath: dir.appendingPathComponent("scripts").path) {
            for name in names.sorted() where name.hasSuffix(".sh") && ["start", "run", "serve"].contains(where: name.contains) {
                if let text = read(dir.appendingPathComponent("scripts/\(name)")) {
                    for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") { out.append(("scripts/\(name)", String(line))) }
                }
            }
        }
        return out
    }

    // MARK: Compose

    struct ComposeService {
        let name: String
        var file: String
        var ports: [String] = []
        var environment: [String: String] = [:]
        var envFiles: [String] = []
        var buildContext: String?
        var command: String?
        var image: String?
    }

    /// Compose's default files and the override files it merges over them (the full-stack FastAPI template publishes
    /// its backend's port 8000 only in compose.override.yml).
    static let composeNames = ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
                               "compose.override.yaml", "compose.override.yml", "docker-compose.override.yml", "docker-compose.override.yaml"]

    /// The services of the compose files in `dir` (ports as published on the host, env, env files, build context).
    static func composeServices(in dir: URL, shownAs prefix: String) -> [ComposeService] {
        var out: [ComposeService] = []
        for name in composeNames {
            // A compose file is input too: its aliases are bounded before Yams composes it (as preflight.yml's are).
            guard let text = read(dir.appendingPathComponent(name)), ConfigBounds.check(text) == nil,
                  let node = try? Yams.compose(yaml: text), let services = node.mapping?["services"]?.mapping else { continue }
            for (key, value) in services {
                guard let svcName = key.string, let svc = value.mapping else { continue }
                var s = ComposeService(name: svcName, file: prefix + name)
                for p in svc["ports"]?.sequence ?? [] {
                    if let str = p.string {
                        // "8000:8000", "127.0.0.1:8000:80", "8000", "8000-8001:8000-8001/tcp": the host side.
                        let parts = str.split(separator: "/").first.map { $0.split(separator: ":").map(String.init) } ?? []
                        let host = parts.count >= 2 ? parts[parts.count - 2] : parts.first ?? ""
                        if let n = Int(host.split(separator: "-").first ?? "") { s.ports.append(String(n)) }
                    } else if let published = p.mapping?["published"]?.string, let n = Int(published) {
                        s.ports.append(String(n))
                    }
                }
                if let env = svc["environment"] {
                    if let m = env.mapping {
                        for (k, v) in m { if let k = k.string { s.environment[k] = v.string ?? "" } }
                    } else {
                        for item in env.sequence ?? [] {
                            guard let line = item.string else { continue }
                            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
                            s.environment[kv[0]] = kv.count > 1 ? kv[1] : ""
                        }
                    }
                }
                if let f = svc["env_file"] {
                    if let one = f.string { s.envFiles = [one] }
                    for item in f.sequence ?? [] {
                        if let one = item.string ?? item.mapping?["path"]?.string { s.envFiles.append(one) }
                    }
                }
                s.buildContext = svc["build"]?.string ?? svc["build"]?.mapping?["context"]?.string
                s.command = svc["command"]?.string ?? svc["command"]?.sequence?.compactMap(\.string).joined(separator: " ")
                s.image = svc["image"]?.string
                // An override file's service is merged over the one read before it (as compose does): its ports,
                // environment and env files add to it, its build, command and image replace it; the ports' file is
                // the one that published them.
                if let i = out.firstIndex(where: { $0.name == svcName }) {
                    var m = out[i]
                    if !s.ports.isEmpty { m.ports += s.ports.filter { !m.ports.contains($0) }; m.file = s.file }
                    m.environment.merge(s.environment) { _, new in new }
                    m.envFiles += s.envFiles.filter { !m.envFiles.contains($0) }
                    m.buildContext = s.buildContext ?? m.buildContext
                    m.command = s.command ?? m.command
                    m.image = s.image ?? m.image
                    out[i] = m
                } else {
                    out.append(s)
                }
            }
        }
        return out
    }

    // MARK: Code

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let r = try? NSRegularExpression(pattern: pattern),
              let m = r.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), m.numberOfRanges > 1,
              let g = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[g])
    }

    static func allMatches(_ pattern: String, in text: String) -> [[String]] {
        guard let r = try? NSRegularExpression(pattern: pattern) else { return [] }
        return r.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { m in
            (1..<m.numberOfRanges).map { Range(m.range(at: $0), in: text).map { String(text[$0]) } ?? "" }
        }
    }

    /// Source files below a folder, skipping node_modules, virtualenvs and dot-folders, sorted for a stable answer.
    static func sourceFiles(_ root: URL, in dirs: [String], extensions: Set<String> = ["ts", "js", "mjs", "py"], depth: Int = 6) -> [URL] {
        var out: [URL] = []
        let skipped: Set<String> = ["node_modules", "dist", "venv", ".venv", "__pycache__", "site-packages", "build"]
        for d in dirs {
            let base = d == "." ? root : root.appendingPathComponent(d)
            guard let e = fm.enumerator(at: base, includingPropertiesForKeys: [.isDirectoryKey], options: [.skipsHiddenFiles]) else { continue }
            for case let url as URL in e {
                if skipped.contains(url.lastPathComponent) { e.skipDescendants(); continue }
                if e.level > depth + 1 { e.skipDescendants(); continue }
                if extensions.contains(url.pathExtension) { out.append(url) }
                if out.count > 2000 { break }
            }
        }
        return Array(Set(out)).sorted { $0.path < $1.path }
    }

    /// Health routes declared in the code, with the router prefix of their file: FastAPI/Flask decorators
    /// (`APIRouter(prefix="/utils")` + `@router.get("/health-check/")`), NestJS controllers, Django `path("health/")`.
    static func healthRoutes(in files: [(url: URL, text: String)], shownFrom root: URL) -> [(path: String, source: String)] {
        var out: [(String, String)] = []
        for (url, text) in files {
            let shown = url.path.hasPrefix(root.path + "/") ? String(url.path.dropFirst(root.path.count + 1)) : url.lastPathComponent
            if url.pathExtension == "py" {
                let prefix = firstMatch(#"(?:APIRouter|Blueprint)\([^)]*url_prefix\s*=\s*['"]([^'"]*)['"]"#, in: text)
                    ?? firstMatch(#"APIRouter\([^)]*prefix\s*=\s*['"]([^'"]*)['"]"#, in: text) ?? ""
                for m in allMatches(#"@\w+\.(?:get|api_route|route|head)\(\s*['"]([^'"]*(?:health|healthz|ping|ready|live)[^'"]*)['"]"#, in: text) {
                    out.append((join(prefix, m[0]), "\(shown) (\(prefix.isEmpty ? "" : "router prefix \(prefix) + ")route \(m[0]))"))
                }
                for m in allMatches(#"\bpath\(\s*['"]([^'"]*health[^'"]*)['"]"#, in: text) { out.append((join("", m[0]), "\(shown) (Django path \(m[0]))")) }
            } else {
                let controller = firstMatch(#"@Controller\(\s*['"`]/?([^'"`]*)['"`]"#, in: text)
                if let c = controller, c.contains("health") {
                    let sub = firstMatch(#"@Get\(\s*['"`]/?([^'"`]*)['"`]"#, in: text) ?? ""
                    out.append((join("/" + c, sub), "\(shown) (@Controller('\(c)'))"))
                } else if let h = firstMatch(#"\.(?:get|head)\(\s*['"`](/?(?:[\w-]+/)*health[\w/-]*)['"`]"#, in: text) {
                    out.append((join("", h), "\(shown) (route \(h))"))
                }
            }
        }
        return out
    }

    static func join(_ a: String, _ b: String) -> String {
        var s = a.hasSuffix("/") ? String(a.dropLast()) : a
        if !b.isEmpty { s += b.hasPrefix("/") ? b : "/" + b }
        if !s.hasPrefix("/") { s = "/" + s }
        return s
    }
}
