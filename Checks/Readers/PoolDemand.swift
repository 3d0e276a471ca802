import Foundation
import PreflightCore
import PreflightProbes

/// The client library behind a pool, for its default size when the config gives none.
public enum PoolDriver: String, Sendable, CaseIterable {
    case prisma            // Prisma ≤ 6, its own Rust engine pool
    case prismaAdapterPg   // Prisma 7 with @prisma/adapter-pg: node-postgres' pool
    case nodePostgres
    case hikari
    case sqlalchemy
    case goDatabaseSQL

    /// Accepts the spellings people use: "prisma", "prisma7", "pg", "hikaricp", "database/sql", …
    public static func parse(_ text: String) -> PoolDriver? {
        let t = text.lowercased().filter { !$0.isWhitespace && $0 != "_" && $0 != "-" && $0 != "." && $0 != "@" }
        switch t {
        case "prisma", "prisma6", "prisma5", "prisma4", "prismaengine": return .prisma
        case "prisma7", "prismaadapterpg", "prisma7adapterpg", "prismaadapterpg7", "prisma/adapterpg": return .prismaAdapterPg
        case "pg", "nodepostgres", "node", "pgpool": return .nodePostgres
        case "hikari", "hikaricp": return .hikari
        case "sqlalchemy": return .sqlalchemy
        case "go", "database/sql", "databasesql", "godatabasesql", "golang": return .goDatabaseSQL
        default: return nil
        }
    }

    public static let spellings = "prisma (≤ 6), prisma7 (with @prisma/adapter-pg), node-postgres, hikari, sqlalchemy, go (database/sql)"

    public var label: String {
        switch self {
        case .prisma: return "Prisma ≤ 6"
        case .prismaAdapterPg: return "Prisma 7 + adapter-pg"
        case .nodePostgres: return "node-postgres"
        case .hikari: return "HikariCP"
        case .sqlalchemy: return "SQLAlchemy"
        case .goDatabaseSQL: return "Go database/sql"
        }
    }
}

/// One entry of `database.pools`: a service's connection pool and how many copies of it run.
public struct PoolSpec: Sendable, Equatable {
    public var name: String
    public var size: Int?
    public var url: DatabaseURL?
    public var replicas: Int
    /// Extra replicas during a rolling deploy (old and new run at once).
    public var surge: Surge?
    public var driver: PoolDriver?
    /// Replicas added by the surge in this spec's count (set by `atPeak`; shown as "(2+1)×10").
    public var surged = 0

    public init(name: String, size: Int? = nil, url: DatabaseURL? = nil, replicas: Int = 1, surge: Surge? = nil,
                driver: PoolDriver? = nil) {
        self.name = name
        self.size = size
        self.url = url
        self.replicas = replicas
        self.surge = surge
        self.driver = driver
    }

    /// The pool at a rollout's peak: replicas + surge of them.
    public var atPeak: PoolSpec {
        var p = self
        let extra = surge?.replicas(of: replicas) ?? 0
        p.replicas += extra
        p.surged += extra
        p.surge = nil
        return p
    }
}

/// `surge: 1` or `surge: 25%`: how many replicas a rolling deploy adds on top, like Kubernetes' maxSurge
/// (a percentage of the replicas, rounded up).
public enum Surge: Sendable, Equatable {
    case replicas(Int)
    case percent(Int)

    public static func parse(_ text: String) -> Surge? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let n = Int(t.dropLast().trimmingCharacters(in: .whitespaces)), (0...1000).contains(n) else { return nil }
            return .percent(n)
        }
        guard let n = Int(t), (0...10_000).contains(n) else { return nil }
        return .replicas(n)
    }

    public func replicas(of base: Int) -> Int {
        switch self {
        case .replicas(let n): return n
        case .percent(let p): return (base * p + 99) / 100
        }
    }

    /// "surge 1" or "surge 25% of 4 = 1"
    public func describe(of base: Int) -> String {
        switch self {
        case .replicas(let n): return "surge \(n)"
        case .percent(let p): return "surge \(p)% of \(base) = \(replicas(of: base))"
        }
    }
}

/// A pool's size per replica once resolved, and where the number came from.
public enum PoolSize: Sendable, Equatable {
    case bounded(Int, source: String)
    /// No upper bound (Go's database/sql without SetMaxOpenConns).
    case unbounded(source: String)
    /// Nothing says how big it is.
    case unknown

