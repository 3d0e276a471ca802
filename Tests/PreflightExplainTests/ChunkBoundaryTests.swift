import CZlib
import Foundation
import Testing
@testable import PreflightExplain

/// `explain` reads --out json in 256 KiB chunks, a plain file straight into its line buffer, which starts at
/// 256 KiB and doubles for a longer line: records cut by a read, a line longer than the first buffer and a gzip
/// file of the same lines must all read alike.
@Suite struct ChunkBoundaryTests {
    static func scratch(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-chunks-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    @Test func recordsCutByReadsAndALongLineAreAllCounted() throws {
        let one = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("cursor.out.json")))
        // A valid Point whose tag is longer than the first 256 KiB buffer: the buffer has to grow for it.
        let longTag = String(repeating: "x", count: 600 << 10)
        let longLine = #"{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-22T16:32:31Z","value":1,"tags":{"status":"200","name":"\#(longTag)"}}}"# + "\n"
        var big = Data()
        let copies = 40   // 40 × 160 KiB: ~6.4 MiB, so dozens of reads end inside a record
        for i in 0..<copies {
            big.append(one)
            if i == copies / 2 { big.append(Data(longLine.utf8)) }
        }
        #expect(big.count > 6 * ChunkedInput.chunkSize)
        let plain = Self.scratch("big.out.json")
        try big.write(to: URL(fileURLWithPath: plain))
        let e = try Explainer.explain(path: plain)
        // cursor.out.json alone: 60 requests, 15 failed; × 40, plus the long line: one more request, status 200
        #expect(e.source.hasSuffix("2,401 requests, 600 failed"), "\(e.source)")

        let gz = Self.scratch("big.out.json.gz")
        // zlib itself (not a gzip child: Foundation's Process can wait forever in a test bundle that reaps children)
        let file = try #require(gzopen(gz, "wb"))
        let written = big.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        #expect(gzclose(file) == Z_OK)
        try #require(Int(written) == big.count)
        let z = try Explainer.explain(path: gz)
        #expect(z.source.hasSuffix("2,401 requests, 600 failed"), "\(z.source)")
        try? FileManager.default.removeItem(atPath: plain)
        try? FileManager.default.removeItem(atPath: gz)
    }
}
