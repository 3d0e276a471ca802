import Foundation

/// A process's resource limits as /proc/PID/limits lists them (`Limit  Soft Limit  Hard Limit  Units`).
public struct ProcessLimits: Sendable, Equatable {
    /// RLIMIT_NOFILE; `Int.max` stands for unlimited.
    public let openFiles: (soft: Int, hard: Int)?

    public static func == (a: ProcessLimits, b: ProcessLimits) -> Bool {
        a.openFiles?.soft == b.openFiles?.soft && a.openFiles?.hard == b.openFiles?.hard
    }

    public init(openFiles: (soft: Int, hard: Int)?) { self.openFiles = openFiles }

    /// Reads the table; a row the kernel did not write (or wrote unreadably) stays nil.
    public init(parsing text: String) {
        var files: (Int, Int)?
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let values = line.dropFirst("Max open files".count).split(separator: " ", omittingEmptySubsequences: true)
            if values.count >= 2, let soft = Self.value(values[0]), let hard = Self.value(values[1]) { files = (soft, hard) }
        }
        openFiles = files
    }

    static func value(_ v: Substring) -> Int? { v == "unlimited" ? Int.max : Int(v) }
}

/// What the plan's peak asks of the service's descriptors: one connection per VU (k6 keeps connections alive).
public struct ServerDescriptors: Sendable, Equatable {
    public let limit: Int
    public let open: Int
    public let vus: Int

    public init(limit: Int, open: Int, vus: Int) {
        self.limit = limit
        self.open = open
        self.vus = vus
    }

    /// Descriptors left for new connections.
    public var free: Int { limit == Int.max ? Int.max : max(0, limit - open) }
    /// The connections of the peak do not fit.
    public var exhausted: Bool { vus > free }
    /// Little room: the peak takes more than 80 % of what is left (the service's own pool connections and files grow too).
    public var tight: Bool { !exhausted && free != Int.max && Double(vus) > Double(free) * 0.8 }
}
