import Foundation
import Testing
@testable import PreflightProbes

/// A child preflight starts sees only its three streams: a descriptor of ours that is not
/// close-on-exec (a test fixture's pipe, the watcher's database socket) would otherwise keep a peer from seeing EOF.
@Suite struct SubprocessHygiene {
    @Test func theChildInheritsOnlyItsThreeStreams() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)  // plain pipe(2): not close-on-exec
        defer { close(fds[0]); close(fds[1]) }
        let r = try await Subprocess.run(["/bin/sh", "-c", "ls /proc/$$/fd"], timeout: .seconds(10)).get()
        let open = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        #expect(open.contains(1))
        #expect(!open.contains(fds[0]) && !open.contains(fds[1]), "the child inherited \(open)")
        #expect(open.allSatisfy { $0 <= 2 || $0 == 10 || $0 == 255 }, "open in the child: \(open)")  // sh's own
    }
}
