import Foundation
import PreflightCore

/// What PgBouncer means for the pools: its client limit, its server pools against PostgreSQL, clients waiting
/// now, and Prisma in transaction mode. From the ini (or `database.pgbouncer`) and, when the admin console
/// answered, from its live state (SHOW CONFIG, POOLS, DATABASES, LISTS), which then names itself as the source.
extension PoolVerdict {
    func bouncerFindings(_ found: inout [Finding], evidence: inout Evidence) {
        if let e = bouncerConsoleError {
            found.append(Finding(.warn, "cannot read PgBouncer's admin console at \(bouncerConsole ?? "?"): \(e)"
                                 + (route.pgbouncer.map { "; judged from \($0.source)" } ?? ""), fix: "list the user of database.pgbouncer_admin in stats_users (or admin_users) of pgbouncer.ini, and check the URL (database pgbouncer on PgBouncer's port)"))
        }
        guard let b = route.pgbouncer else { return }
        if route.bounced.isEmpty, !demand.pools.isEmpty {
            found.append(Finding(.pass, "no pool's url uses PgBouncer's port \(b.listenPort): all pools counted as direct connections"))
        }
        let source = bouncerLive == nil ? b.source : "SHOW CONFIG"
        if !route.bounced.isEmpty {
            let clients = route.bounced.compactMap(\.total).reduce(0, +)
            let terms = route.bounced.filter { $0.total != nil }.map(\.term).joined(separator: " + ")
            if clients > b.maxClientConn {
                found.append(Finding(.fail, "PgBouncer max_client_conn \(b.maxClientConn) but the pools behind it open \(clients) (\(terms); max_client_conn from \(source)): clients past it get \"no more connections allowed (max_client_conn)\"",
                                     fix: "raise max_client_conn in \(bouncerLive == nil ? b.source : "pgbouncer.ini (then RELOAD)"), or lower the pools"))
            } else if let now = bouncerLive?.clientsNow, now + clients > b.maxClientConn {
                found.append(Finding(.warn, "PgBouncer has \(now) clients now (SHOW LISTS used_clients) and the pools behind it open \(clients) (\(terms)): together past max_client_conn \(b.maxClientConn) (SHOW CONFIG) unless those \(now) are the same services"))
            }
            // Prisma ≤ 6 names its prepared statements: through a transaction pool they meet another client's.
            for p in route.bounced {
                let url = route.url(p)
                let prisma = p.spec.driver == .prisma || (p.spec.driver == nil && (url.driverParameters["connection_limit"] != nil || url.driverParameters["pool_timeout"] != nil))
                let mode = bouncerLive?.mode(database: route.database(p)) ?? b.poolMode
                if prisma, mode == "transaction", !url.viaPgBouncer {
                    found.append(Finding(.fail, "\(p.spec.name) is a Prisma pool through PgBouncer in transaction pool mode (\(bouncerLive == nil ? b.source : "SHOW DATABASES/CONFIG")) without pgbouncer=true in its url: its prepared statements fail (\"prepared statement \\\"s0\\\" already exists\")",
                                         fix: "add pgbouncer=true to \(p.spec.name)'s DATABASE_URL (Prisma then skips prepared statements), or use session pool mode"))
                }
            }
        }
        guard let live = bouncerLive else { return }
        let pairs = route.bounced.map { (database: route.database($0), user: route.user($0)) }
        let bound = live.serverBound(b, adding: pairs)
        var e: [(String, JSONValue)] = [("source", .string("SHOW CONFIG, SHOW POOLS, SHOW DATABASES, SHOW LISTS on \(bouncerConsole ?? "?")")),
                                        ("maxClientConn", .int(b.maxClientConn)), ("defaultPoolSize", .int(b.defaultPoolSize)),
                                        ("reservePoolSize", .int(b.reservePoolSize)), ("maxDbConnections", .int(b.maxDBConnections)),
                                        ("poolMode", .string(b.poolMode)), ("serverPools", .int(bound.pools)),
                                        ("serverBound", .int(bound.total))]
        if let now = live.clientsNow { e.append(("clientsNow", .int(now))) }
        e.append(("pools", .array(live.pools.filter { $0.database != "pgbouncer" }.map { p in
            .object(Evidence([("database", .string(p.database)), ("user", .string(p.user)), ("clActive", .int(p.clientsActive)),
                              ("clWaiting", .int(p.clientsWaiting)), ("svActive", .int(p.serversActive)), ("svIdle", .int(p.serversIdle)),
                              ("maxwaitSeconds", .double(p.maxWait)), ("poolMode", .string(p.mode))]))
        })))
        evidence["pgbouncerLive"] = .object(Evidence(e))
        let limits = "default_pool_size \(b.defaultPoolSize)" + (b.reservePoolSize > 0 ? " + reserve_pool_size \(b.reservePoolSize)" : "")
            + " × \(bound.pools) (database, user) pools" + (b.maxDBConnections > 0 ? ", max_db_connections \(b.maxDBConnections)" : "")
        if bound.total > server.allowance {
            found.append(Finding(.fail, "PgBouncer may open \(bound.total) server connections (\(limits); SHOW CONFIG, SHOW POOLS) but \(allows): its clients would meet \"sorry, too many clients already\"",
                                 fix: "lower default_pool_size or set max_db_connections in pgbouncer.ini so PgBouncer stays under max_connections"))
        } else {
            found.append(Finding(.pass, "PgBouncer may open at most \(bound.total) server connections (\(limits); SHOW CONFIG, SHOW POOLS)"))
        }
        for p in live.waiting.prefix(5) {
            found.append(Finding(.warn, "PgBouncer: \(p.clientsWaiting) client\(p.clientsWaiting == 1 ? "" : "s") waiting now for a server connection in \(p.database)/\(p.user) (maxwait \(format(.milliseconds(Int(p.maxWait * 1000)))); SHOW POOLS): its pool is full before the test starts",
                                 fix: "find what holds PgBouncer's server connections (SHOW SERVERS, pg_stat_activity) or raise its pool_size"))
        }
    }
}
