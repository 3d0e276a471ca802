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

    /// One sentence with its evidence and the fix.
    public struct Finding: Sendable, Equatable {
        public var status: Status
        public var sentence: String
        public var fix: String
    }

    /// What the application's sessions will meet, worst first. `role`/`database` name the login (for sentences).
    public func findings(role: String, database: String, hostPort: String) -> [Finding] {
        var out: [Finding] = []
        if inRecovery == true {
            out.append(Finding(status: .fail,
                               sentence: "the URL points at a read replica (pg_is_in_recovery() is true on \(hostPort)): every INSERT will fail",
                               fix: "use the primary's URL, or list the hosts with target_session_attrs=read-write"))
        }
        if let f = readOnlyDefault(role: role, database: database) { out.append(f) }
        out += lockFindings()
        if let s = schema {
            if !s.usage {
                out.append(Finding(status: .fail,
                                   sentence: "\(role) has no USAGE on schema \(s.name) (has_schema_privilege): every query of its tables fails with permission denied",
                                   fix: "GRANT USAGE ON SCHEMA \(s.quotedName) TO \(s.quotedRole)"))
            }
            if let f = privilegeFinding(role: role, schema: s) { out.append(f) }
        }
        out += transactionFindings()
        if unreadable.count == Part.allCases.count, Set(unreadable.map(\.error)).count == 1, let e = unreadable.first?.error {
            // One failure for all (a timeout): one sentence.
            out.append(Finding(status: .warn,
                               sentence: "could not read the catalog (\(PostgresError.firstLine(e))): standby, read-only defaults, locks, transactions and privileges were not checked",
                               fix: "run preflight again with a longer --timeout, or let \(role) read the catalog"))
        } else {
            for u in unreadable {
                out.append(Finding(status: .warn,
                                   sentence: "could not read \(u.part.rawValue) (\(PostgresError.firstLine(u.error))): \(Self.unchecked(u.part)) not checked",
                                   fix: "let \(role) read \(u.part.rawValue) (the check reads the catalog only), or run preflight as a role that can"))
            }
        }
        return out.filter { $0.status == .fail } + out.filter { $0.status != .fail }
    }

    static func unchecked(_ part: Part) -> String {
        switch part {
        case .recovery: return "whether the server is a standby was"
        case .settings: return "read-only defaults for the role and database were"
        case .locks: return "locks on the application's tables were"
        case .sessions: return "long transactions were"
        case .privileges: return "the role's privileges were"
        }
    }

    /// The most specific setting wins (role in database, role, database, every role); the fix resets each
    /// `on` down to the first `off` that would shadow the rest.
    func readOnlyDefault(role: String, database: String) -> Finding? {
        func level(_ s: RoleSetting) -> Int {
            switch (s.role != nil, s.database != nil) {
            case (true, true): return 0
            case (true, false): return 1
            case (false, true): return 2
            case (false, false): return 3
            }
        }
        var on: [RoleSetting] = []
        for s in settings.sorted(by: { level($0) < level($1) }) {
            guard Self.truthy(s.value) else { break }
            on.append(s)
        }
        guard let effective = on.first else { return nil }
        let statements = on.map(Self.alterStatement)
        return Finding(status: .fail,
                       sentence: "default_transaction_read_only = \(effective.value) is set by \(statements[0]) SET (pg_db_role_setting): "
                           + "every session of \(role) on \(database) starts read-only and every INSERT will fail",
                       fix: on.map { "\(Self.alterStatement($0)) RESET default_transaction_read_only" }.joined(separator: "; "))
    }

    /// "ALTER ROLE chat IN DATABASE app", "ALTER ROLE chat", "ALTER DATABASE app", "ALTER ROLE ALL".
    static func alterStatement(_ s: RoleSetting) -> String {
        switch (s.quotedRole, s.quotedDatabase) {
        case (let r?, let d?): return "ALTER ROLE \(r) IN DATABASE \(d)"
        case (let r?, nil): return "ALTER ROLE \(r)"
        case (nil, let d?): return "ALTER DATABASE \(d)"
        case (nil, nil): return "ALTER ROLE ALL"
        }
    }

    /// PostgreSQL's boolean spellings (parse_bool): on, true, yes, 1 and the unique prefixes of true and yes.
    static func truthy(_ v: String) -> Bool {
        let s = v.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "' "))
        return s == "on" || s == "1" || (!s.isEmpty && ("true".hasPrefix(s) || "yes".hasPrefix(s)))
    }

    /// "ACCESS EXCLUSIVE" for AccessExclusiveLock.
    static func modeName(_ mode: String) -> String {
        var words: [String] = []
        var word = ""
        for c in mode.replacingOccurrences(of: "Lock", with: "") {
            if c.isUppercase, !word.isEmpty { words.append(word); word = "" }
            word.append(c)
        }
        if !word.isEmpty { words.append(word) }
        return words.joined(separator: " ").uppercased()
    }

    /// "12 s", "3 min", "2 h".
    static func age(_ s: Int) -> String {
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        return "\(s / 3600) h"
    }

    /// "pid 4242 (psql, idle in transaction for 3 min)".
    static func describe(_ b: Backend) -> String {
        guard let pid = b.pid else { return "a prepared transaction (pg_prepared_xacts)" }
        var parts: [String] = []
        if !b.application.isEmpty { parts.append(b.application) }
        if let state = b.state {
            var s = state
            if let a = b.stateAge { s += " for \(age(a))" }
            if let k = b.keyword, !k.isEmpty { s += state == "active" ? ": \(k)" : ", last statement \(k)" }
            parts.append(s)
        } else {
            parts.append("its state is hidden from this role")
        }
        return "pid \(pid) (\(parts.joined(separator: ", ")))"
    }

    static func list(_ names: [String]) -> String {
        let shown = names.prefix(named).joined(separator: ", ")
        return names.count > named ? "\(shown) +\(names.count - named) more" : shown
    }

    /// One finding per holder and mode, its tables named.
    func lockFindings() -> [Finding] {
        struct Key: Hashable { let pid: Int?; let mode: String; let granted: Bool }
        var order: [Key] = []
        var tables: [Key: [String]] = [:]
        var holders: [Key: Backend] = [:]
        for l in locks {
            let k = Key(pid: l.holder.pid, mode: l.mode, granted: l.granted)
            if tables[k] == nil { order.append(k); holders[k] = l.holder }
            if !tables[k, default: []].contains(l.table) { tables[k, default: []].append(l.table) }
        }
        // Per holder, only its strongest mode (ACCESS EXCLUSIVE also blocks what the weaker ones block).
        func strength(_ m: String) -> Int { Self.blockingModes.firstIndex(of: m) ?? Self.blockingModes.count }
        order.sort { ($0.granted ? 0 : 1, strength($0.mode), $0.pid ?? 0) < ($1.granted ? 0 : 1, strength($1.mode), $1.pid ?? 0) }
        var seen: Set<String> = []
        return order.compactMap { k in
            let names = tables[k]!.filter { !seen.contains("\(k.pid ?? -1)/\($0)") }
            guard !names.isEmpty else { return nil }
            for n in names { seen.insert("\(k.pid ?? -1)/\(n)") }
            let who = Self.describe(holders[k]!)
            let mode = Self.modeName(k.mode)
            let them = names.count == 1 ? names[0] : "them"
            let effect = k.mode == "AccessExclusiveLock" ? "every read and write of \(them)" : "every INSERT, UPDATE and DELETE on \(them)"
            let sentence = k.granted
                ? "\(Self.list(names)) \(names.count == 1 ? "is" : "are") locked \(mode) by \(who): \(effect) will wait"
                : "\(who) waits for \(mode) on \(Self.list(names)): \(effect) queues behind it"
            let fix: String
            if let pid = k.pid {
                fix = "end that transaction before the load (commit or roll back in the session of pid \(pid); if it is abandoned, SELECT pg_terminate_backend(\(pid)) as its owner or a superuser)"
            } else {
                fix = "COMMIT PREPARED or ROLLBACK PREPARED the transaction listed in pg_prepared_xacts"
            }
            return Finding(status: .fail, sentence: sentence, fix: fix)
        }
    }

    /// Idle in transaction for more than a few seconds, or a transaction older than a minute: warnings
    /// (a holder already named by a lock finding is not named twice).
    func transactionFindings() -> [Finding] {
        let lockers = Set(locks.compactMap(\.holder.pid))
        var out: [Finding] = []
        for b in transactions where !lockers.contains(b.pid ?? -1) {
            guard let pid = b.pid else { continue }
            let idle = (b.state ?? "").hasPrefix("idle in transaction")
            if idle, let a = b.stateAge, a > Self.idleLimit {
                out.append(Finding(status: .warn,
                                   sentence: "\(Self.describe(b)) holds its transaction open: its locks stay held and vacuum cannot clean behind it",
                                   fix: "commit or roll back in the session of pid \(pid) before the load (an application that forgets to: set idle_in_transaction_session_timeout)"))
            } else if let a = b.transactionAge, a > Self.transactionLimit {
                out.append(Finding(status: .warn,
                                   sentence: "\(Self.describe(b)) has had a transaction open for \(Self.age(a)): the load's writes wait on any row or table it has locked",
                                   fix: "let the transaction of pid \(pid) finish (or roll it back) before the load"))
            }
        }
        return out
    }

    /// Missing SELECT/INSERT/UPDATE/DELETE, grouped by what is missing, with the GRANT for each group.
    func privilegeFinding(role: String, schema s: SchemaAccess) -> Finding? {
        guard !lacking.isEmpty else { return nil }
        var groups: [(missing: [String], tables: [TablePrivileges])] = []
        for t in lacking {
            if let i = groups.firstIndex(where: { $0.missing == t.missing }) { groups[i].tables.append(t) } else { groups.append((t.missing, [t])) }
        }
        let unlisted = max(0, s.lackingCount - lacking.count)
        let parts = groups.map { g in "\(g.missing.joined(separator: ", ")) on \(Self.list(g.tables.map(\.table)))" }
        let qualify = s.name == "public" ? "" : s.quotedName + "."
        let grants = groups.map { g -> String in
            let on = g.tables.count > Self.named || unlisted > 0
                ? "ALL TABLES IN SCHEMA \(s.quotedName)" : g.tables.map { qualify + $0.quotedTable }.joined(separator: ", ")
            return "GRANT \(g.missing.joined(separator: ", ")) ON \(on) TO \(s.quotedRole)"
        }
        var sentence = "\(role) lacks \(parts.joined(separator: "; and "))"
        if unlisted > 0 { sentence += " (+\(unlisted) more tables)" }
        sentence += " (has_table_privilege, \(s.lackingCount) of \(s.tableCount) tables in \(s.name)): those statements will fail with permission denied"
        return Finding(status: .fail, sentence: sentence, fix: grants.joined(separator: "; "))
    }

    /// What was read, for the evidence.
    public func evidence(role: String, database: String) -> [(String, JSONValue)] {
        var e: [(String, JSONValue)] = []
        var readList: [JSONValue] = []
        for p in read {
            switch p {
            case .recovery: readList.append(.string("pg_is_in_recovery(): \(inRecovery == true ? "a standby" : "a primary")"))
            case .settings:
                readList.append(.string("pg_db_role_setting for \(role) and \(database): "
                    + (settings.isEmpty ? "no default_transaction_read_only"
                       : settings.map { "\(Self.alterStatement($0)) SET default_transaction_read_only = \($0.value)" }.joined(separator: ", "))))
            case .locks:
                readList.append(.string("pg_locks on the \(schema?.tableCount ?? 0) tables of \(schemaName): \(locks.count) blocking"))
            case .sessions:
                readList.append(.string("pg_stat_activity of \(database): \(transactions.count) other transaction\(transactions.count == 1 ? "" : "s") older than \(Self.idleLimit) s"))
            case .privileges:
                if let s = schema {
                    readList.append(.string("has_schema_privilege (USAGE on \(s.name): \(s.usage ? "yes" : "no")) and has_table_privilege "
                        + "(SELECT, INSERT, UPDATE, DELETE on \(s.tableCount - s.lackingCount) of \(s.tableCount) tables)"))
                } else {
                    readList.append(.string("schema \(schemaName) does not exist: no tables to check"))
                }
            }
        }
        e.append(("read", .array(readList)))
        if !unreadable.isEmpty {
            e.append(("unreadable", .array(unreadable.map { .string("\($0.part.rawValue): \(PostgresError.oneLine($0.error.replacingOccurrences(of: "ERROR:  ", with: "")))") })))
        }
        return e
    }
}
