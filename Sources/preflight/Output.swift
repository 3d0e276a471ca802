import Foundation
import PreflightCore

/// The one way out for text: every byte to stdout, stderr, a report file or $GITHUB_STEP_SUMMARY passes
/// `Secrets.scrub` first (every URL's credentials masked, every registered secret replaced). Nothing else in
/// preflight writes to a stream or a report: the reporters only render.
enum Output {
    static func stdout(_ text: String) {
        FileHandle.standardOutput.write(Data(Secrets.shared.scrub(text).utf8))
    }

    static func stderr(_ text: String) {
        FileHandle.standardError.write(Data(Secrets.shared.scrub(text).utf8))
    }

    static func write(_ text: String, toFile path: String) throws {
        try Data(Secrets.shared.scrub(text).utf8).write(to: URL(fileURLWithPath: path))
    }

    static func append(_ text: String, toFile path: String) throws {
        let url = URL(fileURLWithPath: path)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(Secrets.shared.scrub(text).utf8))
    }

    static func flush() { fflush(nil) }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    static var terminalWidth: Int {
        var w = winsize()
        return ioctl(2, UInt(TIOCGWINSZ), &w) == 0 && w.ws_col > 0 ? Int(w.ws_col) : 80
    }

    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
}
