// swift-tools-version:6.0
import PackageDescription
#if os(Linux)
import Glibc
#endif

// Release builds (the shipped, --static-swift-stdlib binary) link with the toolchain's lld and pack their ~80,000
// relative relocations into DT_RELR (`-z pack-relative-relocs`, 15 KB instead of a 1.9 MB .rela.dyn the loader reads
// and applies at every start; issue 22: -2.5 MiB peak, fewer page faults). The binary then needs glibc 2.36 or newer
// at run time, so this is done only where the building machine has it (the binary runs where it is built:
// `make install`); elsewhere the default linker and relocations are kept.
let releaseLinkerSettings: [LinkerSetting] = {
    #if os(Linux)
    var buffer = [CChar](repeating: 0, count: 64)
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 else { return [] }
    // "glibc 2.36"
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let parts = text.split(separator: " ").last?.split(separator: ".").compactMap { Int($0) } ?? []
    guard parts.count >= 2, (parts[0], parts[1]) >= (2, 36) else { return [] }
    return [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(configuration: .release))]
    #else
    return []
    #endif
}()

// libpq and libcurl stay out of the executable's DT_NEEDED (Sources/CLazyLibs opens them on first use): nothing
// refers to them any more, and --as-needed drops the -lpq -lcurl that pkg-config and the module maps still add.
// It must come before those on the linker's command line, where swiftc's -Xlinker cannot put it (it appends
// after every -l); a clang config file is read before all other arguments.
let lazyLibraries = LinkerSetting.unsafeFlags(
    ["-Xclang-linker", "--config=\(Context.packageDirectory)/Sources/CLazyLibs/as-needed.cfg"],
    .when(platforms: [.linux]))

let package = Package(
    name: "preflight",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "preflight", targets: ["preflight"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries, reached only from PreflightProbes (and CZlib from PreflightExplain).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libpq's and libcurl's functions as trampolines that dlopen the library on first use (headers from the two above).
        .target(name: "CLazyLibs", dependencies: ["CLibPQ", "CCurl"], exclude: ["as-needed.cfg"]),
        // The commit `preflight --version` names: a 64-byte section that scripts/stamp-commit.sh fills after the link.
        .target(name: "CBuildStamp"),

        // Check, Engine, Config, Verdict: no C, no I/O of its own.
        .target(name: "PreflightCore", dependencies: [.product(name: "Yams", package: "Yams")]),
        // TCP, DNS, HTTP (libcurl), PostgreSQL (libpq), listening sockets: the only code that touches C.
        .target(name: "PreflightProbes", dependencies: ["PreflightCore", "CLibPQ", "CCurl", "CLazyLibs"]),
        // One file per check.
        .target(name: "PreflightChecks", dependencies: ["PreflightCore", "PreflightProbes", .product(name: "Yams", package: "Yams")], path: "Checks"),
        .target(name: "PreflightReporters", dependencies: ["PreflightCore"]),
        // `preflight explain`: reads k6 outputs after a run.
        .target(name: "PreflightExplain", dependencies: ["PreflightCore", "CZlib"]),
        .executableTarget(name: "preflight", dependencies: [
            "PreflightCore", "PreflightProbes", "PreflightChecks", "PreflightReporters", "PreflightExplain", "CBuildStamp",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Yams", package: "Yams"),
        ], linkerSettings: [lazyLibraries] + releaseLinkerSettings),

        // Loopback fixtures for the tests: HTTP servers, PostgreSQL clusters, the built binary.
        .target(name: "TestSupport", dependencies: ["PreflightProbes"], path: "Tests/TestSupport"),
        // One test target per module (swift-nio's habit); ChecksTests also holds each check's live suites.
        .testTarget(name: "PreflightCoreTests", dependencies: ["PreflightCore"]),
        .testTarget(name: "PreflightProbesTests", dependencies: ["PreflightProbes", "PreflightCore", "TestSupport"]),
        .testTarget(name: "PreflightReportersTests", dependencies: ["PreflightReporters", "PreflightCore", "TestSupport"],
                    resources: [.copy("Golden")]),
        .testTarget(name: "ChecksTests", dependencies: ["PreflightChecks", "PreflightProbes", "PreflightCore", "TestSupport"]),
        .testTarget(name: "PreflightExplainTests", dependencies: ["PreflightExplain", "PreflightCore", "CZlib"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport", .product(name: "Yams", package: "Yams")]),
    ]
)

// libFuzzer targets (Fuzz/, scripts/fuzz.sh): only when PREFLIGHT_FUZZ=1, so `swift build` and `swift test` never see them.
import Foundation
if ProcessInfo.processInfo.environment["PREFLIGHT_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, deps: [Target.Dependency])] = [
        ("FuzzConfig", ["PreflightCore", "PreflightChecks"]),
        ("FuzzK6Script", ["PreflightChecks"]),
        ("FuzzPrisma", ["PreflightChecks"]),
        ("FuzzRateLimitHeaders", ["PreflightChecks"]),
        ("FuzzHealthBody", ["PreflightChecks"]),
        ("FuzzGRPC", ["PreflightChecks", "PreflightProbes"]),
        ("FuzzExplain", ["PreflightExplain"]),
        ("FuzzK6Record", ["PreflightExplain"]),
        ("FuzzMigrationSQL", ["PreflightChecks"]),
        ("FuzzMigrationPython", ["PreflightChecks"]),
        ("FuzzMigrationCode", ["PreflightChecks"]),
        ("FuzzMigrationChangelogs", ["PreflightChecks"]),
    ]
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/Driver"))
    for t in fuzzTargets {
        package.targets.append(.executableTarget(
            name: t.name, dependencies: t.deps + ["FuzzDriver"], path: "Fuzz/\(t.name)"))
    }
}
