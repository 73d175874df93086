import Foundation
import CascadeCore

/// Events drawn in session order, before they are put in time order. Fixed capacity, allocated
/// once; appends never allocate.
final class StagingLog {
    let capacity: Int
    let users: UnsafeMutablePointer<Int32>
    let items: UnsafeMutablePointer<Int32>
    let types: UnsafeMutablePointer<UInt8>
    /// Milliseconds since the start of the period.
    let millis: UnsafeMutablePointer<Int64>
    let values: UnsafeMutablePointer<Float>
    /// Impression truths; `event` is the staging index until the log is sorted.
    let truths: UnsafeMutablePointer<ImpressionTruth>
    var count = 0
    var truthCount = 0

    init(capacity: Int) {
        self.capacity = capacity
        let c = max(1, capacity)
        users = .allocate(capacity: c); items = .allocate(capacity: c); types = .allocate(capacity: c)
        millis = .allocate(capacity: c); values = .allocate(capacity: c); truths = .allocate(capacity: c)
    }

    deinit {
        users.deallocate(); items.deallocate(); types.deallocate()
        millis.deallocate(); values.deallocate(); truths.deallocate()
    }

    @inline(__always)
    func append(user: Int32, item: Int32, type: UInt8, millis t: Int64, value: Float = .nan) {
        let k = count
        users[k] = user; items[k] = item; types[k] = type; millis[k] = t; values[k] = value
        count = k + 1
    }
}

/// Draws the sessions of a world and the events they produce.
///
/// Sessions: session `k` starts at `rhythm.time(atFraction: n_k / N)` where `n_k` is the number of
/// events logged before it and `N` the target, so sessions follow the daily and weekly rhythm, are
/// in start order, and the log fills the whole period. Its user is drawn by activity (alias
/// table). A session shows a page of `pageSize` impressions, then another page with probability
/// `min(0.85, 0.35 + 0.25 * clicks on the page)`, up to `maxPages` pages.
///
/// With `policy.rankedPages` the page's items are ordered by the policy's estimate (or, with
/// `policy.rankedBy` popularity, by the items' decayed clicks), best first.
/// Within a page (times in milliseconds; `U` uniform in [0, 1)):
/// - impressions at page time + slot index; each slot is examined with probability `e(slot)` and
///   an examined slot is clicked with probability `sigmoid(z)` at the page time (``GroundTruth``);
///   an examined, unclicked slot draws a dislike;
/// - after a scan of `800 + 2400 U`, each dislike `300 + 1200 U` apart, then each click in slot
///   order `1000 + 4000 U` after the previous activity; a click is followed at fractions
///   0.5, 0.6, 0.7, 0.8, 0.9 of its watch time by like, favorite, share, comment and follow (each
///   drawn with its own conditional probability; follow only of authors not yet followed), by the
///   watch event (value = seconds watched) at the end of the watch and by completion 1 ms later when
///   the watch reached the item's length;
/// - the next page comes `1000 + 3000 U` after the last activity.
/// Times past the end of the period are clamped to its last millisecond (rare, last sessions only).
/// The log stops before the first page that might not fit in the target count.
struct SessionSimulator {
    let config: SimConfig
    let truth: GroundTruth

