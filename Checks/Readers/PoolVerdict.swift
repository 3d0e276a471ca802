import Foundation
import PreflightCore
import PreflightProbes

/// Turns the server's numbers and the pools' demand into one outcome, with the arithmetic in the summary.
struct PoolVerdict {
    let server: ServerConnections
    let demand: PoolDemand
    let route: Routing
    let vus: Int?
    var probe: ConnectionProbe.Result?
    var probeSkipped: String?
    /// The pools without their surge, when a surge adds replicas: shown beside the peak the verdict is on.
    var steady: Routing?
    /// PgBouncer as it runs (its admin console), when `database.pgbouncer_admin` is set and answered.
    var bouncerLive: PgBouncerLive?
    /// Why the admin console could not be read, when it is set.
    var bouncerConsoleError: String?
    /// The admin console's host:port, for the sources of its numbers.
    var bouncerConsole: String?

    /// Warn above this share of what ordinary roles may use.
    static let warnShare = 0.8

    init(server: ServerConnections, demand: PoolDemand, route: Routing, vus: Int?) {
        self.server = server
        self.demand = demand
        self.route = route
        self.vus = vus
    }

    /// The verdict on a rollout's peak ((replicas + surge) × size per pool), with the steady numbers beside it.
    init(server: ServerConnections, settings: PoolSettings, fallback: DatabaseURL, vus: Int?,
         physicalCPUs: Int = PhysicalCPUs.count()) {
        let demand = PoolDemand(settings.pools.map(\.atPeak), physicalCPUs: physicalCPUs)
        self.init(server: server, demand: demand, route: Routing(settings: settings, demand: demand, fallback: fallback), vus: vus)
        if settings.pools.contains(where: { ($0.surge?.replicas(of: $0.replicas) ?? 0) > 0 }) {
            steady = Routing(settings: settings, demand: PoolDemand(settings.pools, physicalCPUs: physicalCPUs), fallback: fallback)
        }
    }

    var others: [HeldConnections] { server.inUse.filter { !route.isPools($0) } }
    var othersCount: Int { others.map(\.count).reduce(0, +) }

    /// "psql (8), reports (40, idle for 12 min)": who holds them, the longest idle time among them, and where
    /// from when that is not this host.
    var othersNamed: String {
        var byWho: [(who: String, count: Int, idle: Int?, clients: [String])] = []
        for h in others {
            let i = byWho.firstIndex { $0.who == h.who } ?? { byWho.append((h.who, 0, nil, [])); return byWho.count - 1 }()
            byWho[i].count += h.count
            if let s = h.idleSeconds { byWho[i].idle = max(byWho[i].idle ?? 0, s) }
            if !["local", "127.0.0.1", "::1"].contains(h.client), !byWho[i].clients.contains(h.client) { byWho[i].clients.append(h.client) }
        }
        return byWho.sorted { $0.count > $1.count }.map { w in
            var parts = ["\(w.count)"]
            if let idle = w.idle, idle >= 60 { parts.append("idle for \(Self.minutes(idle))") }
            if !w.clients.isEmpty { parts.append("from " + w.clients.prefix(3).joined(separator: ", ")) }
            return "\(w.who) (\(parts.joined(separator: ", ")))"
        }.joined(separator: ", ")
    }

    /// 750 → "12 min", 7300 → "2 h 1 min"
    static func minutes(_ seconds: Int) -> String {
        let m = seconds / 60
        return m < 60 ? "\(m) min" : "\(m / 60) h\(m % 60 == 0 ? "" : " \(m % 60) min")"
    }

    var allows: String { "the server allows \(server.allowance) (\(server.allowanceArithmetic))" }

    var held: String {
        othersCount == 0 ? "" : "\(othersCount) \(othersCount == 1 ? "is" : "are") already in use by \(othersNamed), not declared in database.pools"
    }

