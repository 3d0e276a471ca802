import Foundation
import Testing
@testable import PreflightChecks
@testable import PreflightCore
@testable import PreflightProbes

/// A missing libcurl (`NativeLibrary`, tested with the probes) is the health check's failure with the install fix.
@Suite struct NativeLibraryInTheHealthCheck {
    @Test func aMissingLibcurlFailsTheHealthCheckWithTheInstallFix() {
        let check = HealthCheck(probes: Probes())
        let f = HTTPExchange.Failure(code: HTTPExchange.Failure.libraryMissing,
                                     message: "cannot load libcurl (libcurl.so.4): libcurl.so.4: cannot open shared object file: No such file or directory; install libcurl4",
                                     connected: false)
        let out = check.transportFailure(f, url: "http://127.0.0.1:1/health", context: context(config(target: "http://127.0.0.1:1")),
                                         evidence: Evidence())
        #expect(out.status == .fail)
        #expect(out.summary.hasPrefix("preflight cannot send HTTP requests: cannot load libcurl (libcurl.so.4)"), "\(out.summary)")
        #expect(out.fix?.hasPrefix("install libcurl4") == true)
    }
}
