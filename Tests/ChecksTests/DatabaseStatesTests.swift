import Foundation
import Synchronization
import Testing
import TestSupport
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// A server that answers the login query and then the states query with canned rows; `refuse` names the parts
/// whose catalog "this role may not read" (the combined query fails, then each of those parts alone).
final class CannedPostgres: PostgresConnector, PostgresSession, @unchecked Sendable {
    let rows: [[String?]]
    let refuse: Set<DatabaseStates.Part>
    let queries = Mutex<[String]>([])

    init(_ rows: [[String?]], refuse: Set<DatabaseStates.Part> = []) {
        self.rows = rows
        self.refuse = refuse
    }

    func connect(_ url: DatabaseURL, timeout: Duration) async -> Result<any PostgresSession, PostgresError> { .success(self) }
    func close() async {}

    func query(_ sql: String, timeout: Duration) async -> Result<[[String?]], PostgresError> {
        queries.withLock { $0.append(sql) }
        if sql.hasPrefix("SELECT current_setting('server_version')") {
            return .success([["15.18 (Debian)", "on", "chat", "chat_backend_db"]])
        }
        let parts = DatabaseStates.Part.allCases.filter { sql.contains(DatabaseStates.sql($0)) }
        if let p = parts.first(where: refuse.contains) {
            return .failure(PostgresError("ERROR:  permission denied for view \(p == .locks ? "pg_locks" : p.rawValue)\n"))
        }
        let kinds: [DatabaseStates.Part: [String]] = [.recovery: ["recovery"], .settings: ["setting"], .locks: ["lock"],
                                                      .sessions: ["session"], .privileges: ["schema", "table"]]
        let wanted = Set(parts.flatMap { kinds[$0]! })
        return .success(rows.filter { wanted.contains($0[0] ?? "") })
    }
}

/// Canned rows in the query's shape: a kind and nine text columns.
private func row(_ values: String?...) -> [String?] { values + Array(repeating: nil, count: 10 - values.count) }

private let primary = row("recovery", "false")
private func schema(tables: Int, lacking: Int = 0, usage: Bool = true) -> [String?] {
    row("schema", "public", usage ? "true" : "false", "public", "chat", String(tables), String(lacking))
}
private let healthy = [primary, schema(tables: 4)]

@Suite struct DatabaseStatesExamples {
    func run(_ rows: [[String?]], refuse: Set<DatabaseStates.Part> = [], url: String = "postgresql://chat:pw-states-x@127.0.0.1:5432/chat_backend_db") async throws -> CheckOutcome {
        try await DatabaseCheck(probes: Probes(postgres: CannedPostgres(rows, refuse: refuse))).run(context(config(database: url)))
    }

    func judge(_ rows: [[String?]]) -> [DatabaseStates.Finding] {
        var s = DatabaseStates(schemaName: "public")
        s.absorb(rows)
        s.read = DatabaseStates.Part.allCases
        return s.findings(role: "chat", database: "chat_backend_db", hostPort: "127.0.0.1:5432")
    }

