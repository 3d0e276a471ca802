import CLazyLibs

/// A C library preflight opens on first use (Sources/CLazyLibs), not at start-up: a run that needs neither
/// PostgreSQL nor HTTP never loads libpq, libcurl and their trees. Every probe asks `loadError` before its first
/// call into the library and reports a failure as its own error.
public enum NativeLibrary: String, Sendable, CaseIterable {
    case libpq, libcurl

    /// The real library's soname.
    public var soname: String {
        switch self {
        case .libpq: "libpq.so.5"
        case .libcurl: "libcurl.so.4"
        }
    }

    /// nil once the library is open with every function preflight calls; else one line, e.g.
    /// "cannot load libpq (libpq.so.5): libpq.so.5: cannot open shared object file: …; install libpq5".
    /// The first call loads it (once per process); later calls give the same answer.
    public var loadError: String? {
        switch self {
        case .libpq: ask { preflight_libpq_load($0, $1) }
        case .libcurl: ask { preflight_libcurl_load($0, $1) }
        }
    }

    /// The same loader on another soname, leaving the process's table alone: a missing library or one that is
    /// not this one (tests).
    public func loadError(soname: String) -> String? {
        switch self {
        case .libpq: ask { preflight_libpq_load_from(soname, $0, $1) }
        case .libcurl: ask { preflight_libcurl_load_from(soname, $0, $1) }
        }
    }

    private func ask(_ load: (UnsafeMutablePointer<CChar>, Int) -> Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 640)
        let rc = buffer.withUnsafeMutableBufferPointer { load($0.baseAddress!, $0.count) }
        guard rc != 0 else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? "cannot load \(rawValue) (\(soname))" : text
    }
}
