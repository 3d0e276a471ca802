import Foundation
import Testing
@testable import PreflightCore

/// A section holding secrets the way a check's own does: a URL and headers.
struct VaultSection: ConfigSection {
    static let key = "vault"
    static let keys: [String] = []  // checks its own keys below
    var url: String?
    var headers: [String: String] = [:]
    init() {}
    init(reading r: SectionReader) {
        r.allowKeys(["url", "headers", "note"])
        url = r.string("url")
        headers = r.stringMap("headers")
        _ = r.string("note")
    }
    var secrets: [String] { (url.map { Secrets.inURL($0) } ?? []) + Secrets.inHeaders(headers) }
}

@Suite struct SecretsTests {
    @Test func redactsPasswordInURLs() {
        #expect(redactURL("postgresql://chat:s3cret@127.0.0.1:5432/db") == "postgresql://chat:***@127.0.0.1:5432/db")
        #expect(redactURL("postgresql://chat:p@ss:word@host/db?x=a@b") == "postgresql://chat:***@host/db?x=a@b")
        #expect(redactURL("http://127.0.0.1:3001/api") == "http://127.0.0.1:3001/api")
        #expect(redactURL("postgresql://user@host/db") == "postgresql://user@host/db")
        // URL passwords of any length, below the scrub's minimum too.
        #expect(redactURL("postgresql://u:p@host/db") == "postgresql://u:***@host/db")
    }

