import PreflightCore

// A finding's sentence names its place in words where the check wants it ("load.js:4 sends cursor=…");
// its `location` is the place as data, for the formats that annotate a line (GitHub, SARIF) and JSON.

extension Finding {
    /// A mark for a finding under a headline: ✗ fail, ! warn, · information.
    var mark: String {
        switch severity {
        case .fail, .crash: "✗"
        case .warn: "!"
        default: "·"
        }
    }
}

extension CheckResult {
    /// The findings after the headline, which every format lists under it.
    var furtherFindings: ArraySlice<Finding> { outcome.findings.dropFirst() }

    /// The findings an annotation format (GitHub, SARIF) shows: the headline at the check's level, then each
    /// further finding that is a warning or a failure at its own.
    var annotated: [(level: Status, finding: Finding)] {
        guard let head = outcome.findings.first else { return [] }
        return [(status, head)] + furtherFindings.filter { $0.severity == .fail || $0.severity == .warn }.map { ($0.severity, $0) }
    }
}
