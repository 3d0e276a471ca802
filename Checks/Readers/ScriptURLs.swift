import Foundation
import PreflightCore
import PreflightProbes

/// The script analysis's URL arithmetic, pure: a value's sample, a URL rebuilt with a live value, its query
/// parameters, its origin, whether two hosts are this machine, and the URL as the script writes it.
extension ScriptAnalysis {
    static func sample(_ o: ValueOrigin) -> String? {
        switch o {
        case .time: return String(Int64(Date().timeIntervalSince1970 * 1000))
        case .random: return "0.5488135039273248"
        case .counter: return "1"
        case .literal(let t): return t
        default: return nil
        }
    }

    static func liveURL(_ pieces: [URLPiece], replacing holes: Set<Range<Int>>, with value: String) -> String? {
        var s = ""
        for p in pieces {
            switch p {
            case .text(let t): s += t
            case .hole(let r) where holes.contains(r): s += value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? value
            default: return nil
            }
        }
        return s
    }

    struct QueryParam { var name: String; var value: [URLPiece] }

    /// Query parameters of a URL made of text and holes; a parameter whose name is a hole is left out.
    static func queryParams(_ pieces: [URLPiece]) -> [QueryParam] {
        // Most URLs have no query: no walk, Character by Character, through their text.
        guard pieces.contains(where: { if case .text(let t) = $0 { return t.utf8.contains(UInt8(ascii: "?")) }; return false }) else { return [] }
        enum State { case path, name(String, known: Bool), value(String, [URLPiece]), done }
        var state = State.path
        var out: [QueryParam] = []
        func finish(_ s: State) { if case .value(let n, let v) = s { out.append(QueryParam(name: n, value: v)) } }
        for p in pieces {
            switch p {
            case .text(let t):
                for ch in t {
                    switch state {
                    case .path: if ch == "?" { state = .name("", known: true) } else if ch == "#" { state = .done }
                    case .name(let n, let known):
                        if ch == "=" { state = known ? .value(n, []) : .value("", [.text("")]) }
                        else if ch == "&" { state = .name("", known: true) }
                        else if ch == "#" { state = .done }
                        else { state = .name(n + String(ch), known: known) }
                    case .value(let n, var v):
                        if ch == "&" || ch == "#" {
                            if !n.isEmpty { finish(state) }
                            state = ch == "&" ? .name("", known: true) : .done
                        } else {
                            if case .text(let last)? = v.last { v[v.count - 1] = .text(last + String(ch)) } else { v.append(.text(String(ch))) }
                            state = .value(n, v)
                        }
                    case .done: break
                    }
                }
            case .hole, .env:
                switch state {
                case .name(let n, _): state = .name(n, known: false)
                case .value(let n, var v): v.append(p); state = .value(n, v)
                default: break
                }
            }
        }
        if case .value(let n, _) = state, !n.isEmpty { finish(state) }
        return out
    }

    // MARK: target

    static func origin(of url: String) -> (scheme: String, host: String, port: Int)? {
        // On the UTF-8 bytes: Foundation's range(of:) and Character-wise scans were a fifth of the analysis of a
        // 200,000-request script (perf); every byte looked for here is ASCII.
        let u = url.utf8
        guard let r = schemeSeparator(url) else { return nil }
        let scheme = url[..<r.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let end = u[r.upperBound...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? u.endIndex
        guard r.upperBound < end else { return nil }
        let at = u[r.upperBound..<end].lastIndex(of: UInt8(ascii: "@")).map { u.index(after: $0) } ?? r.upperBound
        let hostPort = String(url[at..<end])
        var host = hostPort, port = scheme == "https" ? 443 : 80
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()) else { return nil }; port = p }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let p = Int(hostPort[hostPort.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty else { return nil }
        return (scheme, host.lowercased(), port)
    }

    /// The range of the first "://" (a byte scan: `firstRange(of:)` is generic and was a quarter of the analysis).
    static func schemeSeparator(_ s: String) -> Range<String.Index>? {
        let u = s.utf8
        var i = u.startIndex
        while let colon = u[i...].firstIndex(of: UInt8(ascii: ":")) {
            let a = u.index(after: colon)
            if a != u.endIndex, u[a] == UInt8(ascii: "/") {
                let b = u.index(after: a)
                if b != u.endIndex, u[b] == UInt8(ascii: "/") { return colon..<u.index(after: b) }
            }
            i = a
        }
        return nil
    }

    static let loopbackNames: Set<String> = ["localhost", "127.0.0.1", "::1", "ip6-localhost", "localhost.localdomain"]

    static func sameMachine(_ a: String, _ b: String) -> Bool {
        a.lowercased() == b.lowercased() || (loopbackNames.contains(a.lowercased()) && loopbackNames.contains(b.lowercased()))
    }

    static func hostPort(_ h: String, _ p: Int) -> String { h.utf8.contains(UInt8(ascii: ":")) ? "[\(h)]:\(p)" : "\(h):\(p)" }

    /// A URL as the script builds it: text as is, run-time parts as `${…}`.
    static func display(_ pieces: [URLPiece], _ script: K6Script) -> String {
        var s = ""
        for p in pieces {
            switch p {
            case .text(let t): s += t
            case .hole(let r): s += "${\(script.source(r))}"
            case .env(let n, _): s += "${__ENV.\(n)}"
            }
            if s.count > 160 { return String(s.prefix(160)) + "…" }
        }
        return s
    }
}
