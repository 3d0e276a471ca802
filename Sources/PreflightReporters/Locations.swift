import PreflightCore

/// A finding's place in a file ("k6/chat.js:42"), read from evidence `location` / `locations`.
public struct SourceLocation: Sendable, Equatable {
    public let file: String
    public let line: Int?
    public let message: String?

    /// Reads "path:line" or "path:line: message".
    public static func parse(_ text: String) -> SourceLocation? {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard let file = parts.first, !file.isEmpty, !file.contains(" ") else { return nil }
        let line = parts.count > 1 ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
        let message = parts.count > 2 ? parts[2].trimmingCharacters(in: .whitespaces) : nil
        return SourceLocation(file: file, line: line, message: message?.isEmpty == true ? nil : message)
    }

    /// Every location a result's evidence names.
    public static func all(in evidence: Evidence) -> [SourceLocation] {
        var out: [SourceLocation] = []
        // {"findings": [{"location": "k6/chat.js:64", "problem": "…"}]}, as the script and schema checks write them.
        if case .array(let findings)? = evidence["findings"] {
            for case .object(let f) in findings {
                guard case .string(let at)? = f["location"], let l = parse(at) else { continue }
                if case .string(let problem)? = f["problem"] ?? f["message"] {
                    out.append(SourceLocation(file: l.file, line: l.line, message: problem))
                } else {
                    out.append(l)
                }
            }
        }
        for key in ["location", "locations"] {
            switch evidence[key] {
            case .string(let s)?: if let l = parse(s) { out.append(l) }
            case .array(let a)?: for case .string(let s) in a { if let l = parse(s) { out.append(l) } }
            default: break
            }
        }
        return out
    }
}
