import PreflightCore

/// Ties each signature's onset to what `preflight exec`'s watcher saw at that moment: the listener gone, the
/// pool's connections all busy, max_connections reached, sessions waiting on a lock, the health endpoint down.
enum SampleCorrelation {
    /// A sample at its offset from k6's first request (seconds; negative before it).
    struct Seen {
        let at: Double
        let sample: WatchSample
    }

    /// The samples on k6's clock: by wall clock when the k6 output has one, else from the watch's start.
    static func aligned(_ samples: WatchSamples, startUnix: Double?) -> [Seen] {
        samples.samples.map { s in Seen(at: startUnix.map { s.unix - $0 } ?? s.t, sample: s) }
    }

    static func annotate(_ diagnosis: inout [Diagnosis], samples: WatchSamples, facts: RunFacts) {
        let seen = aligned(samples, startUnix: facts.startUnix)
        guard !seen.isEmpty else { return }
        let interval = samples.header.intervalS
        let port = samples.header.target.flatMap { $0.split(separator: ":").last.map(String.init) } ?? "the target port"
        for i in diagnosis.indices {
            let d = diagnosis[i]
            if d.signature == .grpcErrors, let story = grpcStory(seen) {
                diagnosis[i].summary += "; " + story
                diagnosis[i].evidence["watch"] = .string(story)
                continue
            }
            guard case .double(let firstFailure)? = d.evidence["first_failure_s"] else { continue }
            let first = burst(of: d.signature, in: facts.timeline) ?? firstFailure
            var sentences: [String] = []
            var cause: String?
            switch d.signature {
            case .connectionRefused, .connectionReset, .dialTimeout:
                // A slow /proc walk on a loaded machine can miss a few ticks: the first sample that saw it gone counts.
                if let (s, sentence, died) = listenerStory(seen, port: port, before: first + max(2, 4 * interval)) {
                    sentences.append(sentence)
                    diagnosis[i].evidence["watch_listener_gone_s"] = .double(round1(s))
                    if died { cause = "the service died during the test" }
                } else if let never = neverListened(seen, port: port) {
                    sentences.append(never)
                    cause = "the service never started"
                }
            default:
                break
            }
            if cause == nil, [.serverErrors, .requestTimeout, .connectionReset, .clientErrors].contains(d.signature) || d.signature == .rateLimited {
                if let (sentence, why) = databaseStory(seen, around: first, interval: interval) {
                    sentences.append(sentence)
                    cause = why
                }
            }
            if sentences.isEmpty, let h = healthStory(seen, around: first, interval: interval) { sentences.append(h) }
            guard !sentences.isEmpty else { continue }
            let told = sentences.joined(separator: "; ") + (cause.map { ": \($0)" } ?? "")
            diagnosis[i].summary += "; " + told
            diagnosis[i].evidence["watch"] = .string(told)
            if let cause { diagnosis[i].evidence["watch_cause"] = .string(cause) }
        }
    }

    /// "at 6.1 s the gRPC server's health went from SERVING to NOT_SERVING" (or to an error: it stopped answering):
    /// the first gRPC health sample that is not SERVING after one that was.
    static func grpcStory(_ seen: [Seen]) -> String? {
        var serving = false
        for s in seen {
            guard let g = s.sample.grpc, g.busy != true else { continue }
            if g.state == "SERVING" { serving = true; continue }
            guard serving else { continue }
            return "at \(formatOffset(s.at)) the gRPC server's health went from SERVING to \(g.state ?? "no answer (\(g.error ?? "error"))")"
        }
        return nil
    }

    /// Where the signature's failures really began: the first second with at least a fifth of its busiest
    /// second's failures, so a stray early failure does not pull the story to the start of the run.
    static func burst(of signature: Signature, in timeline: Timeline?) -> Double? {
        guard let counts = timeline?.failures[signature.rawValue], let peak = counts.max(), peak > 0 else { return nil }
        return counts.firstIndex { $0 * 5 >= peak }.map(Double.init)
    }

    /// "at 6.1 s nothing listened on 3001 any more (pid 4242 exited)": the first sample without the listener
    /// (or refused) after one with it, no later than the failures' onset plus one interval.
    static func listenerStory(_ seen: [Seen], port: String, before limit: Double) -> (Double, String, Bool)? {
        var up: ListenerSample?
        var wasOpen = false
        for s in seen {
            if let l = s.sample.listener, l.state == "present" { up = up ?? l }
            if s.sample.port?.state == "open" { wasOpen = true }
            let gone = s.sample.listener?.state == "gone" || (s.sample.listener == nil && s.sample.port?.state == "refused")
            guard gone, up != nil || wasOpen else { continue }
            guard s.at <= limit else { return nil }
            let who = up.map { l in l.pid.map { "\(l.process.map { "\($0) " } ?? "")pid \($0) exited" } ?? "its process exited" }
            return (s.at, "at \(formatOffset(s.at)) nothing listened on \(port) any more\(who.map { " (\($0))" } ?? "")", true)
        }
        return nil
    }

