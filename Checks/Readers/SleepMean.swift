import Foundation

/// The mean of a `sleep()` argument as k6 would draw it: numbers, `Math.random()` (mean 0.5),
/// `randomIntBetween(a, b)` and `randomFloat…`/`randomBetween(a, b)` (mean (a + b) / 2, k6-utils), joined by
/// `+ - * /` and parentheses. The mean of such a sum or scaled term is the expression at the means; anything
/// else (a variable, a function of its own) is nil: not read, never guessed.
enum SleepMean {
    static func of(_ source: String) -> Double? {
        var p = Parser(text: Array(source.filter { !$0.isWhitespace }))
        guard let v = p.sum(), p.i == p.text.count, v.isFinite, v >= 0 else { return nil }
        return v
    }

    struct Parser {
        let text: [Character]
        var i = 0

        mutating func sum() -> Double? {
            guard var v = product() else { return nil }
            while i < text.count, text[i] == "+" || text[i] == "-" {
                let op = text[i]; i += 1
                guard let r = product() else { return nil }
                v = op == "+" ? v + r : v - r
            }
            return v
        }

        mutating func product() -> Double? {
            guard var v = atom() else { return nil }
            while i < text.count, text[i] == "*" || text[i] == "/" {
                let op = text[i]; i += 1
                guard let r = atom() else { return nil }
                if op == "/" { guard r != 0 else { return nil }; v /= r } else { v *= r }
            }
            return v
        }

        mutating func take(_ s: String) -> Bool {
            let c = Array(s)
            guard i + c.count <= text.count, Array(text[i..<(i + c.count)]) == c else { return false }
            i += c.count
            return true
        }

        mutating func atom() -> Double? {
            guard i < text.count else { return nil }
            if text[i] == "(" {
                i += 1
                guard let v = sum(), take(")") else { return nil }
                return v
            }
            if take("Math.random()") { return 0.5 }
            for f in ["randomIntBetween(", "randomBetween(", "randomFloatBetween("] where take(f) {
                guard let a = sum(), take(","), let b = sum(), take(")") else { return nil }
                return (a + b) / 2
            }
            let start = i
            while i < text.count, text[i].isNumber || text[i] == "." || text[i] == "_" { i += 1 }
            guard i > start else { return nil }
            return Double(String(text[start..<i]).replacingOccurrences(of: "_", with: ""))
        }
    }
}
