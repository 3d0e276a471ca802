import Foundation
import Testing
import TestSupport

/// The HTML timeline in a real headless Chromium (Debian's `chromium`): every series is laid out with a size,
/// and the page's screenshot is the one the README shows (UPDATE_GOLDEN=1 rewrites docs/timeline.png).
@Suite(.serialized, .tags(.live), .runsLive) struct TimelineBrowserTests {
    static let fixtures = packageRoot.appendingPathComponent("Tests/PreflightExplainTests/Fixtures/watch")

    func chromium() throws -> String {
        let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        return try #require(path, "chromium is not installed: scripts/install-deps.sh installs it")
    }

    /// The run's page from `preflight explain … --report html=FILE`, written in `dir`.
    func page(in dir: URL) async throws -> URL {
        let html = dir.appendingPathComponent("timeline.html")
        // From the fixtures' folder: the page names the file as given, and the committed screenshot holds no machine path.
        let out = try await run(preflightBinary, ["explain", "pool.out.json.gz", "--samples", "pool.samples.jsonl",
                                                  "--no-color", "--report", "html=\(html.path)"], currentDirectory: Self.fixtures, limit: 60)
        #expect(out.status == 1, "\(out.stderr)")
        return html
    }

    /// Headless Chromium with its own profile folder (several test runs share the machine), bounded in time.
    func browse(_ chromium: String, _ args: [String], profile: URL) async throws -> ProcessOutput {
        try await run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                                 "--user-data-dir=\(profile.path)"] + args, limit: 90)
    }

    @Test func everySeriesIsLaidOutByChromium() async throws {
        let chromium = try chromium()
        let dir = try temporaryDirectory("pf-chromium")
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = try String(contentsOf: try await page(in: dir), encoding: .utf8)
        // The report has no script; this test's copy adds one that measures each series as Blink laid it out.
        let probe = """
            <script>
            window.addEventListener('load', () => {
              const out = {};
              for (const el of document.querySelectorAll('[data-series]')) {
                const b = el.getBBox();
                out[el.dataset.series] = { w: Math.round(b.width), h: Math.round(b.height), n: el.children.length };
              }
              const pre = document.createElement('pre');
              pre.id = 'measured';
              pre.textContent = JSON.stringify(out);
              document.body.appendChild(pre);
            });
            </script>
            """
        let measured = dir.appendingPathComponent("measured.html")
        try html.replacingOccurrences(of: "</body>", with: probe + "</body>").write(to: measured, atomically: true, encoding: .utf8)
        let out = try await browse(chromium, ["--dump-dom", measured.absoluteString], profile: dir.appendingPathComponent("profile"))
        #expect(out.status == 0, "\(out.stderr.suffix(2000))")
        let dom = out.stdout
        let json = try #require(dom.range(of: "<pre id=\"measured\">").flatMap { start in
            dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex).map { String(dom[start.upperBound..<$0.lowerBound]) }
        }, "no measurement in the DOM: \(dom.suffix(500))")
        let series = try #require(try JSONSerialization.jsonObject(with: Data(json.replacingOccurrences(of: "&quot;", with: "\"").utf8)) as? [String: [String: Int]])
        for name in ["requests", "failures-server-errors", "vus", "health", "listener", "db-app", "db-total"] {
            let box = try #require(series[name], "series \(name) was not rendered: \(series.keys.sorted())")
            #expect((box["w"] ?? 0) > 300, "\(name) is \(box) wide")
        }
        #expect((series["requests"]?["h"] ?? 0) > 50)
        #expect((series["health"]?["n"] ?? 0) > 10, "one cell per sample")
        #expect(dom.contains("chat-backend's pool was exhausted by queries waiting on that lock"))
    }

    @Test func screenshotIsThePageTheReadmeShows() async throws {
        let chromium = try chromium()
        let dir = try temporaryDirectory("pf-chromium-shot")
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = try await page(in: dir)
        let png = dir.appendingPathComponent("timeline.png")
        let out = try await browse(chromium, ["--window-size=1360,760", "--screenshot=\(png.path)", page.absoluteString],
                                   profile: dir.appendingPathComponent("profile"))
        #expect(out.status == 0, "\(out.stderr.suffix(2000))")
        let data = try Data(contentsOf: png)
        #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        #expect(data.count > 20_000, "a blank page compresses to a few KiB; this is \(data.count) bytes")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            let docs = packageRoot.appendingPathComponent("docs")
            try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
            try data.write(to: docs.appendingPathComponent("timeline.png"))
        }
    }
}
