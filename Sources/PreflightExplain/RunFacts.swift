import PreflightCore

/// What one k6 run tells us, whatever file it came from; the diagnoser reads only this.
struct RunFacts: Sendable {
    enum Source: String, Sendable { case summaryExport = "--summary-export", handleSummary = "handleSummary data", outJSON = "--out json", outCSV = "--out csv" }

    var source: Source
    var requests = 0
    var failedRequests = 0
    var checkPasses = 0
    var checkFails = 0
    var iterations = 0
    var droppedIterations = 0
    var dataReceivedBytes: Double?
    var durationAvgMs: Double?
    var thresholds: [ThresholdResult] = []
    /// Only from `--out json` or `--out csv`: requests by endpoint (the `name` tag, else the url).
    var requestsByEndpoint: [String: EndpointCounts]? = nil
    var failuresByCode: [Int: Int] = [:]
    var failuresByStatus: [Int: Int] = [:]
    /// Per k6 error code and failure kind: count, first/last offset from the first request, a target, an error text.
    var codeStats: [CodeStats] = []
    /// Seconds from the first to the last request.
    var runSpan: Double?
    /// Only from `--out json` or `--out csv`: gRPC calls (`grpc_req_duration` points), and those whose `status` tag
    /// was not 0 (OK), by method and status. k6 counts none of them in `http_req_failed` (grafana/k6#3164).
    var grpcCalls = 0
    var grpcFailures: [GRPCFailure] = []
    /// Only from `--out json`: the first request's wall clock, and the run second by second.
    var startUnix: Double?
    var timeline: Timeline?
}

/// gRPC calls of one method that ended with one non-OK status.
struct GRPCFailure: Sendable, Equatable {
    var method: String
    var status: Int
    var count: Int

    /// grpc-go's codes, as k6's `grpc.Status…` constants name them.
    static let names = ["OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
                        "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
                        "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"]
    var statusName: String { status >= 0 && status < Self.names.count ? "\(status) \(Self.names[status])" : "\(status)" }

    /// What the status usually means for a load test, and the next step.
    var meaning: (what: String, fix: String) {
        switch status {
        case 12: return ("the server does not implement \(method)", "deploy the server version that implements \(method) (or invoke a method it has): `preflight` with the grpc check compares the script's methods with the server's")
        case 14: return ("the server was unavailable (not listening, restarting, or refusing streams)", "check that the gRPC server stays up through the run: `preflight exec` watches it")
        case 4: return ("calls ran past their deadline", "find the slow handler, or raise the invoke's timeout param")
        case 8: return ("the server ran out of a resource (a stream or rate limit)", "raise the server's limit (max concurrent streams, rate limit) or lower the rate")
        case 16, 7: return ("the server refused the credentials", "send valid credentials in the invoke's metadata")
        case 3: return ("the server rejected the request message", "send what the method expects: compare the script's .proto with the server's")
        case 5: return ("the server found no such resource", "seed the data the script asks for")
        default: return ("the server answered \(statusName)", "read the server's log for these calls")
        }
    }
}

/// Requests of one endpoint (the `name` tag, else the url) by outcome.
struct EndpointCounts: Sendable, Equatable {
    var total = 0
    var failed = 0
    var status4xx = 0
    var status5xx = 0
    var status429 = 0
}

/// One threshold of one metric, as k6 judged it, with the value that judged it when known.
public struct ThresholdResult: Sendable, Equatable {
    public var metric: String
    public var expression: String
    public var failed: Bool
    public var observed: Double?
}
