import Testing
@testable import PreflightExplain

/// Hand-cut inputs (scripts/k6-fixtures/malformed.sh): a clear one-line message, never a crash.
@Suite struct MalformedInputTests {
    @Test func emptyFile() {
        let e = Fixture.error("malformed/empty.json")
        #expect(e?.description.hasSuffix("is empty: expected k6 --summary-export, handleSummary JSON or --out json") == true)
    }

    @Test func pngImage() {
        #expect(Fixture.error("malformed/image.png")?.description.hasSuffix("is not k6 output: binary data (a PNG image)") == true)
    }

    @Test func jsonThatIsNotK6() {
        let e = Fixture.error("malformed/package.json")
        #expect(e?.description.hasSuffix("a JSON object without k6 metrics (keys: dependencies, name, version)") == true)
    }

    @Test func linesOfJSONWithoutRecords() {
        #expect(Fixture.error("malformed/no-records.jsonl")?.description.contains("is not k6 output") == true)
    }

    @Test func missingFile() {
        #expect(Fixture.error("malformed/nope.json")?.description.contains("No such file or directory") == true)
    }

    @Test func truncatedLastLineIsAWarning() throws {
        let e = try Fixture.explain("malformed/truncated-last-line.out.json")
        #expect(e.warnings.count == 1)
        #expect(e.warnings[0].hasSuffix("last line 41 is truncated (90 bytes), ignored"))
    }

    @Test func garbageLineMidFileIsCountedNotFatal() throws {
        let e = try Fixture.explain("malformed/garbage-line.out.json")
        #expect(e.verdict == .pass)
        #expect(e.warnings == ["\(Fixture.path("malformed/garbage-line.out.json")): 1 of 435 lines is not a k6 record (first at line 21), skipped"])
    }

    @Test func deepNestingIsGarbageNotACrash() throws {
        let e = try Fixture.explain("malformed/deep-nesting.out.json")
        #expect(e.warnings.count == 1)
    }

    @Test func cutGzipStreamReadsWhatItCanAndSaysSo() throws {
        let e = try Fixture.explain("malformed/cut.out.json.gz")
        #expect(e.warnings.contains { $0.hasSuffix("gzip stream ends early: the file was cut short") })
        #expect(e.first(.rateLimited) != nil)
    }

    @Test func everyPrefixOfARecordLineIsHandled() {
        // Cut a genuine line at every byte: the scanner must say no, never crash or claim a record.
        let line = Array(#"{"metric":"http_reqs","type":"Point","data":{"time":"2026-11-22T16:27:00.321652114Z","value":1,"tags":{"error":"dial: connection refused","error_code":"1212","status":"0","url":"http://127.0.0.1:1/x"}}}"#.utf8)
        var r = K6Record()
        for n in 0..<line.count {
            let ok = line.withUnsafeBufferPointer { K6RecordScanner.scan(UnsafeBufferPointer(rebasing: $0[0..<n]), into: &r) }
            #expect(!ok, "prefix of \(n) bytes parsed")
        }
        #expect(line.withUnsafeBufferPointer { K6RecordScanner.scan($0, into: &r) })
    }

    @Test func randomBytesNeverCrashTheScanner() {
        var rng = SystemRandomNumberGenerator()
        var r = K6Record()
        let alphabet = Array(#"{}[]":,0123456789.eE-+tfnrulase\ abc"#.utf8)
        for _ in 0..<20_000 {
            let n = Int.random(in: 0..<80, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            _ = bytes.withUnsafeBufferPointer { K6RecordScanner.scan($0, into: &r) }
        }
    }
}