    @Test func redactsCredentialParametersInQueryAndFragment() {
        #expect(redactURL("https://api.test/x?access_token=abc123&page=2#id_token=zzz9&state=s")
                == "https://api.test/x?access_token=***&page=2#id_token=***&state=s")
        let all = ["token", "api_key", "apikey", "access_token", "password", "secret", "key", "sig", "signature",
                   "refresh_token", "client_secret", "X-Amz-Signature"]
        let url = "http://h/p?" + all.enumerated().map { "\($1)=v\($0)" }.joined(separator: "&")
        #expect(redactURL(url) == "http://h/p?" + all.map { "\($0)=***" }.joined(separator: "&"))
        // Names that only resemble one stay.
        #expect(redactURL("http://h/p?keyword=rust&monkey=1&cursor=abc&connection_limit=5")
                == "http://h/p?keyword=rust&monkey=1&cursor=abc&connection_limit=5")
        #expect(redactURL("postgresql://u@h/db?password=q-Pw-2&sslmode=disable") == "postgresql://u@h/db?password=***&sslmode=disable")
    }

    @Test func scrubMasksEveryURLInFreeText() {
        let s = Secrets()
        #expect(s.scrub(#"Get "http://load:Pw-1@127.0.0.1:1/x?token=Tk-2": dial: connection refused"#)
                == #"Get "http://load:***@127.0.0.1:1/x?token=***": dial: connection refused"#)
        #expect(s.scrub("see postgresql://a:b@h/db, then https://h/x?sig=abc.") == "see postgresql://a:***@h/db, then https://h/x?sig=***.")
        #expect(s.scrub("<a href='https://h/?key=K1'>") == "<a href='https://h/?key=***'>")
        // JUnit's XML writes & as &amp;.
        #expect(s.scrub("GET http://h/x?a=1&amp;token=T0k") == "GET http://h/x?a=1&amp;token=***")
        #expect(s.scrub("no URL here: a=b, token=abc") == "no URL here: a=b, token=abc")
    }

    @Test func anExcerptIsScrubbedBeforeItIsCutSoNoSecretIsLeftHalfShown() {
        let s = Secrets()
        s.register("Bearer-Tok-0123456789")
        let body = String(repeating: "x", count: 110) + " Bearer-Tok-0123456789 tail"
        // Cut first, then scrubbed, the first 120 characters would show "Bearer-To".
        #expect(s.scrub(String(body.prefix(120))).hasSuffix(" Bearer-To"))
        #expect(s.excerpt(body, 120) == String(repeating: "x", count: 110) + " *** tail")
        #expect(s.excerpt("short", 120) == "short")
    }

    @Test func aURLCutInsideItsPasswordIsMaskedToo() {
        let s = Secrets()
        // A check kept the first characters of a health body that quotes a connection string.
        #expect(s.scrub("database down (postgresql://chat:x@db/c postgresql://chat:Long-Secret-Pass)")
                == "database down (postgresql://chat:***@db/c postgresql://chat:***)")
        for kept in ["http://localhost:8080", "http://[::1]:8080", "http://localhost:${PORT}/api", "see http://h:3001."] {
            #expect(s.scrub(kept) == kept)
        }
    }

    @Test func registeredSecretsAreScrubbedLongestFirstInEveryEscaping() {
        let s = Secrets()
        s.register("Pw-12")
        s.register("Pw-12345")
        s.register("abc")  // below the minimum: would mangle ordinary words
        #expect(s.scrub("x Pw-12345 y Pw-12 abc") == "x *** y *** abc")
        let odd = #"p"w&<|%:,\q"#
        s.register(odd)
        // As written, in a URL, in Core's JSON and in XML text; reporters' own escaping is not needed (reports are
        // redacted before they render: RedactionTests).
        for form in [odd, #"p\"w&<|%:,\\q"#, "p&quot;w&amp;&lt;|%:,\\q", "p%22w%26%3C%7C%25%3A%2C%5Cq"] {
            #expect(s.scrub("[\(form)]") == "[***]", "\(form)")
        }
    }

    @Test func secretNamedVariables() {
        for name in ["PF_TOKEN", "api_key", "MySecret", "DB_PASSWORD", "PGPASS", "AUTH_HEADER", "oauth", "X_API_KEY"] {
            #expect(Secrets.isSecretName(name), "\(name)")
        }
        for name in ["PF_HOST", "PORT", "DATABASE_URL", "USER", "VUS"] { #expect(!Secrets.isSecretName(name), "\(name)") }
    }

    @Test func credentialHeaders() {
        for name in ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Session-Token",
                     "x-csrf-token", "Api-Key", "X-APIKEY", "X-Client-Secret", "x-api_key"] {
            #expect(Secrets.isCredentialHeader(name), "\(name)")
        }
        for name in ["Content-Type", "Accept", "X-Request-Id", "User-Agent", "Tokenizer"] {
            #expect(!Secrets.isCredentialHeader(name), "\(name)")
        }
        #expect(Secrets.inHeader(name: "Content-Type", value: "application/json").isEmpty)
    }

    @Test func headerValuesAndTheCredentialAfterTheScheme() {
        let bearer = Secrets.inHeader(name: "Authorization", value: "Bearer tok-123456")
        #expect(bearer.contains("Bearer tok-123456") && bearer.contains("tok-123456"))
        let basic = Secrets.inHeader(name: "authorization", value: "Basic " + Data("loadtest:hunter22".utf8).base64EncodedString())
        #expect(basic.contains(Data("loadtest:hunter22".utf8).base64EncodedString()))
        #expect(basic.contains("loadtest:hunter22") && basic.contains("hunter22"))
        #expect(Secrets.inHeader(name: "X-Api-Key", value: " k-0987654 ") == ["k-0987654"])
        let cookie = Secrets.inHeader(name: "Cookie", value: "sid=abcd1234; csrftoken=zyxw9876")
        #expect(cookie.contains("sid=abcd1234; csrftoken=zyxw9876") && cookie.contains("abcd1234") && cookie.contains("zyxw9876"))
        let set = Secrets.inHeader(name: "Set-Cookie", value: "sid=abcd1234; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT")
        #expect(set.contains("abcd1234") && !set.contains("Wed, 21 Oct 2026 07:28:00 GMT"))
        // Any header's value: the credentials of a URL in it.
        #expect(Secrets.inHeader(name: "Referer", value: "https://h/cb?code=1&access_token=ref-tok-1") == ["ref-tok-1"])
    }

    @Test func credentialsWrittenInText() {
        let found = Secrets.inText(#"PGPASSWORD=hunter22 psql --token=abc-123 -H 'Authorization: Bearer tok-9999' "postgresql://u:dbpw-1@h/db" && echo '{"password": "pw-12345", "name": "x"}'"#)
        for s in ["hunter22", "abc-123", "Bearer tok-9999", "tok-9999", "dbpw-1", "pw-12345"] { #expect(found.contains(s), "\(s) in \(found)") }
        #expect(!found.contains("x"))
        #expect(Secrets.inText("echo hello world; ls -la /tmp").isEmpty)
        #expect(Secrets.inURL("postgresql://chat:Registered-Pw%2F1@127.0.0.1:5432/chat?password=q-Pw-2")
                == ["Registered-Pw%2F1", "Registered-Pw/1", "q-Pw-2", Data("chat:Registered-Pw/1".utf8).base64EncodedString()])
        #expect(Secrets.inURL("/api/messages?api_key=Rel-Key-1&page=2") == ["Rel-Key-1"], "a path under the target")
    }

    @Test func theLoaderRegistersEverySecretOnceFromTheParsedConfig() throws {
        let registry = Secrets()
        let loader = ConfigLoader(sections: [VaultSection.self], secrets: registry)
        _ = try loader.load(yaml: """
            target: http://svc:Target-Pw-1@127.0.0.1:3001/api?api_key=Target-Key-2
            vault:
              url: postgresql://chat:Registered-Pw%2F1@127.0.0.1:5432/chat?password=q-Pw-2
              headers: {Authorization: "Bearer Literal-Tok-3", X-Trace: "${PF_TRACE}"}
              note: "${PF_NOTE_TOKEN} ${my_api_key:-Fallback-Key-4} ${PF_HOST}"
            """, file: nil, environment: ["PF_NOTE_TOKEN": "Env-Tok-5", "PF_TRACE": "trace-not-secret", "PF_HOST": "db-host-6"])
        let text = registry.scrub("Target-Pw-1 Target-Key-2 Registered-Pw/1 Registered-Pw%2F1 q-Pw-2 Literal-Tok-3 Fallback-Key-4 Env-Tok-5 | trace-not-secret db-host-6")
        #expect(text == "*** *** *** *** *** *** *** *** | trace-not-secret db-host-6")
    }

    @Test func parsersRegisterNothingThemselves() {
        let registry = Secrets.shared
        // (DatabaseURL.parse, in PreflightProbes, registers what only libpq's parse can tell, before libpq's errors may quote it.)
        _ = ServiceURL.parse("http://svc:Parse-Only-Pw-8@127.0.0.1:3001")
        #expect(registry.scrub("Parse-Only-Pw-8") == "Parse-Only-Pw-8")
    }

    @Test func aReplacedFileValueStaysSecretAndSoDoesItsReplacement() throws {
        let registry = Secrets()
        let loader = ConfigLoader(sections: [VaultSection.self], secrets: registry)
        _ = try loader.load(yaml: "target: ${PF_TARGET}\nvault:\n  url: ${PF_DB}\n", file: nil,
                            environment: ["PF_TARGET": "http://u:File-Target-Pw@127.0.0.1:1", "PF_DB": "postgresql://u:File-Db-Pw@h/db"],
                            overrides: [("target", "http://u:Cli-Target-Pw@127.0.0.1:2"), ("vault.url", "postgresql://u:Cli-Db-Pw@h/db")])
        #expect(registry.scrub("File-Target-Pw File-Db-Pw Cli-Target-Pw Cli-Db-Pw") == "*** *** *** ***")
    }

    @Test func secretsAreRegisteredEvenWhenTheConfigHasProblems() {
        let registry = Secrets()
        let loader = ConfigLoader(sections: [VaultSection.self], secrets: registry)
        #expect(throws: ConfigError.self) {
            _ = try loader.load(yaml: "timeout: ${PF_TOKEN}\nvault:\n  url: postgresql://u:Bad-Config-Pw@h/db\n  nonsense: 1\n",
                                file: nil, environment: ["PF_TOKEN": "Problem-Tok-9"])
        }
        #expect(registry.scrub("Problem-Tok-9 Bad-Config-Pw") == "*** ***")
    }

    @Test func serviceURLJoinsPaths() {
        let (t, _) = ServiceURL.parse("http://127.0.0.1:3001/api/v1/")
        #expect(t?.appending(path: "/health") == "http://127.0.0.1:3001/api/v1/health")
        #expect(t?.appending(path: "health") == "http://127.0.0.1:3001/api/v1/health")
        let (v6, _) = ServiceURL.parse("http://[::1]:8080")
        #expect(v6?.host == "::1")
        #expect(v6?.hostPort == "[::1]:8080")
        #expect(ServiceURL.parse("https://example.test").0?.port == 443)
        #expect(ServiceURL.parse("http://x:99999").0 == nil)
    }
}
