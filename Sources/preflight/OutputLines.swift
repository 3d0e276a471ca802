import Foundation
import PreflightCore
import Synchronization

/// A file written one line at a time (the watcher's samples), each line scrubbed by `Secrets` like all output.
final class OutputLines: Sendable {
    private let handle: Mutex<FileHandle?>

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        handle = Mutex(try FileHandle(forWritingTo: URL(fileURLWithPath: path)))
    }

    /// Writes `line` and a newline; after a write error the file stays as it was and later lines are dropped.
    func write(_ line: String) {
        handle.withLock { h in
            guard let file = h else { return }
            do { try file.write(contentsOf: Data((Secrets.shared.scrub(line) + "\n").utf8)) } catch { try? file.close(); h = nil }
        }
    }

    func close() {
        handle.withLock { h in try? h?.close(); h = nil }
    }
}
