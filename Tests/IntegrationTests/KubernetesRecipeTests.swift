import Foundation
import Testing
import TestSupport
import Yams

/// docs/kubernetes.md: its manifests are real YAML with the fields k6-operator's TestRun has, its ConfigMap holds a
/// valid preflight.yml, and the preflight command lines in it run as written (binary and config path replaced)
/// against a real HTTP service and a real PostgreSQL on loopback. No Kubernetes here: that part is not run.
@Suite(.serialized, .tags(.live), .runsLive) struct KubernetesRecipeTests {
    static let doc = "docs/kubernetes.md"

    static func blocks(_ language: String) throws -> [String] {
        let text = try String(contentsOf: packageRoot.appendingPathComponent(doc), encoding: .utf8)
        var blocks: [String] = [], current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if current == nil, t == "```\(language)" { current = []; continue }
            if current != nil, t == "```" { blocks.append(current!.joined(separator: "\n") + "\n"); current = nil; continue }
            current?.append(String(line))
        }
        return blocks
    }

    /// Every document of every yaml block, by kind.
    static func manifests() throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for block in try blocks("yaml") {
            for case let doc as [String: Any] in try Yams.load_all(yaml: block) {
                out[doc["kind"] as? String ?? "?"] = doc
            }
        }
        return out
    }

    static func dig(_ any: Any?, _ path: String...) -> Any? {
        path.reduce(any) { node, key in
            if let i = Int(key) { return (node as? [Any]).flatMap { i < $0.count ? $0[i] : nil } }
            return (node as? [String: Any])?[key]
        }
    }

    static func command(_ testRun: [String: Any], _ pod: String) throws -> [String] {
        try #require(dig(testRun, "spec", pod, "initContainers", "0", "command") as? [String])
    }

    @Test func manifestsAreATestRunWithBothHooks() throws {
        let m = try Self.manifests()
        let run = try #require(m["TestRun"])
        #expect(run["apiVersion"] as? String == "k6.io/v1alpha1")
        #expect(Self.dig(run, "spec", "parallelism") as? Int == 8)
        #expect(Self.dig(run, "spec", "script", "configMap", "name") as? String == "chat-test")
        for pod in ["initializer", "runner"] {
            let c = try #require(Self.dig(run, "spec", pod, "initContainers", "0") as? [String: Any])
            #expect(Set(c.keys).isSubset(of: ["name", "image", "env", "envFrom", "command", "args", "workingDir", "volumeMounts"]),
                    "\(pod): an InitContainer of k6-operator has no \(Set(c.keys))")
            #expect((c["command"] as? [String])?.first == "preflight")
            // The config volume the init container mounts is the pod's, and it is the ConfigMap below.
            let mount = try #require(Self.dig(c, "volumeMounts", "0") as? [String: Any])
            #expect(mount["mountPath"] as? String == "/etc/preflight")
            let volume = try #require(Self.dig(run, "spec", pod, "volumes", "0") as? [String: Any])
            #expect(volume["name"] as? String == mount["name"] as? String)
            #expect(Self.dig(volume, "configMap", "name") as? String == Self.dig(m["ConfigMap"], "metadata", "name") as? String)
        }
        #expect(try Self.command(run, "runner").contains("port,health,generator"))
        // The gate reads DATABASE_URL from the Secret the sh block creates.
        for pod in ["initializer", "runner"] {
            #expect(Self.dig(run, "spec", pod, "initContainers", "0", "envFrom", "0", "secretRef", "name") as? String == "chat-db")
        }
        #expect(try Self.blocks("sh").joined().contains("create secret generic chat-db --from-literal=DATABASE_URL="))
        // The runners' label is what the merge step selects.
        let label = try #require(Self.dig(run, "spec", "runner", "metadata", "labels") as? [String: String])
        #expect(try Self.blocks("sh").joined().contains("-l preflight=\(label["preflight"] ?? "?")"))
    }

    @Test func configMapHoldsAValidConfig() async throws {
        let config = try #require(Self.dig(try Self.manifests()["ConfigMap"], "data", "preflight.yml") as? String)
        let dir = try temporaryDirectory("pf-k8s-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("preflight.yml")
        try config.write(to: f, atomically: true, encoding: .utf8)
        let out = try await run("/usr/bin/python3", [packageRoot.appendingPathComponent("Tests/Fixtures/validate-json.py").path,
                                                    packageRoot.appendingPathComponent("schema/preflight.schema.json").path, f.path], limit: 60)
        #expect(out.status == 0, "\(out.stdout)")
    }

    /// The manifests' own command lines: the gate (go), each runner's (one JSON line), the runners' logs merged.
    @Test func commandLinesRunAgainstRealServices() async throws {
        let m = try Self.manifests()
        let testRun = try #require(m["TestRun"])
        let configText = try #require(Self.dig(m["ConfigMap"], "data", "preflight.yml") as? String)
        let pg = try await PostgresCluster.shared()
        let server = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        let dir = try temporaryDirectory("pf-k8s-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The config as the pods read it, its target pointed at the service here (cluster names never resolve here).
        let clusterTarget = try #require(configText.split(separator: "\n").first { $0.hasPrefix("target: ") }).dropFirst("target: ".count)
        let local = configText.replacingOccurrences(of: String(clusterTarget), with: server.url + "/api/v1")
        let configPath = dir.appendingPathComponent("preflight.yml").path
        try local.write(toFile: configPath, atomically: true, encoding: .utf8)
        func argv(_ command: [String]) -> [String] {
            Array(command.dropFirst()).map { $0 == "/etc/preflight/preflight.yml" ? configPath : $0 }
        }
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = pg.url

        let gate = try await run(preflightBinary, argv(try Self.command(testRun, "initializer")), environment: environment, limit: 180)
        #expect(gate.status == 0, "\(gate.stdout)\(gate.stderr)")
        #expect(gate.stdout.contains("GO"))

        // The runners have the secret (the config names it) but never connect to the database: a closed port here.
        var runnerEnvironment = ProcessInfo.processInfo.environment
        runnerEnvironment["DATABASE_URL"] = "postgresql://chat:pw@127.0.0.1:\(closedLoopbackPort())/chat"
        let runnerArgv = argv(try Self.command(testRun, "runner"))
        var lines: [String] = []
        for _ in 0..<3 {
            let r = try await run(preflightBinary, runnerArgv, environment: runnerEnvironment, limit: 60)
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.split(separator: "\n").count == 1, "one JSON line")
            lines.append(r.stdout)
        }
        server.stop()
        for _ in 0..<2 {
            var r = try await run(preflightBinary, runnerArgv, environment: runnerEnvironment, limit: 60)
            for _ in 0..<50 where r.status == 0 {
                try await Task.sleep(for: .milliseconds(100))
                r = try await run(preflightBinary, runnerArgv, environment: runnerEnvironment, limit: 60)
            }
            #expect(r.status == 1)
            lines.append(r.stdout)
        }
        // As five pods: their own addresses, and a log line that is not a report between them.
        var log = ""
        for (i, line) in lines.enumerated() {
            var root = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            root["runner"] = ["hostname": "chat-load-\(i + 1)", "addresses": ["10.0.3.\(i + 1)"]]
            log += String(decoding: try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]), as: UTF8.self) + "\n"
            if i == 1 { log += "time=\"…\" level=info msg=\"a line some sidecar logged\"\n" }
        }
        let logFile = dir.appendingPathComponent("runners.log")
        try log.write(to: logFile, atomically: true, encoding: .utf8)

        let mergeLine = try #require(try Self.blocks("sh").joined().split(separator: "\n").first { $0.contains("| preflight merge") })
        let mergeArgs = mergeLine.components(separatedBy: "| preflight ")[1].split(separator: " ").map(String.init)
        let merged = try await run("/bin/sh", ["-c", "'\(preflightBinary)' \(mergeArgs.map { "'\($0)'" }.joined(separator: " ")) < '\(logFile.path)'"], limit: 60)
        #expect(merged.status == 1, "\(merged.stdout)\(merged.stderr)")
        #expect(merged.stdout.contains("::error title=Service port [port]::fail from 2 of 5 runners (10.0.3.4, 10.0.3.5): connection refused"), "\(merged.stdout)")
        #expect(merged.stdout.contains("the other 3 pass"))
        #expect(merged.stderr.contains("skipped 1 line that are not JSON objects"))
    }
}