    static func neverListened(_ seen: [Seen], port: String) -> String? {
        let refused = seen.filter { $0.sample.port?.state == "refused" }
        guard !refused.isEmpty, !seen.contains(where: { $0.sample.port?.state == "open" || $0.sample.listener?.state == "present" }) else { return nil }
        return "nothing listened on \(port) in any of the \(formatCount(seen.count)) samples"
    }

    /// The database when the failures began: the busiest application's connections all busy at their peak (its
    /// pool exhausted), the server's max_connections reached, or sessions waiting on a lock.
    static func databaseStory(_ seen: [Seen], around onset: Double, interval: Double) -> (String, String)? {
        let near = seen.filter { $0.at >= onset - 2 * interval - 1 && $0.at <= onset + 2 * interval }
            .filter { $0.sample.db?.connections != nil }
        guard !near.isEmpty else { return nil }
        var lock: String?
        if let w = near.first(where: { ($0.sample.db?.waitingOnLocks ?? 0) > 0 }), let db = w.sample.db {
            let wait = db.lockWaits?.first
            let relation = wait?.relation.map { "\($0) was locked" } ?? "a lock was held"
            let by = wait.map { $0.blockedBy.isEmpty ? "" : " by pid \($0.blockedBy.map(String.init).joined(separator: ", "))" } ?? ""
            let n = db.waitingOnLocks ?? 0
            lock = "at \(formatOffset(w.at)) \(formatCount(n)) session\(n == 1 ? "" : "s") waited on a lock: \(relation)\(by)"
        }
        if let m = near.first(where: { s in
            guard let db = s.sample.db, let max = db.maxConnections, let total = db.total else { return false }
            return total + 3 >= max  // superuser_reserved_connections defaults to 3
        }), let db = m.sample.db {
            let limit = "at \(formatOffset(m.at)) the database had \(formatCount(db.total ?? 0)) of max_connections \(formatCount(db.maxConnections ?? 0)) connections"
            return (lock.map { "\($0); \(limit)" } ?? limit, "the database's connection limit was reached")
        }
        // The pool: the app at its peak of connections for the whole watch near the onset (a pool at its size; the
        // checked-out ones may look idle between two transactions, so busy is shown, not required).
        let all = seen.compactMap { s in s.sample.db.map { (s.at, $0) } }
        var pool: (String, String)?
        if let app = near.compactMap({ $0.sample.db?.busiestApp }).first {
            let peak = all.map { $0.1.connections(of: app) }.max() ?? 0
            let atPeak = near.filter { $0.sample.db.map { $0.connections(of: app) == peak } ?? false }
            // A pool none of whose connections was ever busy near the onset was not exhausted (a run of 403s never
            // reached it): no story, rather than a wrong one.
            if peak >= 2, let hit = atPeak.max(by: { ($0.sample.db?.busy(of: app) ?? 0) < ($1.sample.db?.busy(of: app) ?? 0) }),
               let db = hit.sample.db, db.busy(of: app) > 0 || lock != nil {
                let max = db.maxConnections.map { ", max_connections \(formatCount($0))" } ?? ""
                // An empty application_name would make "held 5 connections … : 's pool": name what it is.
                let name = app.isEmpty ? "an application without application_name" : app
                pool = ("at \(formatOffset(hit.at)) \(name) held \(formatCount(peak)) connections (\(formatCount(db.busy(of: app))) busy), the most it opened in the run\(max)", name)
            }
        }
        switch (lock, pool) {
        case let (lock?, (sentence, app)?): return ("\(lock); \(sentence)", "\(app)'s pool was exhausted by queries waiting on that lock")
        case let (lock?, nil): return (lock, "a lock blocked the application's queries")
        case let (nil, (sentence, app)?): return (sentence, "\(app)'s pool was exhausted")
        case (nil, nil): return nil
        }
    }

    /// The health endpoint's first failure near the onset.
    static func healthStory(_ seen: [Seen], around onset: Double, interval: Double) -> String? {
        guard seen.contains(where: { $0.sample.health?.ok == true }),
              let bad = seen.first(where: { s in
                  guard let h = s.sample.health, h.busy != true else { return false }
                  return !h.ok && s.at >= onset - 2 * interval - 1
              }), bad.at <= onset + 2 * interval, let h = bad.sample.health else { return nil }
        let what = h.status.map { "answered \($0)" } ?? "failed (\(h.error ?? "no answer"))"
        return "health \(what) at \(formatOffset(bad.at))"
    }

    static func formatOffset(_ s: Double) -> String { s < 0 ? "the start" : formatSeconds(s) }
    static func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
}
