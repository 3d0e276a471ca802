import Testing
@testable import PreflightCore

@Suite struct SecretsTests {
    @Test func redactsPasswordInURLs() {
        #expect(redactURL("postgresql://chat:s3cret@127.0.0.1:5432/db") == "postgresql://chat:***@127.0.0.1:5432/db")
        #expect(redactURL("postgresql://chat:p@ss:word@host/db?x=a@b") == "postgresql://chat:***@host/db?x=a@b")
        #expect(redactURL("http://127.0.0.1:3001/api") == "http://127.0.0.1:3001/api")
        #expect(redactURL("postgresql://user@host/db") == "postgresql://user@host/db")
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
