import Foundation
import PreflightCore
import PreflightProbes

/// What the application's own sessions will meet once logged in, read from the catalog (never from preflight's
/// own session, whose `SHOW default_transaction_read_only` says `on` by preflight's startup option): a standby,
/// a read-only default set for the role or the database, locks and old transactions of other sessions on the
/// application's tables, and the role's privileges on them. Read in one query (`read`); judged without I/O
/// (`findings`), so canned rows test every sentence.
public struct DatabaseStates: Sendable, Equatable {
    /// One `default_transaction_read_only` row of pg_db_role_setting that applies to this role and database.
    public struct RoleSetting: Sendable, Equatable {
        /// nil: every role (`ALTER ROLE ALL`), or the database alone (`ALTER DATABASE`).
        public var role: String?
        public var database: String?
        public var value: String
        public var quotedRole: String?
        public var quotedDatabase: String?
        public init(role: String?, database: String?, value: String, quotedRole: String? = nil, quotedDatabase: String? = nil) {
            self.role = role
            self.database = database
            self.value = value
            self.quotedRole = quotedRole ?? role
            self.quotedDatabase = quotedDatabase ?? database
        }
    }

    /// What pg_stat_activity shows of another session (state, ages and keyword are nil when hidden from this role).
    public struct Backend: Sendable, Equatable {
        /// nil: a prepared transaction (no backend holds it).
        public var pid: Int?
        public var application: String
        public var state: String?
        /// Seconds since the state last changed (for "idle in transaction": how long it has been idle).
        public var stateAge: Int?
        /// Seconds since its transaction began.
        public var transactionAge: Int?
        /// The first keyword of its (last) statement: never more of its text, which may hold data.
        public var keyword: String?
        public init(pid: Int?, application: String = "", state: String? = nil, stateAge: Int? = nil,
                    transactionAge: Int? = nil, keyword: String? = nil) {
            self.pid = pid
            self.application = application
            self.state = state
            self.stateAge = stateAge
            self.transactionAge = transactionAge
            self.keyword = keyword
        }
    }

    /// A lock another session holds, or waits for, on one of the application's tables, in a mode that blocks
    /// ordinary reads (ACCESS EXCLUSIVE) or writes (SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE).
    public struct TableLock: Sendable, Equatable {
        public var table: String
        /// pg_locks' name: `AccessExclusiveLock`, …
        public var mode: String
        public var granted: Bool
        public var holder: Backend
        public init(table: String, mode: String, granted: Bool = true, holder: Backend) {
            self.table = table
            self.mode = mode
            self.granted = granted
            self.holder = holder
        }
    }

    /// The schema the application's tables live in, as this role sees it.
    public struct SchemaAccess: Sendable, Equatable {
        public var name: String
        public var usage: Bool
        public var quotedName: String
        public var quotedRole: String
        public var tableCount: Int
        /// Tables the role lacks SELECT, INSERT, UPDATE or DELETE on (all of them, though at most `tableRowCap` are listed).
        public var lackingCount: Int
        public init(name: String, usage: Bool = true, quotedName: String? = nil, quotedRole: String, tableCount: Int, lackingCount: Int = 0) {
            self.name = name
            self.usage = usage
            self.quotedName = quotedName ?? name
            self.quotedRole = quotedRole
            self.tableCount = tableCount
            self.lackingCount = lackingCount
        }
    }

    /// A table the role lacks some privilege on.
    public struct TablePrivileges: Sendable, Equatable {
        public var table: String
        public var quotedTable: String
        public var missing: [String]
        public init(table: String, quotedTable: String? = nil, missing: [String]) {
            self.table = table
            self.quotedTable = quotedTable ?? table
            self.missing = missing
        }
    }

    /// The parts of the read, each named by what it reads (a failed part is a warning, the others stand).
    public enum Part: String, Sendable, CaseIterable {
        case recovery = "pg_is_in_recovery()"
        case settings = "pg_db_role_setting"
        case locks = "pg_locks"
        case sessions = "pg_stat_activity"
        case privileges = "has_schema_privilege / has_table_privilege"
    }

