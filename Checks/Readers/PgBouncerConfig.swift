import Foundation

/// The PgBouncer settings that bound connections: clients up to `max_client_conn`, and towards
/// PostgreSQL one pool per (database, user) of `pool_size` (+ `reserve_pool_size`).
public struct PgBouncerConfig: Sendable, Equatable {
    public var listenPort = 6432
    public var defaultPoolSize = 20
    public var reservePoolSize = 0
    public var maxClientConn = 100
    /// 0: no limit.
    public var maxDBConnections = 0
    public var maxUserConnections = 0
    public var poolMode = "session"
    /// `pool_size=` of entries in [databases], by database name ("*" is the fallback entry).
    public var databasePoolSizes: [String: Int] = [:]
    /// Where the numbers came from: "pgbouncer.ini path" or "database.pgbouncer".
    public var source = "PgBouncer defaults"

    public init() {}

    /// Parses pgbouncer.ini text; returns the settings and one message per line it could not use.
    public static func parse(ini text: String, source: String) -> (PgBouncerConfig, [String]) {
        var c = PgBouncerConfig()
        c.source = source
        var problems: [String] = []
        var section = ""
        for (i, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces).lowercased()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                problems.append("line \(i + 1): expected key = value")
                continue
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            switch section {
            case "pgbouncer":
                func int() -> Int? {
                    guard let n = Int(value), n >= 0 else { problems.append("line \(i + 1): \(key) = \(value) is not a number"); return nil }
                    return n
                }
                switch key.lowercased() {
                case "listen_port": c.listenPort = int() ?? c.listenPort
                case "default_pool_size": c.defaultPoolSize = int() ?? c.defaultPoolSize
                case "reserve_pool_size": c.reservePoolSize = int() ?? c.reservePoolSize
                case "max_client_conn": c.maxClientConn = int() ?? c.maxClientConn
                case "max_db_connections": c.maxDBConnections = int() ?? c.maxDBConnections
                case "max_user_connections": c.maxUserConnections = int() ?? c.maxUserConnections
                case "pool_mode": c.poolMode = value.lowercased()
                default: break
                }
            case "databases":
                // name = host=… port=… dbname=… pool_size=N
                for part in value.split(separator: " ") {
                    let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                    if kv.count == 2, kv[0] == "pool_size", let n = Int(kv[1]) { c.databasePoolSizes[key] = n }
                }
            default:
                break
            }
        }
        return (c, problems)
    }

    /// Most server connections one (database, user) pool opens.
    public func serverPool(database: String) -> Int {
        var n = (databasePoolSizes[database] ?? databasePoolSizes["*"] ?? defaultPoolSize) + reservePoolSize
        if maxDBConnections > 0 { n = min(n, maxDBConnections) }
        if maxUserConnections > 0 { n = min(n, maxUserConnections) }
        return n
    }

    /// Most server connections PgBouncer opens for these (database, user) pairs.
    public func serverBound(pairs: [(database: String, user: String)]) -> Int {
        var perDatabase: [String: Int] = [:]
        for p in pairs { perDatabase[p.database, default: 0] += serverPool(database: p.database) }
        if maxDBConnections > 0 { perDatabase = perDatabase.mapValues { min($0, maxDBConnections) } }
        return perDatabase.values.reduce(0, +)
    }
}
