import Foundation
import Synchronization

/// The one registry of secrets. `ConfigLoader.load` fills it, once, from the parsed config (`ConfigSection.secrets`);
/// a `Report` is redacted with it once before any reporter renders it (`Report.redacted(using:)`), and the output
/// sink passes every byte through `scrub` as a last line (stderr messages, explain's output).
public final class Secrets: Sendable {
    public static let shared = Secrets()
    /// Longest first, so a secret that contains another is replaced whole.
    private let values = Mutex<[String]>([])

    public init() {}

    /// Secrets shorter than this are not scrubbed from free text (a password "p" would mangle
    /// every "http"); URL passwords of any length are still removed by `redactURL`.
    public static let minimumScrubLength = 4

    public func register(_ secret: String) {
        guard secret.count >= Self.minimumScrubLength else { return }
        let forms = Self.forms(of: secret)
        values.withLock { values in
            let new = forms.filter { !values.contains($0) }
            guard !new.isEmpty else { return }
            values += new
            values.sort { $0.count > $1.count }
        }
    }

    public func register(_ secrets: some Sequence<String>) {
        for s in secrets { register(s) }
    }

    /// Masks the credentials of every URL in `text` (`redactURL`'s rules), then replaces every registered
    /// secret by `***`, longest first.
    public func scrub(_ text: String) -> String {
        var out = text.contains("://") ? redactURLs(in: text) : text
        let secrets = values.withLock { $0 }
        for s in secrets where out.contains(s) { out = out.replacingOccurrences(of: s, with: "***") }
        return out
    }

    /// The first `count` characters of `text` as the output may show them: scrubbed before it is cut, so a cut
    /// never leaves the start of a secret behind (the sink's scrub, after the cut, could no longer see it whole).
    public func excerpt(_ text: some StringProtocol, _ count: Int) -> String {
        String(scrub(String(text.prefix(count + 1024))).prefix(count))
    }

    /// The secret as it is written and as Core itself spells it: percent-encoded in a URL, quoted by Core's one JSON
    /// writer (`JSONValue.quoted`), and as XML/HTML text (explain's timeline page writes k6's own strings, which no
    /// `Report` carries). A reporter's own escaping is not here: reports are redacted before any reporter runs
    /// (`Report.redacted(using:)`), so a new reporter's escaping cannot hide a secret from this list.
    static func forms(of secret: String) -> [String] {
        var unreserved = CharacterSet.alphanumerics
        unreserved.insert(charactersIn: "-._~")
        let candidates = [
            secret,
            secret.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed),
            secret.addingPercentEncoding(withAllowedCharacters: unreserved),
            secret.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""),
            secret.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
                .replacingOccurrences(of: "'", with: "&apos;"),
        ]
        var out: [String] = []
        for case let c? in candidates where !out.contains(c) { out.append(c) }
        return out
    }
}

// MARK: - What counts as a secret

extension Secrets {
    /// A variable or parameter name that says it holds a secret: it contains TOKEN, SECRET, KEY, PASSWORD, PASS
    /// or AUTH (any case). `${API_TOKEN}` in the config makes the value it expands to a secret.
    public static func isSecretName(_ name: String) -> Bool {
        let n = name.uppercased()
        return ["TOKEN", "SECRET", "KEY", "PASS", "AUTH"].contains { n.contains($0) }  // PASS covers PASSWORD
    }

    /// A header that carries credentials: Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key,
    /// any name ending in -Token, any name containing api-key, apikey or secret.
    public static func isCredentialHeader(_ name: String) -> Bool {
        let n = name.trimmingCharacters(in: .whitespaces).lowercased()
        if ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"].contains(n) { return true }
        return n.hasSuffix("-token") || ["api-key", "apikey", "api_key", "secret"].contains { n.contains($0) }
    }

    /// A query (or fragment) parameter that carries a credential: token, api_key, apikey, access_token, password,
    /// secret, key, sig, signature, and names ending in token, secret, password, _key, -key or signature
    /// (refresh_token, client_secret, X-Amz-Signature, …).
    public static func isCredentialParameter(_ name: String) -> Bool {
        let n = name.lowercased()
        if ["token", "api_key", "apikey", "access_token", "password", "passwd", "pwd", "secret", "key", "sig", "signature",
            "auth"].contains(n) { return true }
        return ["token", "secret", "password", "_key", "-key", "apikey", "signature"].contains { n.hasSuffix($0) }
    }

