import Foundation
import PreflightCore

/// `--format sarif`: SARIF 2.1.0, one result per failing or warning finding that has a place in a file (script,
/// schema, migrations), so GitHub code scanning and other SARIF viewers show it on the line. Findings without a
/// file are not results here (GitHub code scanning refuses a result without a location): the other formats carry them.
public struct SARIFReporter {
    public static let schemaURI = "https://json.schemastore.org/sarif-2.1.0.json"
    /// Paths under this folder are written relative to it, with `uriBaseId` %SRCROOT% ($GITHUB_WORKSPACE, else the current folder).
    let workspace: String
    let toolVersion: String

    public init(workspace: String? = nil, toolVersion: String = "0.1.0") {
        let env = ProcessInfo.processInfo.environment["GITHUB_WORKSPACE"]
        self.workspace = workspace ?? env ?? FileManager.default.currentDirectoryPath
        self.toolVersion = toolVersion
    }

    public func render(_ report: Report) -> String {
        var rules: [JSONValue] = []
        var ruleIndex: [CheckID: Int] = [:]
        var results: [JSONValue] = []
        for r in report.results where r.status == .fail || r.status == .warn {
            let located = r.annotated.filter { $0.finding.location != nil }
            guard !located.isEmpty else { continue }
            if ruleIndex[r.id] == nil {
                ruleIndex[r.id] = rules.count
                rules.append(.object(Evidence([
                    "id": .string(r.id), "name": .string(r.title),
                    "shortDescription": .object(Evidence(["text": .string(r.title)])),
                ])))
            }
            let cause = r.consequenceOf.map { " (consequence of \($0))" } ?? ""
            for (level, f) in located {
                guard let l = f.location else { continue }
                var physical = Evidence([
                    "artifactLocation": .object(artifactLocation(l.file)),
                ])
                if let line = l.line, line >= 1 { physical["region"] = .object(Evidence(["startLine": .int(line)])) }
                let fix = f.fix.map { "\nfix: \($0)" } ?? ""
                results.append(.object(Evidence([
                    "ruleId": .string(r.id), "ruleIndex": .int(ruleIndex[r.id]!),
                    "level": .string(level == .fail ? "error" : "warning"),
                    "message": .object(Evidence(["text": .string(f.sentence + cause + fix)])),
                    "locations": .array([.object(Evidence(["physicalLocation": .object(physical)]))]),
                ])))
            }
        }
        let run = JSONValue.object(Evidence([
            "tool": .object(Evidence(["driver": .object(Evidence([
                "name": "preflight", "version": .string(toolVersion),
                "rules": .array(rules),
            ]))])),
            "originalUriBaseIds": .object(Evidence(["%SRCROOT%": .object(Evidence(["uri": .string(srcroot)]))])),
            // A crash is preflight's own failure: the run did not complete, whatever the results say.
            "invocations": .array([.object(Evidence([
                "executionSuccessful": .bool(report.crashes.isEmpty),
                "exitCode": .int(Int(report.exitCode)),
            ]))]),
            "results": .array(results),
        ]))
        return JSONReporter.serialise(.object(Evidence([
            "$schema": .string(Self.schemaURI), "version": "2.1.0", "runs": .array([run]),
        ]))) + "\n"
    }

    /// The workspace as a file URI ending in "/", as SARIF requires of a base.
    var srcroot: String {
        let base = workspace.hasSuffix("/") ? workspace : workspace + "/"
        return "file://" + percentEncoded(base)
    }

    func artifactLocation(_ path: String) -> Evidence {
        let base = workspace.hasSuffix("/") ? workspace : workspace + "/"
        if path.hasPrefix(base) {
            return Evidence(["uri": .string(percentEncoded(String(path.dropFirst(base.count)))), "uriBaseId": "%SRCROOT%"])
        }
        if path.hasPrefix("/") { return Evidence(["uri": .string("file://" + percentEncoded(path))]) }
        return Evidence(["uri": .string(percentEncoded(path)), "uriBaseId": "%SRCROOT%"])
    }

    /// A path as a URI reference: RFC 3986's unreserved characters and "/" stay, everything else is %XX.
    func percentEncoded(_ path: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}
