import Foundation
import Yams

/// A config section owned by one check (`health`, `database`, …), read by that check's own code.
public protocol ConfigSection: Sendable {
    /// The top-level key. Two sections may share one (`database.url` is the database's, `database.pools` the pool check's).
    static var key: String { get }
    /// The keys it reads in that mapping; the loader rejects any key no section sharing the mapping reads.
    /// Empty for a section that is not a mapping of keys (`checks:` is a list) and checks its own shape.
    static var keys: [String] { get }
    /// The section's value when the config does not mention it.
    init()
    /// Reads the section, reporting every problem to the reader's sink.
    init(reading: SectionReader)
    /// The secrets it holds (passwords, tokens, credential headers), found with `Secrets.inURL`, `inHeaders`,
    /// `inText`, …: the loader asks every section once, after parsing, and registers them; parsers register nothing.
    var secrets: [String] { get }
    /// What its keys' values may be, for the JSON Schema of preflight.yml (`ConfigSchema`); by default each of
    /// `keys` with any value. Keep it beside `init(reading:)`: a test fails when its keys and `keys` differ.
    static var schema: ValueSchema { get }
    /// One line on the section, shown by editors.
    static var schemaDescription: String { get }
}

extension ConfigSection {
    public var secrets: [String] { [] }
}

/// The loaded config: the keys every check shares, plus one value per registered section.
public struct Config: Sendable {
    /// The service's base URL (a core key).
    public var target: ServiceURL? {
        get { reads?.read(key: "target"); return storedTarget }
        set { storedTarget = newValue }
    }
    private var storedTarget: ServiceURL?
    /// When set, notes every section, core key and fact a check reads (the `CheckExamples` test compares them
    /// with what the check declares). Nil in a run.
    public var reads: ConfigReads?
    public var timeout: Duration?
    /// Each operation's deadline when neither the file nor --timeout sets one: applied here only.
    public static let defaultTimeout: Duration = .seconds(3)
    public var effectiveTimeout: Duration { timeout ?? Self.defaultTimeout }
    public var file: String?
    var sections: [ObjectIdentifier: any ConfigSection] = [:]
    /// The top-level keys the file (or the command line) gave, so a run knows what it was asked to check.
    public var givenKeys: Set<String> = []
    /// The values as given, after `${VAR}`, merge keys and the command line (line 0), with their lines:
    /// what `preflight config` shows, with `variables` (by dotted path) saying which `${VAR}`s made a value.
    public var tree: ConfigNode = .mapping([], line: 0)
    public var variables: [String: [VariableUse]] = [:]

    public init(target: ServiceURL? = nil, timeout: Duration? = nil, file: String? = nil, sections: [any ConfigSection] = []) {
        self.target = target
        self.timeout = timeout
        self.file = file
        for s in sections { self.sections[Self.slot(type(of: s))] = s }
    }

    public func section<S: ConfigSection>(_ type: S.Type) -> S {
        reads?.read(section: S.self)
        return sections[Self.slot(S.self)] as? S ?? S()
    }

    public mutating func set<S: ConfigSection>(_ section: S) { sections[Self.slot(S.self)] = section }

    /// Sections sharing a top-level key are stored apart, by type.
    /// By identity, not by name: `String(reflecting:)` of a type scans every protocol conformance of the binary
    /// the first time (`swift_conformsToProtocol`, 3.5 % of a dead-port run under perf).
    static func slot(_ type: any ConfigSection.Type) -> ObjectIdentifier { ObjectIdentifier(type) }
}

/// Reads preflight.yml: YAML, `${VAR}` substitution, top-level keys plus every check's section.
public struct ConfigLoader {
    public static let coreKeys = ["target", "timeout", "env_file"]
    public let sections: [any ConfigSection.Type]
    /// Where `load` registers the config's secrets (the output sink scrubs `Secrets.shared`).
    public let secrets: Secrets

    public init(sections: [any ConfigSection.Type], secrets: Secrets = .shared) {
        self.sections = sections
        self.secrets = secrets
    }

    /// Values given on the command line, by dotted path ("target", "database.url"); they win over the file.
    public typealias Overrides = [(path: String, value: String)]

