import Foundation
import PreflightCore
import PreflightProbes

/// Judging what `DatabaseStates.read` found, without I/O: the sentences, fixes and evidence of the database
/// check (the reading and its SQL: DatabaseStates.swift).
extension DatabaseStates {
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
