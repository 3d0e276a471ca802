import Foundation
import Testing
import TestSupport
import Yams

/// action.yml: a composite action whose steps are scripts/action/*.sh, run here as GitHub would run them
/// (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_PATH pointed at temporary files) against a real HTTP server.
@Suite(.serialized, .tags(.live), .runsLive) struct ActionTests {
    static var action: [String: Any] {
        get throws {
            let text = try String(contentsOf: packageRoot.appendingPathComponent("action.yml"), encoding: .utf8)
            return try #require(try Yams.load(yaml: text) as? [String: Any])
        }
    }

    /// `key=value` lines of a GITHUB_OUTPUT file.
    static func outputs(_ file: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }

    @Test func actionIsCompositeAndItsStepsAreTheScripts() throws {
        let action = try Self.action
        let runs = try #require(action["runs"] as? [String: Any])
        #expect(runs["using"] as? String == "composite")
        let steps = try #require(runs["steps"] as? [[String: Any]])
        #expect(steps.map { $0["id"] as? String } == ["install", "run"])
        for step in steps {
            #expect(step["shell"] as? String == "bash")
            let run = try #require(step["run"] as? String)
            let script = try #require(run.split(separator: "\"").first { $0.contains("scripts/action/") })
            let path = String(script).replacingOccurrences(of: "$GITHUB_ACTION_PATH/", with: "")
            #expect(FileManager.default.isExecutableFile(atPath: packageRoot.appendingPathComponent(path).path), "\(path)")
        }
        // Every output comes from the run step, which writes each of them.
        let outputs = try #require(action["outputs"] as? [String: [String: Any]])
        #expect(Set(outputs.keys) == ["verdict", "exit-code", "root-causes", "junit", "sarif", "json"])
        let script = try String(contentsOf: packageRoot.appendingPathComponent("scripts/action/run.sh"), encoding: .utf8)
        for (name, o) in outputs {
            #expect(o["value"] as? String == "${{ steps.run.outputs.\(name) }}")
            #expect(script.contains("echo \"\(name)="), "run.sh does not write \(name)")
        }
        // Every input a step passes exists.
        let inputs = try #require(action["inputs"] as? [String: Any])
        for step in steps {
            for case let value as String in (step["env"] as? [String: Any] ?? [:]).values where value.hasPrefix("${{ inputs.") {
                let name = value.dropFirst("${{ inputs.".count).dropLast(" }}".count)
                #expect(inputs[String(name)] != nil, "\(name)")
            }
        }
    }

    struct Run {
        let result: ProcessOutput
        let outputs: [String: String]
        let summary: String
        let dir: URL
    }

    func step(_ script: String, in dir: URL, env: [String: String]) async throws -> Run {
        let output = dir.appendingPathComponent("github-output"), summary = dir.appendingPathComponent("step-summary")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: summary.path, contents: nil)
        var environment = ProcessInfo.processInfo.environment
        environment["GITHUB_OUTPUT"] = output.path
        environment["GITHUB_STEP_SUMMARY"] = summary.path
        environment["GITHUB_WORKSPACE"] = dir.path
        environment["GITHUB_ACTION_PATH"] = packageRoot.path
        for (k, v) in env { environment[k] = v }
        let result = try await run("/bin/bash", [packageRoot.appendingPathComponent("scripts/action/\(script)").path],
                                   environment: environment, currentDirectory: dir, limit: 120)
        return Run(result: result, outputs: try Self.outputs(output), summary: try String(contentsOf: summary, encoding: .utf8), dir: dir)
    }

    /// The install step with preflight on PATH (auto and path modes); the build mode is `make install`,
    /// which scripts/test-install.sh runs through this same script.
    @Test func installFindsPreflightOnPath() async throws {
        let dir = try temporaryDirectory("pf-action-install")
        defer { try? FileManager.default.removeItem(at: dir) }
        let binDir = URL(fileURLWithPath: preflightBinary).deletingLastPathComponent().path
        let path = binDir + ":/usr/bin:/bin"
        for mode in ["auto", "path"] {
            let r = try await step("install.sh", in: dir, env: ["INPUT_INSTALL": mode, "PATH": path])
            #expect(r.result.status == 0, "\(r.result.stdout)\(r.result.stderr)")
            #expect(r.outputs["bin"] == binDir + "/preflight")
        }
        let missing = try await step("install.sh", in: dir, env: ["INPUT_INSTALL": "path", "PATH": "/usr/bin:/bin"])
        #expect(missing.result.status == 2)
        #expect(missing.result.stdout.contains("::error title=preflight action::install: path, but preflight is not on PATH"))
        let bad = try await step("install.sh", in: dir, env: ["INPUT_INSTALL": "download"])
        #expect(bad.result.status == 2)
    }

    @Test func runGoNoGoAndErrorAsOutputs() async throws {
        let dir = try temporaryDirectory("pf-action-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await FixtureServer.start("json", ["200", #"{"status":"ok"}"#])
        defer { server.stop() }
        try "target: \(server.url)\nhealth:\n  path: /health\n".write(to: dir.appendingPathComponent("up.yml"), atomically: true, encoding: .utf8)
        try "target: http://127.0.0.1:\(closedLoopbackPort())\n".write(to: dir.appendingPathComponent("down.yml"), atomically: true, encoding: .utf8)
        let base = ["PREFLIGHT": preflightBinary, "INPUT_ARGS": "--only port,health  --timeout 2s", "INPUT_STRICT": "false",
                    "INPUT_JUNIT": "out/junit.xml", "INPUT_SARIF": "preflight.sarif", "INPUT_JSON": "preflight.json"]
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)

        let go = try await step("run.sh", in: dir, env: base.merging(["INPUT_CONFIG": "up.yml"]) { $1 })
        #expect(go.result.status == 0, "\(go.result.stdout)\(go.result.stderr)")
        #expect(go.outputs["verdict"] == "go")
        #expect(go.outputs["exit-code"] == "0")
        #expect(go.outputs["root-causes"] == "")
        #expect(go.outputs["junit"] == "out/junit.xml")
        #expect(go.result.stdout.contains("preflight: GO"))
        #expect(go.summary.contains("preflight: GO"))
        let junit = try String(contentsOf: dir.appendingPathComponent("out/junit.xml"), encoding: .utf8)
        #expect(junit.hasPrefix("<?xml"))
        let valid = try await run("/usr/bin/python3", [packageRoot.appendingPathComponent("Tests/Fixtures/validate-json.py").path,
                                                      packageRoot.appendingPathComponent("Tests/Fixtures/sarif/sarif-2.1.0-required.schema.json").path,
                                                      dir.appendingPathComponent("preflight.sarif").path], limit: 60)
        #expect(valid.status == 0, "\(valid.stdout)")

        let noGo = try await step("run.sh", in: dir, env: base.merging(["INPUT_CONFIG": "down.yml"]) { $1 })
        #expect(noGo.result.status == 1)
        #expect(noGo.outputs["verdict"] == "no-go")
        #expect(noGo.outputs["exit-code"] == "1")
        #expect(noGo.outputs["root-causes"] == "port")
        #expect(noGo.result.stdout.contains("::error title=Service port [port]::connection refused"))

        let tolerated = try await step("run.sh", in: dir, env: base.merging(["INPUT_CONFIG": "down.yml", "INPUT_FAIL_ON_NO_GO": "false"]) { $1 })
        #expect(tolerated.result.status == 0)
        #expect(tolerated.outputs["verdict"] == "no-go")

        try "target: http://127.0.0.1:1\nhelth: {}\n".write(to: dir.appendingPathComponent("bad.yml"), atomically: true, encoding: .utf8)
        let error = try await step("run.sh", in: dir, env: base.merging(["INPUT_CONFIG": "bad.yml", "INPUT_FAIL_ON_NO_GO": "false"]) { $1 })
        #expect(error.result.status == 2)
        #expect(error.outputs["verdict"] == "error")
        #expect(error.outputs["exit-code"] == "2")

        let strictTypo = try await step("run.sh", in: dir, env: base.merging(["INPUT_CONFIG": "up.yml", "INPUT_STRICT": "yes please"]) { $1 })
        #expect(strictTypo.result.status == 2)
    }
}
