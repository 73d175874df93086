import CascadeTensor
import Foundation

/// Streaming (online) training of a ranking model, evaluated by progressive validation: the rows
/// arrive in time order in windows; each window is first predicted with the model as it stands,
/// then its labels arrive and the model takes one pass of mini-batch steps on it. Every
/// prediction therefore uses only rows older than its window, and the predictions are an honest
/// out-of-sample measurement of a model that keeps learning as production rankers do
/// (McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD 2013, section 4.2;
/// Liu et al., "Monolith: Real Time Recommendation System With Collisionless Embedding
/// Table", 2022).
///
/// The optimizer state (Adam moments of the dense layers and of every embedding row) persists
/// across windows, so the stream continues one optimisation rather than restarting it. New ids
/// only learn when the feature pipeline knows them: fit it with a catalog
/// (``FeaturePipeline/init(config:fitOn:catalog:)``) so that items published after training
/// have their own rows.
///
/// Cost: one forward pass per row to predict plus one training step per `batchSize` rows, i.e.
/// about the cost of one training epoch over the stream.
public final class OnlineRankLearner {
    public let stepper: RankStepper
    var rng: TensorRandom
    /// Rows learnt so far.
    public private(set) var rowsLearnt = 0

    /// Continues training `model` (usually fitted offline first) with `options` (learning rate,
    /// batch size, embedding L2, id dropout; epochs and patience are not used).
    public init(_ model: any RankModel, options: RankTrainingOptions) throws {
        stepper = try RankStepper(model, options: options)
        rng = TensorRandom(seed: options.seed ^ 0x6F6E_6C69_6E65)
    }

    /// One pass over `rows` in mini-batches, shuffled within the batch window. Returns the mean loss.
    @discardableResult
    public func learn(_ rows: EncodedBatch) throws -> Double {
        guard rows.labels != nil else { throw RankError.data("online update: the rows have no labels") }
        guard rows.rows > 0 else { return 0 }
        var order = Array(0..<rows.rows)
        order.shuffle(using: &rng)
        var sum = 0.0, batches = 0, start = 0
        let size = Swift.max(1, stepper.options.batchSize)
        while start < rows.rows {
            let end = Swift.min(rows.rows, start + size)
            sum += Double(try stepper.step(rows.rows(order[start..<end]), rng: &rng))
            batches += 1
            start = end
        }
        rowsLearnt += rows.rows
        return sum / Double(batches)
    }

    /// Progressive validation over `rows` (in time order) cut into consecutive `windows` that
    /// cover `0..<rows.rows`: predicts each window, then learns on it. Returns the served outputs
    /// [rows][tasks], each made before its own label was seen.
    public func progressive(_ rows: EncodedBatch, windows: [Range<Int>], threads: Int? = 1) throws -> [[Float]] {
        var expected = 0
        for w in windows {
            guard w.lowerBound == expected, w.upperBound <= rows.rows else {
                throw RankError.data("online windows must cover rows 0..<\(rows.rows) in order; got \(w) after \(expected)")
            }
            expected = w.upperBound
        }
        guard expected == rows.rows else { throw RankError.data("online windows end at row \(expected) of \(rows.rows)") }
        var out: [[Float]] = []
        out.reserveCapacity(rows.rows)
        for w in windows where !w.isEmpty {
            let slice = rows.rows(w)
            out += try stepper.model.predict(slice, threads: threads)
            try learn(slice)
        }
        return out
    }

    /// Consecutive windows of `seconds` over sorted `timestamps` (one range per non-empty
    /// window). Throws when the times are not sorted or `seconds` is not positive. O(rows).
    public static func windows(timestamps: [Double], seconds: Double) throws -> [Range<Int>] {
        guard seconds > 0 else { throw RankError.config("online window must be positive, got \(seconds) s") }
        var out: [Range<Int>] = []
        var start = 0
        for i in timestamps.indices {
            if i > 0 && timestamps[i] < timestamps[i - 1] {
                throw RankError.data("online rows must be in time order: row \(i) at \(timestamps[i]) follows \(timestamps[i - 1])")
            }
            if timestamps[i] >= timestamps[start] + seconds {
                out.append(start..<i)
                start = i
            }
        }
        if start < timestamps.count { out.append(start..<timestamps.count) }
        return out
    }
}