    func run(progress: ((Double) -> Void)?) -> StagingLog {
        let n = config.events, pageSize = config.pageSize
        let staging = StagingLog(capacity: n)
        let maxPageEvents = pageSize * 9
        guard n >= maxPageEvents else { return staging }

        let registry = EventTypeRegistry()
        func code(_ t: EventType) -> UInt8 { registry.code(of: t)! }
        let cImpression = code(.impression), cClick = code(.click), cLike = code(.like)
        let cFavorite = code(.favorite), cShare = code(.share), cComment = code(.comment)
        let cFollow = code(.followAuthor), cDislike = code(.dislike), cWatch = code(.watch)
        let cCompletion = code(.completion)

        let rhythm = ActivityRhythm(start: config.start, duration: config.duration)
        let users = AliasTable(weights: truth.userActivity.map(Double.init))
        var policy = LoggingPolicy(truth: truth, config: config.policy, cities: config.cities,
                                   seed: config.seed, start: config.start)
        var sr = Xoshiro256(seed: config.seed, stream: WorldBuilder.Stream.sessions.rawValue)
        var rr = Xoshiro256(seed: config.seed, stream: WorldBuilder.Stream.responses.rawValue)
        let examination = (0..<pageSize).map { truth.examination(position: $0) }
        let lastMs = Int64((config.duration * 1000).rounded(.down)) - 1
        let start = config.start
        let resp = config.response
        var dynamicFollows = Set<UInt64>()

        // Per-page scratch, reused.
        var slotItem = [Int32](repeating: 0, count: pageSize)
        var slotSource = [ImpressionSource](repeating: .explore, count: pageSize)
        var slotTruth = [Int](repeating: 0, count: pageSize)
        var slotAffinity = [Float](repeating: 0, count: pageSize)
        var slotClicked = [Bool](repeating: false, count: pageSize)
        var slotDisliked = [Bool](repeating: false, count: pageSize)

        var virtual = 0.0          // events logged plus allowance for empty sessions
        var nextReport = n / 100
        @inline(__always) func clamp(_ t: Int64) -> Int64 { min(t, lastMs) }

        sessions: while n - staging.count >= maxPageEvents && virtual < Double(n) {
            let t0 = rhythm.time(atFraction: virtual / Double(n))
            policy.advance(to: t0)
            let u = users.sample(&sr)
            let u32 = Int32(u)
            var cursor = Int64(((t0 - start) * 1000).rounded(.down))
            let before = staging.count
            for _ in 0..<config.maxPages {
                if n - staging.count < maxPageEvents { break sessions }
                let pageMs = cursor
                let pageTime = start + Double(pageMs) / 1000
                // Choose the whole page first, then draw the responses: the responses of different
                // slots are independent, so their memory reads overlap.
                var shown = 0
                while shown < pageSize, let (item, source) = policy.choose(user: u, time: t0, &sr) {
                    slotItem[shown] = item; slotSource[shown] = source
                    shown += 1
                }
                if config.policy.rankedPages && shown > 1 {
                    let scores = (0..<shown).map { k -> Float in
                        config.policy.rankedBy == .popularity ? Float(policy.popular.score[Int(slotItem[k])])
                            : policy.score(user: u, item: slotItem[k], time: t0)
                    }
                    let order = (0..<shown).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
                    let items = order.map { slotItem[$0] }, sources = order.map { slotSource[$0] }
                    for k in 0..<shown { slotItem[k] = items[k]; slotSource[k] = sources[k] }
                }
                for slot in 0..<shown {
                    let item = slotItem[slot], i = Int(item)
                    let a = truth.affinity(user: u, item: i)
                    let z = truth.clickLogit(user: u, item: i, affinity: a, time: pageTime)
                    let relevance = GroundTruth.sigmoid(z)
                    let mu = truth.watchMu(item: i, affinity: a)
                    let examined = rr.uniformFloat() < examination[slot]
                    let clicked = examined && rr.uniformFloat() < relevance
                    let disliked = examined && !clicked && rr.uniformFloat() < truth.dislikeGivenSkip(affinity: a)
                    slotAffinity[slot] = a
                    slotClicked[slot] = clicked; slotDisliked[slot] = disliked
                    slotTruth[slot] = staging.truthCount
                    staging.truths[staging.truthCount] = ImpressionTruth(
                        event: Int32(staging.count), position: UInt8(slot), source: slotSource[slot],
                        outcome: clicked ? .clicked : (disliked ? .disliked : []), affinity: a,
                        click: examination[slot] * relevance,
                        likeGivenClick: truth.likeGivenClick(user: u, item: i, affinity: a),
                        shareGivenClick: truth.followUp(resp.share, affinity: a, item: i),
                        finishGivenClick: truth.finishGivenClick(mu: mu))
                    staging.truthCount += 1
                    staging.append(user: u32, item: item, type: cImpression, millis: clamp(pageMs + Int64(slot)))
                }
                if shown == 0 { break }
                cursor = pageMs + Int64(pageSize) + 800 + Int64(2400 * sr.uniform())
                for slot in 0..<shown where slotDisliked[slot] {
                    cursor += 300 + Int64(1200 * sr.uniform())
                    staging.append(user: u32, item: slotItem[slot], type: cDislike, millis: clamp(cursor))
                }
                var clicks = 0
                for slot in 0..<shown where slotClicked[slot] {
                    clicks += 1
                    let item = slotItem[slot], i = Int(item), a = slotAffinity[slot]
                    cursor += 1000 + Int64(4000 * sr.uniform())
                    let clickMs = cursor
                    staging.append(user: u32, item: item, type: cClick, millis: clamp(clickMs))
                    policy.popular.recordClick(item, at: start + Double(clickMs) / 1000)
                    let logFraction = truth.watchMu(item: i, affinity: a) + resp.watchSpread * rr.normalFloat()
                    let finished = logFraction >= 0
                    let watched = truth.itemLength[i] * Foundation.exp(min(0, logFraction))
                    let watchMs = max(6, Int64((Double(watched) * 1000).rounded()))
                    var outcome = staging.truths[slotTruth[slot]].outcome
                    @inline(__always) func followUp(_ k: Int64, _ p: Float, _ type: UInt8, _ bit: ImpressionOutcome) {
                        guard rr.uniformFloat() < p else { return }
                        staging.append(user: u32, item: item, type: type, millis: clamp(clickMs + max(k, watchMs * (4 + k) / 10)))
                        outcome.insert(bit)
                    }
                    followUp(1, staging.truths[slotTruth[slot]].likeGivenClick, cLike, .liked)
                    followUp(2, truth.followUp(resp.favorite, affinity: a, item: i), cFavorite, .favorited)
                    followUp(3, staging.truths[slotTruth[slot]].shareGivenClick, cShare, .shared)
                    followUp(4, truth.commentGivenClick(user: u, item: i, affinity: a), cComment, .commented)
                    let author = truth.itemAuthor[i]
                    let key = UInt64(UInt32(u32)) << 32 | UInt64(UInt32(author))
                    if !truth.userFollows(u, author: author) && !dynamicFollows.contains(key) {
                        followUp(5, truth.followUp(resp.follow, affinity: a, item: i), cFollow, .followed)
                        if outcome.contains(.followed) { dynamicFollows.insert(key) }
                    }
                    cursor = clickMs + watchMs
                    staging.append(user: u32, item: item, type: cWatch, millis: clamp(cursor), value: watched)
                    if finished {
                        cursor += 1
                        staging.append(user: u32, item: item, type: cCompletion, millis: clamp(cursor))
                        outcome.insert(.finished)
                    }
                    staging.truths[slotTruth[slot]].outcome = outcome
                }
                cursor += 1000 + Int64(3000 * sr.uniform())
                if sr.uniform() >= min(0.85, 0.35 + 0.25 * Double(clicks)) { break }
            }
            let produced = staging.count - before
            virtual += produced > 0 ? Double(produced) : Double(pageSize)
            if let progress, staging.count >= nextReport {
                progress(Double(staging.count) / Double(n))
                nextReport = staging.count + n / 100
            }
        }
        return staging
    }
}
