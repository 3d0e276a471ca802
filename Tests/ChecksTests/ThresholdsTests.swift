import Foundation
import Testing
@testable import PreflightChecks
@testable import PreflightCore

/// The script's thresholds as data (issue 29): every form k6 accepts, from the one reading of the script.
@Suite struct ThresholdsTests {
    @Test func everyFormOfTheOptions() throws {
        let s = K6Script(source: """
            import http from 'k6/http';
            const SLO = 'p(95)<500';
            export const options = {
              vus: 10,
              thresholds: {
                http_req_failed: ['rate<0.01'],
                'http_req_failed{name:send}': [{ threshold: 'rate<0.05', abortOnFail: true, delayAbortEval: '10s' }],
                http_req_duration: [SLO, 'avg < 200'],
                checks: 'rate>0.99',
                "http_req_duration{method:POST}": [{ threshold: 'max<3000' }],
                dropped_iterations: ['count==0'],
              },
            };
            export default function () { http.get('http://127.0.0.1:9/'); }
            """)
        let t = Thresholds(options: s.options)
        #expect(t.origin == .script && !t.isDefault)
        #expect(t.declared.map { "\($0.key) \($0.source)" } == [
            "http_req_failed rate<0.01", "http_req_failed{name:send} rate<0.05", "http_req_duration p(95)<500",
            "http_req_duration avg < 200", "checks rate>0.99", "http_req_duration{method:POST} max<3000", "dropped_iterations count==0",
        ])
        let send = t.declared[1]
        #expect(send.metric == "http_req_failed" && send.selector?.tag("name") == "send")
        #expect(send.abortOnFail && send.delayAbortEval == "10s" && send.expression == ThresholdExpression(.rate, .lt, 0.05))
        #expect(send.line == 7)
        #expect(!t.declared[0].abortOnFail && t.declared[0].delayAbortEval == nil)
        #expect(t.declared[3].expression == ThresholdExpression(.avg, .lt, 200))
        #expect(t.declared[5].selector?.tag("method") == "POST" && !t.declared[5].abortOnFail)
        #expect(t.on("http_req_duration").count == 3)
        #expect(t.unreadable.isEmpty)
    }

    @Test func noThresholdsMeansTheDefaultSaysSo() {
        let none = Thresholds(options: K6Script(source: "export const options = { vus: 5 };\nexport default function () {}").options)
        #expect(none.isDefault && none.origin == .default)
        #expect(none.declared == [ScriptThreshold.defaultFailedRequests])
        #expect(none.declared[0].metric == "http_req_failed" && none.declared[0].source == "rate<0.01")
        let noOptions = Thresholds(options: K6Script(source: "export default function () {}").options)
        #expect(noOptions.origin == .default)
        #expect(Thresholds(options: nil).origin == .default)
    }

    @Test func optionsFromAnotherModuleAreUnknownNotDefault() {
        let s = K6Script(source: "import { options } from './config.js';\nexport { options };\nexport default function () {}")
        let t = Thresholds(options: s.options)
        #expect(t.origin == .unknown("imports ./config.js"))
        #expect(t.isDefault)
    }

    @Test func unreadableExpressionsAreKept() {
        let s = K6Script(source: "export const options = { thresholds: { http_req_duration: ['p95<500'] } };")
        let t = Thresholds(options: s.options)
        #expect(t.unreadable.map(\.source) == ["p95<500"])
    }

    /// What `k6 inspect --execution-requirements` prints for thresholds (k6 1.1.0), both forms.
    @Test func fromK6Inspect() throws {
        let json = #"{"vus":2,"thresholds":{"http_req_duration":["p(95)<500","avg<200"],"http_req_failed":["rate<0.01"],"http_req_failed{name:send}":[{"threshold":"rate<0.05","abortOnFail":true,"delayAbortEval":"10s"}]},"maxVUs":2}"#
        let plan = try #require(K6Inspection.parse(json: Data(json.utf8)))
        let t = Thresholds(options: plan.options, origin: .k6Inspect)
        #expect(t.origin == .k6Inspect)
        #expect(t.declared.map { "\($0.key) \($0.source)" } == [
            "http_req_duration p(95)<500", "http_req_duration avg<200", "http_req_failed rate<0.01", "http_req_failed{name:send} rate<0.05",
        ])
        #expect(t.declared[3].abortOnFail && t.declared[3].delayAbortEval == "10s")
        let none = try #require(K6Inspection.parse(json: Data(#"{"vus":1,"thresholds":null}"#.utf8)))
        #expect(Thresholds(options: none.options, origin: .k6Inspect).origin == .default)
    }

    /// The load plan's one reading carries them.
    @Test func fromTheLoadPlan() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("thresholds-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "export const options = { thresholds: { checks: ['rate>0.9'] } };\nexport default function () {}"
            .write(to: dir.appendingPathComponent("load.js"), atomically: true, encoding: .utf8)
        let t = LoadPlan.derive(from: scriptConfig(dir.appendingPathComponent("load.js").path)).thresholds
        #expect(t.declared.map(\.source) == ["rate>0.9"] && t.origin == .script)
    }
}
