import Testing
import PreflightCore

@Suite struct FailureKindTests {
    /// Every code k6's error_codes.go defines, with the constant's name there.
    static let k6Table: [(Int, String)] = [
        (1000, "defaultErrorCode"), (1010, "defaultNetNonTCPErrorCode"), (1020, "invalidURLErrorCode"),
        (1050, "requestTimeoutErrorCode"), (1100, "defaultDNSErrorCode"), (1101, "dnsNoSuchHostErrorCode"),
        (1110, "blackListedIPErrorCode"), (1111, "blockedHostnameErrorCode"), (1200, "defaultTCPErrorCode"),
        (1201, "tcpBrokenPipeErrorCode"), (1202, "netUnknownErrnoErrorCode"), (1210, "tcpDialErrorCode"),
        (1211, "tcpDialTimeoutErrorCode"), (1212, "tcpDialRefusedErrorCode"), (1213, "tcpDialUnknownErrnoCode"),
        (1220, "tcpResetByPeerErrorCode"), (1300, "defaultTLSErrorCode"), (1301, "tlsHeaderErrorCode"),
        (1310, "x509UnknownAuthorityErrorCode"), (1311, "x509HostnameErrorCode"),
        (1610, "unknownHTTP2GoAwayErrorCode"), (1630, "unknownHTTP2StreamErrorCode"),
        (1650, "unknownHTTP2ConnectionErrorCode"), (1701, "responseDecompressionErrorCode"),
    ]

    @Test func everyCodeOfK6sTableHasItsKind() {
        for (code, name) in Self.k6Table {
            let k = FailureKind.classify(code: code)
            #expect(k.k6Name == name, "\(code)")
            #expect(k.codes.contains { $0.contains(code) }, "\(code)")
            #expect(!k.meaning.isEmpty && !k.meaning.hasSuffix("."), "\(code)")
        }
        let ids = FailureKind.all.map(\.id)
        #expect(Set(ids).count == ids.count)
    }

    @Test func statusesAreKinds() {
        #expect(FailureKind.classify(code: 1429) == .rateLimited)
        #expect(FailureKind.classify(code: nil, status: 429) == .rateLimited)
        #expect(FailureKind.classify(code: 1401) == .authRejected)
        #expect(FailureKind.classify(code: 1403) == .authRejected)
        #expect(FailureKind.classify(code: 1404) == .clientError)
        #expect(FailureKind.classify(code: 1502) == .serverError)
        #expect(FailureKind.rateLimited.httpStatus == 429)
        #expect(FailureKind.serverError.k6 == "500")
    }

    @Test func textTellsApartWhatTheCodeLumpsTogether() {
        #expect(FailureKind.classify(code: 1213, error: "dial: unknown errno 24 error with msg `too many open files`") == .fileDescriptorLimit)
        #expect(FailureKind.classify(code: 1213, error: "dial: unknown errno 99 error with msg `cannot assign requested address`") == .ephemeralPorts)
        #expect(FailureKind.classify(code: 1213, error: "dial: unknown errno 113 error with msg `no route to host`") == .dialErrno)
        #expect(FailureKind.classify(code: 1000, error: "unsupported protocol scheme \"\"") == .unsupportedScheme)
        #expect(FailureKind.classify(code: 1000, error: "malformed HTTP status code \"OK-ish\"") == .notHTTP)
        #expect(FailureKind.classify(code: 1000, error: "anything else") == .generic)
        // Unknown codes fall back to their range; no code at all, to the text.
        #expect(FailureKind.classify(code: 1399) == .tls)
        #expect(FailureKind.classify(code: 1699) == .http2)
        #expect(FailureKind.classify(code: 4242) == .generic)
        #expect(FailureKind.classify(code: nil, error: "read: connection reset by peer") == .connectionReset)
    }

    @Test func anEffectsK6FieldReadsBack() {
        for k in FailureKind.all where k != .generic {
            #expect(FailureKind.classify(k6: k.k6) == k, "\(k.k6)")
        }
        #expect(FailureKind.connectionRefused.k6 == "1212 dial: connection refused")
        #expect(FailureKind.classify(k6: "1211 dial timeout") == .dialTimeout)
        #expect(FailureKind.classify(k6: "x509: certificate has expired or is not yet valid") == .certificateInvalid)
        #expect(FailureKind.classify(k6: "") == nil)
    }
}
