import Foundation
import PreflightCore

/// What a health endpoint's JSON body says: overall status and each component's state.
/// Understands `{"status":"ok"}`, Spring Actuator `components`, NestJS terminus `info`/`error`,
/// and nested shapes like `{"database":{"overall":"healthy","database":"connected"}}`.
public struct HealthBody: Sendable, Equatable {
    public enum State: String, Sendable { case up, down, unknown }

    public struct Component: Sendable, Equatable {
        public let name: String
        public let state: State
        public let detail: String
    }

    public var overall: State = .unknown
    public var overallText: String?
    public var components: [Component] = []

    public var downComponents: [Component] { components.filter { $0.state == .down } }

    static let upWords: Set<String> = ["ok", "up", "healthy", "pass", "passed", "green", "connected", "online", "ready", "available", "true", "alive", "running"]
    static let downWords: Set<String> = ["down", "error", "fail", "failed", "failure", "unhealthy", "degraded", "red", "critical",
                                         "disconnected", "offline", "unavailable", "out_of_service", "false", "not_ready", "warn", "stopped", "dead"]
    static let databaseNames: Set<String> = ["db", "database", "postgres", "postgresql", "pg", "prisma", "sql", "datasource", "rds", "primary"]

    /// Parses `data`; nil when it is not a JSON object (plain-text health pages are fine).
    public static func parse(_ data: Data) -> HealthBody? {
        guard data.count <= 4 << 20,
              let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let object = json as? [String: Any] else { return nil }
        var body = HealthBody()
        if let s = statusWord(object["status"] ?? object["overall"] ?? object["state"] ?? object["health"]) {
            body.overallText = s
            body.overall = state(s)
        }
        // NestJS terminus: {"status":"error","info":{...},"error":{"database":{"status":"down","message":"..."}}}
        // Spring Actuator: {"status":"DOWN","components":{"db":{"status":"DOWN","details":{...}}}}
        for container in ["components", "checks", "details", "info", "error", "services", "dependencies"] {
            if let map = object[container] as? [String: Any] {
                for (name, value) in map.sorted(by: { $0.key < $1.key }) { body.add(name, value) }
            } else if let list = object[container] as? [[String: Any]] {
                for item in list { if let name = item["name"] as? String ?? item["id"] as? String { body.add(name, item) } }
            }
        }
        // Components at top level: {"database":{"database":"connected"}}, {"redis":"up"}
        let skip: Set<String> = ["status", "overall", "state", "health", "components", "checks", "details", "info", "error",
                                 "services", "dependencies", "timestamp", "uptime", "memory", "version", "environment", "message"]
        for (name, value) in object.sorted(by: { $0.key < $1.key }) where !skip.contains(name) {
            body.add(name, value)
        }
        return body
    }

    mutating func add(_ name: String, _ value: Any) {
        guard !components.contains(where: { $0.name == name }) else { return }
        if let word = Self.statusWord(value) {
            let s = Self.state(word)
            if s != .unknown { components.append(Component(name: name, state: s, detail: word)) }
            return
        }
        guard let map = value as? [String: Any] else { return }
        // {"status":"down"}, {"overall":"unhealthy","database":"disconnected"}: the worst word wins.
        var words: [String] = []
        for key in ["status", "overall", "state", "health", name, "connection", "connected"] {
            if let w = Self.statusWord(map[key]) { words.append(w) }
        }
        guard !words.isEmpty else { return }
        let states = words.map(Self.state)
        let state: State = states.contains(.down) ? .down : (states.contains(.up) ? .up : .unknown)
        guard state != .unknown else { return }
        var detail = words.first { Self.state($0) == state } ?? words[0]
        if let message = (map["error"] ?? map["message"]) as? String, !message.isEmpty { detail += " (\(Secrets.shared.excerpt(message, 160)))" }
        components.append(Component(name: name, state: state, detail: detail))
    }

    static func statusWord(_ value: Any?) -> String? {
        switch value {
        case let s as String: return s
        case let b as Bool: return b ? "true" : "false"
        default: return nil
        }
    }

    static func state(_ word: String) -> State {
        let w = word.lowercased().replacingOccurrences(of: " ", with: "_")
        if upWords.contains(w) { return .up }
        if downWords.contains(w) { return .down }
        return .unknown
    }

    public static func isDatabase(_ name: String) -> Bool {
        let n = name.lowercased()
        return databaseNames.contains(n) || databaseNames.contains { n.hasPrefix($0) && n.count <= $0.count + 3 }
            || n.contains("postgres") || n.contains("database")
    }
}
