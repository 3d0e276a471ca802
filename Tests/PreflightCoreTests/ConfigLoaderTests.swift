import Testing
@testable import PreflightCore

/// A section like a check's own, to exercise the loader.
struct ProbeSection: ConfigSection {
    static let key = "probe"
    static let keys = ["path", "url", "count"]
    var path = "/health"
    var url: ServiceURL?
    var count: Int?
    init() {}
    init(reading r: SectionReader) {
        if let p = r.string("path") { path = p }
        if let raw = r.string("url") {
            let (u, why) = ServiceURL.parse(raw)
            if let why { r.problem("url", why) }
            url = u
        }
        count = r.int("count", in: 1...10)
    }
}

/// A second section in the same mapping (as the pool check's keys share `database:` with `database.url`).
struct ProbeExtraSection: ConfigSection {
    static let key = "probe"
    static let keys = ["extra"]
    var extra: String?
    init() {}
    init(reading r: SectionReader) { extra = r.string("extra") }
}

@Suite struct ConfigLoaderTests {
    let loader = ConfigLoader(sections: [ProbeSection.self])

    @Test func sectionsSharingAMappingAcceptTheUnionOfTheirKeysAndNothingElse() throws {
        let two = ConfigLoader(sections: [ProbeSection.self, ProbeExtraSection.self])
        let c = try two.load(yaml: "probe:\n  path: /x\n  extra: yes\n", file: nil, environment: [:])
        #expect(c.section(ProbeSection.self).path == "/x")
        #expect(c.section(ProbeExtraSection.self).extra == "yes")
        #expect(c.givenKeys == ["probe"])
        do {
            _ = try two.load(yaml: "probe:\n  extr: 1\n", file: nil, environment: [:])
            Issue.record("an unknown key must be a config error")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems.first?.message.contains("did you mean extra?") == true)
        }
    }

    @Test func readsTargetTimeoutAndSection() throws {
        let c = try loader.load(yaml: """
            target: http://127.0.0.1:3001/api/v1
            timeout: 500ms
            probe:
              path: /api/health
              count: 3
            """, file: "p.yml", environment: [:])
        #expect(c.target?.host == "127.0.0.1")
        #expect(c.target?.port == 3001)
        #expect(c.target?.path == "/api/v1")
        #expect(c.timeout == .milliseconds(500))
        #expect(c.section(ProbeSection.self).path == "/api/health")
        #expect(c.section(ProbeSection.self).count == 3)
    }

    @Test func absentSectionTakesDefaults() throws {
        let c = try loader.load(yaml: "target: http://localhost:80", file: nil, environment: [:])
        #expect(c.section(ProbeSection.self).path == "/health")
        #expect(c.timeout == nil)
    }

    @Test func reportsEveryProblemAtOnceWithLines() {
        #expect {
            _ = try loader.load(yaml: """
                target: localhost:3001
                timout: 3s
                probe:
                  path: /h
                  count: 99
                  colour: red
                  url: mysql://root@db/x
                """, file: "p.yml", environment: [:])
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            let text = e.description
            return e.problems.count == 5
                && text.contains("line 1: target: scheme must be http or https")
                && text.contains("line 2: timout: unknown key (did you mean timeout?)")
                && text.contains("line 5: probe.count: 99 is out of range")
                && text.contains("line 6: probe.colour: unknown key")
                && text.contains("line 7: probe.url: scheme must be http or https")
        }
    }

    @Test func substitutesEnvironmentWithDefaults() throws {
        let c = try loader.load(yaml: """
            target: http://${HOST}:${PORT:-3001}/$${literal}
            """, file: nil, environment: ["HOST": "127.0.0.1"])
        #expect(c.target?.raw == "http://127.0.0.1:3001/${literal}")
    }

    @Test func unsetVariableWithoutDefaultIsAProblem() {
        #expect(throws: ConfigError.self) {
            _ = try loader.load(yaml: "target: http://${NOPE_NOT_SET}/", file: nil, environment: [:])
        }
    }

    @Test func yamlSyntaxErrorNamesItsLine() {
        #expect {
            _ = try loader.load(yaml: "target: http://x\nprobe:\n  path: [unclosed\n", file: "p.yml", environment: [:])
        } throws: { error in
            (error as? ConfigError)?.problems.first.map { $0.line >= 3 && $0.message.contains("not valid YAML") } ?? false
        }
    }

    @Test func wrongShapesAreProblemsNotCrashes() {
        for yaml in ["- a\n- b", "target: [1, 2]", "probe: just-a-string", "probe:\n  path: {a: 1}", "target: 42", "timeout: soon"] {
            #expect(throws: ConfigError.self, "\(yaml)") {
                _ = try loader.load(yaml: yaml, file: nil, environment: [:])
            }
        }
    }

    @Test func emptyFileIsAnEmptyConfig() throws {
        let c = try loader.load(yaml: "", file: nil, environment: [:])
        #expect(c.target == nil)
    }

    @Test func commandLineOverridesWin() throws {
        let c = try loader.load(yaml: "target: http://a:1\n", file: nil, environment: [:],
                                overrides: [("target", "http://127.0.0.1:9"), ("probe.path", "/x")])
        #expect(c.target?.port == 9)
        #expect(c.section(ProbeSection.self).path == "/x")
    }

    @Test func badCommandLineValueIsReportedWithoutALine() {
        #expect {
            _ = try loader.load(yaml: "", file: nil, environment: [:], overrides: [("target", "not a url")])
        } throws: { error in
            (error as? ConfigError)?.description.hasPrefix("command line: target:") ?? false
        }
    }

    @Test func durations() {
        #expect(parseDuration("3s") == .seconds(3))
        #expect(parseDuration("250ms") == .milliseconds(250))
        #expect(parseDuration("1.5s") == .milliseconds(1500))
        #expect(parseDuration("2m") == .seconds(120))
        #expect(parseDuration("2") == .seconds(2))
        #expect(parseDuration("-1s") == nil)
        #expect(parseDuration("fast") == nil)
        #expect(parseDuration("1e400s") == nil)
    }
}