    /// The secrets in one header: for a credential header its whole value, the credential after a scheme word
    /// (`Bearer abc` → `abc`; Basic's base64 and the password inside it), each cookie's value; for any header,
    /// the credentials of URLs and `name=value` pairs in its value (`inText`).
    public static func inHeader(name: String, value: String) -> [String] {
        let v = value.trimmingCharacters(in: .whitespaces)
        var out = inText(v)
        guard isCredentialHeader(name), !v.isEmpty else { return out }
        out.append(v)
        let n = name.trimmingCharacters(in: .whitespaces).lowercased()
        if n == "cookie" || n == "set-cookie" {
            let pairs = v.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            for pair in n == "set-cookie" ? Array(pairs.prefix(1)) : pairs {
                if let eq = pair.firstIndex(of: "=") { out.append(String(pair[pair.index(after: eq)...])) }
            }
            return out.uniqued
        }
        // `Bearer <token>`, `Basic <base64>`, `Token <t>`, `ApiKey <k>`: the credential after the scheme word.
        let parts = v.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        if parts.count == 2, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
            let credential = parts[1].trimmingCharacters(in: .whitespaces)
            out.append(credential)
            if parts[0].lowercased() == "basic", let data = Data(base64Encoded: credential),
               let decoded = String(data: data, encoding: .utf8) {
                out.append(decoded)
                if let colon = decoded.firstIndex(of: ":") { out.append(String(decoded[decoded.index(after: colon)...])) }
            }
        }
        return out.uniqued
    }

    public static func inHeaders(_ headers: [String: String]) -> [String] {
        headers.sorted { $0.key < $1.key }.flatMap { inHeader(name: $0.key, value: $0.value) }
    }

    /// The credentials in one URL: its userinfo password and the values of its credential query and fragment
    /// parameters (`isCredentialParameter`), each as written and percent-decoded; and the Basic credential that
    /// libcurl makes of the userinfo (a server echoing its Authorization header shows that).
    public static func inURL(_ raw: String) -> [String] {
        let text = raw.trimmingCharacters(in: .whitespaces)
        var out = URLCredentials.ranges(in: text[...]).flatMap { r -> [String] in
            let written = String(text[r])
            let decoded = written.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            let plain = written.removingPercentEncoding
            return [written, plain, decoded].compactMap { $0 }
        }
        if let (user, password) = URLCredentials.userinfo(in: text[...]) {
            let plain = "\(user.removingPercentEncoding ?? String(user)):\(password.removingPercentEncoding ?? String(password))"
            out.append(Data(plain.utf8).base64EncodedString())
        }
        return out.uniqued
    }

    /// Credentials written into free text (a request body, a command line, an environment value): every URL's
    /// (`inURL`), `name=value` and `"name": "value"` pairs whose name says secret (`isSecretName`,
    /// `isCredentialParameter`: `PGPASSWORD=…`, `--token=…`, `{"password": "…"}`), and `Header: value` for
    /// credential headers (`curl -H 'Authorization: Bearer …'`).
    public static func inText(_ text: String) -> [String] {
        var out: [String] = []
        for url in URLCredentials.urls(in: text) { out += inURL(String(text[url])) }
        let range = NSRange(text.startIndex..., in: text)
        func each(_ regex: NSRegularExpression, _ body: (String, String) -> Void) {
            for m in regex.matches(in: text, range: range) {
                guard let n = Range(m.range(at: 1), in: text), let v = Range(m.range(at: 2), in: text) else { continue }
                body(String(text[n]), String(text[v]))
            }
        }
        each(Patterns.assignment) { name, value in
            if isSecretName(name) || isCredentialParameter(name) { out.append(value) }
        }
        each(Patterns.jsonPair) { name, value in
            if isSecretName(name) || isCredentialParameter(name) { out.append(value) }
        }
        each(Patterns.headerLine) { name, value in
            if isCredentialHeader(name) { out += inHeader(name: name, value: value) }
        }
        return out.uniqued
    }

    /// Values of an environment mapping (`load.env`): those of secret-named variables whole, and the credentials in every value.
    public static func inEnvironment(_ env: [String: String]) -> [String] {
        env.sorted { $0.key < $1.key }.flatMap { (isSecretName($0.key) ? [$0.value] : []) + inText($0.value) }
    }

    enum Patterns {
        // `PGPASSWORD=x`, `--token=x`, `api_key=x&…`: the value ends at white space, a quote, & or ;.
        static let assignment = try! NSRegularExpression(pattern: #"(?<![A-Za-z0-9_.-])-{0,2}([A-Za-z_][A-Za-z0-9_.-]*)=([^\s&;'"]+)"#)
        // `"password": "x"` in a JSON body (the value without its escapes' subtleties).
        static let jsonPair = try! NSRegularExpression(pattern: #""([A-Za-z_][A-Za-z0-9_.-]*)"\s*:\s*"((?:[^"\\]|\\.)*)""#)
        // `Authorization: Bearer x` inside a command line or body: a scheme word and a credential at most.
        static let headerLine = try! NSRegularExpression(pattern: #"(?<![A-Za-z0-9-])([A-Za-z][A-Za-z0-9_-]*)\s*:[ \t]*([^'"\s]+(?:[ \t]+[^'"\s]+)?)"#)
    }
}

extension Array where Element == String {
    /// In order, each once.
    var uniqued: [String] {
        var seen = Set<String>()
        return filter { seen.insert($0).inserted }
    }
}

// MARK: - Redaction

/// Where the credentials sit in a URL. One parser for `redactURL` (which masks them), `Secrets.scrub` (every URL
/// in free text) and `Secrets.inURL` (which registers them).
enum URLCredentials {
    /// The userinfo password (after the first `:` before the last `@` of the authority) and the values of
    /// credential parameters in the query and the fragment.
    static func ranges(in url: Substring) -> [Range<String.Index>] {
        var out: [Range<String.Index>] = []
        // A path without scheme and authority (`/api?api_key=…`, under the target) has parameters too.
        var authorityEnd = url.startIndex
        if let (authority, end) = authority(of: url) {
            authorityEnd = end
            if let (_, password) = userinfo(in: authority) { out.append(password.startIndex..<password.endIndex) }
        }
        // Parameters after `?` and after `#` (OAuth's implicit flow puts access_token in the fragment), split at
        // `&` and `;` (so XML's `&amp;` splits too).
        var i = authorityEnd
        while let start = url[i...].firstIndex(where: { $0 == "?" || $0 == "#" }) {
            let end = url[url.index(after: start)...].firstIndex(of: "#") ?? url.endIndex
            var p = url.index(after: start)
            while p < end {
                let pairEnd = url[p..<end].firstIndex { $0 == "&" || $0 == ";" } ?? end
                let pair = url[p..<pairEnd]
                if let eq = pair.firstIndex(of: "=") {
                    let name = pair[..<eq].removingPercentEncoding ?? String(pair[..<eq])
                    let value = pair.index(after: eq)..<pairEnd
                    if !value.isEmpty, Secrets.isCredentialParameter(name) { out.append(value) }
                }
                p = pairEnd < end ? url.index(after: pairEnd) : end
            }
            i = end
            if i == url.endIndex { break }
        }
        return out
    }

    /// The authority (after `://`, up to the path, query or fragment) and where it ends.
    static func authority(of url: Substring) -> (Substring, String.Index)? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return (rest[..<end], end)
    }

    /// User and password of a URL (or of its authority): before the first `:` and after it, up to the last `@`.
    static func userinfo(in url: Substring) -> (user: Substring, password: Substring)? {
        let authority = url.contains("://") ? (authority(of: url)?.0 ?? url) : url
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return nil }
        let password = authority[authority.index(after: colon)..<at]
        return password.isEmpty ? nil : (authority[..<colon], password)
    }

    /// `url` with every credential replaced by `***`.
    static func masked(_ url: Substring) -> String {
        var out = ""
        var last = url.startIndex
        for r in ranges(in: url).sorted(by: { $0.lowerBound < $1.lowerBound }) where r.lowerBound >= last {
            out += url[last..<r.lowerBound]
            out += "***"
            last = r.upperBound
        }
        return out + url[last...]
    }

    /// Every `scheme://…` in free text: it starts at the scheme and ends at white space, a quote, `<`, `>` or a
    /// backtick; a trailing `.`, `,`, `;` or `)` is punctuation of the sentence, not of the URL.
    static func urls(in text: String) -> [Range<String.Index>] {
        var out: [Range<String.Index>] = []
        var from = text.startIndex
        while let sep = text.range(of: "://", range: from..<text.endIndex) {
            var start = sep.lowerBound
            while start > from, let c = text[text.index(before: start)].unicodeScalars.first,
                  c.isASCII, CharacterSet.alphanumerics.contains(c) || c == "+" || c == "-" || c == "." {
                start = text.index(before: start)
            }
            var end = text[sep.upperBound...].firstIndex { $0.isWhitespace || "\"'<>`".contains($0) } ?? text.endIndex
            while end > sep.upperBound, ".,;)".contains(text[text.index(before: end)]) { end = text.index(before: end) }
            if start < sep.lowerBound { out.append(start..<end) }
            from = end > sep.upperBound ? end : sep.upperBound
        }
        return out
    }
}

