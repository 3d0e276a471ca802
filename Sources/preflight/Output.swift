import Foundation
import PreflightCore

/// The one way out for text: every byte passes `Secrets.scrub` first.
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

    static func flush() { fflush(nil) }

    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
}
