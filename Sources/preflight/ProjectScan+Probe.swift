import Foundation
import PreflightProbes

/// `init`'s requests to the live service: bounded in count and time, each one reported.
extension ProjectScan {
    /// At most this many GETs, each with `probeTimeout`: the traffic init sends, reported.
    static let maxProbes = 10
    static let probeTimeout: Duration = .seconds(1)

    /// Asks the live service: its OpenAPI document (a health path in it), then the candidate routes, until one
    /// answers 2xx. Stops at once when nothing answers on the port.
    mutating func probe(http: any HTTPClient) async {
        let origin = "http://127.0.0.1:\(port.value)"
        var base = basePath?.value ?? ""
        var sent = 0
        var tried: [String] = []
        func get(_ url: String) async -> HTTPExchange { sent += 1; return await http.get(url, timeout: Self.probeTimeout, bodyCap: 1 << 20) }

        var openAPI: [String] = []
        for path in (base.isEmpty ? [] : [base + "/openapi.json"]) + ["/openapi.json"] where sent < 2 {
            let x = await get(origin + path)
            tried.append("\(path) → \(x.status.map(String.init) ?? "no answer")")
            if let f = x.failure, !f.connected {
                probeLines.append("could not probe: nothing answers on port \(port.value) (\(f.message)); health.path from the project's files")
                return
            }
            if let s = x.status, (200..<300).contains(s),
               let doc = try? JSONSerialization.jsonObject(with: x.body) as? [String: Any], let paths = doc["paths"] as? [String: Any] {
                // Without a base path in the code or the script, the document's paths share it (FastAPI's /api/v1).
                if basePath == nil, let prefix = Self.commonPrefix(Array(paths.keys)) {
                    basePath = Fact(value: prefix, source: "the OpenAPI document's paths (\(path))", guessed: false)
                    base = prefix
                    healthCandidates = healthCandidates.map { c in c.path.hasPrefix(prefix + "/") ? (String(c.path.dropFirst(prefix.count)), c.source) : c }
                    if !healthPath.guessed, healthPath.value.hasPrefix(prefix + "/") { healthPath.value = String(healthPath.value.dropFirst(prefix.count)) }
                }
                openAPI = paths.keys.filter { $0.lowercased().contains("health") && !$0.contains("{") }.sorted()
                if !openAPI.isEmpty { detected.append("OpenAPI document \(path) lists \(openAPI.joined(separator: ", "))") }
                break
            }
        }
        var ordered: [(path: String, source: String)] = openAPI.map { p in
            (!base.isEmpty && p.hasPrefix(base + "/")) ? (String(p.dropFirst(base.count)), "the OpenAPI document") : (p, "the OpenAPI document")
        }
        for c in healthCandidates where !ordered.contains(where: { $0.path == c.path }) { ordered.append(c) }
        // Outside the base path too, written as a full URL: under each of its parents first (a script whose base is
        // /api/v1/chat, an app whose health is /api/v1/health), early, then at the root.
        if !base.isEmpty {
            var parents: [String] = []
            var parts = base.split(separator: "/").map(String.init)
            while parts.count > 1 { parts.removeLast(); parents.append("/" + parts.joined(separator: "/")) }
            let early = parents.map { (origin + $0 + "/health", "a usual health route under \($0), a parent of \(base)") }
            ordered.insert(contentsOf: early, at: min(1, ordered.count))
            for p in ["/health", "/healthz"] { ordered.append((origin + p, "a usual health route, outside \(base)")) }
        }
        for c in ordered where sent < Self.maxProbes {
            let url = c.path.hasPrefix("http") ? c.path : origin + base + c.path
            let x = await get(url)
            tried.append("\(c.path.hasPrefix("http") ? c.path.replacingOccurrences(of: origin, with: "") : base + c.path) → \(x.status.map(String.init) ?? "no answer")")
            if let s = x.status, (200..<300).contains(s) {
                healthPath = Fact(value: c.path, source: "answered \(s) when probed; \(c.source)", guessed: false)
                probeLines.append("probed \(sent) GET\(sent == 1 ? "" : "s") (\(Int(Self.probeTimeout.components.seconds)) s timeout each) on port \(port.value): \(tried.joined(separator: ", "))")
                return
            }
            if let f = x.failure, !f.connected {
                probeLines.append("could not probe: port \(port.value) stopped answering (\(f.message)); health.path from the project's files")
                return
            }
        }
        probeLines.append("probed \(sent) GETs on port \(port.value), none answered 2xx: \(tried.joined(separator: ", ")); health.path from the project's files")
    }

    /// The path segments every one of `paths` begins with ("/api/v1"), nil when none (or a single path).
    static func commonPrefix(_ paths: [String]) -> String? {
        let split = paths.map { $0.split(separator: "/").map(String.init) }
        guard split.count > 1, var prefix = split.first else { return nil }
        for p in split.dropFirst() {
            // The last segment of a path is its own route, never part of the base.
            let heads = Array(p.dropLast())
            var n = 0
            while n < prefix.count && n < heads.count && prefix[n] == heads[n] { n += 1 }
            prefix = Array(prefix.prefix(n))
        }
        prefix = Array(prefix.prefix(split.map { $0.count - 1 }.min() ?? 0))
        return prefix.isEmpty || prefix.contains(where: { $0.contains("{") }) ? nil : "/" + prefix.joined(separator: "/")
    }
}
