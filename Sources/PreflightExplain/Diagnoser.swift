import PreflightCore

/// Turns the facts of one run into named signatures, most important first.
enum Diagnoser {
    static func diagnose(_ f: RunFacts) -> [Diagnosis] {
        var out: [Diagnosis] = []
        if f.requestsByEndpoint != nil {
            out += perRequest(f)
        } else if let inferred = inferredRefusal(f) {
            out.append(inferred)
        }
        if let d = unchecked(f) { out.append(d) }
        if let d = grpc(f) { out.append(d) }
        if let d = dropped(f) { out.append(d) }
        if let d = thresholds(f, after: out) { out.append(d) }
        return out.sorted { a, b in a.share != b.share ? a.share > b.share : a.signature.rank < b.signature.rank }
    }

    /// Which signature a k6 error code belongs to, through Core's vocabulary (`FailureKind`).
    static func signature(forCode code: Int, error: String? = nil) -> Signature {
        Signature(FailureKind.classify(code: code, error: error))
    }

    private static func ofRequests(_ n: Int, _ f: RunFacts) -> String {
        "\(formatCount(n)) of \(formatCount(f.requests)) requests (\(formatPercent(Double(n) / Double(max(f.requests, 1)))))"
    }

    private static func perRequest(_ f: RunFacts) -> [Diagnosis] {
        var groups: [Signature: [CodeStats]] = [:]
        for stats in f.codeStats { groups[stats.signature, default: []].append(stats) }
        let endpoints = f.requestsByEndpoint ?? [:]
        var out: [Diagnosis] = []
        for (sig, members) in groups {
            let count = members.reduce(0) { $0 + $1.count }
            let first = members.map(\.firstOffset).min() ?? 0
            let last = members.map(\.lastOffset).max() ?? 0
            let target = members.compactMap(\.target).first ?? "the target"
            var byEndpoint: [String: Int] = [:]
            for m in members { byEndpoint.merge(m.endpoints, uniquingKeysWith: +) }
            // The kinds by how many requests they failed: the first names the group's sentence.
            var byKind: [FailureKind: Int] = [:]
            for m in members { byKind[m.kind, default: 0] += m.count }
            let kinds = byKind.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.id < $1.key.id }.map(\.key)
            let kind = kinds[0]
            var byCode: [Int: Int] = [:]
            for m in members { byCode[m.code, default: 0] += m.count }
            let codes = byCode.keys.sorted().map(String.init).joined(separator: ", ")
            let top = byEndpoint.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }

            var ev = Evidence()
            ev["failed_requests"] = .int(count)
            ev["requests"] = .int(f.requests)
            for code in byCode.keys.sorted() { ev["error_code_\(code)"] = .int(byCode[code]!) }
            ev["kind"] = .string(kinds.map(\.id).joined(separator: ", "))
            if let e = members.sorted(by: { $0.count > $1.count }).compactMap(\.error).first { ev["error"] = .string(e) }
            for (ep, n) in top.prefix(3) {
                let total = endpoints[ep]?.total ?? n
                ev["endpoint \(ep)"] = .string("\(formatCount(n)) of \(formatCount(total)) (\(formatPercent(Double(n) / Double(max(total, 1)))))")
            }
            ev["first_failure_s"] = .double(rounded(first))
            ev["last_failure_s"] = .double(rounded(last))
            let okBefore = members.map(\.succeededBefore).min() ?? 0
            // A clean start counts when, at the rate they failed from then on, that many successes in a row would
            // be unlikely (5 failures expected): 150 successes then 90 % refused is mid-run, 2 then 50 % is not.
            let rateAfter = Double(count) / Double(max(1, f.requests - okBefore))
            let midRun = first > 0 && Double(okBefore) * rateAfter >= 5
            let timing = midRun
                ? "mid-run: failures began at +\(formatSeconds(first)), after \(formatCount(okBefore)) requests had succeeded"
                : onset(first: first, last: last, span: f.runSpan)
            if let timing { ev["onset"] = .string(timing) }

