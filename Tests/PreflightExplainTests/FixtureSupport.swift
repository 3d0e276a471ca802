import Foundation
@testable import PreflightExplain

/// Paths of committed fixtures (see scripts/k6-fixtures/generate.sh).
enum Fixture {
    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    static func explain(_ name: String) throws -> Explanation { try Explainer.explain(path: path(name)) }

    /// The error `explain` throws for a fixture, or nil when it reads.
    static func error(_ name: String) -> ExplainError? {
        do { _ = try Explainer.explain(path: path(name)); return nil } catch { return error }
    }
}

extension Explanation {
    func first(_ s: Signature) -> Diagnosis? { diagnosis.first { $0.signature == s } }
    var signatures: [Signature] { diagnosis.map(\.signature) }
}
