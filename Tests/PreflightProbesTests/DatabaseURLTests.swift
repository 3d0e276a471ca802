import Foundation
import Testing
@testable import PreflightCore
@testable import PreflightProbes

/// libpq's own URI regression test (PostgreSQL's src/interfaces/libpq/test/regress.in, since 15 the table of
/// t/001_uri.pl, whose expected output is quoted here): the URL's owner agrees with libpq on every one.
@Suite struct DatabaseURLAgainstLibpqsRegressionTest {
    /// What libpq reads (the keywords its test prints), or its message.
    enum Reading: Sendable, CustomStringConvertible {
        case accepted(user: String? = nil, dbname: String? = nil, host: String? = nil, hostaddr: String? = nil, port: String? = nil)
        case refused(String)
        /// A query parameter libpq does not know: libpq refuses it, preflight keeps it as the application's driver's
        /// (Prisma's `schema`, pgx's `pool_max_conns` are such) and hands libpq the URL without it.
        case driverParameter(String, user: String? = nil, dbname: String? = nil, host: String? = nil, port: String? = nil)
        /// Not a PostgreSQL scheme: preflight refuses it before libpq, in its own sentence.
        case notPostgreSQL

        var description: String {
            switch self {
            case .accepted(let u, let d, let h, let a, let p): return "accepted user=\(u ?? "-") dbname=\(d ?? "-") host=\(h ?? "-") hostaddr=\(a ?? "-") port=\(p ?? "-")"
            case .refused(let m): return "refused: \(m)"
            case .driverParameter(let n, _, _, _, _): return "driver parameter \(n)"
            case .notPostgreSQL: return "not postgresql"
            }
        }
    }