    @Test func healthyPassesAndSaysWhatWasRead() async throws {
        let o = try await run(healthy)
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.summary.hasPrefix("PostgreSQL 15.18 at 127.0.0.1:5432 accepts chat on chat_backend_db (read-only session, "), "\(o.summary)")
        guard case .array(let read)? = o.evidence["read"] else { Issue.record("no read evidence"); return }
        #expect(read.map(\.display) == [
            "pg_is_in_recovery(): a primary",
            "pg_db_role_setting for chat and chat_backend_db: no default_transaction_read_only",
            "pg_locks on the 4 tables of public: 0 blocking",
            "pg_stat_activity of chat_backend_db: 0 other transactions older than 5 s",
            "has_schema_privilege (USAGE on public: yes) and has_table_privilege (SELECT, INSERT, UPDATE, DELETE on 4 of 4 tables)",
        ])
    }

    @Test func oneRoundTripWhenTheCatalogAnswers() async throws {
        let pg = CannedPostgres(healthy)
        _ = try await DatabaseCheck(probes: Probes(postgres: pg)).run(context(config(database: "postgresql://chat:pw-states-x@127.0.0.1:5432/chat_backend_db")))
        #expect(pg.queries.withLock { $0.count } == 2, "the login query and one states query")
    }

    @Test func readReplicaFails() async throws {
        let o = try await run([row("recovery", "true"), schema(tables: 4)])
        #expect(o.status == .fail)
        #expect(o.summary == "the URL points at a read replica (pg_is_in_recovery() is true on 127.0.0.1:5432): every INSERT will fail")
        #expect(o.fix?.contains("target_session_attrs=read-write") == true)
    }

    @Test func readOnlyForTheRole() {
        let f = judge(healthy + [row("setting", "chat", nil, "on", "chat", nil)])
        #expect(f.count == 1)
        #expect(f[0].status == .fail)
        #expect(f[0].sentence.hasPrefix("default_transaction_read_only = on is set by ALTER ROLE chat SET (pg_db_role_setting): every session of chat"))
        #expect(f[0].fix == "ALTER ROLE chat RESET default_transaction_read_only")
    }

    @Test func readOnlyForTheDatabaseAndEveryRole() {
        let f = judge(healthy + [row("setting", nil, "chat_backend_db", "true", nil, "chat_backend_db"), row("setting", nil, nil, "yes")])
        #expect(f.map(\.sentence).first?.contains("is set by ALTER DATABASE chat_backend_db SET") == true)
        #expect(f.first?.fix == "ALTER DATABASE chat_backend_db RESET default_transaction_read_only; ALTER ROLE ALL RESET default_transaction_read_only")
    }

    @Test func roleInDatabaseOffShadowsTheRest() {
        #expect(judge(healthy + [row("setting", "chat", "chat_backend_db", "off", "chat", "chat_backend_db"), row("setting", "chat", nil, "on", "chat", nil)]).isEmpty)
        let f = judge(healthy + [row("setting", "chat", "chat_backend_db", "on", "chat", "chat_backend_db")])
        #expect(f.first?.fix == "ALTER ROLE chat IN DATABASE chat_backend_db RESET default_transaction_read_only")
    }

    @Test func accessExclusiveLockBlocksReadsAndWrites() {
        let f = judge(healthy + [row("lock", "messages", "AccessExclusiveLock", "true", "4242", "psql", "idle in transaction", "180", "185", nil)])
        #expect(f.map(\.sentence) == ["messages is locked ACCESS EXCLUSIVE by pid 4242 (psql, idle in transaction for 3 min): every read and write of messages will wait"])
        #expect(f[0].status == .fail)
        #expect(f[0].fix.contains("pid 4242"))
    }

    @Test func shareLockBlocksWritesAndNamesOnlyTheKeyword() {
        let f = judge(healthy + [row("lock", "messages", "ShareLock", "true", "77", "migrate", "active", "12", "12", "CREATE"),
                                 row("lock", "users", "ShareLock", "true", "77", "migrate", "active", "12", "12", "CREATE")])
        #expect(f.map(\.sentence) == ["messages, users are locked SHARE by pid 77 (migrate, active for 12 s: CREATE): every INSERT, UPDATE and DELETE on them will wait"])
    }

    @Test func queuedAccessExclusiveAndPreparedTransactions() {
        let f = judge(healthy + [row("lock", "messages", "AccessExclusiveLock", "false", "9", "alembic", "active", "3", "3", "ALTER"),
                                 row("lock", "users", "ExclusiveLock", "true", nil, "")])
        #expect(f.map(\.sentence) == [
            "users is locked EXCLUSIVE by a prepared transaction (pg_prepared_xacts): every INSERT, UPDATE and DELETE on users will wait",
            "pid 9 (alembic, active for 3 s: ALTER) waits for ACCESS EXCLUSIVE on messages: every read and write of messages queues behind it",
        ])
        #expect(f[0].fix.contains("ROLLBACK PREPARED"))
    }

    @Test func hiddenStateIsSaidSo() {
        let f = judge(healthy + [row("lock", "stalled", "AccessExclusiveLock", "true", "5", "lock-holder", nil, nil, nil, nil)])
        #expect(f.first?.sentence == "stalled is locked ACCESS EXCLUSIVE by pid 5 (lock-holder, its state is hidden from this role): every read and write of stalled will wait")
    }

    @Test func missingInsertFailsWithTheGrant() async throws {
        let o = try await run([primary, schema(tables: 4, lacking: 1), row("table", "messages", "messages", "true", "false", "true", "true")])
        #expect(o.status == .fail)
        #expect(o.summary == "chat lacks INSERT on messages (has_table_privilege, 1 of 4 tables in public): those statements will fail with permission denied")
        #expect(o.fix == "GRANT INSERT ON messages TO chat")
    }

    @Test func manyTablesAreCutAndGrantedBySchema() {
        let names = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]
        let f = judge([primary, schema(tables: 9, lacking: 8)] + names.map { row("table", $0, $0, "true", "false", "false", "false") }
                      + [row("table", "Audit", "\"Audit\"", "false", "true", "true", "true")])
        #expect(f.first?.sentence == "chat lacks INSERT, UPDATE, DELETE on a1, a2, a3, a4, a5 +2 more; and SELECT on Audit (has_table_privilege, 8 of 9 tables in public): those statements will fail with permission denied")
        #expect(f.first?.fix == "GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO chat; GRANT SELECT ON \"Audit\" TO chat")
    }

    @Test func noUsageOnTheSchema() {
        let f = judge([primary, schema(tables: 2, usage: false)])
        #expect(f.map(\.sentence) == ["chat has no USAGE on schema public (has_schema_privilege): every query of its tables fails with permission denied"])
        #expect(f.first?.fix == "GRANT USAGE ON SCHEMA public TO chat")
    }

    @Test func noTablesOrNoSchemaPassCleanly() async throws {
        #expect(try await run([primary, schema(tables: 0)]).status == .pass)
        let o = try await run([primary], url: "postgresql://chat:pw-states-x@127.0.0.1:5432/chat_backend_db?schema=later")
        #expect(o.status == .pass, "\(o.summary)")
        #expect(o.evidence["read"]?.display.contains("schema later does not exist: no tables to check") == true)
    }

    @Test func idleInTransactionWarns() {
        let f = judge(healthy + [row("session", "31", "worker", "idle in transaction", "40", "41", "UPDATE")])
        #expect(f.map(\.status) == [.warn])
        #expect(f.first?.sentence == "pid 31 (worker, idle in transaction for 40 s, last statement UPDATE) holds its transaction open: its locks stay held and vacuum cannot clean behind it")
        // Idle for a moment only, in a young transaction: nothing to say.
        #expect(judge(healthy + [row("session", "32", "worker", "idle in transaction", "2", "8", "SELECT")]).isEmpty)
    }

    @Test func oldTransactionWarns() {
        let f = judge(healthy + [row("session", "33", "report", "active", "300", "300", "SELECT")])
        #expect(f.map(\.sentence) == ["pid 33 (report, active for 5 min: SELECT) has had a transaction open for 5 min: the load's writes wait on any row or table it has locked"])
        #expect(f.first?.status == .warn)
    }

    @Test func aLockHolderIsNotNamedTwice() {
        let f = judge(healthy + [row("lock", "messages", "AccessExclusiveLock", "true", "4242", "psql", "idle in transaction", "180", "185", nil),
                                 row("session", "4242", "psql", "idle in transaction", "180", "185", nil)])
        #expect(f.count == 1)
    }

    @Test func anUnreadableCatalogWarnsAndTheRestStands() async throws {
        let pg = CannedPostgres(healthy + [row("setting", "chat", nil, "on", "chat", nil)], refuse: [.locks])
        let o = try await DatabaseCheck(probes: Probes(postgres: pg)).run(context(config(database: "postgresql://chat:pw-states-x@127.0.0.1:5432/chat_backend_db")))
        #expect(o.status == .fail, "the read-only default is still found")
        #expect(o.says("ALTER ROLE chat SET"))
        #expect(o.says("could not read pg_locks (permission denied for view pg_locks): locks on the application's tables were not checked"), "\(o.summary)")
        #expect(pg.queries.withLock { $0.count } == 2 + DatabaseStates.Part.allCases.count, "the combined query, then each part")

        let warnOnly = try await run(healthy, refuse: [.locks])
        #expect(warnOnly.status == .warn)
        #expect(warnOnly.evidence["unreadable"]?.display == "pg_locks: permission denied for view pg_locks")
    }

    @Test func truthySpellings() {
        for v in ["on", "ON", "true", "t", "tr", "yes", "y", "1"] { #expect(DatabaseStates.truthy(v), "\(v)") }
        for v in ["off", "false", "no", "0", "o", ""] { #expect(!DatabaseStates.truthy(v), "\(v)") }
    }

    @Test func modeNames() {
        #expect(DatabaseStates.modeName("AccessExclusiveLock") == "ACCESS EXCLUSIVE")
        #expect(DatabaseStates.modeName("ShareRowExclusiveLock") == "SHARE ROW EXCLUSIVE")
        #expect(DatabaseStates.modeName("ShareLock") == "SHARE")
    }
}

/// Against real PostgreSQL: a database and a role of this suite's own on the shared cluster (other suites run
/// in parallel there), and a primary with a real hot standby of their own.
@Suite(.serialized, .tags(.live), .runsLive) struct DatabaseStatesLive {
    static let role = "states_app"
    static let database = "states_db"

    /// The shared cluster with this suite's role and database (created once); returns it and the app's URL.
    func own() async throws -> (PostgresCluster, String) {
        let pg = try await OwnStatesDatabase.instance.get()
        return (pg, "postgresql://\(Self.role):states-pw@127.0.0.1:\(pg.port)/\(Self.database)")
    }

    func run(_ url: String) async throws -> CheckOutcome {
        try await DatabaseCheck(probes: .live).run(context(config(database: url), timeout: .seconds(3)))
    }

    @Test func healthyOwnDatabasePasses() async throws {
        let (_, url) = try await own()
        let o = try await run(url)
        #expect(o.status == .pass, "\(o.summary)")
    }

    @Test func hotStandbyIsAReadReplica() async throws {
        let primary = try await PostgresCluster.start()
        let standby: PostgresCluster
        do { standby = try await PostgresCluster.standby(of: primary) } catch { await primary.stop(); throw error }
        let o = try await run(standby.url)
        let onPrimary = try await run(primary.url)
        await standby.stop()
        await primary.stop()
        #expect(o.status == .fail, "\(o.summary)")
        #expect(o.summary.hasPrefix("the URL points at a read replica (pg_is_in_recovery() is true on 127.0.0.1:\(standby.port)): every INSERT will fail"), "\(o.summary)")
        #expect(onPrimary.status == .pass, "\(onPrimary.summary)")
    }

    @Test func readOnlyDefaultsAreFoundWhereTheyWereSet() async throws {
        let (pg, url) = try await own()
        let r = Self.role, d = Self.database
        for (set, reset) in [("ALTER DATABASE \(d)", "ALTER DATABASE \(d)"), ("ALTER ROLE \(r)", "ALTER ROLE \(r)"),
                             ("ALTER ROLE \(r) IN DATABASE \(d)", "ALTER ROLE \(r) IN DATABASE \(d)")] {
            try await pg.psql("\(set) SET default_transaction_read_only = on")
            let o = try await run(url)
            try await pg.psql("\(reset) RESET default_transaction_read_only")
            #expect(o.status == .fail, "\(set): \(o.summary)")
            #expect(o.summary.hasPrefix("default_transaction_read_only = on is set by \(set) SET (pg_db_role_setting)"), "\(o.summary)")
            #expect(o.fix == "\(reset) RESET default_transaction_read_only")
        }
        #expect(try await run(url).status == .pass)
    }

    @Test func anotherSessionsLockIsFoundAndLeftAlone() async throws {
        let (pg, url) = try await own()
        let holder = try await LockHolder.start(pg, database: Self.database, "LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        defer { holder.kill() }
        let o = try await run(url)
        #expect(o.status == .fail)
        #expect(o.says("messages is locked ACCESS EXCLUSIVE by pid \(holder.pid) (lock-holder"), "\(o.summary)")
        #expect(o.says("every read and write of messages will wait"))
        // The holder is untouched: its transaction is still open and its lock still granted.
        let state = try await pg.psql("""
            SELECT a.state || ' ' || count(l.*) FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid
              AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.relation = 'messages'::regclass
            WHERE a.pid = \(holder.pid) AND a.xact_start IS NOT NULL GROUP BY a.state
            """, database: Self.database)
        #expect(state == "idle in transaction 1")
        #expect(try await holder.release() == 0, "the holder's transaction committed")
        #expect(try await run(url).status == .pass)
    }

    @Test func ownRoleIdleInTransactionWarns() async throws {
        let (pg, url) = try await own()
        // The app's own role: its sessions' state is visible to it without pg_read_all_stats.
        let holder = try await LockHolder.start(url: url, "SELECT count(*) FROM users", application: "forgetful-worker")
        defer { holder.kill() }
        var idle = ""
        for _ in 0..<100 where idle != "t" {  // until it has been idle in transaction longer than the limit (bounded)
            idle = try await pg.psql("SELECT now() - state_change > interval '\(DatabaseStates.idleLimit + 1) seconds' FROM pg_stat_activity WHERE pid = \(holder.pid)")
            if idle != "t" { try await Task.sleep(for: .milliseconds(200)) }
        }
        let o = try await run(url)
        #expect(try await holder.release() == 0)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary.hasPrefix("pid \(holder.pid) (forgetful-worker, idle in transaction for "), "\(o.summary)")
        #expect(o.says("last statement SELECT) holds its transaction open"))
        #expect(!o.says("users"), "no query text beyond its first keyword")
    }

    @Test func revokedInsertFailsNamingTheTableAndTheGrant() async throws {
        let (pg, url) = try await own()
        try await pg.psql("REVOKE INSERT ON messages FROM \(Self.role)", database: Self.database)
        let o = try await run(url)
        try await pg.psql("GRANT INSERT ON messages TO \(Self.role)", database: Self.database)
        #expect(o.status == .fail)
        #expect(o.summary == "\(Self.role) lacks INSERT on messages (has_table_privilege, 1 of 2 tables in public): those statements will fail with permission denied")
        #expect(o.fix == "GRANT INSERT ON messages TO \(Self.role)")
        #expect(try await run(url).status == .pass)
    }

    @Test func anUnreadableCatalogIsAWarning() async throws {
        let (pg, url) = try await own()
        try await pg.psql("REVOKE SELECT ON pg_catalog.pg_locks FROM PUBLIC", database: Self.database)
        let o = try await run(url)
        try await pg.psql("GRANT SELECT ON pg_catalog.pg_locks TO PUBLIC", database: Self.database)
        #expect(o.status == .warn, "\(o.summary)")
        #expect(o.summary == "could not read pg_locks (permission denied for view pg_locks): locks on the application's tables were not checked")
        guard case .array(let read)? = o.evidence["read"] else { Issue.record("no read evidence"); return }
        #expect(read.count == DatabaseStates.Part.allCases.count - 1, "the other parts were read: \(read)")
    }
}

/// states_db owned by postgres with two tables the role states_app may read and write (as an application's would).
actor OwnStatesDatabase {
    static let instance = OwnStatesDatabase()
    private var starting: Task<PostgresCluster, any Error>?

    func get() async throws -> PostgresCluster {
        if starting == nil {
            starting = Task {
                let pg = try await PostgresCluster.shared()
                let r = DatabaseStatesLive.role, d = DatabaseStatesLive.database
                try await pg.psql("CREATE ROLE \(r) LOGIN PASSWORD 'states-pw'")
                try await pg.psql("CREATE DATABASE \(d)")
                try await pg.psql("""
                    CREATE TABLE users (id int PRIMARY KEY); CREATE TABLE messages (id int PRIMARY KEY, body text);
                    GRANT SELECT, INSERT, UPDATE, DELETE ON users, messages TO \(r)
                    """, database: d)
                return pg
            }
        }
        return try await starting!.value
    }
}
