import CascadeCore
import CascadeEval
import CascadeStore

/// The position curve of a deployment, measured on the slots its exploration randomised: in a
/// served page with propensities (``EpsilonExploration``), an item below the page's highest
/// propensity was drawn from the pool at random, whatever the slot, so the clicks on those items
/// by slot follow the examination curve alone (``PositionCurveEstimate``). Clicks join their page
/// by request id, else by user and item within a day (``ServedPageClicks``). A page whose items
/// all share one propensity tells nothing apart and is skipped.
public enum ExploredPositionCurve {
    /// Fewest explored impressions a measured curve is trusted from.
    public static let minimumImpressions = 1_000

    /// The curve over `slots` slots from `served` (clicks read from `store`); nil when they hold
    /// fewer than ``minimumImpressions`` explored impressions, or none clicked.
    public static func measure(pages served: [ServedPage], store: any Store, slots: Int = 10) throws -> PositionCurveEstimate.Result? {
        let pages = served.filter { $0.propensities != nil }
        guard slots >= 2, let from = pages.map(\.timestamp).min(), let to = pages.map(\.timestamp).max() else { return nil }
        let clicks = try ServedPageClicks(store: store, from: from, to: to)
        var shown = [Int](repeating: 0, count: slots), clicked = [Double](repeating: 0, count: slots)
        for p in pages {
            guard let q = p.propensities, q.count == p.items.count, let top = q.max(), q.contains(where: { $0 < top }) else { continue }
            for (k, item) in p.items.enumerated() where k < slots && q[k] < top {
                shown[k] += 1
                clicked[k] += clicks.clicked(p, item)
            }
        }
        guard shown.reduce(0, +) >= minimumImpressions else { return nil }
        return try? PositionCurveEstimate.fit(shown: shown, clicks: clicked)
    }
}
