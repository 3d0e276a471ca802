import Foundation
import PreflightCore
import PreflightProbes

/// Really logs in (pg_isready says "accepting" even for a bad password or a full server)
/// and runs a read-only `SELECT` under the deadline.
public struct DatabaseCheck: BuiltInCheck {
    public static let description = CheckDescription(
        id: "database", title: "Database login", layer: .database,
        examples: [
            CheckExample("logs in and runs SELECT in a read-only session", .pass),
            CheckExample("connection refused, or no answer within the timeout", .fail),
            CheckExample("password authentication failed, or the database does not exist", .fail),
            CheckExample("sorry, too many clients already", .fail),
        ])
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
            let who = row.count > 3 ? "\(row[2] ?? "?") on \(row[3] ?? "?")" : "\(url.user ?? "?")"
            let short = version.split(separator: " ").first.map(String.init) ?? version
            return .pass("PostgreSQL \(short) at \(url.hostPort) accepts \(who) (read-only session, \(Int(ms.rounded())) ms)",
                         evidence: evidence)
        }
    }

    /// libpq's failure as the check's verdict: the sentence and fix are the probe's (`PostgresError.sentence`).
    static func classify(_ e: PostgresError, url: DatabaseURL, timeout: Duration, evidence: Evidence) -> CheckOutcome {
        let s = e.sentence(for: url, timeout: timeout)
        return .fail(s.summary, evidence: evidence, fix: s.fix)
    }
}
