/// Seconds since 1970 from an RFC 3339 timestamp as k6 writes it ("2026-11-22T16:27:00.321652114Z").
enum RFC3339 {
    static func seconds(_ span: ByteSpan) -> Double? {
        guard let s = span.start, span.count >= 20 else { return nil }
        func num(_ at: Int, _ n: Int) -> Int? {
            var v = 0
            for i in at..<(at + n) {
                let d = Int(s[i]) - 48
                guard d >= 0 && d <= 9 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let se = num(17, 2), (1...12).contains(mo) else { return nil }
        var i = 19
        var frac = 0.0, scale = 0.1
        if i < span.count && s[i] == 0x2E {
            i += 1
            while i < span.count, s[i] &- 48 < 10 {
                frac += Double(s[i] &- 48) * scale
                scale *= 0.1
                i += 1
            }
        }
        var offset = 0
        if i < span.count && (s[i] == 0x2B || s[i] == 0x2D) && i + 6 <= span.count {
            guard let oh = num(i + 1, 2), let om = num(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (s[i] == 0x2D ? -1 : 1)
        }
        // days from civil (Howard Hinnant's algorithm)
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Double(days * 86400 + h * 3600 + mi * 60 + se - offset) + frac
    }
}