            let n = ofRequests(count, f)
            let (topName, topCount) = top.first.map { ($0.key, $0.value) } ?? ("(unnamed)", count)
            let topTotal = endpoints[topName]?.total ?? topCount
            let onTop = "\(formatCount(topCount)) on \(topName) (\(formatPercent(Double(topCount) / Double(max(topTotal, 1)))) of its requests)"
            var summary: String
            var fix: String
            switch sig {
            case .connectionRefused where midRun:
                summary = "\(n) were refused from +\(formatSeconds(first)) to +\(formatSeconds(last)): \(target) stopped listening mid-run, it was up at the start"
                fix = "the service died or restarted during the test: look at its log and `dmesg` (OOM killer) around +\(formatSeconds(first)); `preflight exec` watches the listener"
            case .connectionRefused:
                summary = "\(n) were refused: nothing listened on \(target)"
                fix = "start the server before the run: `preflight` with the port check would have caught it"
            case .dialTimeout:
                summary = "\(n) timed out connecting to \(target)"
                fix = "check the address and any firewall: `preflight` with the port check would have caught it"
            case .requestTimeout:
                summary = "\(n) timed out waiting for a response (k6 error 1050), \(onTop)"
                fix = "the server was too slow or stuck: run `preflight` with the health check, and compare the script's timeout with the server's latency"
            case .dns:
                summary = "\(n) failed to resolve \(target)"
                fix = "fix the host name in the script: `preflight` with the port check resolves it before the run"
            case .connectionReset:
                summary = "\(n) were reset by the server at \(target)"
                fix = "the server dropped connections (crash, restart or a connection limit): run `preflight` with the health check, and the database and pool checks"
            case .tls:
                summary = "\(n) failed the TLS handshake with \(target)"
                fix = "fix the certificate or the script's TLS options: run `preflight` with the health check against the https URL"
            case .rateLimited:
                summary = "\(n) were rate limited (429), \(onTop)"
                fix = "the server's rate limiter rejected the load: raise or disable it for the test; `preflight` with the rate-limit check would have caught it"
            case .serverErrors:
                summary = "\(n) got 5xx, \(onTop)"
                fix = "the server failed under load: run `preflight` with the health check, and the database and pool checks if its log says `too many clients already`"
            case .clientErrors:
                summary = "\(n) got 4xx, \(onTop)"
                let concentrated = Double(topCount) >= 0.8 * Double(count)
                fix = concentrated
                    ? "4xx concentrated on \(topName): suspect the script's parameters, run `preflight` with the script check"
                    : "the server rejected the script's requests: check auth and payloads, run `preflight` with the script check"
            case .invalidURL:
                summary = "\(n) had no valid URL (k6 error \(codes)): \(kind.meaning)"
                fix = "set the base URL the script builds its URLs from (`-e` or load.env in preflight.yml): `preflight` with the script check reads the script's URLs"
            case .generatorLimit:
                summary = "\(n) failed on the load generator (k6 error \(codes)): \(kind.meaning)"
                fix = kinds.contains(.fileDescriptorLimit)
                    ? "raise the open-file limit where k6 runs (`ulimit -n`, at least VUs x connections per VU + 100): `preflight` with the generator check measures it"
                    : "widen the local port range (net.ipv4.ip_local_port_range), keep connections alive (no noConnectionReuse), or spread the VUs over more generators"
            case .blocked:
                summary = "\(n) were blocked by the script's own options (k6 error \(codes)): \(kind.meaning)"
                fix = "remove the target from the script's blacklistIPs / blockHostnames options"
            case .notHTTP:
                summary = "\(n) got an answer from \(target) that is not HTTP (k6 error \(codes)): \(kind.meaning)"
                fix = "point the script at the HTTP service's port: `preflight` with the health check asks the target over HTTP"
            case .http2:
                summary = "\(n) failed in HTTP/2 with \(target) (k6 error \(codes)): \(kind.meaning)"
                fix = "the server or a proxy closed HTTP/2 streams or connections: check its concurrent-stream limit and restarts around +\(formatSeconds(first))"
            case .networkErrors:
                summary = "\(n) failed on the network with \(target) (k6 error \(codes)): \(kind.meaning)"
                fix = "the error text says which system call failed: run `preflight` with the port and health checks against the target"
            case .otherErrors:
                summary = "\(n) failed with k6 error \(codes): \(kind.meaning)"
                fix = "the error text says what happened: rerun a few VUs with `--http-debug` to see the exchange"
            default:
                continue
            }
            if let timing, timing.hasPrefix("all failures") || (midRun && sig != .connectionRefused) { summary += "; \(timing)" }
            out.append(Diagnosis(signature: sig, share: share(count, f.failedRequests), summary: summary, evidence: ev, fix: fix))
        }
        return out
    }

    /// "all failures in the first 5 s" when the run went on long after them.
    private static func onset(first: Double, last: Double, span: Double?) -> String? {
        guard let span, span >= 10 else { return nil }
        if last <= 5 { return "all failures in the first 5 s of \(formatSeconds(span)): a thundering herd at start" }
        if first >= span / 2 { return "failures began at +\(formatSeconds(first)) of \(formatSeconds(span)): the server degraded during the run" }
        return nil
    }

    /// From a summary alone: 100% failed, ~0 ms, no data received means nothing answered.
    private static func inferredRefusal(_ f: RunFacts) -> Diagnosis? {
        guard f.requests > 0, Double(f.failedRequests) >= 0.99 * Double(f.requests) else { return nil }
        guard let avg = f.durationAvgMs, avg < 1 else { return nil }
        let perRequest = (f.dataReceivedBytes ?? 0) / Double(f.requests)
        guard perRequest < 50 else { return nil }
        var ev = Evidence()
        ev["failed_requests"] = .int(f.failedRequests)
        ev["requests"] = .int(f.requests)
        ev["http_req_duration_avg_ms"] = .double(rounded(avg))
        ev["data_received_bytes"] = .int(Int(f.dataReceivedBytes ?? 0))
        ev["inferred"] = .string("a summary has no error codes: 100% failed in ~0 ms with no data received")
        return Diagnosis(
            signature: .connectionRefused, share: share(f.failedRequests, f.failedRequests),
            summary: "\(ofRequests(f.failedRequests, f)) failed in \(formatMillis(avg)) with no data received: inferred connection refused",
            evidence: ev,
            fix: "start the server before the run: `preflight` with the port check would have caught it")
    }

    private static func unchecked(_ f: RunFacts) -> Diagnosis? {
        let n = f.failedRequests - f.checkFails
        guard f.failedRequests > 0, n > 0 else { return nil }
        var ev = Evidence()
        ev["failed_requests"] = .int(f.failedRequests)
        ev["failed_checks"] = .int(f.checkFails)
        ev["unchecked"] = .int(n)
        ev["method"] = .string("failed requests minus failed checks: a lower bound")
        return Diagnosis(
            signature: .uncheckedFailures, share: share(n, f.failedRequests),
            summary: "\(formatCount(n)) of \(formatCount(f.failedRequests)) failed requests were not covered by any check",
            evidence: ev,
            fix: f.requestsByEndpoint == nil
                ? "add a status check to every request, and rerun k6 with `--out json` so explain can name the errors"
                : "add a status check to every request: run `preflight` with the script check")
    }

    /// gRPC calls that failed, by their most frequent method and status: the share is of the gRPC calls (k6 counts
    /// none of them in http_req_failed; they show in checks only).
    private static func grpc(_ f: RunFacts) -> Diagnosis? {
        let failed = f.grpcFailures.reduce(0) { $0 + $1.count }
        guard f.grpcCalls > 0, failed > 0, let top = f.grpcFailures.first else { return nil }
        var ev = Evidence()
        ev["grpc_calls"] = .int(f.grpcCalls)
        ev["grpc_failed"] = .int(failed)
        for g in f.grpcFailures.prefix(5) { ev["\(g.method) status \(g.statusName)"] = .int(g.count) }
        let others = f.grpcFailures.count > 1 ? " (and \(f.grpcFailures.count - 1) more method/status pair\(f.grpcFailures.count == 2 ? "" : "s"))" : ""
        return Diagnosis(
            signature: .grpcErrors, share: share(failed, f.grpcCalls),
            summary: "\(formatCount(failed)) of \(formatCount(f.grpcCalls)) gRPC calls (\(formatPercent(Double(failed) / Double(f.grpcCalls)))) failed: \(formatCount(top.count)) \(top.method) answered status \(top.statusName): \(top.meaning.what)\(others); k6 counts them in checks, not in http_req_failed",
            evidence: ev, fix: top.meaning.fix)
    }

    private static func dropped(_ f: RunFacts) -> Diagnosis? {
        guard f.droppedIterations > 0 else { return nil }
        var ev = Evidence()
        ev["dropped_iterations"] = .int(f.droppedIterations)
        ev["iterations"] = .int(f.iterations)
        let scheduled = f.droppedIterations + f.iterations
        return Diagnosis(
            signature: .droppedIterations, share: 0,
            summary: "\(formatCount(f.droppedIterations)) of \(formatCount(scheduled)) scheduled iterations (\(formatPercent(Double(f.droppedIterations) / Double(scheduled)))) were dropped: k6 ran out of VUs because requests took too long",
            evidence: ev,
            fix: "raise maxVUs or find the slow endpoint: run `preflight` with the health check to see the server's latency, and the pool check for connection limits")
    }

    private static func thresholds(_ f: RunFacts, after causes: [Diagnosis]) -> Diagnosis? {
        let crossed = f.thresholds.filter(\.failed)
        guard !crossed.isEmpty else { return nil }
        var ev = Evidence()
        for t in crossed {
            ev["\(t.metric) \(t.expression)"] = t.observed.map { .double(rounded($0)) } ?? .string("crossed")
        }
        let s = crossed.count == 1 ? "" : "s"
        return Diagnosis(
            signature: .thresholds, share: 0,
            summary: "\(crossed.count) threshold\(s) crossed: " + crossed.map(\.line).joined(separator: "; "),
            evidence: ev,
            fix: thresholdFix(crossed, f, causes: causes))
    }

    private static func thresholdFix(_ crossed: [ThresholdResult], _ f: RunFacts, causes: [Diagnosis]) -> String {
        if !causes.isEmpty { return "thresholds are the symptom: fix the signatures above first" }
        if crossed.contains(where: { $0.metric.hasPrefix("http_req_failed") }) && f.requestsByEndpoint == nil {
            return "requests failed but a summary has no error codes: rerun k6 with `--out json` and explain that file to name them"
        }
        return "the server was slower than the thresholds allow: run `preflight` with the health check to measure latency before the run"
    }

    private static func share(_ n: Int, _ of: Int) -> Double {
        of > 0 ? min(1, Double(n) / Double(of)) : 0
    }

    private static func rounded(_ x: Double) -> Double { (x * 10000).rounded() / 10000 }
}
