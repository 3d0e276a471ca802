import Foundation
import PreflightCore

/// A plain decimal with at most 4 significant decimals and no trailing zeros.
func formatNumber(_ x: Double) -> String {
    if x.isNaN || x.isInfinite { return String(x) }
    if x == x.rounded() && abs(x) < 1e15 { return formatCount(Int(x)) }
    var s = String(format: abs(x) >= 100 ? "%.2f" : (abs(x) >= 1 ? "%.3f" : "%.4f"), x)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
}

/// 0.0707 → "7.07%", 1 → "100%".
func formatPercent(_ share: Double) -> String {
    let p = share * 100
    if p == p.rounded() { return "\(Int(p))%" }
    if p >= 10 { return String(format: "%.1f%%", p) }
    if p >= 0.01 { return String(format: "%.2f%%", p) }
    return "<0.01%"
}

/// Milliseconds for a person: "0 ms", "6.51 ms", "2.5 s".
func formatMillis(_ ms: Double) -> String {
    if ms >= 1000 { return formatNumber(ms / 1000) + " s" }
    return formatNumber(ms) + " ms"
}

/// Seconds offset for a person: "+0.32 s".
func formatSeconds(_ s: Double) -> String {
    String(format: s < 10 ? "%.2f s" : "%.1f s", s)
}
