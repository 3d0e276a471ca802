import Foundation
import Synchronization

/// Runs blocking C calls (libpq, libcurl, getaddrinfo, connect+poll) on a thread of their own,
/// so they never starve Swift's cooperative pool (two threads on a two-core machine).
public enum Blocking {
    public static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let thread = Thread { continuation.resume(returning: work()) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}

/// Resumes a continuation at most once, from whichever side gets there first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let slot: Mutex<CheckedContinuation<T?, Never>?>
    init(_ continuation: CheckedContinuation<T?, Never>) { slot = Mutex(continuation) }

    @discardableResult
    func resume(_ value: T?) -> Bool {
        slot.withLock { c in
            guard let pending = c else { return false }
            pending.resume(returning: value)
            c = nil
            return true
        }
    }
}

/// Races `work` against a deadline. On overrun it returns nil at once and abandons the work,
/// which must not hold anything the caller needs (probes run their C calls via `Blocking`).
public func withDeadline<T: Sendable>(_ limit: Duration,
                                       _ work: @escaping @Sendable () async -> T) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = ResumeOnce(continuation)
        let worker = Task { once.resume(await work()) }
        Task {
            try? await Task.sleep(for: limit)
            if once.resume(nil) { worker.cancel() }
        }
    }
}
