import Foundation
import Testing
import TestSupport

/// The JSON Schema of preflight.yml: `preflight schema` is the committed schema/preflight.schema.json, and
/// Debian's python3-jsonschema finds every example config in the README, every config `preflight init`
/// writes and every config the sample stack writes (Tests/SampleStack/run-scenarios.sh) valid against it.
@Suite struct ConfigSchemaTests {
    static let committed = "schema/preflight.schema.json"

    func validate(_ files: [String]) async throws -> ProcessOutput {
        try await run("/usr/bin/python3", [packageRoot.appendingPathComponent("Tests/Fixtures/validate-json.py").path,
                                           packageRoot.appendingPathComponent(Self.committed).path] + files, limit: 60)
    }

    @Test func committedSchemaIsCurrent() async throws {
        let out = try await run(preflightBinary, ["schema"], limit: 30)
        #expect(out.status == 0, "\(out.stderr)")
        let committed = try String(contentsOf: packageRoot.appendingPathComponent(Self.committed), encoding: .utf8)
        #expect(out.stdout == committed, "schema/preflight.schema.json is stale: run .build/debug/preflight schema > schema/preflight.schema.json")
        #expect(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) is [String: Any])
    }

    /// Every ```yaml block of the README: each is a preflight.yml (other YAML, like the workflow that uses the
    /// action, is fenced ```yml).
    @Test func readmeExamplesAreValid() async throws {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = Self.yamlBlocks(readme)
        #expect(blocks.count >= 2)
        let dir = try temporaryDirectory("pf-schema-readme")
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [String] = []
        for (i, b) in blocks.enumerated() {
            let f = dir.appendingPathComponent("readme-\(i).yml")
            try b.write(to: f, atomically: true, encoding: .utf8)
            files.append(f.path)
        }
        let out = try await validate(files)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
    }

    /// The schema does reject what the loader rejects: an unknown key, a value of the wrong shape.
    @Test func schemaRejectsWhatTheLoaderRejects() async throws {
        let dir = try temporaryDirectory("pf-schema-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.yml")
        try "target: http://127.0.0.1:1\nhelth:\n  path: /health\nload:\n  vus: many\ndatabase:\n  pools:\n    - {size: 5}\n".write(to: bad, atomically: true, encoding: .utf8)
        let out = try await validate([bad.path])
        #expect(out.status == 1)
        #expect(out.stdout.contains("'helth' does not match"), "\(out.stdout)")
        #expect(out.stdout.contains("load/vus"), "\(out.stdout)")
        #expect(out.stdout.contains("'name' is a required property"), "\(out.stdout)")
        // The loader agrees it is not a config.
        let run = try await run(preflightBinary, ["--config", bad.path], limit: 30)
        #expect(run.status == 2)
    }

    /// `preflight init` writes the modeline and the schema it names, and its config is valid against it.
    @Test func initWritesTheModelineAndAValidConfig() async throws {
        let dir = try temporaryDirectory("pf-schema-init")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "PORT=3001\nDATABASE_URL=postgresql://u:pw@127.0.0.1:5432/d?connection_limit=5\n".write(to: dir.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let out = try await run(preflightBinary, ["init"], currentDirectory: dir, limit: 30)
        #expect(out.status == 0, "\(out.stderr)")
        let yaml = try String(contentsOf: dir.appendingPathComponent("preflight.yml"), encoding: .utf8)
        #expect(yaml.hasPrefix("# yaml-language-server: $schema=preflight.schema.json\n"))
        let schema = try String(contentsOf: dir.appendingPathComponent("preflight.schema.json"), encoding: .utf8)
        let committed = try String(contentsOf: packageRoot.appendingPathComponent(Self.committed), encoding: .utf8)
        #expect(schema == committed)
        let valid = try await validate([dir.appendingPathComponent("preflight.yml").path])
        #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
    }

    static func yamlBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [String]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```yaml" { current = []; continue }
            if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" { blocks.append(current!.joined(separator: "\n") + "\n"); current = nil; continue }
            current?.append(String(line))
        }
        return blocks
    }
}
