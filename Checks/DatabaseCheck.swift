import Foundation
import PreflightCore
import PreflightProbes

/// Really logs in (pg_isready says "accepting" even for a bad password or a full server), runs a read-only
/// `SELECT` under the deadline, then reads what the application's own sessions will meet (DatabaseStates:
/// a standby, a read-only default for its role or database, other sessions' locks and old transactions on its
/// tables, its privileges), from the catalog: preflight's own session is read-only on purpose.
public struct DatabaseCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "database", title: "Database login", layer: .database,
        examples: [
            CheckExample(.pass, given: World(config: Self.exampleConfig, answers: ProbeAnswers { $0.postgres = .success(.server()) }),
                         says: "PostgreSQL 16.4 at 127.0.0.1:5432 accepts chat on chat (read-only session"),
            CheckExample(.fail, given: World(config: Self.exampleConfig),
                         says: "connection refused on 127.0.0.1:5432: PostgreSQL is not running there"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .failure(PostgresError("timeout expired", timedOut: true))
            }), says: "PostgreSQL at 127.0.0.1:5432 did not answer within 3 s"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .failure(PostgresError("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"chat\"\n"))
            }), says: "rejects the password for chat"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .failure(PostgresError("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"chat\" does not exist\n"))
            }), says: "database \"chat\" does not exist on 127.0.0.1:5432"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .failure(PostgresError("connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  sorry, too many clients already\n"))
            }), says: "refuses new connections"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .success(.server([Self.states(["recovery", "true"])]))
            }), says: "the URL points at a read replica (pg_is_in_recovery() is true on 127.0.0.1:5432): every INSERT will fail"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .success(.server([Self.states(["setting", "chat", nil, "on", "chat", nil])]))
            }), says: "default_transaction_read_only = on is set by ALTER ROLE chat SET (pg_db_role_setting)"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .success(.server([Self.states(["lock", "messages", "AccessExclusiveLock", "true", "4242", "psql", "idle in transaction", "180", "200", "ALTER"])]))
            }), says: "messages is locked ACCESS EXCLUSIVE by pid 4242 (psql, idle in transaction for 3 min, last statement ALTER): every read and write of messages will wait"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .success(.server([Self.states(["lock", "messages", "ShareLock", "true", "4243", "psql", "active", "4", "4", "CREATE"])]))
            }), says: "messages is locked SHARE by pid 4243 (psql, active for 4 s: CREATE): every INSERT, UPDATE and DELETE on messages will wait"),
            CheckExample(.fail, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .success(.server([Self.states(["schema", "public", "true", "public", "chat", "3", "1"], ["table", "messages", "messages", "true", "false", "true", "true"])]))
            }), says: "chat lacks INSERT on messages (has_table_privilege, 1 of 3 tables in public)"),
            CheckExample(.warn, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .success(.server([Self.states(["session", "4244", "psql", "idle in transaction", "30", "30", "UPDATE"])]))
            }), says: "pid 4244 (psql, idle in transaction for 30 s, last statement UPDATE) holds its transaction open"),
            CheckExample(.warn, given: World(config: Self.exampleConfig, answers: ProbeAnswers {
                $0.postgres = .success(.server([
                    ("UNION ALL\n(SELECT 'session'", .failure(PostgresError("ERROR:  permission denied for view pg_locks"))),
                    ("l.locktype = 'relation'", .failure(PostgresError("ERROR:  permission denied for view pg_locks"))),
                ]))
            }), says: "could not read pg_locks (permission denied for view pg_locks): locks on the application's tables were not checked"),
            CheckExample(.skipped, given: World(config: "target: http://127.0.0.1:3001"), says: "no database.url configured"),
        ],
        // Log in (one timeout), the login query (one), what the application will meet (one: a single query, and
        // when a catalog refuses it, its parts one by one within the same timeout).
        timeoutBudget: 3)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [DatabaseSettings.self]

    static let exampleConfig = "database:\n  url: postgresql://chat@127.0.0.1:5432/chat"

    /// The answer to `DatabaseStates.read`'s one query: rows of ten columns (a kind, then nine texts or NULLs).
    static func states(_ rows: [String?]...) -> (contains: String, answer: Result<[[String?]], PostgresError>) {
        ("WITH me AS", .success(rows.map { $0 + [String?](repeating: nil, count: max(0, 10 - $0.count)) }))
    }

    let probes: Probes
    public init(probes: Probes) { self.probes = probes }

    public func run(_ context: CheckContext) async throws -> CheckOutcome {
        guard let url = context.fact(DatabaseSettings.self).url else {
            return .skipped("no database.url configured")
        }
        var evidence = Evidence([
            "server": .string(url.hostPort), "user": .string(url.user ?? "-"), "database": .string(url.database ?? url.user ?? "-"),
        ])
        let clock = ContinuousClock()
        let start = clock.now
        let session: any PostgresSession
        switch await probes.postgres.connect(url, timeout: context.timeout) {
        case .failure(let e):
            evidence["error"] = .string(e.oneLine)
            return Self.classify(e, url: url, timeout: context.timeout, evidence: evidence)
        case .success(let s):
            session = s
        }
        defer { Task { await session.close() } }
        let result = await session.query(
            "SELECT current_setting('server_version'), current_setting('transaction_read_only'), current_user, current_database()",
            timeout: context.timeout)
        let ms = start.duration(to: clock.now).milliseconds
        var states: DatabaseStates?
        if case .success = result {
            states = await DatabaseStates.read(session, schema: url.schema ?? "public", timeout: context.timeout)
        }
        await session.close()
        switch result {
        case .failure(let e):
            evidence["error"] = .string(e.oneLine)
            return Self.classify(e, url: url, timeout: context.timeout, evidence: evidence)
        case .success(let rows):
            let row = rows.first ?? []
            let version = row.first.flatMap { $0 } ?? "?"
            evidence["version"] = .string(version)
            evidence["readOnly"] = .bool(row.count > 1 && row[1] == "on")
            evidence["readOnlyBy"] = .string(session.readOnlyMode.rawValue)
            if !url.driverParameters.isEmpty {
                // Names only: the application's own parameters, which libpq never sees.
                evidence["driverParameters"] = .string(url.driverParameters.keys.sorted().joined(separator: ", ")
                                                       + " (the driver's; not passed to libpq)")
            }
            evidence["latencyMs"] = .double(round2(ms))
            let role = row.count > 2 ? row[2] ?? url.user ?? "?" : url.user ?? "?"
            let database = row.count > 3 ? row[3] ?? "?" : url.database ?? role
            let short = version.split(separator: " ").first.map(String.init) ?? version
            let login = "PostgreSQL \(short) at \(url.hostPort) accepts \(role) on \(database) (read-only session, \(Int(ms.rounded())) ms)"
            guard let states else { return .pass(login, evidence: evidence) }
            for (k, v) in states.evidence(role: role, database: database) { evidence[k] = v }
            let findings = states.findings(role: role, database: database, hostPort: url.hostPort)
            guard let worst = findings.first else { return .pass(login, evidence: evidence) }
            evidence["login"] = .string(login)
            // Worst first: the first is the headline.
            return CheckOutcome(worst.status, findings: findings.map { Finding($0.status, $0.sentence, fix: $0.fix) }, evidence: evidence)
        }
    }

    /// libpq's failure as the check's verdict: the sentence and fix are the probe's (`PostgresError.sentence`).
    static func classify(_ e: PostgresError, url: DatabaseURL, timeout: Duration, evidence: Evidence) -> CheckOutcome {
        let s = e.sentence(for: url, timeout: timeout)
        return .fail(s.summary, evidence: evidence, fix: s.fix)
    }
}
