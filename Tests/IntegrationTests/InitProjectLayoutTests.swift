import Foundation
import Testing
import TestSupport

/// `preflight init` on project layouts shaped like real ones, then a run of what it wrote, with no edit, against
/// the service the test starts (Tests/Fixtures/http-fixture.py `routes`: 404 off its routes, as an app answers).
@Suite(.serialized, .tags(.live), .runsLive) struct InitProjectLayoutTests {
    func preflight(_ args: [String], in dir: URL) async throws -> ProcessOutput {
        try #require(FileManager.default.isExecutableFile(atPath: preflightBinary), "build first: \(preflightBinary)")
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = nil
        return try await run(preflightBinary, args, environment: environment, currentDirectory: dir, limit: 60)
    }

    func write(_ files: [String: String], in dir: URL) throws {
        for (path, text) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    /// What the fixture counted (its /__tally is not counted).
    func answered(_ server: FixtureServer) async throws -> String {
        try await run("/usr/bin/python3", ["-c", "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
                                           server.url + "/__tally"]).stdout
    }

    func config(_ dir: URL) throws -> String { try String(contentsOf: dir.appendingPathComponent("preflight.yml"), encoding: .utf8) }

    /// The full-stack FastAPI template's shape: backend/ with routers under settings.API_V1_STR and a prefixed
    /// utils router, `.env` one folder above it, compose mapping the port, a frontend beside, three k6 scripts.
    func fastAPIProject(port: Int, databaseURL: String?) throws -> URL {
        let dir = try temporaryDirectory("pf-init-fastapi")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".git"), withIntermediateDirectories: true)
        try write([
            ".env": "DOMAIN=localhost\nSECRET_KEY=changethis-init\n" + (databaseURL.map { "DATABASE_URL=\($0)\n" } ?? ""),
            "docker-compose.yml": """
                services:
                  db:
                    image: postgres:17
                    ports: ["5432:5432"]
                  backend:
                    build:
                      context: ./backend
                    env_file: [.env]
                    ports:
                      - "\(port):\(port)"
                    command: fastapi run --workers 4 app/main.py
                  frontend:
                    build: ./frontend
                    ports: ["5173:80"]

                """,
            "backend/pyproject.toml": "[project]\nname = \"app\"\ndependencies = [\"fastapi[standard]\", \"sqlmodel\", \"alembic\"]\n",
            "backend/alembic.ini": "[alembic]\nscript_location = app/alembic\n",
            "backend/app/alembic/env.py": "# alembic env\n",
            "backend/app/alembic/versions/e2412789c190_initialize_models.py": "revision = \"e2412789c190\"\ndown_revision = None\n",
            "backend/app/core/config.py": "class Settings(BaseSettings):\n    API_V1_STR: str = \"/api/v1\"\n",
            "backend/app/main.py": "app = FastAPI(openapi_url=f\"{settings.API_V1_STR}/openapi.json\")\napp.include_router(api_router, prefix=settings.API_V1_STR)\n",
            "backend/app/api/routes/utils.py": "router = APIRouter(prefix=\"/utils\", tags=[\"utils\"])\n\n@router.get(\"/health-check/\")\nasync def health_check() -> bool:\n    return True\n",
            "frontend/package.json": #"{"name":"frontend","dependencies":{"react":"^18","@tanstack/react-router":"1"},"devDependencies":{"vite":"5"}}"#,
            "k6/auth.js": "import http from 'k6/http';\nexport function login() { return http.post('http://localhost:\(port)/api/v1/login/access-token'); }\n",
            "k6/load.js": """
                import http from 'k6/http';
                const BASE_URL = __ENV.BASE_URL || "http://localhost:\(port)/api/v1";
                export const options = { vus: 5, duration: '10s', thresholds: { http_req_failed: ['rate<0.01'] } };
                export default function () { http.get(`${BASE_URL}/items/`); }

                """,
            "k6/smoke.js": "import http from 'k6/http';\nexport default function () { http.get('http://localhost:\(port)/api/v1/utils/health-check/'); }\n",
        ], in: dir)
        return dir
    }

    @Test func fastAPIBackendGivesGoFromTheRootAndFromTheBackendFolder() async throws {
        let pg = try await PostgresCluster.shared()
        let database = "init_\(UUID().uuidString.prefix(8).lowercased())"
        try await pg.psql("CREATE DATABASE \(database) OWNER preflight")
        _ = try await pg.psql("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('e2412789c190'); ALTER TABLE alembic_version OWNER TO preflight", database: database)
        let databaseURL = String(pg.url[..<pg.url.lastIndex(of: "/")!]) + "/" + database
        let app = try await FixtureServer.start("routes", ["/api/v1/utils/health-check/", "/api/v1/items/"])
        defer { app.stop() }
        let dir = try fastAPIProject(port: app.port, databaseURL: databaseURL)
        defer { try? FileManager.default.removeItem(at: dir) }

        for folder in [dir, dir.appendingPathComponent("backend")] {
            let out = try await preflight(["init"], in: folder)
            #expect(out.status == 0, "\(out.stderr)")
            let yaml = try config(folder)
            let up = folder == dir ? "" : "../"
            for expected in ["target: http://127.0.0.1:\(app.port)/api/v1", "path: /utils/health-check/", "env_file: [\(up).env]",
                             "url: ${DATABASE_URL}", "name: app", "driver: sqlalchemy", "script: \(up)k6/load.js"] {
                #expect(yaml.contains(expected), "missing \(expected) in \(yaml)")
            }
            // The script's default reaches the service: not overridden.
            #expect(!yaml.contains("BASE_URL: http"), "\(yaml)")
            #expect(!yaml.contains(pg.password) && !out.stdout.contains(pg.password), "the password stays in .env")
            #expect(out.stdout.contains("k6 scripts found: \(up)k6/auth.js, \(up)k6/load.js, \(up)k6/smoke.js"), "\(out.stdout)")
            #expect(out.stdout.contains("load.script \(up)k6/load.js (the first with thresholds"), "\(out.stdout)")
            #expect(out.stdout.contains("python3 (pid \(app.pid)) listens on"), "\(out.stdout)")
            #expect(out.stdout.contains("answered 200 when probed"), "\(out.stdout)")
            #expect(out.stdout.contains("migrations: Alembic"), "\(out.stdout)")
            #expect(!yaml.contains("name: frontend"), "the frontend is never the pool's name")
            if folder == dir { #expect(out.stdout.contains("backend backend/ (backend/alembic.ini; not frontend/ (a frontend))"), "\(out.stdout)") }

            let shownConfig = try await preflight(["config"], in: folder)
            #expect(shownConfig.stdout.contains("via ${DATABASE_URL} (env_file \(up).env)"), "\(shownConfig.stdout)")
            #expect(!shownConfig.stdout.contains(pg.password))

            let run = try await preflight(["--format", "json"], in: folder)
            #expect(run.status == 0, "GO with no edit from \(folder.lastPathComponent): \(run.stdout) \(run.stderr)")
            let root = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            let statuses = ((root?["checks"] as? [[String: Any]]) ?? []).reduce(into: [String: String]()) { $0[$1["id"] as? String ?? ""] = $1["status"] as? String }
            for id in ["port", "health", "database", "pool", "migrations", "script"] { #expect(statuses[id] == "pass", "\(id): \(statuses)") }
            #expect(!run.stdout.contains(pg.password))
        }
    }

    /// The real template publishes the backend's port only in compose.override.yml (compose merges it over
    /// compose.yml): init reads it there.
    @Test func thePortPublishedInComposeOverrideIsRead() async throws {
        let port = closedLoopbackPort()
        let dir = try fastAPIProject(port: port, databaseURL: nil)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("docker-compose.yml"))
        try write([
            "compose.yml": "services:\n  db:\n    image: postgres:17\n  backend:\n    build:\n      context: ./backend\n    env_file: [.env]\n",
            "compose.override.yml": "services:\n  backend:\n    ports:\n      - \"\(port):\(port)\"\n",
            // Chosen for its thresholds; its default points elsewhere: the port can only come from the override.
            "k6/load.js": "import http from 'k6/http';\nconst B = __ENV.BASE_URL || 'http://localhost:9/api/v1';\nexport const options = {thresholds: {http_req_failed: ['rate<0.01']}};\nexport default function () { http.get(`${B}/items/`); }\n",
        ], in: dir)
        let out = try await preflight(["init"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let yaml = try config(dir)
        #expect(yaml.contains("target: http://127.0.0.1:\(port)/api/v1"), "\(yaml)")
        #expect(yaml.contains("compose.override.yml service backend ports"), "\(yaml)")
    }

    @Test func withTheServiceDownInitWritesThePortFromTheProjectAndSaysItCouldNotProbe() async throws {
        let port = closedLoopbackPort()
        let dir = try fastAPIProject(port: port, databaseURL: nil)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The compose file alone names the port: the script's defaults point elsewhere.
        try write(["k6/load.js": """
            import http from 'k6/http';
            const B = __ENV.BASE_URL || 'http://localhost:9/api/v1';
            export const options = {thresholds: {http_req_failed: ['rate<0.01']}};
            export function setup() { return { token: http.post(`${B}/login/access-token`, { username: 'a', password: 'b' }).json('access_token') }; }
            export default function (data) { http.get(`${B}/items/`, { headers: { Authorization: `Bearer ${data.token}` } }); }

            """], in: dir)
        let out = try await preflight(["init"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let yaml = try config(dir)
        #expect(yaml.contains("target: http://127.0.0.1:\(port)/api/v1"), "\(yaml)")
        #expect(yaml.contains("docker-compose.yml service backend ports"), "\(yaml)")
        #expect(yaml.contains("BASE_URL: http://127.0.0.1:\(port)/api/v1"), "the script's wrong default is pointed at the target: \(yaml)")
        #expect(yaml.contains("path: /utils/health-check/"), "\(yaml)")
        #expect(out.stdout.contains("could not probe: nothing answers on port \(port)"), "\(out.stdout)")
        #expect(out.stdout.contains("nothing listens on port \(port) on this machine now"), "\(out.stdout)")
        // The script logs in: the ramp needs a token too, said and left commented.
        #expect(out.stdout.contains("the script logs in (setup() posts to /login/access-token)"), "\(out.stdout)")
        #expect(yaml.contains("# headers: {Authorization: \"Bearer ${API_TOKEN}\"}"), "\(yaml)")

        // Written elsewhere (-c ci/preflight.yml), every path is relative to that file, as a run reads it.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("ci"), withIntermediateDirectories: true)
        let elsewhere = try await preflight(["init", "--no-probe", "-c", "ci/preflight.yml"], in: dir)
        #expect(elsewhere.status == 0, "\(elsewhere.stderr)")
        let ci = try String(contentsOf: dir.appendingPathComponent("ci/preflight.yml"), encoding: .utf8)
        for expected in ["env_file: [../.env]", "script: ../k6/load.js", "path: ../backend/app/alembic/versions"] {
            #expect(ci.contains(expected), "missing \(expected) in \(ci)")
        }
        let shown = try await preflight(["config", "-c", "ci/preflight.yml"], in: dir)
        #expect(shown.status == 0, "\(shown.stdout) \(shown.stderr)")
    }

    @Test func nestPrismaMonorepoPicksTheBackendNotTheFrontend() async throws {
        let pg = try await PostgresCluster.shared()
        let app = try await FixtureServer.start("routes", ["/api/health", "/api/chats*"])
        defer { app.stop() }
        let dir = try temporaryDirectory("pf-init-nest")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".git"), withIntermediateDirectories: true)
        try write([
            "package.json": #"{"name":"chat-monorepo","private":true,"workspaces":["frontend","backend"]}"#,
            "frontend/package.json": #"{"name":"chat-web","dependencies":{"react":"18","next":"14"},"scripts":{"dev":"next dev -p 3000"}}"#,
            "backend/package.json": #"{"name":"@chat/api","dependencies":{"@nestjs/core":"10","@prisma/client":"5"},"scripts":{"start":"nest start","start:prod":"node dist/main"}}"#,
            "backend/.env": "PORT=\(app.port)\nDATABASE_URL=\"\(pg.url)?schema=public&connection_limit=5\"\n",
            "backend/src/main.ts": "const app = await NestFactory.create(AppModule);\napp.setGlobalPrefix('api');\nawait app.listen(process.env.PORT ?? 3000);\n",
            "backend/src/health/health.controller.ts": "@Controller('health')\nexport class HealthController {\n  @Get()\n  check() { return { status: 'ok' }; }\n}\n",
            "backend/prisma/schema.prisma": "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n",
            "backend/k6/chat.js": "import http from 'k6/http';\nconst BASE = __ENV.API || 'http://localhost:3000/api';\nexport default function () { http.get(`${BASE}/chats`); }\n",
        ], in: dir)
        let out = try await preflight(["init"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let yaml = try config(dir)
        for expected in ["target: http://127.0.0.1:\(app.port)/api", "path: /health", "prisma: backend/prisma/schema.prisma",
                         "script: backend/k6/chat.js", "API: http://127.0.0.1:\(app.port)/api", "env_file: [backend/.env]",
                         "name: api", "driver: prisma"] {
            #expect(yaml.contains(expected), "missing \(expected) in \(yaml)")
        }
        #expect(out.stdout.contains("backend/package.json (@nestjs/core); not frontend/ (a frontend)"), "\(out.stdout)")
        #expect(!yaml.contains("chat-web") && !yaml.contains("chat-monorepo"))
        #expect(!yaml.contains(pg.password) && !out.stdout.contains(pg.password))
        let run = try await preflight([], in: dir)
        #expect(run.status == 0, "GO with no edit: \(run.stdout) \(run.stderr)")
    }

    @Test func djangoWithGunicornInAProcfile() async throws {
        let app = try await FixtureServer.start("routes", ["/health/"])
        defer { app.stop() }
        let dir = try temporaryDirectory("pf-init-django")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write([
            "manage.py": "#!/usr/bin/env python\nimport os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
            "requirements.txt": "Django==5.0\ngunicorn\npsycopg[binary]\n",
            "Procfile": "release: python manage.py migrate\nweb: gunicorn mysite.wsgi --bind 0.0.0.0:\(app.port) --workers 3\n",
            "mysite/urls.py": "from django.urls import path\nurlpatterns = [\n    path(\"admin/\", admin.site.urls),\n    path(\"health/\", health),\n]\n",
        ], in: dir)
        let out = try await preflight(["init"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let yaml = try config(dir)
        #expect(yaml.contains("target: http://127.0.0.1:\(app.port)\n"), "\(yaml)")
        #expect(yaml.contains("Procfile (--bind \(app.port))"), "\(yaml)")
        #expect(yaml.contains("path: /health/"), "\(yaml)")
        let run = try await preflight([], in: dir)
        #expect(run.status == 0, "GO with no edit: \(run.stdout) \(run.stderr)")
    }

    /// A service that answers no health route: init stops after its bound and says how many GETs it sent,
    /// which is what the service counted.
    @Test func probesAreBoundedAndCountedAndScriptChoosesTheScript() async throws {
        let app = try await FixtureServer.start("routes", ["/api/v1/items/"])
        defer { app.stop() }
        let dir = try fastAPIProject(port: app.port, databaseURL: nil)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try await preflight(["init", "--script", "k6/smoke.js"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("probed 10 GETs on port \(app.port), none answered 2xx"), "\(out.stdout)")
        let tally = try await answered(app)
        #expect(tally.contains("\"answered\": 10"), "\(tally)")
        #expect(try config(dir).contains("path: /utils/health-check/   # a route in the code"))
        #expect(out.stdout.contains("load.script k6/smoke.js (given with --script)"), "\(out.stdout)")
        #expect(try config(dir).contains("script: k6/smoke.js"))

        let missing = try await preflight(["init", "--force", "--script", "k6/nope.js"], in: dir)
        #expect(missing.status == 2)
        #expect(missing.stderr == "preflight: --script k6/nope.js does not exist\n")
        let quiet = try await preflight(["init", "--force", "--no-probe"], in: dir)
        #expect(quiet.stdout.contains("not probed (--no-probe)"), "\(quiet.stdout)")
        #expect(try await answered(app).contains("\"answered\": 10"), "--no-probe sends nothing")
    }

    /// Project files that do not parse are passed over: init still writes a config that loads, and says what it guessed.
    @Test func brokenProjectFilesAreNoCrash() async throws {
        let dir = try temporaryDirectory("pf-init-broken")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write([
            "docker-compose.yml": "services: [unclosed\n  backend: {ports: \"\n",
            "package.json": "{\"name\": \"x\", \"dependencies\": {\"express\": ",
            "Procfile": "web gunicorn --bind\n",
            ".env": "=novalue\nPORT=notanumber\nexport\n",
            "k6/load.js": "import http from 'k6/http'; const B = __ENV.URL || 'http://[::1:3000/';\n",
        ], in: dir)
        try Data([0xff, 0xfe, 0x00, 0x41]).write(to: dir.appendingPathComponent("backend.env"))
        // An alias bomb in compose.yaml is bounded before Yams composes it (the file is passed over: no port from it).
        let bomb = "x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + (1..<12).map { "x-\(Character(UnicodeScalar(97 + $0)!)): &\(Character(UnicodeScalar(97 + $0)!)) [" + Array(repeating: "*\(Character(UnicodeScalar(96 + $0)!))", count: 9).joined(separator: ",") + "]" }.joined(separator: "\n")
            + "\nservices:\n  api:\n    ports: [\"8000:8000\"]\n    ? *l\n    : 1\n"  // an alias as a key: Yams hashes its expansion
        try write(["compose.yaml": bomb], in: dir)
        // A FIFO named .env (below the root, read on the way up) is passed over, never waited on.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("api"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".git"), withIntermediateDirectories: true)
        #expect(mkfifo(dir.appendingPathComponent("api/.env").path, 0o600) == 0)
        try write(["api/requirements.txt": "fastapi\n"], in: dir)
        let out = try await preflight(["init", "--no-probe"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("guessed:"), "\(out.stdout)")
        let yaml = try config(dir)
        // No port in the files: 3000 or the one application listening on this shared machine, marked either way.
        #expect(yaml.contains("target: http://127.0.0.1:") && yaml.contains("CHECK THIS"), "\(yaml)")
    }

    /// Spring's server.port (with its ${PORT:…} default) and puma's config name the port as a developer set it.
    @Test func springAndPumaSettingsNameThePort() async throws {
        let dir = try temporaryDirectory("pf-init-spring")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = closedLoopbackPort()
        try write(["pom.xml": "<project><artifactId>orders</artifactId></project>\n",
                   "src/main/resources/application.properties": "spring.application.name=orders\nserver.port=${PORT:\(port)}\n"], in: dir)
        let out = try await preflight(["init", "--no-probe"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try config(dir).contains("target: http://127.0.0.1:\(port)\n"))
        #expect(out.stdout.contains("port from src/main/resources/application.properties"), "\(out.stdout)")

        let rails = try temporaryDirectory("pf-init-rails")
        defer { try? FileManager.default.removeItem(at: rails) }
        try write(["Gemfile": "gem 'rails'\n", "config/puma.rb": "port ENV.fetch(\"PORT\") { \(port) }\n"], in: rails)
        #expect(try await preflight(["init", "--no-probe"], in: rails).status == 0)
        #expect(try config(rails).contains("target: http://127.0.0.1:\(port)\n"))
    }

    /// Neither the code nor the script names the base path: the service's OpenAPI document does (its paths'
    /// common prefix), and lists the health route.
    @Test func theOpenAPIDocumentGivesTheBasePathAndTheHealthRoute() async throws {
        let app = try await FixtureServer.start("routes", ["--openapi", "/api/v2/items/", "/api/v2/system/healthz"])
        defer { app.stop() }
        let dir = try temporaryDirectory("pf-init-openapi")
        defer { try? FileManager.default.removeItem(at: dir) }
        try write(["requirements.txt": "fastapi\nuvicorn\n", ".env": "PORT=\(app.port)\n", "main.py": "app = FastAPI()\n"], in: dir)
        let out = try await preflight(["init"], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let yaml = try config(dir)
        #expect(yaml.contains("target: http://127.0.0.1:\(app.port)/api/v2\n"), "\(yaml)")
        #expect(yaml.contains("path: /system/healthz   # answered 200 when probed; the OpenAPI document"), "\(yaml)")
        #expect(out.stdout.contains("base path from the OpenAPI document's paths (/openapi.json)"), "\(out.stdout)")
        let run = try await preflight([], in: dir)
        #expect(run.status == 0, "GO with no edit: \(run.stdout) \(run.stderr)")
    }
}
