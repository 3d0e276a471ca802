import Foundation

/// golang-migrate's migrations, read from `<version>_<title>.up.sql` (source/parse.go's pattern
/// `^([0-9]+)_(.*)\.(down|up)\.(.*)$`; only `up` files count) and judged against its history table, made by
/// database/postgres/postgres.go (`ensureVersionTable`: `CREATE TABLE IF NOT EXISTS schema_migrations (version
/// bigint not null primary key, dirty boolean not null)`; `SetVersion`: `TRUNCATE`, then one row). The one row
/// is the version last run; `dirty = true` means that migration failed halfway, and `migrate up` refuses every
/// migration until `migrate force` ("Dirty database version N. Fix and force version.").
enum GolangMigrations {
    /// Its version is parsed as uint by golang-migrate; its name is the file's without `.up.sql`.
    typealias Migration = VersionedMigration

    /// The version of an up migration's file name, or nil.
    static func version(ofUpFile name: String) -> String? {
        guard name.hasSuffix(".up.sql") else { return nil }
        let digits = name.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, name.dropFirst(digits.count).first == "_" else { return nil }
        return RailsMigrations.normalized(String(digits))
    }

    /// Versions compare as numbers: shorter digit strings first.
    static func less(_ a: String, _ b: String) -> Bool { a.count != b.count ? a.count < b.count : a < b }
}
