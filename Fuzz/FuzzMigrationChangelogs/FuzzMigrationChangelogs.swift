@testable import PreflightChecks

/// Liquibase's changelogs (XML, YAML, JSON) and the tools' settings files the migrations fact reads: flyway.conf,
/// liquibase.properties, diesel.toml, ormconfig, .sequelizerc.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for file in ["master.xml", "master.yaml", "master.json"] {
        for set in LiquibaseChangelog.changeSets(text, file: file) { _ = set.changes.summary }
    }
    let flyway = ProjectMigrations.FlywaySettings(text)
    _ = (flyway.locations, flyway.schema, flyway.table)
    _ = ProjectMigrations.javaProperties(text)
    _ = ProjectMigrations.tomlValue(text, section: "migrations_directory", key: "dir")
    _ = ProjectMigrations.typeORMMigrationsFolder(text)
    _ = ProjectMigrations.sequelizeMigrationsPath(text)
    _ = ProjectMigrations.knexDirectory(text)
    return 0
}
