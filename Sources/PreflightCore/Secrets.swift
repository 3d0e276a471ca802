import Foundation
import Synchronization

/// Every password preflight learns is registered here; all output passes through `scrub`.
public final class Secrets: Sendable {
    public static let shared = Secrets()
    private let values = Mutex<Set<String>>([])

    public init() {}

    public func register(_ secret: String) {
        guard !secret.isEmpty else { return }
        values.withLock { _ = $0.insert(secret) }
        // URLs carry the password percent-encoded too.
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed), encoded != secret {
            values.withLock { _ = $0.insert(encoded) }
        }
    }

    /// Replaces every registered secret in `text` by `***`, longest first.
    public func scrub(_ text: String) -> String {
        let secrets = values.withLock { $0 }.sorted { $0.count > $1.count }
        var out = text
        for s in secrets where out.contains(s) { out = out.replacingOccurrences(of: s, with: "***") }
        return out
    }
}

/// The one redaction function every URL goes through before any output: the password becomes `***`.
public func redactURL(_ raw: String) -> String {
    guard let scheme = raw.range(of: "://") else { return Secrets.shared.scrub(raw) }
    let rest = raw[scheme.upperBound...]
    let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
    let authority = rest[..<authorityEnd]
    guard let at = authority.lastIndex(of: "@"),
          let colon = authority[..<at].firstIndex(of: ":") else { return Secrets.shared.scrub(raw) }
    var out = raw
    out.replaceSubrange(authority.index(after: colon)..<at, with: "***")
    return Secrets.shared.scrub(out)
}
