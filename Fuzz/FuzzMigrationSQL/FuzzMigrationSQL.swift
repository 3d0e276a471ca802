@testable import PreflightChecks

/// The SQL migration readers on one file: the DDL scanner Prisma, golang-migrate, Flyway, sqlx and Diesel share
/// (MigrationSQL), Flyway's file name, version and checksum, sqlx's checksum, Prisma's lock file and checksum, and a
/// Liquibase formatted-SQL changelog. The first line is also read as a file name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    _ = MigrationSQL.changes(text).summary
    let name = String(text.prefix { $0 != "\n" }.prefix(200))
    if case .versioned(let v)? = FlywayMigrations.kind(ofFile: name), let key = FlywayMigrations.key(v) {
        _ = FlywayMigrations.less(key, "1.0.2")
    }
    _ = FlywayMigrations.migration(file: "V1_1__fuzz.sql", bytes: bytes, display: "sql/V1_1__fuzz.sql")
    _ = SqlxMigrations.migration(file: name.hasSuffix(".sql") ? name : "1_fuzz.sql", bytes: bytes, display: "migrations/x")
    _ = PrismaMigrations.lockProvider(text)
    _ = PrismaMigrations.matches(script: bytes, checksum: SHA256.hex(bytes))
    _ = LiquibaseChangelog.changeSets("--liquibase formatted sql\n" + text, file: "changes.sql")
    return 0
}
