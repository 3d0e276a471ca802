import Foundation

/// The kernel's listen-queue counters (`/proc/net/netstat`, TcpExt): connections refused because an accept queue was
/// full (`ListenOverflows`) and every SYN or ACK dropped on a listener (`ListenDrops`, which includes the overflows).
/// They count for the whole network namespace, not one socket.
public struct ListenCounters: Sendable, Equatable {
    public var overflows: Int
    public var drops: Int

    public init(overflows: Int, drops: Int) {
        self.overflows = overflows
        self.drops = drops
    }

    /// Reads the TcpExt header and value lines; nil when either counter is missing.
    public init?(netstat text: String) {
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("TcpExt:") }
        guard lines.count >= 2 else { return nil }
        let names = lines[0].split(separator: " ").dropFirst(), values = lines[1].split(separator: " ").dropFirst()
        var byName: [Substring: Int] = [:]
        for (n, v) in zip(names, values) { byName[n] = Int(v) }
        guard let o = byName["ListenOverflows"], let d = byName["ListenDrops"] else { return nil }
        overflows = o
        drops = d
    }
}

/// A process's control groups (`/proc/PID/cgroup`): the v2 path (`0::/…`) and each v1 controller's path, and the
/// files under them as the machine mounts them (/sys/fs/cgroup, /sys/fs/cgroup/unified, /sys/fs/cgroup/<controllers>).
public struct ProcessCgroup: Sendable, Equatable {
    public var v2: String?
    /// One v1 hierarchy: its controller list as written ("cpu,cpuacct", its directory's name) and the path in it.
    public struct Hierarchy: Sendable, Equatable {
        public var mount: String
        public var path: String
    }
    /// Controller ("cpu", "memory", "pids") → its v1 hierarchy.
    public var v1: [String: Hierarchy]

    public init(parsing text: String) {
        v2 = nil
        v1 = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            if f[0] == "0" && f[1].isEmpty { v2 = String(f[2]); continue }
            for c in f[1].split(separator: ",") where !c.hasPrefix("name=") { v1[String(c)] = Hierarchy(mount: String(f[1]), path: String(f[2])) }
        }
    }

    /// Where a controller's file may be, most likely first: v1 when the controller is bound to a v1 hierarchy
    /// (a hybrid machine), else the v2 path on a pure v2 mount or under /sys/fs/cgroup/unified.
    public func candidates(_ file: String, controller: String) -> [String] {
        func join(_ base: String, _ path: String) -> String { path == "/" ? "\(base)/\(file)" : "\(base)\(path)/\(file)" }
        if let h = v1[controller] {
            return [join("/sys/fs/cgroup/\(h.mount)", h.path)] + (h.mount == controller ? [] : [join("/sys/fs/cgroup/\(controller)", h.path)])
        }
        guard let v2 else { return [] }
        return [join("/sys/fs/cgroup", v2), join("/sys/fs/cgroup/unified", v2)]
    }

    /// The path a report names: the controller's cgroup.
    public func path(of controller: String) -> String? { v1[controller]?.path ?? v2 }
}

/// A CPU quota as cores: v2 `cpu.max` ("max 100000" or "10000 100000"), v1 `cpu.cfs_quota_us` (-1: none) over
/// `cpu.cfs_period_us`. Nil: no quota.
public enum CPUQuota {
    public static func cores(cpuMax text: String) -> (quota: Int, period: Int)? {
        let f = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard f.count >= 2, let q = Int(f[0]), let p = Int(f[1]), q > 0, p > 0 else { return nil }
        return (q, p)
    }

    public static func cores(quota: String, period: String) -> (quota: Int, period: Int)? {
        guard let q = Int(quota.trimmingCharacters(in: .whitespacesAndNewlines)),
              let p = Int(period.trimmingCharacters(in: .whitespacesAndNewlines)), q > 0, p > 0 else { return nil }
        return (q, p)
    }
}

/// `cpu.stat`'s throttling counters: periods throttled and the time throttled, in µs (v2 `throttled_usec`;
/// v1 `throttled_time` in ns).
public struct CPUThrottling: Sendable, Equatable {
    public var periods: Int
    public var throttledPeriods: Int
    public var throttledMicroseconds: Int