    public func load(file: String, environment: [String: String], overrides: Overrides = []) throws(ConfigError) -> Config {
        // The size is capped before anything is read (a regular file; other kinds fail to read below).
        if let attributes = try? FileManager.default.attributesOfItem(atPath: file),
           attributes[.type] as? FileAttributeType == .typeRegular,
           let size = (attributes[.size] as? NSNumber)?.intValue,
           let problem = ConfigBounds.sizeProblem(bytes: size, what: "config file") {
            throw ConfigError(file: file, problems: [problem])
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            let reason = FileManager.default.fileExists(atPath: file) ? "cannot be read (permission?)" : "does not exist"
            throw ConfigError(file: file, problems: [ConfigProblem(line: 0, path: "", message: "config file \(reason)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, problems: [ConfigProblem(line: 0, path: "", message: "not UTF-8 text")])
        }
        return try load(yaml: text, file: file, environment: environment, overrides: overrides)
    }

    public func load(yaml: String, file: String?, environment: [String: String], overrides: Overrides = []) throws(ConfigError) -> Config {
        if let problem = ConfigBounds.sizeProblem(bytes: yaml.utf8.count, what: file == nil ? "config" : "config file")
            ?? ConfigBounds.check(yaml) {
            throw ConfigError(file: file, problems: [problem])
        }
        let sink = ConfigProblemSink()
        var expansion = Expansion()
        var root: ConfigNode = .mapping([], line: 1)
        do {
            // Bounded: ConfigBounds.check has added up what every alias expands to.
            // No file (flags only): nothing to compose, and Yams's constructor tables are never built.
            if yaml.contains(where: { !$0.isWhitespace }), let node = try Yams.compose(yaml: yaml) {
                let files = EnvFile.read(node.mapping != nil ? node["env_file"] : nil, configFile: file)
                expansion.fileValues = files.values
                expansion.envFileNote = files.note
                files.problems.forEach(sink.add)
                root = ConfigNode.from(node, environment: environment, path: "", into: &expansion)
            }
        } catch let error as YamlError {
            throw ConfigError(file: file, problems: [Self.problem(from: error)])
        } catch {
            throw ConfigError(file: file, problems: [ConfigProblem(line: 0, path: "", message: "not valid YAML: \(error)")])
        }
        // Top-level `x-` keys hold blocks for aliases to reuse (the Compose file convention) and are otherwise
        // ignored, problems in them too: what is reused is read, and reported, where it is used.
        if case .mapping(let pairs, let line) = root {
            root = .mapping(pairs.filter { !$0.key.hasPrefix("x-") }, line: line)
            expansion.problems.removeAll { $0.path.hasPrefix("x-") }
        }
        expansion.problems.forEach(sink.add)
        // Every secret the config holds, registered in one place below.
        var found = expansion.secrets
        if case .null = root { root = .mapping([], line: 1) }
        for o in overrides {
            let path = o.path.split(separator: ".").map(String.init)
            // The file's value is replaced but was read (often from the environment): its credentials stay secret,
            // since a server may still echo it (a health body quoting the service's DATABASE_URL).
            if case .scalar(let old, _)? = Self.value(at: path, in: root) { found += Secrets.inText(old) }
            root = Self.setting(path, to: o.value, in: root)
        }

        let top = SectionReader(node: root, path: "", sink: sink)
        var topKeys = Self.coreKeys
        for s in sections where !topKeys.contains(s.key) { topKeys.append(s.key) }
        top.allowKeys(topKeys)
        var config = Config(file: file)
        if case .mapping(let pairs, _) = root { config.givenKeys = Set(pairs.map(\.key)) }
        config.tree = root
        config.variables = expansion.variables.filter { !$0.key.hasPrefix("x-") }
        // A mapping shared by several sections accepts the union of their keys, checked once here.
        var keysOf: [String: [String]] = [:]
        for s in sections where !s.keys.isEmpty { keysOf[s.key, default: []] += s.keys }
        for (key, known) in keysOf.sorted(by: { $0.key < $1.key }) { top.child(key).allowKeys(known) }
        if let raw = top.string("target") {
            // A password in the target's userinfo is as secret as a database password (libcurl sends it as Basic auth).
            found += Secrets.inURL(raw)
            let (url, why) = ServiceURL.parse(raw)
            if let why { top.problem("target", why) }
            config.target = url
        }
        config.timeout = top.duration("timeout", in: .milliseconds(50)...(.seconds(600)))
        for type in sections {
            let reader = top.child(type.key)
            config.sections[Config.slot(type)] = type.init(reading: reader)
        }
        // The one place the registry is filled: the secret-named variables' values, the target's and the replaced
        // values' credentials, and what each section holding secrets says it holds. Before any problem is thrown,
        // since a problem's message may quote a value.
        for s in config.sections.values { found += s.secrets }
        secrets.register(found)
        if !sink.problems.isEmpty {
            // A value whose variable is unset is reported once, as unset: what reading the empty value then says
            // ("empty database URL") is its consequence.
            let unset = Set(expansion.problems.map { "\($0.line) \($0.path)" })
            var seen: Set<String> = []
            let problems = sink.problems.filter { p in
                let key = "\(p.line) \(p.path)"
                guard unset.contains(key) else { return true }
                return expansion.problems.contains(p) && seen.insert(key + p.message).inserted
            }
            throw ConfigError(file: file, problems: problems)
        }
        return config
    }

    static func problem(from error: YamlError) -> ConfigProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return ConfigProblem(line: mark.line, path: "", message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, _):
            return ConfigProblem(line: 0, path: "", message: "keys appear twice: \(duplicates.joined(separator: ", "))")
        default:
            return ConfigProblem(line: 0, path: "", message: "not valid YAML: \(error)")
        }
    }

    /// Puts a command-line value at a dotted path, creating mappings on the way (line 0 = command line).
    static func setting(_ path: [String], to value: String, in node: ConfigNode) -> ConfigNode {
        guard let key = path.first else { return .scalar(value, line: 0) }
        var pairs: [(key: String, line: Int, value: ConfigNode)] = []
        var line = 0
        if case .mapping(let existing, let l) = node { pairs = existing; line = l }
        if let i = pairs.lastIndex(where: { $0.key == key }) {
            pairs[i].value = setting(Array(path.dropFirst()), to: value, in: pairs[i].value)
        } else {
            pairs.append((key, 0, setting(Array(path.dropFirst()), to: value, in: .mapping([], line: 0))))
        }
        return .mapping(pairs, line: line)
    }

    /// The node at a dotted path, if the config has one.
    static func value(at path: [String], in node: ConfigNode) -> ConfigNode? {
        path.reduce(node as ConfigNode?) { node, key in node?[key] }
    }
}
