@testable import PreflightChecks

/// The migration readers of code files: ActiveRecord (Ruby), TypeORM and Sequelize (JS/TS), EF Core (C#), and the
/// file and folder names of Rails, Knex, sqlx and Diesel. The first line is also read as a file name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let name = String(text.prefix { $0 != "\n" }.prefix(200))
    _ = RailsMigrations.changes(text).summary
    _ = RailsMigrations.version(ofFile: name)
    _ = KnexMigrations.isMigration(name)
    _ = DieselMigrations.version(ofFolder: name)
    _ = SqlxMigrations.version(ofFile: name)
    for n in TypeORMMigrations.names(text) { _ = TypeORMMigrations.timestamp(n) }
    _ = TypeORMMigrations.changes(text).summary
    _ = SequelizeMigrations.changes(text).summary
    _ = EFCoreMigrations.ids(text)
    _ = EFCoreMigrations.changes(text).summary
    return 0
}
