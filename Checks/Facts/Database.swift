import PreflightCore
import PreflightProbes

/// `database.url` (or `--database-url`): the database every database-facing check uses, parsed once at
/// load (one `DatabaseURL.parse`); its password is a secret from then on. The pool check's own keys
/// (`database.pools`, …) live in the same mapping but belong to `PoolSettings` (Checks/Facts/Pools.swift).
public struct DatabaseSettings: ConfigSection, Fact {
    public static let key = "database"
    public static let keys = ["url"]
    public static let name = "database"
    public static let sections: [any ConfigSection.Type] = [DatabaseSettings.self]
    public var url: DatabaseURL?

    public init() {}
    public init(url: DatabaseURL?) { self.url = url }
    public init(reading r: SectionReader) {
        if let raw = r.string("url") {
            let (parsed, why) = DatabaseURL.parse(raw)
            if let why { r.problem("url", why) }
            url = parsed
        }
    }

    public static func derive(from config: Config) -> DatabaseSettings { config.section(DatabaseSettings.self) }
}

/// The secrets in `database.url`: its password in every form (URI userinfo, `?password=`, key=value), as libpq read it.
extension DatabaseSettings {
    public var secrets: [String] { url.map { Secrets.inURL($0.raw) + ($0.password.map { [$0] } ?? []) } ?? [] }
}

extension DatabaseSettings {
    public static let schemaDescription = "The database the service uses"
    public static let schema: ValueSchema = .object([
        SchemaKey("url", "A PostgreSQL URL (postgresql://user@host:5432/db), a driver's form (JDBC, SQLAlchemy) or libpq key=value; usually ${DATABASE_URL}", .string),
    ])
}