    public init(periods: Int, throttledPeriods: Int, throttledMicroseconds: Int) {
        self.periods = periods
        self.throttledPeriods = throttledPeriods
        self.throttledMicroseconds = throttledMicroseconds
    }

    public init?(cpuStat text: String) {
        var values: [Substring: Int] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, let v = Int(f[1]) { values[f[0]] = v }
        }
        guard let n = values["nr_throttled"] else { return nil }
        throttledPeriods = n
        periods = values["nr_periods"] ?? 0
        throttledMicroseconds = values["throttled_usec"] ?? (values["throttled_time"].map { $0 / 1000 } ?? 0)
    }

    /// What happened between two readings.
    public func since(_ before: CPUThrottling) -> CPUThrottling {
        CPUThrottling(periods: max(0, periods - before.periods), throttledPeriods: max(0, throttledPeriods - before.throttledPeriods),
                      throttledMicroseconds: max(0, throttledMicroseconds - before.throttledMicroseconds))
    }
}

/// A cgroup limit file's value: a number of bytes or pids, nil for "max" and for v1's "no limit" (a page-rounded
/// 2^63 - 1, anything at or past 2^60).
public enum CgroupLimit {
    public static func value(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t != "max", let v = Int(t), v >= 0, v < 1 << 60 else { return nil }
        return v
    }
}

/// The processes serving one listener: every holder of its socket (or of a `SO_REUSEPORT` sibling's), less the
/// holders whose children hold it too (a Gunicorn, uvicorn or PM2 master forks its workers after bind()).
public struct ServerWorkers: Sendable, Equatable {
    public struct Process: Sendable, Equatable {
        public var pid: Int
        public var name: String
        public var parent: Int?
    }
    public var workers: [Process]
    public var masters: [Process]

    public init(holders: [Process]) {
        let pids = Set(holders.map(\.pid))
        let parents = Set(holders.compactMap(\.parent).filter(pids.contains))
        masters = holders.filter { parents.contains($0.pid) }
        workers = holders.filter { !parents.contains($0.pid) }
    }

    /// The parent pid from `/proc/PID/stat` (after the parenthesised command: state, then ppid).
    public static func parent(stat: String) -> Int? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        return f.count > 1 ? Int(f[1]) : nil
    }

    /// `/proc/PID/cmdline`'s arguments (NUL-separated).
    public static func arguments(cmdline: String) -> [String] {
        cmdline.split(separator: "\0").map(String.init)
    }

    /// How many requests one Gunicorn worker serves at once, from its master's command line: a sync worker
    /// (the default, no `-k`/`--worker-class`, `--threads` 1) serves one. Nil: not Gunicorn, or an async or
    /// threaded worker class (gevent, eventlet, uvicorn's, gthread) whose concurrency the command line does not bound.
    public static func gunicornSyncConcurrency(arguments a: [String]) -> Int? {
        guard a.contains(where: { $0.hasSuffix("gunicorn") || $0.contains("gunicorn ") || $0 == "gunicorn" }) else { return nil }
        var threads = 1, workerClass = "sync"
        var i = 0
        while i < a.count {
            let arg = a[i]
            func next() -> String? { i + 1 < a.count ? a[i + 1] : nil }
            if arg == "-k" || arg == "--worker-class", let v = next() { workerClass = v; i += 1 }
            else if arg.hasPrefix("--worker-class=") { workerClass = String(arg.dropFirst("--worker-class=".count)) }
            else if arg.hasPrefix("-k") && arg.count > 2 { workerClass = String(arg.dropFirst(2)) }
            else if arg == "--threads", let v = next().flatMap({ Int($0) }) { threads = v; i += 1 }
            else if arg.hasPrefix("--threads="), let v = Int(arg.dropFirst("--threads=".count)) { threads = v }
            i += 1
        }
        guard workerClass == "sync" || workerClass.hasSuffix(".SyncWorker"), threads <= 1 else { return nil }
        return 1
    }
}
