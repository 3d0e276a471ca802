import Foundation

/// Knex's migrations: the files of its migrations directory (default `./migrations`; fs-migrations.js lists
/// them sorted by name, with the loadExtensions `.js .cjs .mjs .ts .coffee …`) against its tables, made by
/// knex's lib/migrations/migrate/table-creator.js: `knex_migrations` (`t.increments(); t.string('name');
/// t.integer('batch'); t.timestamp('migration_time')`: `name` is the file's name with its extension) and
/// `knex_migrations_lock` (`t.increments('index').primary(); t.integer('is_locked')`, one row inserted with
/// is_locked 0). `is_locked = 1` is a lock left by a run that died: `migrate:latest` refuses ("Migration table
/// is already locked") until `knex migrate:unlock`.
enum KnexMigrations {
    static let extensions = [".js", ".cjs", ".mjs", ".ts", ".cts", ".mts", ".coffee", ".litcoffee", ".iced", ".eg", ".co", ".ls"]

    /// Whether Knex would load the file as a migration.
    static func isMigration(_ name: String) -> Bool {
        !name.hasPrefix(".") && !name.hasSuffix(".d.ts") && extensions.contains { name.hasSuffix($0) }
    }
}
