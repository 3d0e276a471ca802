import Foundation
import Testing
@testable import PreflightCore

/// `env_file:`: `${VAR}` from files beside the config when the environment does not set it (Compose's convention).
@Suite struct EnvFileTests {
    let loader = ConfigLoader(sections: [ProbeSection.self], secrets: Secrets())

    func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pf-envfile-\(UUID().uuidString)")
        for (name, text) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test func parsesDotenvLines() {
        let got = EnvFile.parse("# c\nexport A=1\nB = \"two words\"\nC='x#y'\nD=v # note\nnot a line\nE=\n")
        #expect(got.map { "\($0.name)=\($0.value)" } == ["A=1", "B=two words", "C=x#y", "D=v", "E="])
    }

    @Test func aVariableComesFromTheFileRelativeToTheConfigAndTheEnvironmentWins() throws {
        let dir = try folder(["backend/preflight.yml": "", ".env": "PF_URL=http://127.0.0.1:8000\nPF_PATH=/from-file\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = "env_file: ../.env\ntarget: ${PF_URL}\nprobe:\n  path: ${PF_PATH}\n"
        let file = dir.appendingPathComponent("backend/preflight.yml").path
        let c = try loader.load(yaml: yaml, file: file, environment: ["PF_PATH": "/from-env"])
        #expect(c.target?.port == 8000)
        #expect(c.section(ProbeSection.self).path == "/from-env")
        #expect(c.variables["target"] == [VariableUse(name: "PF_URL", fromEnvironment: true, file: "../.env")])
    }

    @Test func aLaterFileWinsAndAListIsRead() throws {
        let dir = try folder(["a.env": "PF_PATH=/a\n", "b.env": "PF_PATH=/b\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try loader.load(yaml: "env_file: [a.env, b.env]\nprobe: {path: '${PF_PATH}'}\n",
                                file: dir.appendingPathComponent("p.yml").path, environment: [:])
        #expect(c.section(ProbeSection.self).path == "/b")
    }

    @Test func anUnsetVariableNamesTheFilesReadAndTheMissingOnes() throws {
        let dir = try folder([".env": "OTHER=1\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try loader.load(yaml: "env_file: [.env, missing.env]\nprobe: {path: '${PF_NOPE}'}\n",
                                file: dir.appendingPathComponent("p.yml").path, environment: [:])
            Issue.record("loaded")
        } catch {
            #expect(error.problems.map(\.message) == ["environment variable PF_NOPE is not set (nor in env_file .env; env_file missing.env does not exist) (write ${PF_NOPE:-default} to give a default)"])
        }
    }

    @Test func aMissingFileIsNoProblemWhenTheEnvironmentSetsEverything() throws {
        let c = try loader.load(yaml: "env_file: /nonexistent-pf/.env\nprobe: {path: '${PF_P}'}\n", file: nil, environment: ["PF_P": "/x"])
        #expect(c.section(ProbeSection.self).path == "/x")
    }

    @Test func aSecretFromTheFileIsRegistered() throws {
        let secrets = Secrets()
        let dir = try folder([".env": "PF_API_TOKEN=tok-from-file-123\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try ConfigLoader(sections: [ProbeSection.self], secrets: secrets)
            .load(yaml: "env_file: .env\nprobe: {path: '/x/${PF_API_TOKEN}'}\n", file: dir.appendingPathComponent("p.yml").path, environment: [:])
        #expect(!secrets.scrub("said tok-from-file-123").contains("tok-from-file-123"))
    }

    @Test func aMappingIsAProblem() {
        #expect(throws: ConfigError.self) { try loader.load(yaml: "env_file: {a: 1}\n", file: nil, environment: [:]) }
    }

    @Test func aDeviceOrAFolderIsAProblemNotAHang() {
        #expect(throws: ConfigError.self) { try loader.load(yaml: "env_file: /dev/zero\n", file: nil, environment: [:]) }
        let folder = FileManager.default.temporaryDirectory.path
        #expect(throws: ConfigError.self) { try loader.load(yaml: "env_file: \(folder)\n", file: nil, environment: [:]) }
    }
}
