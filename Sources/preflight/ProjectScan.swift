import Foundation

/// What `preflight init` learns from a project folder, each fact with where it came from.
struct ProjectScan {
    struct Fact { let value: String; let source: String; let guessed: Bool }

    var port: Fact
    var prefix: String?
    var healthPath: Fact
    var databaseURLVariable: String?
    var usesPrisma = false
    var prismaSchema: String?
    var sources: String?
    var build: String?
    var script: String?
    var scriptEnv: [(name: String, value: String)] = []
    var serviceName = "api"

    init(directory root: URL) {
        let fm = FileManager.default
        func exists(_ p: String) -> Bool { fm.fileExists(atPath: root.appendingPathComponent(p).path) }
        // Project files are input too: none past 1 MiB is read (a real .env or package.json is a few KiB).
        func read(_ p: String) -> String? {
            let path = root.appendingPathComponent(p).path
            guard let size = (try? fm.attributesOfItem(atPath: path))?[.size] as? Int, size <= 1 << 20 else { return nil }
            return try? String(contentsOfFile: path, encoding: .utf8)
        }

        let env = Self.dotenv(read(".env") ?? "")
        let packageJSON = read("package.json").flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        if let name = packageJSON?["name"] as? String, !name.isEmpty { serviceName = name.split(separator: "/").last.map(String.init) ?? name }
        let scripts = (packageJSON?["scripts"] as? [String: String]) ?? [:]
        let code = Self.sourceFiles(root, in: ["src", "app", "server", "lib"]).prefix(400).compactMap { try? String(contentsOf: $0, encoding: .utf8) }

        if let p = env["PORT"], Int(p) != nil {
            port = Fact(value: p, source: ".env PORT", guessed: false)
        } else if let p = scripts.values.lazy.compactMap({ Self.firstMatch(#"PORT=(\d{2,5})"#, in: $0) }).first {
            port = Fact(value: p, source: "package.json scripts", guessed: false)
        } else if let p = code.lazy.compactMap({ Self.firstMatch(#"(?:env\.PORT\s*(?:\|\||\?\?)\s*|listen\(\s*)(\d{2,5})"#, in: $0) }).first {
            port = Fact(value: p, source: "the code's default port", guessed: false)
        } else {
            port = Fact(value: "3000", source: "nothing found; 3000 is a guess", guessed: true)
        }
        prefix = code.lazy.compactMap { Self.firstMatch(#"setGlobalPrefix\(\s*['"`]/?([^'"`]+)['"`]"#, in: $0) }.first
        if let h = code.lazy.compactMap({ Self.firstMatch(#"['"`](/?(?:[\w-]+/)*health[\w/-]*)['"`]"#, in: $0) }).first {
            var path = h.hasPrefix("/") ? h : "/" + h
            if let prefix, path.hasPrefix("/" + prefix) { path = String(path.dropFirst(prefix.count + 1)) }
            healthPath = Fact(value: path, source: "a route in the code", guessed: false)
        } else {
            healthPath = Fact(value: "/health", source: "no health route found; /health is a guess", guessed: true)
        }
        if env["DATABASE_URL"] != nil { databaseURLVariable = "DATABASE_URL" }
        // A multi-file schema lives in a folder (prisma/schema/*.prisma, Prisma 6.7+).
        // Prisma's own order: prisma.config.ts (its `schema:`), then the default locations.
        for p in ["prisma.config.ts", "prisma/schema.prisma", "schema.prisma", "prisma/schema"] where exists(p) { prismaSchema = p; usesPrisma = true; break }
        if exists("src") { sources = "src" }
        if exists("dist") { build = "dist" }
        for dir in ["k6", "load-tests", "loadtests", "load-test", "loadtest", "tests/load", "test/load", "tests/k6", "perf", "scripts", "."] {
            let files = Self.sourceFiles(root, in: [dir], extensions: ["js"], depth: dir == "." ? 0 : 3)
            if let f = files.first(where: { (try? String(contentsOf: $0, encoding: .utf8))?.contains("k6/http") == true }) {
                script = String(f.path.dropFirst(root.path.count + 1))
                let text = (try? String(contentsOf: f, encoding: .utf8)) ?? ""
                scriptEnv = Self.urlVariables(text)
                break
            }
        }
    }

    var target: String { "http://127.0.0.1:\(port.value)" + (prefix.map { "/" + $0 } ?? "") }

    /// `__ENV.CHAT_BASE_URL || "http://localhost:3000/api/v1/chat"` → CHAT_BASE_URL pointing at the target's host and port.
    static func urlVariables(_ text: String) -> [(name: String, value: String)] {
        guard let regex = try? NSRegularExpression(pattern: #"__ENV\.([A-Za-z0-9_]+)\s*(?:\|\||\?\?)\s*['"`](https?://[^'"`$]+)['"`]"#) else { return [] }
        var out: [(String, String)] = []
        for m in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let n = Range(m.range(at: 1), in: text), let d = Range(m.range(at: 2), in: text) else { continue }
            if !out.contains(where: { $0.0 == String(text[n]) }) { out.append((String(text[n]), String(text[d]))) }
        }
        return out
    }

    static func dotenv(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || !line.contains("=") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            var value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            if value.count >= 2, let f = value.first, f == value.last, f == "\"" || f == "'" { value = String(value.dropFirst().dropLast()) }
            out[parts[0].trimmingCharacters(in: .whitespaces)] = value
        }
        return out
    }

    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let r = try? NSRegularExpression(pattern: pattern),
              let m = r.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), m.numberOfRanges > 1,
              let g = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[g])
    }

    /// Source files under some folders, skipping node_modules and dot-folders, sorted for a stable answer.
    static func sourceFiles(_ root: URL, in dirs: [String], extensions: Set<String> = ["ts", "js", "mjs", "py"], depth: Int = 6) -> [URL] {
        var out: [URL] = []
        for d in dirs {
            let base = d == "." ? root : root.appendingPathComponent(d)
            guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isDirectoryKey], options: [.skipsHiddenFiles]) else { continue }
            for case let url as URL in e {
                if url.lastPathComponent == "node_modules" || url.lastPathComponent == "dist" { e.skipDescendants(); continue }
                if e.level > depth + 1 { e.skipDescendants(); continue }
                if extensions.contains(url.pathExtension) { out.append(url) }
                if out.count > 2000 { break }
            }
        }
        return out.sorted { $0.path < $1.path }
    }
}