    /// ", 20 steady (surge 1 on api)" when a surge raises the peak, else "".
    var steadyNote: String {
        guard let steady else { return "" }
        let surged = demand.pools.filter { $0.spec.surged > 0 }.map(\.spec.name)
        return " at a rollout's peak, \(steady.serverDemand) steady (surge on \(surged.joined(separator: ", ")))"
    }

    /// ": pool_timeout=1 in its url" for the first pool, its driver's default, or the usual defaults when the
    /// driver is not known (issue 30: never only Prisma's words for a pool that may be SQLAlchemy's or HikariCP's).
    var timeoutNote: String {
        guard let p = demand.pools.first else { return "" }
        if let t = PoolTimeout.of(url: p.spec.url ?? route.fallback, driver: p.spec.driver) { return ": \(t.source)" }
        return ", by default 10 s in Prisma, 30 s in SQLAlchemy and HikariCP, none in node-postgres"
    }

    /// "api 50 + worker 50", with PgBouncer's share shown as one term.
    var terms: String {
        var parts = route.direct.filter { $0.total != nil }.map(\.term)
        if let side = route.bouncerServerSide {
            parts.append("PgBouncer \(side) for \(route.bounced.filter { $0.total != nil }.map(\.term).joined(separator: " + "))")
        }
        return parts.joined(separator: " + ")
    }

