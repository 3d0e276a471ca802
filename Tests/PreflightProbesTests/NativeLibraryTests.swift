import Foundation
import Testing
@testable import PreflightCore
@testable import PreflightProbes

/// libpq and libcurl are opened on first use (Sources/CLazyLibs): the real ones load, and a library that is
/// missing or is not the one expected gives one line naming it and the package to install, never a crash.
@Suite struct NativeLibraryLoading {
    @Test func theRealLibrariesLoadWithEveryFunctionPreflightCalls() {
        #expect(NativeLibrary.libpq.loadError == nil)
        #expect(NativeLibrary.libcurl.loadError == nil)
        #expect(NativeLibrary.libpq.loadError(soname: "libpq.so.5") == nil)
        #expect(NativeLibrary.libcurl.loadError(soname: "libcurl.so.4") == nil)
    }

    @Test func aMissingLibpqIsOneLineNamingItAndThePackage() throws {
        let e = try #require(NativeLibrary.libpq.loadError(soname: "libpq-preflight-missing.so.5"))
        #expect(e.hasPrefix("cannot load libpq (libpq-preflight-missing.so.5): "), "\(e)")
        #expect(e.contains("cannot open shared object file"), "dlerror's own words: \(e)")
        #expect(e.hasSuffix("; install libpq5"), "\(e)")
        #expect(!e.contains("\n"))
        // The process's own table is untouched: the real library still answers.
        #expect(NativeLibrary.libpq.loadError == nil)
    }

    @Test func aMissingLibcurlIsOneLineNamingItAndThePackage() throws {
        let e = try #require(NativeLibrary.libcurl.loadError(soname: "libcurl-preflight-missing.so.4"))
        #expect(e.hasPrefix("cannot load libcurl (libcurl-preflight-missing.so.4): "), "\(e)")
        #expect(e.hasSuffix("; install libcurl4"), "\(e)")
        #expect(NativeLibrary.libcurl.loadError == nil)
    }

    @Test func aLibraryWithoutTheFunctionsNamesTheFirstMissingOne() throws {
        // libc loads, but is neither libpq nor libcurl.
        let pq = try #require(NativeLibrary.libpq.loadError(soname: "libc.so.6"))
        #expect(pq == "cannot load libpq (libc.so.6): it has no PQcancel; install libpq5")
        let curl = try #require(NativeLibrary.libcurl.loadError(soname: "libc.so.6"))
        #expect(curl == "cannot load libcurl (libc.so.6): it has no curl_easy_cleanup; install libcurl4")
    }

    @Test func aMissingLibpqIsPreflightsOwnSentenceNotADatabaseFailure() throws {
        let url = try #require(DatabaseURL.parse("postgresql://app:pw@127.0.0.1:5432/app").0)
        // dlerror for a missing dependency names it: "libssl.so.3: cannot open …" must not read as an SSL mismatch.
        let e = PostgresError("cannot load libpq (libpq.so.5): libssl.so.3: cannot open shared object file: No such file or directory; install libpq5")
        let s = e.sentence(for: url, timeout: .seconds(2))
        #expect(s.summary.hasPrefix("preflight cannot talk to PostgreSQL: cannot load libpq (libpq.so.5): libssl.so.3"), "\(s.summary)")
        #expect(s.fix.hasPrefix("install libpq5"), "\(s.fix)")
    }
}