/// Masks the credentials of every URL in free text (what `Secrets.scrub` does before the registered secrets).
/// A URL cut inside its userinfo (`postgresql://chat:Long-Sec` where a check kept the first 160 characters of a
/// health body) has no `@` left to show where its password ends: what follows `user:` is masked when it
/// cannot be a port.
func redactURLs(in text: String) -> String {
    var out = ""
    var last = text.startIndex
    for r in URLCredentials.urls(in: text) {
        out += text[last..<r.lowerBound]
        let url = text[r]
        if let (authority, end) = URLCredentials.authority(of: url), end == url.endIndex, !authority.contains("@"),
           !authority.hasPrefix("["), let colon = authority.firstIndex(of: ":") {
            let rest = authority[authority.index(after: colon)...]
            if !rest.isEmpty, !rest.allSatisfy(\.isNumber), !rest.contains(where: { "${}[]".contains($0) }) {
                out += url[..<authority.index(after: colon)] + "***"
                last = r.upperBound
                continue
            }
        }
        out += URLCredentials.masked(url)
        last = r.upperBound
    }
    out += text[last...]
    return out
}

/// The one redaction function every URL goes through before any output: the userinfo password and the values
/// of credential query parameters (`token=`, `access_token=`, `sig=`, …) become `***`; then the registry's scrub.
public func redactURL(_ raw: String) -> String {
    Secrets.shared.scrub(URLCredentials.masked(raw[...]))
}