    func outcome() -> CheckOutcome {
        var evidence = baseEvidence()
        var found: [Finding] = []
        var mainFix: String?
        let allowance = server.allowance
        let need = route.serverDemand
        let total = need + othersCount
        let share = allowance > 0 ? Double(total) / Double(allowance) : 2
        var main: String
        var mainStatus = Status.pass

        if demand.pools.isEmpty {
            if othersCount >= allowance {
                main = "\(allows) and \(held): no room left for the services"
                mainStatus = .fail
                mainFix = ("close the sessions listed in the evidence (pg_stat_activity), or raise max_connections")
            } else {
                main = "no pools configured: add database.pools to compare demand; \(allows)"
                    + (othersCount > 0 ? ", \(othersCount) in use by \(othersNamed)" : ", none in use")
            }
        } else if total > allowance {
            main = "pools need \(need)\(steadyNote) (\(terms)); \(allows)" + (othersCount > 0 ? " and \(held)" : "")
                + (othersCount > 0 ? ": \(max(0, allowance - othersCount)) remain, " : ": ") + "\(total - allowance) short"
            mainStatus = .fail
            let room = max(0, allowance - othersCount)
            let setting = Set(demand.pools.map(\.spec.driver)).count == 1 ? demand.pools.first?.spec.driver.poolSizeSetting ?? "their size" : "their size"
            mainFix = ("lower the pools (\(setting)) to at most \(room) together"
                         + (othersCount > 0 ? ", close the other sessions" : "") + ", or raise max_connections (restart needed)")
        } else if share > Self.warnShare {
            main = "pools need \(need)\(steadyNote) (\(terms)) of the \(allowance) the server allows (\(server.allowanceArithmetic))"
                + (othersCount > 0 ? ", and \(held)" : "") + ": \(percent(share)) (warn above \(percent(Self.warnShare)))"
            mainStatus = .warn
            mainFix = ("leave headroom for restarts (old and new replicas overlap), migrations and psql: lower the pools or raise max_connections")
        } else {
            main = "pools need \(need)\(steadyNote) (\(terms)); \(allows)"
                + (othersCount > 0 ? ", \(othersCount) in use by \(othersNamed), not declared in database.pools: \(allowance - othersCount) remain" : "")
                + ": \(percent(share)) used"
        }

        // CONNECTION LIMIT on the roles and databases the pools log in to (not enforced for superusers).
        for (role, limit) in server.roleLimits.sorted(by: { $0.key < $1.key }) where !server.superusers.contains(role) {
            let pools = demand.pools.filter { route.user($0) == role }
            let n = route.serverConnections(pools)
            if n > limit {
                found.append(Finding(.fail, "role \(role) has CONNECTION LIMIT \(limit) but its pools need \(n) (\(pools.compactMap { $0.total == nil ? nil : $0.term }.joined(separator: " + ")))",
                                     fix: "ALTER ROLE \(role) CONNECTION LIMIT \(n) (or -1), or lower the pools that log in as \(role)"))
            }
        }
        for (db, limit) in server.databaseLimits.sorted(by: { $0.key < $1.key }) {
            let pools = demand.pools.filter { route.database($0) == db && !server.superusers.contains(route.user($0)) }
            let n = route.serverConnections(pools)
            if n > limit {
                found.append(Finding(.fail, "database \(db) has CONNECTION LIMIT \(limit) but the pools on it need \(n)",
                                     fix: "ALTER DATABASE \(db) CONNECTION LIMIT \(n) (or -1), or lower the pools"))
            }
        }
        bouncerFindings(&found, evidence: &evidence)
        for p in demand.unbounded {
            found.append(Finding(.warn, "\(p.spec.name) is unbounded (\(p.source)): under load it opens one connection per concurrent query",
                                 fix: "cap the \(p.spec.name) pool (db.SetMaxOpenConns) and give its size in database.pools"))
        }
        for p in demand.unknown {
            found.append(Finding(.warn, "size of \(p.spec.name) unknown: " + (p.spec.driver == nil ? "give its size or driver in database.pools"
                                                                                     : "give its size in database.pools, or set \(p.spec.driver.poolSizeSetting)")))
        }
        if let vus, demand.total > 0 {
            evidence["peakEstimate"] = .string("each VU has at most one request in flight and each request holds at most one connection while it queries: up to \(vus) connections wanted at once")
            if vus > demand.total && mainStatus != .fail {
                found.append(Finding(.pass, "\(vus) VUs share \(demand.total) pooled connections: at most \(demand.total) queries run at once and up to \(vus - demand.total) requests queue for a connection (they fail only if the wait exceeds the pool timeout\(timeoutNote); pool-traffic measures it)"))
            }
        }
        if let probe {
            var p: [(String, JSONValue)] = [("attempted", .int(probe.attempted)), ("accepted", .int(probe.accepted)),
                                            ("freeForOrdinaryRoles", .int(max(0, allowance - server.totalInUse)))]
            if let e = probe.firstRefusal { p.append(("firstRefusal", .string(e))) }
            let capped = probe.attempted < route.serverDemandForProbe ? " (capped at \(ConnectionProbe.cap))" : ""
            if probe.timedOut > 0 { p.append(("timedOut", .int(probe.timedOut))) }
            evidence["probe"] = .object(Evidence(p))
            if probe.refused > probe.timedOut {
                found.append(Finding(.fail, "probe: the server accepted \(probe.accepted) of \(probe.attempted) connections\(capped), then refused: \(probe.refusal ?? "?")"))
            } else if probe.timedOut > 0 {
                found.append(Finding(.warn, "probe: the server accepted \(probe.accepted) of \(probe.attempted) connections\(capped); \(probe.timedOut) got no answer within the timeout (a slow server, not a refusal: try a longer --timeout)"))
            } else {
                found.append(Finding(.pass, "probe: the server accepted all \(probe.attempted) connections (\(capped.isEmpty ? "" : "capped at \(ConnectionProbe.cap); ")all closed again)"))
            }
        } else if let probeSkipped {
            found.append(Finding(.pass, "probe: \(probeSkipped)"))
        }

        // The main sentence first, then the others worst first (each with its own fix); the headline is the
        // worst of them, the main sentence when nothing is worse.
        let all = [Finding(mainStatus, main, fix: mainFix)] + found
        let rank: [Status: Int] = [.fail: 0, .warn: 1]
        let ordered = all.enumerated().sorted { (rank[$0.element.severity] ?? 2, $0.offset) < (rank[$1.element.severity] ?? 2, $1.offset) }.map(\.element)
        return CheckOutcome(findings: ordered, evidence: evidence)
    }

