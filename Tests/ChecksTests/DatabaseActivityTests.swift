import Foundation
import Testing
@testable import PreflightChecks

/// exec's watcher reads the database through `DatabaseActivity` (its SQL moved out of the CLI): one row, read back.
@Suite struct DatabaseActivityReading {
    @Test func oneRowReadsAsTheActivity() {
        let a = DatabaseActivity(rows: [["100", #"[["api", "idle", 3], ["api", "active", 2], ["", "idle", 1]]"#,
                                         #"[["messages", "api", [4242]]]"#, "1"]])
        #expect(a?.maxConnections == 100)
        #expect(a?.connections.map { "\($0.application)/\($0.state)=\($0.count)" } == ["/idle=1", "api/active=2", "api/idle=3"])
        #expect(a?.total == 6)
        #expect(a?.lockWaits == [.init(relation: "messages", application: "api", blockedBy: [4242])])
        #expect(a?.waitingOnLocks == 1)
        #expect(DatabaseActivity(rows: [["1", "2"]]) == nil)
        #expect(DatabaseActivity(rows: []) == nil)
    }
}
