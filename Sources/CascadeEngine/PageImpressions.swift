import CascadeCore
import CascadeStore

/// The impressions the served-page log implies, for the ranker to learn from when clients report
/// only what users did (clicks, likes, watches), not what they were shown.
///
/// Every item of every page served within the log's period is an impression of the page's user,
/// at the page's time, at its slot. A click sent with the page's request id (or without one, by
/// the same user on the same item soon after) then labels it: the ranker's samples join labels to
/// impressions by user and item within ``RankTraining/labelWindow``, the Photon-style join of seed
/// 003. A client that does report its impressions with the page's request id is not counted
/// twice: such a page is taken from the client's impressions, not from the log. A log without
/// served pages (imported data) is returned unchanged, and the ranker learns from the event
/// history alone. Pages served within ``maturity`` of the newest event are left out: their clicks
/// may still be on the way, and counting them as skipped would teach the ranker that fresh pages
/// do not get clicked. O(events + page items).
public enum PageImpressions {
    static let slack = 1.0
    /// Seconds a page waits, counted back from the newest event, before it counts.
    public static let maturity = 1_800.0

    /// The served pages `train` learns from: those of the log's period, but the last
    /// ``maturity`` seconds.
    public static func pages(of log: EventLog, store: any Store) throws -> [ServedPage] {
        guard log.count > 0 else { return [] }
        return try store.pages(from: log.minTimestamp - slack, to: log.maxTimestamp - maturity)
    }

    /// `log` with the impressions of `pages` (``pages(of:store:)``) appended (positions set), and
    /// how many were added. Pages of users or items without a dense index are skipped.
    public static func joined(log: EventLog, pages: [ServedPage], store: any Store, ids: (users: IdMap, items: IdMap),
                              registry: EventTypeRegistry) throws -> (log: EventLog, added: Int) {
        guard log.count > 0, !pages.isEmpty, let impression = registry.code(of: .impression) else { return (log, 0) }
        // Pages the client reported impressions for (by request id) are the client's.
        let reported = try store.requests(eventType: impression, from: log.minTimestamp - slack, to: log.maxTimestamp + slack)
        var out = log
        var added = 0
        for p in pages where !reported.contains(p.request) {
            guard let u = ids.users.index(of: p.user) else { continue }
            for (slot, id) in p.items.enumerated() {
                guard let i = ids.items.index(of: id) else { continue }
                out.append(user: u, item: i, type: impression, timestamp: p.timestamp, position: slot)
                added += 1
            }
        }
        return (out, added)
    }
}
