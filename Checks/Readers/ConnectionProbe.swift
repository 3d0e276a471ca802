import Foundation
import PreflightCore
import PreflightProbes

/// Opens many connections at once, like pools warming up, and closes every one of them.
public struct ConnectionProbe: Sendable {
    /// Never more than this many connections, whatever the pools say.
    public static let cap = 200

    public struct Result: Sendable, Equatable {
        public var attempted: Int
        public var accepted: Int
        /// libpq's text for the first refusal, on one line.
        public var firstRefusal: String?
        /// Attempts that ran out of time rather than being refused (a busy server or machine, not a full one).
        public var timedOut = 0
        public var refused: Int { attempted - accepted }

        /// The server's sentence ("sorry, too many clients already") without libpq's prefix.
        public var refusal: String? {
            guard let e = firstRefusal else { return nil }
            if let r = e.range(of: "FATAL:", options: .backwards) {
                return e[r.upperBound...].trimmingCharacters(in: .whitespaces)
            }
            return PostgresError.firstLine(e)
        }
    }

    let connector: any PostgresConnector

    public init(connector: any PostgresConnector) { self.connector = connector }

    /// Opens `count` connections per URL concurrently (all under one deadline), then closes them all.
    public func run(_ plan: [(url: DatabaseURL, count: Int)], timeout: Duration) async -> Result {
        var attempts: [DatabaseURL] = []
        for p in plan { attempts += Array(repeating: p.url, count: p.count) }
        attempts = Array(attempts.prefix(Self.cap))
        let connector = self.connector
        let outcomes = await withTaskGroup(of: (Int, Swift.Result<any PostgresSession, PostgresError>).self) { group in
            for (i, url) in attempts.enumerated() {
                group.addTask { (i, await connector.connect(url, timeout: timeout)) }
            }
            var all: [(Int, Swift.Result<any PostgresSession, PostgresError>)] = []
            for await o in group { all.append(o) }
            return all.sorted { $0.0 < $1.0 }
        }
        var sessions: [any PostgresSession] = []
        var firstRefusal: String?
        var timedOut = 0
        for (_, o) in outcomes {
            switch o {
            case .success(let s): sessions.append(s)
            case .failure(let e) where e.timedOut || e.message.contains("timeout expired"): timedOut += 1
            case .failure(let e): firstRefusal = firstRefusal ?? e.oneLine
            }
        }
        // Hold them all until every attempt has finished, so the count is of simultaneous connections.
        await withTaskGroup(of: Void.self) { group in
            for s in sessions { group.addTask { await s.close() } }
        }
        return Result(attempted: attempts.count, accepted: sessions.count, firstRefusal: firstRefusal, timedOut: timedOut)
    }
}
