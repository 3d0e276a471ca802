import Foundation
import PreflightCore

/// A JWT the script sends: where it comes from and its claims' times. The token's text is never kept: it is
/// registered as a secret when found, decoded (never verified) for `exp`, and dropped.
public struct ScriptToken: Sendable, Equatable {
    /// The script's line that writes it or first reads its variable.
    public var line: Int
    /// "a JWT written in the script", "TOKEN (load.env)"
    public var source: String
    /// `exp` and `iat`, seconds since 1970, when the token says them.
    public var expires: Double?
    public var issued: Double?
}

/// JSON Web Tokens in text: found by shape (`eyJ….eyJ….sig`), read without verifying the signature.
public enum JWT {
    /// Bearer tokens past this length are not read (a JWT is a few hundred bytes to a few KB).
    static let lengthCap = 16 << 10

    /// Every JWT-shaped run of characters in `text` (header and payload both start with `{"`, base64url `eyJ`).
    public static func find(in text: String) -> [Substring] {
        guard text.utf8.count >= 20, text.contains("eyJ") else { return [] }
        var out: [Substring] = []
        var rest = text[...]
        while let start = rest.range(of: "eyJ") {
            let tail = rest[start.lowerBound...]
            let end = tail.firstIndex { !($0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".")) } ?? tail.endIndex
            let candidate = tail[..<end]
            let parts = candidate.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 3, parts[1].hasPrefix("eyJ"), candidate.utf8.count <= lengthCap { out.append(candidate) }
            rest = tail[end...]
            if rest.isEmpty { break }
            if end == start.lowerBound { rest = rest.dropFirst() }
        }
        return out
    }

    /// `exp` and `iat` from the payload; nil when the payload is not base64url JSON (then it is not a JWT).
    public static func claims(_ token: some StringProtocol) -> (expires: Double?, issued: Double?)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        func seconds(_ v: Any?) -> Double? {
            if let n = v as? NSNumber, n.doubleValue.isFinite { return n.doubleValue }
            if let s = v as? String { return Double(s) }
            return nil
        }
        return (seconds(object["exp"]), seconds(object["iat"]))
    }
}

extension K6Script {
    /// The JWTs the script sends, written in it or read from `load.env` (`__ENV.TOKEN`, in a header object or a
    /// template): each token's text is handed to `secret` (the secrets registry) and only its claims are kept.
    public func jwts(env: [String: String], secret: (String) -> Void) -> [ScriptToken] {
        var out: [ScriptToken] = []
        var seen: Set<String> = []
        for j in tokens.indices {
            switch tokens.kind(j) {
            case .string, .template, .templateHead, .templateMiddle, .templateTail:
                for t in JWT.find(in: tokens.text(j)) {
                    let text = String(t)
                    guard let c = JWT.claims(text) else { continue }
                    secret(text)
                    guard seen.insert(text).inserted else { continue }
                    out.append(ScriptToken(line: tokens.line(j), source: "a JWT written in the script", expires: c.expires, issued: c.issued))
                }
            case .identifier where tokens.text(j) == "__ENV":
                // `__ENV.NAME` or `__ENV["NAME"]`
                guard let dot = tok(j + 1), let name = tok(j + 2) else { continue }
                let key: String
                if dot.isPunct("."), name.kind == .identifier { key = name.text }
                else if dot.isPunct("["), name.kind == .string { key = name.text }
                else { continue }
                guard let value = env[key], seen.insert("env|\(key)").inserted else { continue }
                for t in JWT.find(in: value) {
                    guard let c = JWT.claims(t) else { continue }
                    secret(String(t))
                    out.append(ScriptToken(line: tokens.line(j), source: "\(key) (load.env)", expires: c.expires, issued: c.issued))
                }
            default: continue
            }
            if out.count >= 16 { break }
        }
        return out
    }
}

/// A token's life against the planned run: expired, expiring during it (the minute, the share of requests
/// after it), or outliving it.
public struct TokenLifetime: Sendable {
    public enum Verdict: Sendable, Equatable {
        case expired(agoSeconds: Double)
        /// `at` seconds into the run; `share` of the run's requests go after it (VU-weighted when the stages say how).
        case expiresDuring(at: Double, share: Double, weighted: Bool)
        case outlives(bySeconds: Double)
        /// No run length known: only how long it is valid from now.
        case validFor(seconds: Double)
        case noExpiry
    }

    /// `now`: when the run starts at the earliest (preflight runs before k6). `duration`: the planned run in seconds.
    public static func judge(_ token: ScriptToken, now: Double, duration: Double?, options: K6Options?) -> Verdict {
        guard let exp = token.expires else { return .noExpiry }
        let left = exp - now
        if left <= 0 { return .expired(agoSeconds: -left) }
        guard let duration, duration > 0 else { return .validFor(seconds: left) }
        if left >= duration { return .outlives(bySeconds: left - duration) }
        if let w = weightedShare(after: left, duration: duration, options: options) {
            return .expiresDuring(at: left, share: w, weighted: true)
        }
        return .expiresDuring(at: left, share: (duration - left) / duration, weighted: false)
    }

    /// The share of VU-seconds after `t` when the top-level stages (or `vus` alone) describe the run: requests
    /// follow the VUs when iterations take the same time throughout. nil when scenarios shape the run.
    static func weightedShare(after t: Double, duration: Double, options: K6Options?) -> Double? {
        guard let o = options, o.scenarios.isEmpty, !o.stages.isEmpty else { return nil }
        var points: [(t: Double, vus: Double)] = [(0, Double(o.vus ?? 1))]
        for s in o.stages {
            guard let d = s.duration.flatMap(K6Options.seconds), let target = s.target else { return nil }
            points.append((points.last!.t + d, Double(target)))
        }
        func area(from a: Double, to b: Double) -> Double {
            var sum = 0.0
            for i in 1..<points.count {
                let (t0, v0) = points[i - 1], (t1, v1) = points[i]
                let lo = max(a, t0), hi = min(b, t1)
                guard hi > lo, t1 > t0 else { continue }
                func v(_ x: Double) -> Double { v0 + (v1 - v0) * (x - t0) / (t1 - t0) }
                sum += (v(lo) + v(hi)) / 2 * (hi - lo)
            }
            return sum
        }
        let end = points.last!.t
        let total = area(from: 0, to: end)
        guard total > 0 else { return nil }
        return area(from: min(t, end), to: end) / total
    }

    /// "4 min 10 s", "2 h 5 min", "40 s", "3 d 2 h"
    public static func span(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return s % 60 == 0 ? "\(s / 60) min" : "\(s / 60) min \(s % 60) s" }
        if s < 86_400 { return (s % 3600) / 60 == 0 ? "\(s / 3600) h" : "\(s / 3600) h \((s % 3600) / 60) min" }
        return "\(s / 86_400) d \((s % 86_400) / 3600) h"
    }
}