    public var connections: Int? {
        if case .bounded(let n, _) = self { return n }
        return nil
    }
}

/// A pool with its size resolved: what it will ask of the server.
public struct ResolvedPool: Sendable, Equatable {
    public let spec: PoolSpec
    public let size: PoolSize
    /// Size × replicas, when bounded.
    public var total: Int? { size.connections.map { $0 * spec.replicas } }

    /// "api 50" or "worker 2×10": the term as it appears in the sum.
    public var term: String {
        guard let n = size.connections else { return "\(spec.name) ?" }
        if spec.surged > 0 { return "\(spec.name) (\(spec.replicas - spec.surged)+\(spec.surged))×\(n)" }
        return spec.replicas == 1 ? "\(spec.name) \(n)" : "\(spec.name) \(spec.replicas)×\(n)"
    }

    public var source: String {
        switch size {
        case .bounded(_, let s), .unbounded(let s): return s
        case .unknown: return "unknown: give size, or driver, or connection_limit in its url"
        }
    }
}

/// Demand from the config: each pool's size in the order `size`, `connection_limit` in its URL, the driver's default.
public struct PoolDemand: Sendable {
    public let pools: [ResolvedPool]

    public init(_ specs: [PoolSpec], physicalCPUs: Int = PhysicalCPUs.count()) {
        pools = specs.map { ResolvedPool(spec: $0, size: Self.size(of: $0, physicalCPUs: physicalCPUs)) }
    }

    public static func size(of p: PoolSpec, physicalCPUs: Int) -> PoolSize {
        if let n = p.size { return .bounded(n, source: "size in the config") }
        if let n = p.url?.connectionLimit {
            return .bounded(n, source: "\(p.url?.connectionLimitParameter ?? "connection_limit")=\(n) in its url")
        }
        switch p.driver {
        case .prisma?:
            return .bounded(physicalCPUs * 2 + 1,
                            source: "Prisma ≤ 6 default: \(physicalCPUs) physical CPUs (this machine) × 2 + 1")
        case .prismaAdapterPg?:
            return .bounded(10, source: "Prisma 7 + adapter-pg default: node-postgres max 10")
        case .nodePostgres?:
            return .bounded(10, source: "node-postgres default max 10")
        case .hikari?:
            return .bounded(10, source: "HikariCP default maximumPoolSize 10")
        case .sqlalchemy?:
            return .bounded(15, source: "SQLAlchemy default pool_size 5 + max_overflow 10")
        case .goDatabaseSQL?:
            return .unbounded(source: "Go database/sql default: no limit without SetMaxOpenConns")
        case nil:
            return .unknown
        }
    }

    /// Σ size × replicas of the bounded pools.
    public var total: Int { pools.compactMap(\.total).reduce(0, +) }
    public var unbounded: [ResolvedPool] { pools.filter { if case .unbounded = $0.size { return true } else { return false } } }
    public var unknown: [ResolvedPool] { pools.filter { $0.size == .unknown } }

    /// "api 50 + worker 50"
    public var sum: String { pools.filter { $0.total != nil }.map(\.term).joined(separator: " + ") }
}

/// Physical cores as Prisma counts them (num_cpus::get_physical): distinct (physical id, core id) in /proc/cpuinfo.
public enum PhysicalCPUs {
    public static func count(cpuinfo path: String = "/proc/cpuinfo") -> Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return max(1, ProcessInfo.processInfo.activeProcessorCount)
        }
        return count(parsing: text) ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    public static func count(parsing text: String) -> Int? {
        var cores = Set<String>()
        var processors = 0
        for block in text.components(separatedBy: "\n\n") {
            var physical = "0", core: String?
            var isProcessor = false
            for line in block.split(separator: "\n") {
                let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2 else { continue }
                switch kv[0] {
                case "processor": isProcessor = true
                case "physical id": physical = kv[1]
                case "core id": core = kv[1]
                default: break
                }
            }
            guard isProcessor else { continue }
            processors += 1
            if let core { cores.insert("\(physical)/\(core)") }
        }
        if !cores.isEmpty { return cores.count }
        return processors > 0 ? processors : nil
    }
}
