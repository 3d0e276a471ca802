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
            CheckExample("logs in and runs SELECT in a read-only session", .pass),
            CheckExample("connection refused, or no answer within the timeout", .fail),
            CheckExample("password authentication failed, or the database does not exist", .fail),
            CheckExample("sorry, too many clients already", .fail),
            CheckExample("the URL points at a read replica (pg_is_in_recovery()): every INSERT will fail", .fail),
            CheckExample("default_transaction_read_only = on is set by ALTER ROLE chat SET (or ALTER DATABASE … SET)", .fail),
            CheckExample("messages is locked ACCESS EXCLUSIVE by pid 4242 (psql, idle in transaction for 3 min): every read and write of messages will wait", .fail),
            CheckExample("messages is locked SHARE by another session (CREATE INDEX): every INSERT, UPDATE and DELETE on it will wait", .fail),
            CheckExample("chat lacks INSERT on messages (has_table_privilege), or USAGE on its schema: GRANT …", .fail),
            CheckExample("another session is idle in transaction for more than 5 s, or has had a transaction open for more than a minute", .warn),
            CheckExample("a catalog this role may not read (pg_locks, …): what it would show was not checked", .warn),
        ],
        // Log in (one timeout), the login query (one), what the application will meet (one: a single query, and
        // when a catalog refuses it, its parts one by one within the same timeout).
        timeoutBudget: 3)
    public static let settings: [any ConfigSection.Type] = []
    public static let facts: [any Fact.Type] = [DatabaseSettings.self]

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
            return CheckOutcome(worst.status, Secrets.shared.scrub(findings.map(\.sentence).joined(separator: "; ")),
                                evidence: evidence, fix: findings.map(\.fix).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
                                    .joined(separator: "; "))
        }
    }

    /// libpq's failure as the check's verdict: the sentence and fix are the probe's (`PostgresError.sentence`).
    static func classify(_ e: PostgresError, url: DatabaseURL, timeout: Duration, evidence: Evidence) -> CheckOutcome {
        let s = e.sentence(for: url, timeout: timeout)
        return .fail(s.summary, evidence: evidence, fix: s.fix)
    }
}