    func baseEvidence() -> Evidence {
        var e = Evidence()
        e["maxConnections"] = .int(server.maxConnections)
        e["superuserReserved"] = .int(server.superuserReserved)
        e["reservedConnections"] = server.reserved.map { .int($0) } ?? .string("n/a (PostgreSQL < 16)")
        e["allowance"] = .int(server.allowance)
        e["inUse"] = .array(server.inUse.map { h in
            .object(Evidence([("database", .string(h.database)), ("user", .string(h.user)), ("application", .string(h.application)),
                              ("state", .string(h.state)), ("client", .string(h.client)), ("count", .int(h.count)),
                              ("idleSeconds", h.idleSeconds.map { .int($0) } ?? .null),
                              ("counted", .string(route.isPools(h) ? "inside the pools" : "held by others"))]))
        })
        e["heldByOthers"] = .int(othersCount)
        if !demand.pools.isEmpty {
            e["demand"] = .int(route.serverDemand)
            if let steady {
                e["demandSteady"] = .int(steady.serverDemand)
                e["demandSource"] = .string("peak of a rolling deploy: (replicas + surge) × size per pool")
            }
            e["freeNow"] = .int(max(0, server.allowance - othersCount))
            e["pools"] = .array(demand.pools.map { p in
                var o: [(String, JSONValue)] = [("name", .string(p.spec.name))]
                o.append(("size", p.size.connections.map { .int($0) } ?? .string(p.size == .unknown ? "unknown" : "unbounded")))
                o.append(("replicas", .int(p.spec.replicas - p.spec.surged)))
                if p.spec.surged > 0 { o.append(("surge", .int(p.spec.surged))) }
                o.append(("total", p.total.map { .int($0) } ?? .null))
                o.append(("source", .string(p.source)))
                o.append(("user", .string(route.user(p))))
                o.append(("database", .string(route.database(p))))
                if let u = p.spec.url { o.append(("url", .string(u.redacted))) }
                if route.viaBouncer(p) { o.append(("via", .string("PgBouncer"))) }
                return .object(Evidence(o))
            })
        }
        if let b = route.pgbouncer {
            e["pgbouncer"] = .object(Evidence([("source", .string(b.source)), ("listenPort", .int(b.listenPort)),
                                               ("defaultPoolSize", .int(b.defaultPoolSize)), ("reservePoolSize", .int(b.reservePoolSize)),
                                               ("maxClientConn", .int(b.maxClientConn)), ("maxDbConnections", .int(b.maxDBConnections)),
                                               ("poolMode", .string(b.poolMode)),
                                               ("serverSide", route.bouncerServerSide.map { .int($0) } ?? .null)]))
        }
        if !server.roleLimits.isEmpty { e["roleLimits"] = .object(Evidence(server.roleLimits.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })) }
        if !server.databaseLimits.isEmpty { e["databaseLimits"] = .object(Evidence(server.databaseLimits.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) })) }
        if let vus { e["vus"] = .int(vus) }
        return e
    }

    func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }
}

extension Routing {
    /// How many connections the probe would open without its cap.
    var serverDemandForProbe: Int { probePlan().map(\.count).reduce(0, +) }

    /// Connections these pools open to PostgreSQL: direct ones in full, those behind PgBouncer capped by its server pool.
    func serverConnections(_ pools: [ResolvedPool]) -> Int {
        var n = pools.filter { !viaBouncer($0) }.compactMap(\.total).reduce(0, +)
        guard let b = pgbouncer else { return n }
        var pairs: [String: (db: String, total: Int)] = [:]
        for p in pools where viaBouncer(p) {
            let key = "\(database(p))\u{0}\(user(p))"
            pairs[key, default: (database(p), 0)].total += p.total ?? 0
        }
        for (_, v) in pairs { n += min(v.total, b.serverPool(database: v.db)) }
        return n
    }
}
