import Foundation

/// Prisma Migrate's history: the project's `prisma/migrations/<name>/migration.sql` folders against the
/// `_prisma_migrations` table, judged the way `prisma migrate deploy` judges them.
///
/// What Prisma does, read in prisma/prisma-engines (schema-engine):
/// - `connectors/sql-schema-connector/src/flavour/postgres.rs`, `create_migrations_table`: the table is
///   `_prisma_migrations (id VARCHAR(36) PRIMARY KEY, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
///   migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL
///   DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)`, in the URL's schema (`?schema=`, else public).
/// - `connectors/schema-connector/src/migration_persistence.rs`: one row per attempt; `checksum` is "the SHA-256
///   checksum of the migration script … only the content of the script file"; `finished_at` is set once it
///   succeeded; `logs` holds the error of a failed step.
/// - `connectors/schema-connector/src/checksum.rs`: the checksum is the lower-case hex SHA-256 of migration.sql;
///   `script_matches_checksum` also accepts the script with CRLF turned into LF and LF into CRLF (git's line
///   endings), and, for a checksum that is not 64 characters long, the old unpadded hex of prisma-engines#1887.
/// - `core/src/commands/apply_migrations.rs` (`migrate deploy`): a row with `finished_at` and `rolled_back_at`
///   both null is a failed migration and deploy refuses to apply anything (P3009); a folder migration with no
///   row whose `rolled_back_at` is null is unapplied (a rolled-back one is applied again).
/// - `migrations_directory.rs`: `migration_lock.toml`'s provider is the first line starting with `provider`,
///   `provider = ` and the quotes trimmed; a different provider than the datasource's is refused (P3019).
enum PrismaMigrations {
    struct Folder: Sendable {
        /// Migration directories, sorted by name (Prisma applies them in that order).
        var migrations: [Migration] = []
        /// `provider` in migration_lock.toml, when the file exists.
        var lockProvider: String?
    }

    struct Migration: Sendable {
        let name: String
        /// migration.sql's bytes; nil when the folder has none (or it could not be read).
        let script: [UInt8]?
        let changes: MigrationChanges
    }

    /// One `_prisma_migrations` row.
    struct Row: Sendable, Equatable {
        var name: String
        var checksum: String
        var startedAt: String?
        var finishedAt: String?
        var rolledBackAt: String?
        var logs: String?
        var appliedSteps: Int?
    }

    static let rowsSQL = "migration_name, checksum, started_at, finished_at, rolled_back_at, logs, applied_steps_count"

    static func row(_ r: [String?]) -> Row? {
        guard r.count == 7, let name = r[0] else { return nil }
        return Row(name: name, checksum: r[1] ?? "", startedAt: r[2], finishedAt: r[3], rolledBackAt: r[4], logs: r[5],
                   appliedSteps: r[6].flatMap { Int($0) })
    }

    static func lockProvider(_ text: String) -> String {
        // Rust's str::lines, as Prisma reads it: LF or CRLF ends a line (in Swift "\r\n" is one Character).
        guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("provider") }) else {
            return "<PROVIDER NOT FOUND>"
        }
        var value = line
        if value.hasPrefix("provider = ") { value = value.dropFirst("provider = ".count) }
        return String(value).trimmingCharacters(in: ["\""])
    }

    /// Prisma's `script_matches_checksum`.
    static func matches(script: [UInt8], checksum: String) -> Bool {
        var variants = [script]
        let lf = replacingCRLF(script)
        variants.append(lf)
        variants.append(lf.flatMap { $0 == 10 ? [13, 10] : [$0] })
        let padded = checksum.isEmpty || checksum.count == 64
        return variants.contains { SHA256.hexDigits(SHA256.digest($0), padded: padded) == checksum }
    }

    static func replacingCRLF(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if b[i] == 13, i + 1 < b.count, b[i + 1] == 10 { out.append(10); i += 2 } else { out.append(b[i]); i += 1 }
        }
        return out
    }

    struct History: Sendable, Equatable {
        /// Rows `migrate deploy` treats as failed, in the table's order.
        var failed: [Row] = []
        /// Folder migrations with no live row, in the order they would be applied.
        var pending: [String] = []
        /// Applied migrations whose migration.sql no longer matches the checksum.
        var modified: [String] = []
        /// Applied migrations that are not in the folder (another branch's, or deleted).
        var notInFolder: [String] = []
        /// Folder migrations without a migration.sql.
        var withoutScript: [String] = []
        var applied = 0
    }

    static func compare(_ folder: Folder, rows: [Row]) -> History {
        var h = History()
        let live = rows.filter { $0.rolledBackAt == nil }
        h.failed = live.filter { $0.finishedAt == nil }
        let liveNames = Set(live.map(\.name))
        let inFolder = Set(folder.migrations.map(\.name))
        for m in folder.migrations {
            guard liveNames.contains(m.name) else { h.pending.append(m.name); continue }
            let finished = live.filter { $0.name == m.name && $0.finishedAt != nil }
            if finished.isEmpty { continue }
            h.applied += 1
            guard let script = m.script else { h.withoutScript.append(m.name); continue }
            if !finished.contains(where: { matches(script: script, checksum: $0.checksum) }) { h.modified.append(m.name) }
        }
        for m in folder.migrations where m.script == nil && !h.withoutScript.contains(m.name) { h.withoutScript.append(m.name) }
        var seen = Set<String>()
        for r in live where !inFolder.contains(r.name) && r.finishedAt != nil && seen.insert(r.name).inserted { h.notInFolder.append(r.name) }
        return h
    }

    /// The first line of a failed row's logs that says something, cut to a readable length. Prisma's logs are
    /// the error of the step (P3018's text: "Migration name: …", "Database error code: …", "Database error:",
    /// then PostgreSQL's "ERROR: …"): PostgreSQL's line is the one that says what went wrong.
    static func firstLine(_ logs: String?) -> String? {
        guard let logs else { return nil }
        let lines = logs.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let headers = ["Migration name:", "Database error code:", "Database error:"]
        let line = lines.first { $0.hasPrefix("ERROR:") } ?? lines.first { l in !headers.contains { l.hasPrefix($0) } } ?? lines.first
        return line.map { $0.count > 200 ? String($0.prefix(200)) + "…" : $0 }
    }
}
