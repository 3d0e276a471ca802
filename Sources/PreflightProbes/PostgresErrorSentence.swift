import PreflightCore

/// libpq's failures in words: one kind of failure, one sentence and its fix, for every check that talks to PostgreSQL.
extension PostgresError {
    /// libpq's text on one line ("…failed: Connection refused; Is the server running…").
    public var oneLine: String { Self.oneLine(message) }
    /// The first line, without libpq's `FATAL:` / `ERROR:` prefixes.
    public var firstLine: String { Self.firstLine(message) }

    public static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
    }

    public static func firstLine(_ s: String) -> String {
        let line = s.split(separator: "\n").first.map(String.init) ?? s
        return line.replacingOccurrences(of: "FATAL:  ", with: "").replacingOccurrences(of: "ERROR:  ", with: "")
            .replacingOccurrences(of: "connection to server at ", with: "")
    }

    /// One sentence per libpq failure class, then the fix.
    public func sentence(for url: DatabaseURL, timeout: Duration) -> (summary: String, fix: String) {
        let lower = message.lowercased()
        let at = url.hostPort
        let user = url.user ?? "the user"
        let db = url.database ?? url.user ?? "the database"
        if lower.hasPrefix("cannot load libpq") {  // NativeLibrary: preflight's own library, not the database
            return ("preflight cannot talk to PostgreSQL: \(firstLine)",
                    "install libpq5 (libpq.so.5 and its libraries) on the machine that runs preflight")
        }
        if timedOut || lower.contains("timeout expired") {
            return ("PostgreSQL at \(at) did not answer within \(format(timeout))",
                    "check that PostgreSQL is running and not stalled, and that nothing drops packets to \(at)")
        }
        if lower.contains("connection refused") {
            return ("connection refused on \(at): PostgreSQL is not running there",
                    "start PostgreSQL, or correct host and port in database.url (pg_lsclusters / pg_ctl status show where it runs)")
        }
        if lower.contains("could not translate host name") || lower.contains("name or service not known")
            || lower.contains("temporary failure in name resolution") {
            return ("the database host \(url.host ?? "?") does not resolve", "check the host name in database.url")
        }
        if lower.contains("password authentication failed") || lower.contains("no password supplied")
            || lower.contains("authentication failed") {
            return ("PostgreSQL at \(at) rejects the password for \(user) (or the role does not exist)",
                    "use the password the service uses (check DATABASE_URL), or ALTER ROLE \(user) PASSWORD '…'")
        }
        if lower.contains("no pg_hba.conf entry") {
            return ("PostgreSQL at \(at) has no pg_hba.conf entry for \(user) from this host",
                    "add a host line for \(user) to pg_hba.conf and reload, or connect as an allowed user")
        }
        if lower.contains("database") && lower.contains("does not exist") {
            return ("database \"\(db)\" does not exist on \(at)",
                    "create it (createdb \(db)) and run the migrations, or correct the database name in database.url")
        }
        if lower.contains("role") && lower.contains("does not exist") {
            return ("role \"\(user)\" does not exist on \(at)", "create the role, or correct the user in database.url")
        }
        if lower.contains("too many clients") || lower.contains("remaining connection slots are reserved")
            || lower.contains("too many connections for") {
            return ("PostgreSQL at \(at) refuses new connections: \(firstLine)",
                    "connections are exhausted: lower the services' pool sizes or raise max_connections (see the pool check)")
        }
        if lower.contains("ssl") {
            return ("SSL mismatch with PostgreSQL at \(at): \(firstLine)",
                    "set sslmode in database.url to what the server supports (disable, prefer or require)")
        }
        if lower.contains("the database system is starting up") || lower.contains("shutting down") || lower.contains("recovery") {
            return ("PostgreSQL at \(at) is not ready: \(firstLine)", "wait for it to finish starting, then run preflight again (or use --wait)")
        }
        if lower.contains("server closed the connection unexpectedly") || lower.contains("received invalid response")
            || lower.contains("expected authentication request") || lower.contains("unsupported frontend protocol") {
            return ("\(at) does not speak the PostgreSQL protocol: \(firstLine)", "check the port in database.url: another service listens there")
        }
        return ("cannot log in to PostgreSQL at \(at): \(firstLine)", "see libpq's message in the evidence")
    }
}
