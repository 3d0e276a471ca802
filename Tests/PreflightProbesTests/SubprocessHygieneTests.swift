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

    /// A memory bound is the child's RLIMIT_AS, set before the program starts; its arguments pass through unchanged.
    @Test func aMemoryBoundHoldsFromTheProgramsStart() async throws {
        let limited = try await Subprocess.run(["/bin/sh", "-c", "ulimit -v; echo \"$1 $2\"", "sh", "a b", "$HOME"], timeout: .seconds(10),
                                               memoryLimit: 256 << 20).get()
        #expect(String(decoding: limited.stdout, as: UTF8.self) == "262144\na b $HOME\n")
        let python = try await Subprocess.run(["/usr/bin/python3", "-c", "b = bytearray(512 << 20); print(len(b))"], timeout: .seconds(20),
                                              memoryLimit: 256 << 20).get()
        #expect(python.status != 0)
        #expect(String(decoding: python.stderr, as: UTF8.self).contains("MemoryError"))
        let free = try await Subprocess.run(["/bin/sh", "-c", "ulimit -v"], timeout: .seconds(10)).get()
        #expect(String(decoding: free.stdout, as: UTF8.self) == "unlimited\n")
    }
}