    public var schemaName: String
    public var inRecovery: Bool?
    public var settings: [RoleSetting] = []
    public var locks: [TableLock] = []
    /// Other sessions of this database whose transaction began more than `idleLimit` seconds ago.
    public var transactions: [Backend] = []
    /// nil when the schema does not exist.
    public var schema: SchemaAccess?
    public var lacking: [TablePrivileges] = []
    /// What was read, and what could not be (with the server's reason).
    public var read: [Part] = []
    public var unreadable: [(part: Part, error: String)] = []

    public init(schemaName: String) { self.schemaName = schemaName }

    public static func == (a: DatabaseStates, b: DatabaseStates) -> Bool {
        a.schemaName == b.schemaName && a.inRecovery == b.inRecovery && a.settings == b.settings && a.locks == b.locks
            && a.transactions == b.transactions && a.schema == b.schema && a.lacking == b.lacking && a.read == b.read
            && a.unreadable.map(\.part) == b.unreadable.map(\.part) && a.unreadable.map(\.error) == b.unreadable.map(\.error)
    }

    /// Idle in transaction longer than this warns (seconds).
    public static let idleLimit = 5
    /// A transaction older than this warns (seconds).
    public static let transactionLimit = 60
    /// At most this many sessions and lacking tables come back (the counts stay exact).
    static let sessionRowCap = 20
    static let tableRowCap = 500
    /// Tables named in one sentence before "+N more".
    static let named = 5

    static let blockingModes = ["AccessExclusiveLock", "ExclusiveLock", "ShareRowExclusiveLock", "ShareLock"]

    // MARK: - Reading

    /// The parts' SQL (every row: a kind and nine text columns), sharing the CTEs. Only catalogs and
    /// statistics views are read: nothing here takes or waits for a lock on the application's tables
    /// (has_table_privilege by oid looks nothing up by name).
    static func sql(_ part: Part) -> String {
        let keyword = "upper(substring(a.query FROM '^\\s*([A-Za-z]+)'))"
        switch part {
        case .recovery:
            return "SELECT 'recovery', pg_is_in_recovery()::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
        case .settings:
            // ALTER ROLE … IN DATABASE … / ALTER ROLE … / ALTER DATABASE … / ALTER ROLE ALL …: the rows that apply to this login.
            return """
                SELECT 'setting', r.rolname, d.datname, substr(cfg, length('default_transaction_read_only=') + 1),
                       quote_ident(r.rolname), quote_ident(d.datname), NULL, NULL, NULL, NULL
                FROM pg_db_role_setting s CROSS JOIN me CROSS JOIN LATERAL unnest(s.setconfig) AS cfg
                LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
                WHERE s.setrole IN (0, me.role) AND s.setdatabase IN (0, me.db)
                  AND lower(cfg) LIKE 'default\\_transaction\\_read\\_only=%'
                """
        case .locks:
            // Held or queued (a queued ACCESS EXCLUSIVE blocks every later reader too); a prepared transaction has no pid.
            return """
                SELECT 'lock', t.relname, l.mode, l.granted::text, l.pid::text, coalesce(a.application_name, ''), a.state,
                       extract(epoch FROM now() - a.state_change)::bigint::text, extract(epoch FROM now() - a.xact_start)::bigint::text,
                       \(keyword)
                FROM pg_locks l JOIN tables t ON l.relation = t.oid CROSS JOIN me LEFT JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'relation' AND l.database = me.db AND l.pid IS DISTINCT FROM pg_backend_pid()
                  AND coalesce(a.application_name, '') <> 'preflight'
                  AND l.mode IN (\(blockingModes.map { "'\($0)'" }.joined(separator: ", ")))
                """
        case .sessions:
            return """
                (SELECT 'session', a.pid::text, coalesce(a.application_name, ''), a.state,
                        extract(epoch FROM now() - a.state_change)::bigint::text, extract(epoch FROM now() - a.xact_start)::bigint::text,
                        \(keyword), NULL, NULL, NULL
                 FROM pg_stat_activity a
                 WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
                   AND coalesce(a.application_name, '') <> 'preflight' AND a.xact_start < now() - interval '\(idleLimit) seconds'
                 ORDER BY a.xact_start LIMIT \(sessionRowCap))
                """
        case .privileges:
            return """
                SELECT 'schema', app.nspname, has_schema_privilege(app.oid, 'USAGE')::text, quote_ident(app.nspname),
                       quote_ident(session_user), (SELECT count(*) FROM tables)::text, (SELECT count(*) FROM lacking)::text, NULL, NULL, NULL
                FROM app
                UNION ALL
                (SELECT 'table', relname, quote_ident(relname), s::text, i::text, u::text, d::text, NULL, NULL, NULL
                 FROM lacking ORDER BY relname LIMIT \(tableRowCap))
                """
        }
    }

