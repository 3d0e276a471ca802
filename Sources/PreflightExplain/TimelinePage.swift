import Foundation

/// One self-contained HTML page (inline CSS and SVG, no script, no font or image from anywhere) with the run's
/// timeline and the verdict's sentences beside it: the page a team pastes into the incident channel.
public enum TimelinePage {
    static let width = 900.0
    static let left = 56.0
    static let right = 16.0
    static var plotWidth: Double { width - left - right }

    /// Signature colours: causes in warm colours, symptoms in cool ones; stable across runs.
    static let palette: [String: String] = [
        "connection-refused": "#d62728", "connection-reset": "#e377c2", "dial-timeout": "#8c564b",
        "request-timeout": "#ff7f0e", "dns": "#7f7f7f", "tls": "#bcbd22", "rate-limited": "#9467bd",
        "server-errors": "#c0392b", "client-errors": "#17becf", "generator-limit": "#a0522d", "invalid-url": "#6b4226",
        "not-http": "#2ca02c", "blocked": "#4b0082", "http2": "#1f77b4", "network-errors": "#b22222", "other-errors": "#555555",
    ]

    public static func html(_ e: Explanation, title: String = "preflight: k6 run timeline") -> String {
        let tl = e.timeline
        let offsets = e.sampleOffsets
        let samples = e.samples?.samples ?? []
        let span = max(Double(tl?.seconds ?? 0), (offsets.last ?? 0) + 1, 1)
        func x(_ t: Double) -> Double { left + max(0, min(span, t)) / span * plotWidth }

        var panels: [String] = []
        var y = 12.0

        // Requests/s and failures/s by signature.
        if let tl {
            let h = 200.0
            let peak = Double(max(1, tl.requests.max() ?? 1))
            func py(_ v: Double) -> Double { y + h - v / peak * h }
            var g = panelFrame("requests/s and failures/s", y: y, h: h, top: peak)
            g += polyline(tl.requests.enumerated().map { (x(Double($0.offset) + 0.5), py(Double($0.element))) },
                          series: "requests", color: "#1f77b4", width: 2)
            for name in tl.failures.keys.sorted() {
                let counts = tl.failures[name]!
                g += polyline(counts.enumerated().map { (x(Double($0.offset) + 0.5), py(Double($0.element))) },
                              series: "failures-\(name)", color: palette[name] ?? "#555555", width: 2, fill: true, baseline: y + h)
            }
            panels.append(g)
            y += h + 34

            if tl.vus.contains(where: { $0 != nil }) {
                let vh = 60.0
                let vpeak = Double(max(1, tl.vus.compactMap { $0 }.max() ?? 1))
                var v = panelFrame("VUs", y: y, h: vh, top: vpeak)
                var last = 0
                let points = tl.vus.enumerated().map { (i, value) -> (Double, Double) in
                    last = value ?? last
                    return (x(Double(i) + 0.5), y + vh - Double(last) / vpeak * vh)
                }
                v += polyline(points, series: "vus", color: "#2ca02c", width: 2)
                panels.append(v)
                y += vh + 34
            }
        }

        // Health and listener: one strip each, a cell per sample.
        let strips: [(String, String, (WatchSample) -> (String, String)?)] = [
            ("health", "health", { s in
                guard let h = s.health else { return nil }
                if h.busy == true { return ("#bbbbbb", "busy") }
                return h.ok ? ("#2ca02c", "\(h.status ?? 0)") : ("#d62728", h.status.map(String.init) ?? (h.error ?? "failed"))
            }),
            ("listener", "listener on the target port", { s in
                guard let l = s.listener else { return nil }
                return l.state == "present" ? ("#2ca02c", "pid \(l.pid.map(String.init) ?? "?")") : ("#d62728", "gone")
            }),
        ]
        for (series, label, cell) in strips where samples.contains(where: { cell($0) != nil }) {
            let sh = 14.0
            var g = "<text class=\"label\" x=\"\(f(left))\" y=\"\(f(y - 4))\">\(escape(label))</text>\n"
            g += "<g class=\"series series-\(series)\" data-series=\"\(series)\">\n"
            let cellWidth = max(1, (e.samples?.header.intervalS ?? 1) / span * plotWidth)
            for (s, at) in zip(samples, offsets) {
                guard let (color, text) = cell(s) else { continue }
                g += "<rect x=\"\(f(x(at)))\" y=\"\(f(y))\" width=\"\(f(cellWidth))\" height=\"\(f(sh))\" fill=\"\(color)\"><title>\(f(at)) s: \(escape(text))</title></rect>\n"
            }
            g += "</g>\n"
            panels.append(g)
            y += sh + 30
        }

        // Database connections: the busiest application's, the server's total, max_connections.
        let dbSamples = zip(samples, offsets).compactMap { s, at in s.db?.connections != nil ? (at, s.db!) : nil }
        if !dbSamples.isEmpty {
            let dh = 100.0
            let app = dbSamples.compactMap { $0.1.busiestApp }.first
            let maxConn = dbSamples.compactMap { $0.1.maxConnections }.max()
            // Scaled to what was used, not to max_connections (100 would flatten a pool of 10 to the floor).
            let used = Double(max(1, dbSamples.map { $0.1.total ?? 0 }.max() ?? 1))
            let top = (maxConn.map { Double($0) <= used * 1.5 } ?? false) ? Double(maxConn!) : (used * 1.25).rounded(.up)
            func py(_ v: Double) -> Double { y + dh - v / top * dh }
            let limit = maxConn.map { Double($0) > top ? ", max_connections \($0) above the scale" : ", max_connections dashed" } ?? ""
            var g = panelFrame("database connections: " + (app.map { "\($0) (purple), " } ?? "") + "all (grey)" + limit, y: y, h: dh, top: top)
            if let maxConn, Double(maxConn) <= top {
                g += "<line class=\"series series-max-connections\" data-series=\"max-connections\" x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(py(Double(maxConn))))\" y2=\"\(f(py(Double(maxConn))))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
            }
            g += polyline(dbSamples.map { (x($0.0), py(Double($0.1.total ?? 0))) }, series: "db-total", color: "#7f7f7f", width: 1.5)
            if let app {
                g += polyline(dbSamples.map { (x($0.0), py(Double($0.1.connections(of: app)))) }, series: "db-app", color: "#9467bd", width: 2)
            }
            panels.append(g)
            y += dh + 34
        }

        // The time axis.
        var axis = ""
        let step = niceStep(span)
        var t = 0.0
        while t <= span + 0.001 {
            axis += "<line x1=\"\(f(x(t)))\" x2=\"\(f(x(t)))\" y1=\"4\" y2=\"\(f(y - 20))\" class=\"grid\"/>"
            axis += "<text class=\"tick\" x=\"\(f(x(t)))\" y=\"\(f(y - 6))\" text-anchor=\"middle\">\(f(t)) s</text>\n"
            t += step
        }
        // Onsets: a marker where each signature began.
        var marks = ""
        for d in e.diagnosis {
            guard case .double(let first)? = d.evidence["first_failure_s"] else { continue }
            let color = palette[d.signature.rawValue] ?? "#555"
            marks += "<line class=\"onset\" data-signature=\"\(d.signature.rawValue)\" x1=\"\(f(x(first)))\" x2=\"\(f(x(first)))\" y1=\"4\" y2=\"\(f(y - 20))\" stroke=\"\(color)\" stroke-dasharray=\"2 2\"/>\n"
        }
        let svgHeight = y
        let svg = """
            <svg xmlns="http://www.w3.org/2000/svg" id="timeline" viewBox="0 0 \(f(width)) \(f(svgHeight))" width="\(f(width))" height="\(f(svgHeight))" role="img" aria-label="timeline of the k6 run">
            \(axis)\(panels.joined())\(marks)</svg>
            """

        // The verdict's sentences.
        var side = ""
        if e.verdict == .pass {
            side += "<h2 class=\"pass\">PASS</h2><p>thresholds held and no failure signature was found</p>\n"
        } else {
            side += "<h2 class=\"fail\">FAIL</h2><p>\(e.diagnosis.count) signature\(e.diagnosis.count == 1 ? "" : "s")</p>\n"
        }
        for d in e.diagnosis {
            let color = palette[d.signature.rawValue] ?? "#555"
            let share = d.share > 0 ? " · \(formatPercent(d.share)) of \(d.signature == .grpcErrors ? "gRPC calls" : "failed requests")" : ""
            side += "<section class=\"diagnosis\" data-signature=\"\(d.signature.rawValue)\"><h3><span class=\"swatch\" style=\"background:\(color)\"></span>\(escape(d.signature.rawValue))\(escape(share))</h3>"
            side += "<p>\(escape(d.summary))</p><p class=\"fix\">fix: \(escape(d.fix))</p></section>\n"
        }
        var legend = "<span><span class=\"swatch\" style=\"background:#1f77b4\"></span>requests/s</span>"
        for name in (tl?.failures.keys.sorted() ?? []) {
            legend += " <span><span class=\"swatch\" style=\"background:\(palette[name] ?? "#555")\"></span>\(escape(name))/s</span>"
        }
        if tl?.vus.contains(where: { $0 != nil }) == true { legend += " <span><span class=\"swatch\" style=\"background:#2ca02c\"></span>VUs</span>" }

        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(title))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px; color: #222; background: #fff; }
            h1 { font-size: 18px; margin: 0 0 4px; }
            .source { color: #666; font-size: 12px; margin: 0 0 12px; }
            .page { display: flex; gap: 20px; align-items: flex-start; flex-wrap: wrap; }
            .verdict { flex: 1 1 280px; max-width: 420px; font-size: 13px; }
            .verdict h2 { margin: 0 0 4px; font-size: 22px; }
            .pass { color: #2ca02c; } .fail { color: #d62728; }
            .diagnosis h3 { font-size: 14px; margin: 12px 0 2px; }
            .diagnosis p { margin: 2px 0; } .fix { color: #555; }
            .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
            .legend { font-size: 12px; margin: 4px 0 0 56px; }
            svg text { font-size: 11px; fill: #444; } svg .label { font-weight: 600; }
            svg .grid { stroke: #eee; } svg .frame { fill: none; stroke: #ccc; }
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p class="source">\(escape(e.source))</p>
            <div class="page">
            <div class="chart">
            \(svg)
            <div class="legend">\(legend)</div>
            </div>
            <div class="verdict">
            \(side)</div>
            </div>
            </body>
            </html>

            """
    }

    static func panelFrame(_ label: String, y: Double, h: Double, top: Double) -> String {
        "<text class=\"label\" x=\"\(f(left))\" y=\"\(f(y - 2))\">\(escape(label))</text>"
            + "<rect class=\"frame\" x=\"\(f(left))\" y=\"\(f(y))\" width=\"\(f(plotWidth))\" height=\"\(f(h))\"/>"
            + "<text class=\"tick\" x=\"\(f(left - 4))\" y=\"\(f(y + 10))\" text-anchor=\"end\">\(formatNumber(top))</text>"
            + "<text class=\"tick\" x=\"\(f(left - 4))\" y=\"\(f(y + h))\" text-anchor=\"end\">0</text>\n"
    }

    static func polyline(_ points: [(Double, Double)], series: String, color: String, width: Double,
                         fill: Bool = false, baseline: Double = 0) -> String {
        guard !points.isEmpty else { return "" }
        var pts = points.map { "\(f($0.0)),\(f($0.1))" }
        if fill { pts = ["\(f(points[0].0)),\(f(baseline))"] + pts + ["\(f(points[points.count - 1].0)),\(f(baseline))"] }
        let fillAttr = fill ? "fill=\"\(color)\" fill-opacity=\"0.35\"" : "fill=\"none\""
        return "<polyline class=\"series series-\(series)\" data-series=\"\(series)\" points=\"\(pts.joined(separator: " "))\" stroke=\"\(color)\" stroke-width=\"\(f(width))\" \(fillAttr)/>\n"
    }

    static func niceStep(_ span: Double) -> Double {
        for s in [1.0, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600] where span / s <= 12 { return s }
        return 7200
    }

    static func f(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
