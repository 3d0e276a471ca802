import Testing
@testable import PreflightChecks
import PreflightProbes

/// The port fix in the listener's framework's terms, from its command line and process name.
@Suite struct PortSettingTests {
    @Test(arguments: [
        (["/usr/bin/python3", "/app/.venv/bin/uvicorn", "app.main:app", "--port", "8001"], "python3", "uvicorn … --port 8000"),
        (["/usr/bin/python3", "/usr/local/bin/gunicorn", "mysite.wsgi", "-b", ":8001"], "gunicorn", "gunicorn --bind 0.0.0.0:8000"),
        (["/usr/bin/python3", "/app/.venv/bin/fastapi", "run", "app/main.py"], "fastapi", "fastapi run --port 8000"),
        (["python", "manage.py", "runserver", "8001"], "python", "python manage.py runserver 8000"),
        (["node", "dist/main.js"], "node", "PORT=8000 in its environment (Node reads process.env.PORT)"),
        (["/usr/bin/java", "-jar", "app.jar"], "java", "Spring's server.port=8000 (--server.port=8000 or SERVER_PORT=8000)"),
        (["puma", "3 (tcp://0.0.0.0:3001)"], "ruby", "puma -p 8000 (rails server -p 8000)"),
    ])
    func wording(arguments: [String], process: String, expected: String) {
        #expect(PortSetting.fix(port: 8000, arguments: arguments, process: process) == expected)
    }

    @Test func anUnknownServerHasNoWording() {
        #expect(PortSetting.fix(port: 8000, arguments: ["/usr/bin/python3", "server.py"], process: "python3") == nil)
        #expect(PortSetting.fix(port: 8000, arguments: [], process: nil) == nil)
    }
}

/// A real Gunicorn on the port next to the target: the port check's fix reads its command line.
@Suite(.serialized, .tags(.live), .runsLive) struct PortSettingLive {
    @Test(.enabled(if: gunicornOnPath != nil, "gunicorn is not installed (scripts/install-deps.sh installs it from PyPI)"))
    func aGunicornOnTheNextPortIsToldItsBindFlag() async throws {
        let server = try ServerCheckWorkersLive.Gunicorn(workers: 1)
        defer { server.stop() }
        let listening = Set(ProcListeningSocketTable().unnamedListeningSockets().map(\.address.port))
        let target = try #require([server.port + 1, server.port - 1, server.port + 2].first { !listening.contains($0) && $0 < 65536 })
        let outcome = try await PortCheck(probes: .live).run(context(config(target: "http://127.0.0.1:\(target)")))
        #expect(outcome.status == .fail)
        #expect(outcome.findings.first?.fix?.contains("start the backend on port \(target) (gunicorn --bind 0.0.0.0:\(target))") == true,
                "\(outcome.findings.map { $0.fix ?? "" })")
    }
}
