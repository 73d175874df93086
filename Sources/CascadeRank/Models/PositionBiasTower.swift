import CascadeTensor
import Foundation

/// Position debiasing by a shallow tower: any ranker, with a learned offset per (slot, task)
/// added to its logits while it trains, and nothing added when it serves.
///
/// Clicks on a page depend on where an item was shown as much as on what it is: under the
/// examination hypothesis `P(click | item, slot k) = e(k) P(click | item, examined)`, so a ranker
/// trained on logged impressions learns how well the logging system placed each item. The
/// shallow tower of Zhao et al., "Recommending What Video to Watch Next: A Multitask Ranking
/// System" (RecSys 2019), takes the position (a train-time-only input) into a separate logit
/// added to the main model's; the main model is left to explain what the slot does not, and is
/// served alone, as if every candidate stood at the top slot. Here the tower is the simplest one
/// that model names: one learned offset per slot and task, the top slot the reference (offset 0),
/// rows without a logged slot offset 0 (imported data trains as without the tower).
///
/// Parameters: `(slots - 1) x tasks` offsets, stored divided by ``gain`` so that an optimizer
/// tuned for the inner model's weights moves this small, well-conditioned table `gain` times
/// faster (at Adam's 1e-3 the offsets of the simulator's position curve took more than the
/// whole training to form). Cost: O(B tasks) per batch beside the inner model.
/// `curve(task:baseRate:)` reads the learned position curve (relative click rate per slot).
public final class PositionBiasTower: RankModel {
    /// The ranker that is served.
    public let inner: any RankModel
    /// Slots with their own offset (0..<slots); deeper slots share the last one.
    public let slots: Int
    /// Offsets / ``gain``, [slots, tasks]; row 0 (the top slot) is never used and stays 0.
    public let offsets: Parameter
    /// The factor between the stored parameter and the offsets it stands for.
    public static let gain: Float = 25

    /// Whether the offsets are held at a given curve rather than learned.
    public let fixed: Bool

    public init(inner: any RankModel, slots: Int) throws {
        guard slots >= 2 else { throw RankError.model("position tower: needs at least 2 slots, got \(slots)") }
        self.inner = inner
        self.slots = slots
        offsets = Parameter("position.offsets", Tensor(shape: [slots, inner.tasks.count]))
        fixed = false
    }

    /// A tower held at `curve` (relative rate per slot, top = 1; deeper slots take the last
    /// value): the offset of every probability task (binary, completion) at slot k is
    /// log curve[k], the examination hypothesis in odds (exact for rare events); watch time gets
    /// none. Only the inner model learns.
    public init(inner: any RankModel, curve: [Double]) throws {
        guard curve.count >= 2, curve[0] == 1, curve.allSatisfy({ $0 > 0 && $0 <= 1 && $0.isFinite }) else {
            throw RankError.model("position tower: a fixed curve needs at least 2 values in (0, 1], the first 1, got \(curve)")
        }
        self.inner = inner
        slots = curve.count
        let w = inner.tasks.count
        let t = Tensor(shape: [slots, w])
        for k in 1..<slots {
            for (j, kind) in inner.taskKinds.enumerated() where kind != .watchTime { t.base[k * w + j] = Float(Foundation.log(curve[k])) / Self.gain }
        }
        offsets = Parameter("position.offsets", t)
        fixed = true
    }

    public var kind: String { inner.kind }
    public var tasks: [String] { inner.tasks }
    public var taskKinds: [TaskKind] { inner.taskKinds }
    public var parameters: [Parameter] { fixed ? inner.parameters : inner.parameters + [offsets] }

    /// The inner model's logits plus the offset of each row's slot (none without positions).
    public func logits(_ batch: EncodedBatch, tape: Tape) throws -> Variable {
        let z = try inner.logits(batch, tape: tape)
        guard let positions = batch.positions else { return z }
        guard positions.count == batch.rows else {
            throw RankError.data("position tower: \(positions.count) positions for \(batch.rows) rows")
        }
        var ids = [Int32](repeating: 0, count: batch.rows)
        let mask = Tensor(shape: [batch.rows, 1])
        for (r, p) in positions.enumerated() where p > 0 {
            ids[r] = Int32(Swift.min(Int(p), slots - 1))
            mask.base[r] = Self.gain
        }
        let g = try tape.parameter(offsets).gather(IndexTensor(ids))
        return try z + g * tape.constant(mask)
    }

    public func loss(logits: Variable, batch: EncodedBatch, tape: Tape) throws -> Variable {
        try inner.loss(logits: logits, batch: batch, tape: tape)
    }

    /// The learned offset of `slot` for task column `task` (0 for the top slot).
    public func offset(slot: Int, task: Int) -> Float {
        slot <= 0 ? 0 : Self.gain * offsets.value.base[Swift.min(slot, slots - 1) * tasks.count + task]
    }

    /// The relative rate of task `task` at each slot, top = 1: `sigmoid(logit(p) + offset(k)) / p`
    /// at the base rate `p` (for a rare event the odds ratio `exp(offset(k))`). Under the
    /// examination hypothesis it estimates `e(k) / e(0)`.
    public func curve(task: Int = 0, baseRate: Double) -> [Double] {
        let p = Swift.min(Swift.max(baseRate, 1e-6), 1 - 1e-6)
        let z = Foundation.log(p / (1 - p))
        return (0..<slots).map { k in 1 / (1 + Foundation.exp(-(z + Double(offset(slot: k, task: task))))) / p }
    }
}
