import Foundation
import Testing
@testable import PreflightExplain

/// The focused scanner must read genuine k6 lines exactly as a full JSON parser does.
@Suite struct ScannerAgreementTests {
    @Test(arguments: ["refused", "servererror", "slow", "cursor", "pass", "reset", "tls"])
    func agreesWithJSONSerialization(run: String) throws {
        let text = try String(contentsOfFile: Fixture.path("\(run).out.json"), encoding: .utf8)
        var r = K6Record()
        var checked = 0
        for line in text.split(separator: "\n") {
            let bytes = Array(line.utf8)
            let ok = bytes.withUnsafeBufferPointer { K6RecordScanner.scan($0, into: &r) }
            #expect(ok)
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            #expect(r.metric.string == obj["metric"] as? String)
            let data = try #require(obj["data"] as? [String: Any])
            if obj["type"] as? String == "Point" {
                #expect(r.kind == .point)
                #expect(r.value == (data["value"] as? NSNumber)?.doubleValue)
                #expect(r.time.string == data["time"] as? String)
                let tags = data["tags"] as? [String: String] ?? [:]
                #expect(r.status.string == tags["status"])
                #expect(r.errorCode.string == tags["error_code"])
                #expect(r.error.string == tags["error"])
                #expect(r.name.string == tags["name"])
                #expect(r.url.string == tags["url"])
                #expect(r.expectedResponse.string == tags["expected_response"])
            } else {
                #expect(r.kind == .metric)
                #expect(r.thresholds == (data["thresholds"] as? [String] ?? []))
            }
            checked += 1
        }
        #expect(checked > 100)
    }

    @Test func escapedStringsAndExponentsDecode() {
        let line = Array(#"{"type":"Point","metric":"x","data":{"time":"2026-01-01T00:00:00Z","value":1.5e3,"tags":{"name":"a\"b\u00e9","status":"200"}}}"#.utf8)
        var r = K6Record()
        #expect(line.withUnsafeBufferPointer { K6RecordScanner.scan($0, into: &r) })
        #expect(r.value == 1500)
        #expect(r.name.string == "a\"bé")
        #expect(r.status.int == 200)
    }

    @Test func timestampsWithOffsets() {
        func secs(_ s: String) -> Double? {
            let b = Array(s.utf8)
            return b.withUnsafeBufferPointer { RFC3339.seconds(ByteSpan(start: $0.baseAddress, count: $0.count)) }
        }
        #expect(secs("1970-01-01T00:00:00Z") == 0)
        #expect(secs("2026-11-22T16:27:00.5Z") == 1_795_364_820.5)
        #expect(secs("2026-11-22T17:27:00.5+01:00") == 1_795_364_820.5)
        #expect(secs("garbage-garbage-garbage") == nil)
    }
}
