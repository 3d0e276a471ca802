import Foundation
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

/// `database:` kept as the loader built it, to see what aliases and merge keys produced.
struct RawDatabaseSection: ConfigSection {
    static let key = "database"
    static let keys: [String] = []  // keeps any shape: these tests look at what the loader built
    var node: ConfigNode?
    init() {}
    init(reading r: SectionReader) { node = r.node }
}

/// The classic "billion laughs": nine lists of nine aliases to the list above (9^9 strings expanded).
let aliasBomb = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
    + zip("abcdefgh", "bcdefghi").map { p, c in "\(c): &\(c) [" + Array(repeating: "*\(p)", count: 9).joined(separator: ",") + "]" }

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

    // MARK: aliases, merge keys, bounds (issue 21)

    func problems(_ yaml: String, _ l: ConfigLoader? = nil) -> [ConfigProblem] {
        do {
            _ = try (l ?? loader).load(yaml: yaml, file: "p.yml", environment: [:])
            return []
        } catch {
            return error.problems
        }
    }

    @Test func aliasBombStopsAtTheAliasThatCrossesTheNodeLimit() {
        let found = problems(aliasBomb.joined(separator: "\n"))
        #expect(found.count == 1, "\(found)")
        // a..d expand to 8,309 nodes; the first *d on line 5 takes the document past 10,000.
        #expect(found.first?.line == 5)
        #expect(found.first?.message.contains("alias *d expands the config past the limit of 10000") == true, "\(found)")
    }

    @Test func anAliasAsAMappingKeyIsBoundedBeforeYamsHashesIt() {
        // Yams hashes every key to find duplicates, an alias key with its whole expansion.
        let found = problems((aliasBomb.prefix(4) + ["x-keys:", "  ? *d", "  : 1", "  ? *c", "  : 2"]).joined(separator: "\n"))
        #expect(found.map(\.line) == [6], "\(found)")
        #expect(found.first?.message.contains("alias *d") == true)
    }

    @Test func mergeKeysCountLikeAliases() {
        // *m is 822 nodes and 92 alias uses: a merge key's list of twelve of them (line 6) is far too many.
        let yaml = (aliasBomb.prefix(3) + ["x-m: &m {k: *c}", "probe:", "  <<: [" + Array(repeating: "*m", count: 12).joined(separator: ",") + "]"])
            .joined(separator: "\n")
        let found = problems(yaml)
        #expect(found.map(\.line) == [6], "\(found)")
        #expect(found.first?.message.contains("alias *m expands the config past the limit of") == true, "\(found)")
    }

    @Test func aliasUsesAreLimitedEvenWhenEachIsSmall() {
        let yaml = "x-v: &v 1\nx-list: [" + Array(repeating: "*v", count: ConfigBounds.maxAliasUses + 1).joined(separator: ", ") + "]\n"
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(found.first?.line == 2)
        #expect(found.first?.message.contains("the limit of 1000 alias uses") == true, "\(found)")
        let fine = "x-v: &v 1\nx-list: [" + Array(repeating: "*v", count: ConfigBounds.maxAliasUses).joined(separator: ", ") + "]\n"
        #expect(problems(fine).isEmpty)
    }

    @Test func aLongValueAliasedManyTimesIsLimitedByItsText() {
        let long = String(repeating: "$$", count: 300_000)  // 600 kB, and a new string per use once interpolated
        let found = problems("x-big: &big \"\(long)\"\nx-uses: [*big, *big, *big, *big, *big, *big, *big]\n")
        #expect(found.count == 1)
        #expect(found.first?.line == 2)
        #expect(found.first?.message.contains("alias *big expands the config past the limit of 4 MiB of text") == true, "\(found)")
    }

    @Test func textOverOneMebibyteIsRefusedBeforeItIsParsed() {
        let yaml = "target: http://127.0.0.1:1\n#" + String(repeating: "x", count: ConfigBounds.maxBytes) + "\n"
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(found.first?.message == "config file is 1.0 MiB (\(yaml.utf8.count) bytes); the limit is 1 MiB")
    }

    @Test func fileOverOneMebibyteIsRefusedBeforeItIsRead() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pf-big-\(UUID().uuidString.prefix(8)).yml")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(repeating: UInt8(ascii: "#"), count: 2 << 20).write(to: url)
        #expect {
            _ = try loader.load(file: url.path, environment: [:])
        } throws: { error in
            (error as? ConfigError)?.description == "\(url.path): config file is 2.0 MiB (2097152 bytes); the limit is 1 MiB"
        }
    }

    @Test func aliasesAndMergeKeysInARealConfig() throws {
        let l = ConfigLoader(sections: [ProbeSection.self, RawDatabaseSection.self])
        let c = try l.load(yaml: """
            target: http://127.0.0.1:3001
            x-defaults: &defaults
              size: 10
              replicas: 2
              url: ${DATABASE_URL}
            x-header: &auth Bearer ${TOKEN:-t}
            database:
              url: ${DATABASE_URL}
              pools:
                - <<: *defaults
                  name: api
                - <<: *defaults
                  name: worker
                  size: 4
                - {name: cron, driver: pg, note: *auth}
            """, file: "p.yml", environment: ["DATABASE_URL": "postgresql://u@127.0.0.1/app"])
        guard case .sequence(let pools, _)? = c.section(RawDatabaseSection.self).node?["pools"] else {
            Issue.record("no pools"); return
        }
        func field(_ i: Int, _ key: String) -> String? {
            if case .scalar(let s, _)? = pools[i][key] { return s }
            return nil
        }
        #expect(pools.count == 3)
        #expect(field(0, "name") == "api")
        #expect(field(0, "size") == "10")
        #expect(field(0, "replicas") == "2")
        #expect(field(0, "url") == "postgresql://u@127.0.0.1/app")
        #expect(field(1, "name") == "worker")
        #expect(field(1, "size") == "4", "the mapping's own key wins over the merged one")
        #expect(field(1, "replicas") == "2")
        #expect(field(2, "note") == "Bearer t")
        // A merged value keeps the line it was written on, for its problems.
        #expect(pools[0]["size"]?.line == 3)
        #expect(pools[1]["size"]?.line == 14)
        if case .mapping(let pairs, _)? = pools.first {
            #expect(pairs.map(\.key) == ["size", "replicas", "url", "name"], "no << key left")
        }
    }

    @Test func ofSeveralMergedMappingsTheFirstWins() throws {
        let l = ConfigLoader(sections: [ProbeSection.self, RawDatabaseSection.self])
        let c = try l.load(yaml: """
            x-a: &a {size: 1, name: a}
            x-b: &b {size: 2, replicas: 3}
            database: {<<: [*a, *b], driver: pg}
            """, file: nil, environment: [:])
        let db = c.section(RawDatabaseSection.self).node
        func field(_ key: String) -> String? {
            if case .scalar(let s, _)? = db?[key] { return s }
            return nil
        }
        #expect(field("size") == "1")
        #expect(field("name") == "a")
        #expect(field("replicas") == "3")
        #expect(field("driver") == "pg")
    }

    @Test func aMergeKeyNeedsAMapping() {
        let found = problems("x-s: &s just-a-string\nprobe:\n  <<: *s\n  path: /h\n")
        #expect(found.map(\.description) == ["line 3: probe.<<: a merge key takes a mapping or a list of mappings (<<: *name)"])
    }

    @Test func onlyTopLevelXKeysAreIgnored() {
        #expect(problems("x-anything: {whatever: [1, 2]}\nx-: 1\ntarget: http://127.0.0.1:1\n").isEmpty)
        let unknown = problems("defaults: &d {path: /h}\nprobe: *d\n")
        #expect(unknown.map(\.description) == ["line 1: defaults: unknown key; known here: target, timeout, env_file, probe"])
        let nested = problems("probe:\n  x-note: 1\n")
        #expect(nested.map(\.description).first?.hasPrefix("line 2: probe.x-note: unknown key") == true, "\(nested)")
    }

    @Test func problemsInAnXBlockAreReportedWhereItIsUsed() {
        let yaml = "x-unused: ${PF_UNSET_A}\nx-d: &d {path: \"${PF_UNSET_B}\"}\nprobe:\n  <<: *d\n"
        let found = problems(yaml)
        #expect(found.map(\.description) == ["line 2: probe.path: environment variable PF_UNSET_B is not set (write ${PF_UNSET_B:-default} to give a default)"])
    }

    @Test func aQuotedDoubleAngleIsAnOrdinaryKey() {
        #expect(problems("probe:\n  \"<<\": {path: /x}\n").map(\.path) == ["probe.<<"])
    }
}