    static func with(schema: String) -> String {
        """
        WITH me AS (SELECT r.oid AS role, d.oid AS db FROM pg_roles r, pg_database d
                    WHERE r.rolname = session_user AND d.datname = current_database()),
        app AS (SELECT n.oid, n.nspname FROM pg_namespace n WHERE n.nspname = \(ServerConnections.literal(schema))),
        tables AS (SELECT c.oid, c.relname FROM pg_class c JOIN app ON c.relnamespace = app.oid
                   WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition),
        privileges AS (SELECT relname, has_table_privilege(oid, 'SELECT') AS s, has_table_privilege(oid, 'INSERT') AS i,
                              has_table_privilege(oid, 'UPDATE') AS u, has_table_privilege(oid, 'DELETE') AS d FROM tables),
        lacking AS (SELECT * FROM privileges WHERE NOT (s AND i AND u AND d))
        """
    }

    /// Everything in one round trip; when that fails (a catalog this role may not read), each part on its own
    /// within the same deadline, so one unreadable catalog costs only its own findings.
    public static func read(_ session: any PostgresSession, schema: String, timeout: Duration) async -> DatabaseStates {
        var states = DatabaseStates(schemaName: schema)
        let head = with(schema: schema)
        let all = head + "\n" + Part.allCases.map { sql($0) }.joined(separator: "\nUNION ALL\n")
        switch await session.query(all, timeout: timeout) {
        case .success(let rows):
            states.absorb(rows)
            states.read = Part.allCases
            return states
        case .failure(let e) where e.timedOut:
            states.unreadable = Part.allCases.map { ($0, e.message) }
            return states
        case .failure:
            break
        }
        let clock = ContinuousClock()
        let end = clock.now + timeout
        for part in Part.allCases {
            let left = clock.now.duration(to: end)
            guard left > .zero else {
                states.unreadable.append((part, "no time left within \(format(timeout))"))
                continue
            }
            switch await session.query(head + "\n" + sql(part), timeout: left) {
            case .success(let rows):
                states.absorb(rows)
                states.read.append(part)
            case .failure(let e):
                states.unreadable.append((part, e.message))
            }
        }
        return states
    }

    /// Sorts the query's rows into their parts (rows of an unexpected shape are left out).
    public mutating func absorb(_ rows: [[String?]]) {
        for r in rows where r.count == 10 {
            func int(_ i: Int) -> Int? { r[i].flatMap { Int($0) } }
            func bool(_ i: Int) -> Bool { r[i] == "true" }
            switch r[0] {
            case "recovery":
                inRecovery = bool(1)
            case "setting":
                settings.append(RoleSetting(role: r[1], database: r[2], value: r[3] ?? "", quotedRole: r[4], quotedDatabase: r[5]))
            case "lock":
                guard let table = r[1], let mode = r[2] else { continue }
                let holder = Backend(pid: int(4), application: r[5] ?? "", state: r[6], stateAge: int(7), transactionAge: int(8), keyword: r[9])
                locks.append(TableLock(table: table, mode: mode, granted: bool(3), holder: holder))
            case "session":
                transactions.append(Backend(pid: int(1), application: r[2] ?? "", state: r[3], stateAge: int(4), transactionAge: int(5), keyword: r[6]))
            case "schema":
                guard let name = r[1] else { continue }
                schema = SchemaAccess(name: name, usage: bool(2), quotedName: r[3], quotedRole: r[4] ?? "", tableCount: int(5) ?? 0,
                                      lackingCount: int(6) ?? 0)
            case "table":
                guard let table = r[1] else { continue }
                let missing = zip(["SELECT", "INSERT", "UPDATE", "DELETE"], [bool(3), bool(4), bool(5), bool(6)]).filter { !$0.1 }.map(\.0)
                lacking.append(TablePrivileges(table: table, quotedTable: r[2], missing: missing))
            default:
                continue
            }
        }
    }

    // MARK: - Judging
}