    static let table: [(uri: String, libpq: Reading)] = [
        ("postgresql://uri-user:secret@host:12345/db", .accepted(user: "uri-user", dbname: "db", host: "host", port: "12345")),
        ("postgresql://uri-user@host:12345/db", .accepted(user: "uri-user", dbname: "db", host: "host", port: "12345")),
        ("postgresql://uri-user@host/db", .accepted(user: "uri-user", dbname: "db", host: "host")),
        ("postgresql://host:12345/db", .accepted(dbname: "db", host: "host", port: "12345")),
        ("postgresql://host/db", .accepted(dbname: "db", host: "host")),
        ("postgresql://uri-user@host:12345/", .accepted(user: "uri-user", host: "host", port: "12345")),
        ("postgresql://uri-user@host/", .accepted(user: "uri-user", host: "host")),
        ("postgresql://uri-user@", .accepted(user: "uri-user")),
        ("postgresql://host:12345/", .accepted(host: "host", port: "12345")),
        ("postgresql://host:12345", .accepted(host: "host", port: "12345")),
        ("postgresql://host/db", .accepted(dbname: "db", host: "host")),
        ("postgresql://host/", .accepted(host: "host")),
        ("postgresql://host", .accepted(host: "host")),
        ("postgresql://", .accepted()),
        ("postgresql://?hostaddr=127.0.0.1", .accepted(hostaddr: "127.0.0.1")),
        ("postgresql://example.com?hostaddr=63.1.2.4", .accepted(host: "example.com", hostaddr: "63.1.2.4")),
        ("postgresql://%68ost/", .accepted(host: "host")),
        ("postgresql://host/db?user=uri-user", .accepted(user: "uri-user", dbname: "db", host: "host")),
        ("postgresql://host/db?user=uri-user&port=12345", .accepted(user: "uri-user", dbname: "db", host: "host", port: "12345")),
        ("postgresql://host/db?u%73er=someotheruser&port=12345", .accepted(user: "someotheruser", dbname: "db", host: "host", port: "12345")),
        ("postgresql://host/db?u%7aer=someotheruser&port=12345", .driverParameter("uzer", dbname: "db", host: "host", port: "12345")),
        ("postgresql://host:12345?user=uri-user", .accepted(user: "uri-user", host: "host", port: "12345")),
        ("postgresql://host?user=uri-user", .accepted(user: "uri-user", host: "host")),
        ("postgresql://host?", .accepted(host: "host")),
        ("postgresql://[::1]:12345/db", .accepted(dbname: "db", host: "::1", port: "12345")),
        ("postgresql://[::1]/db", .accepted(dbname: "db", host: "::1")),
        ("postgresql://[2001:db8::1234]/", .accepted(host: "2001:db8::1234")),
        ("postgresql://[200z:db8::1234]/", .accepted(host: "200z:db8::1234")),
        ("postgresql://[::1]", .accepted(host: "::1")),
        ("postgres://", .accepted()),
        ("postgres:///", .accepted()),
        ("postgres:///db", .accepted(dbname: "db")),
        ("postgres://uri-user@/db", .accepted(user: "uri-user", dbname: "db")),
        ("postgres://?host=/path/to/socket/dir", .accepted(host: "/path/to/socket/dir")),
        ("postgresql://host?uzer=", .driverParameter("uzer", host: "host")),
        ("postgre://", .notPostgreSQL),
        ("postgres://[::1", .refused(#"end of string reached when looking for matching "]" in IPv6 host address in URI: "postgres://[::1""#)),
        ("postgres://[]", .refused(#"IPv6 host address may not be empty in URI: "postgres://[]""#)),
        ("postgres://[::1]z", .refused(#"unexpected character "z" at position 17 in URI (expected ":" or "/"): "postgres://[::1]z""#)),
        ("postgresql://host?zzz", .refused(#"missing key/value separator "=" in URI query parameter: "zzz""#)),
        ("postgresql://host?value1&value2", .refused(#"missing key/value separator "=" in URI query parameter: "value1""#)),
        ("postgresql://host?key=key=value", .refused(#"extra key/value separator "=" in URI query parameter: "key""#)),
        ("postgres://host?dbname=%XXfoo", .refused(#"invalid percent-encoded token: "%XXfoo""#)),
        ("postgresql://a%00b", .refused(#"forbidden value %00 in percent-encoded value: "a%00b""#)),
        ("postgresql://%zz", .refused(#"invalid percent-encoded token: "%zz""#)),
        ("postgresql://%1", .refused(#"invalid percent-encoded token: "%1""#)),
        ("postgresql://%", .refused(#"invalid percent-encoded token: "%""#)),
        ("postgres://@host", .accepted(host: "host")),
        ("postgres://host:/", .accepted(host: "host")),
        ("postgres://:12345/", .accepted(port: "12345")),
        ("postgres://otheruser@?host=/no/such/directory", .accepted(user: "otheruser", host: "/no/such/directory")),
        ("postgres://otheruser@/?host=/no/such/directory", .accepted(user: "otheruser", host: "/no/such/directory")),
        ("postgres://otheruser@:12345?host=/no/such/socket/path", .accepted(user: "otheruser", host: "/no/such/socket/path", port: "12345")),
        ("postgres://otheruser@:12345/db?host=/path/to/socket", .accepted(user: "otheruser", dbname: "db", host: "/path/to/socket", port: "12345")),
        ("postgres://:12345/db?host=/path/to/socket", .accepted(dbname: "db", host: "/path/to/socket", port: "12345")),
        ("postgres://:12345?host=/path/to/socket", .accepted(host: "/path/to/socket", port: "12345")),
        ("postgres://%2Fvar%2Flib%2Fpostgresql/dbname", .accepted(dbname: "dbname", host: "/var/lib/postgresql")),
    ]

    /// The table is libpq's: this machine's libpq reads every URI as the table says (so the next test is held
    /// against libpq, not against a copy that drifted).
    @Test func theTableIsWhatThisLibpqSays() {
        #expect(Self.table.count == 57)
        for row in Self.table {
            let reading = DatabaseURL.libpqReading(row.uri)
            switch (row.libpq, reading) {
            case (.accepted(let u, let d, let h, let a, let p), .success(let v)):
                #expect(v["user"] == u && v["dbname"] == d && v["host"] == h && v["hostaddr"] == a && v["port"] == p, "\(row.uri): \(v)")
            case (.refused(let m), .failure(let e)):
                #expect(e.message == m, "\(row.uri)")
            case (.driverParameter(let n, _, _, _, _), .failure(let e)):
                #expect(e.message == #"invalid URI query parameter: "\#(n)""#, "\(row.uri)")
            case (.notPostgreSQL, .failure(let e)):
                #expect(e.message.hasPrefix("missing \"=\" after"), "\(row.uri)")
            default:
                Issue.record("\(row.uri): the table says \(row.libpq), libpq says \(reading)")
            }
        }
    }

    /// DatabaseURL agrees with libpq on every URI: accepted or refused (in libpq's words), and host, hostaddr,
    /// port, dbname and user where accepted.
    @Test func everyURIReadsAsLibpqReadsIt() {
        for row in Self.table {
            let (url, why) = DatabaseURL.parse(row.uri)
            func agrees(user: String?, dbname: String?, host: String?, hostaddr: String?, port: String?) {
                guard let url else { Issue.record("\(row.uri): refused (\(why ?? "")), libpq accepts it"); return }
                #expect(url.user == user, "\(row.uri)")
                #expect(url.database == dbname, "\(row.uri)")
                // `host` is what the checks aim at: libpq's host, else the address it dials.
                #expect(url.host == (host ?? hostaddr), "\(row.uri)")
                #expect(url.hostaddr == hostaddr, "\(row.uri)")
                #expect(url.port == (port.flatMap { Int($0) } ?? 5432), "\(row.uri)")
            }
            switch row.libpq {
            case .accepted(let u, let d, let h, let a, let p):
                agrees(user: u, dbname: d, host: h, hostaddr: a, port: p)
            case .driverParameter(let name, let u, let d, let h, let p):
                agrees(user: u, dbname: d, host: h, hostaddr: nil, port: p)
                #expect(url?.driverParameters.keys.contains(name) == true, "\(row.uri)")
                #expect(url.map { !$0.conninfo.contains(name) && !$0.conninfo.contains("u%7aer") } == true, "\(row.uri): \(url?.conninfo ?? "")")
            case .refused(let message):
                #expect(url == nil, "\(row.uri): accepted, libpq refuses it")
                #expect(why == message, "\(row.uri)")
            case .notPostgreSQL:
                #expect(url == nil)
                #expect(why?.hasPrefix("scheme must be postgresql or postgres") == true, "\(row.uri): \(why ?? "")")
            }
        }
    }

    /// Driver parameters stay the driver's, but only in libpq's syntax: a name without `=`, or with two, is no
    /// parameter of anyone's, and libpq says so.
    @Test func aQueryItemWithoutOneSeparatorIsLibpqsToRefuse() {
        #expect(DatabaseURL.parse("postgresql://app@db:5432/app?schema=public&zzz").1 == #"missing key/value separator "=" in URI query parameter: "zzz""#)
        #expect(DatabaseURL.parse("postgresql://app@db:5432/app?schema=a=b").1 == #"extra key/value separator "=" in URI query parameter: "schema""#)
        #expect(DatabaseURL.parse("postgresql://app@db:5432/app?schema=public").0?.schema == "public")
    }
}
