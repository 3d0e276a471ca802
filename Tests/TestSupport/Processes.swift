import Foundation

/// The repository root, found from this file's path.
public let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// What a finished process left behind.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public let seconds: Double
}

/// Runs a program to completion (killed after `limit`), capturing both streams.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       currentDirectory: URL? = nil, limit: TimeInterval = 60) throws -> ProcessOutput {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    if let currentDirectory { p.currentDirectoryURL = currentDirectory }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    let start = Date()
    try p.run()
    // Read both pipes while the process runs, so a large output cannot block it.
    let outData = Box(), errData = Box()
    let group = DispatchGroup()
    for (pipe, box) in [(out, outData), (err, errData)] {
        group.enter()
        DispatchQueue.global().async { box.data = pipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    }
    let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: killer)
    p.waitUntilExit()
    killer.cancel()
    group.wait()
    return ProcessOutput(status: p.terminationStatus, stdout: String(decoding: outData.data, as: UTF8.self),
                         stderr: String(decoding: errData.data, as: UTF8.self), seconds: Date().timeIntervalSince(start))
}

final class Box: @unchecked Sendable { var data = Data() }

/// The built `preflight` binary ($PREFLIGHT_BIN, else .build/debug/preflight).
public var preflightBinary: String {
    ProcessInfo.processInfo.environment["PREFLIGHT_BIN"] ?? packageRoot.appendingPathComponent(".build/debug/preflight").path
}

/// A temporary directory, removed by the caller.
public func temporaryDirectory(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
