import CascadeCore
import CascadeEngine
import CascadeEval
import CascadeRecall

/// The direct model of the offline estimates (``OffPolicyEstimate``): the ranker's click
/// probability of an item, placed at a page's slot under the learned position curve, and the
/// estimate of each arm with it recalibrated on the logged pages (``DirectModelCalibration``).
/// What the simulated and the store's estimates share.
struct DirectModel {
    let ranker: OnlineRanker
    let clickTask: Int
    /// Examination per slot relative to the top (the learned curve).
    let examination: [Double]

    /// Throws when the ranker has no click task.
    init(ranker: OnlineRanker, examination: [Double]) throws {
        guard let click = ranker.model.tasks.firstIndex(of: "click") else {
            throw CascadeError.invalid("off-policy estimate: the ranker has no click task to serve as the direct model")
        }
        self.ranker = ranker
        clickTask = click
        self.examination = examination
    }

    /// The click probability of each of `items` at its slot of a page of `pageSize`:
    /// `p(click) e(k) / mean e` (the ranker predicts at the average of the slots it learned
    /// from). Items it cannot score (negative ids) get 0.
    func slotClicks(_ items: [Int32], context: RecallContext, pageSize: Int) -> [Double] {
        let n = Swift.max(1, pageSize)
        let slots = (0..<n).map { examination[Swift.min($0, examination.count - 1)] }
        let mean = slots.reduce(0, +) / Double(n)
        let known = items.filter { $0 >= 0 }
        let q = (try? ranker.probabilities(items: known, context: context)) ?? []
        var byItem: [Int32: Double] = [:]
        for (i, row) in zip(known, q) { byItem[i] = Double(row[clickTask]) }
        return items.enumerated().map { k, i in (byItem[i] ?? 0) * slots[Swift.min(k, n - 1)] / mean }
    }

    /// Each of `arms` target pages estimated from the logged pages (one entry per request: the
    /// logged page, this model's predictions for its items, and the arms' pages), the direct
    /// model first recalibrated on the logged pages' clicks.
    func estimates(_ requests: [(logged: OffPolicyEstimate.LoggedPage, predicted: [Double], targets: [OffPolicyEstimate.TargetPage])],
                   arms: Int) throws -> [OffPolicyEstimate.Result] {
        let calibration = try DirectModelCalibration(predicted: requests.flatMap(\.predicted), outcomes: requests.flatMap(\.logged.clicks))
        return try (0..<arms).map { a in
            try OffPolicyEstimate.estimate(requests.map { r in
                var t = r.targets[a]
                t.predicted = t.predicted.map(calibration.apply)
                return (r.logged, t)
            }, examination: examination)
        }
    }
}
