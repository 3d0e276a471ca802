/// What one k6 run tells us, whatever file it came from; the diagnoser reads only this.
struct RunFacts: Sendable {
    enum Source: String, Sendable { case summaryExport = "--summary-export", handleSummary = "handleSummary data", outJSON = "--out json" }

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
    /// Only from `--out json`: requests by endpoint (the `name` tag, else the url).
    var requestsByEndpoint: [String: EndpointCounts]? = nil
    var failuresByCode: [Int: Int] = [:]
    var failuresByStatus: [Int: Int] = [:]
    /// Per k6 error code: count, first/last offset from the first request, a target, an error text.
    var codeStats: [Int: CodeStats] = [:]
    /// Seconds from the first to the last request.
    var runSpan: Double?
    /// Only from `--out json`: the first request's wall clock, and the run second by second.
    var startUnix: Double?
    var timeline: Timeline?
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
struct ThresholdResult: Sendable, Equatable {
    var metric: String
    var expression: String
    var failed: Bool
    var observed: Double?
}
