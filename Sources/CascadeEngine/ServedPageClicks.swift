import CascadeCore
import CascadeStore

/// Which items of served pages were clicked: a click carrying the page's request id, else a click
/// by the page's user on the item within ``RankTraining/labelWindow`` after the page (seed 003's
/// Photon join, for clients that do not send the id back). O(clicks) to build, O(1) a lookup.
public struct ServedPageClicks: Sendable {
    var byRequest = Set<String>()
    var byUserItem: [String: [Double]] = [:]

    /// The clicks stored from `from` to `to` plus the label window.
    public init(store: any Store, from: Double, to: Double) throws {
        for e in try store.events(from: from, to: to + RankTraining.labelWindow) where e.type == .click {
            if let r = e.request { byRequest.insert(r + "\u{1F}" + e.item) }
            byUserItem[e.user + "\u{1F}" + e.item, default: []].append(e.timestamp)
        }
    }

    /// 1 when `item` of `page` was clicked, else 0.
    public func clicked(_ page: ServedPage, _ item: String) -> Double {
        if byRequest.contains(page.request + "\u{1F}" + item) { return 1 }
        let w = RankTraining.labelWindow
        return byUserItem[page.user + "\u{1F}" + item]?.contains { $0 >= page.timestamp && $0 <= page.timestamp + w } == true ? 1 : 0
    }
}
