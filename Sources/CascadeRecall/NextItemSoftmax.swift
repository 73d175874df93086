import CascadeCore
import CascadeTensor
import Foundation

/// How a sequence model (SASRec, ComiRec) trains on the next-item objective: the same options,
/// declared once (each model's parameters hold one, with the model's own defaults).
public struct NextItemTraining: Sendable, Equatable {
    /// At most this many epochs; early stopping (``validationUsers``) usually ends sooner.
    public var epochs: Int
    /// Sequence windows per batch, and Adam's learning rate.
    public var batchSize: Int
    public var learningRate: Float
    /// Catalogs up to this size train with the full softmax over every item; larger ones with
    /// `negatives` items drawn uniformly per batch, shared by every target of the batch.
    public var fullSoftmaxItems = 20_000
    public var negatives = 1_024
    /// Users whose last positive is held out to choose the epoch (hit rate@10 of the held-out
    /// item; the best epoch's weights are kept). 0 trains every epoch on everything.
    public var validationUsers = 300
    /// Epochs without a better validation hit rate before stopping.
    public var patience: Int
    /// A model trained on fewer than 100 users with 3 or more positives, or whose best held-out
    /// hit rate does not beat the most popular items' on the same users, is not published
    /// (``ChannelDeclined``): on too little data a sequence model learns noise, and with its merge
    /// weight that noise would lead the page.
    public var mustBeatPopular = true

    public init(epochs: Int = 100, batchSize: Int, learningRate: Float, patience: Int) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.patience = patience
    }

    /// The declared settings of the struct at `path` of a model's parameters (keys without a
    /// prefix: `channel.sasrec.epochs`).
    static func settings<Root>(_ path: WritableKeyPath<Root, NextItemTraining>) -> [Setting<Root>] {
        [
            .int("epochs", "Training epochs.", path.appending(path: \.epochs), 0...100_000),
            .float("learningRate", "Adam learning rate.", path.appending(path: \.learningRate), "> 0") { $0 > 0 },
            .int("fullSoftmaxItems", "Largest catalog trained with the full softmax; larger ones sample negatives.",
                 path.appending(path: \.fullSoftmaxItems), 0...10_000_000),
            .int("negatives", "Uniform negatives per batch when the softmax is sampled.", path.appending(path: \.negatives), 1...1_000_000),
            .int("batchSize", "Sequence windows per training batch.", path.appending(path: \.batchSize), 1...100_000),
            .int("validationUsers", "Users whose last positive is held out to stop early (0: train every epoch).",
                 path.appending(path: \.validationUsers), 0...1_000_000),
            .int("patience", "Epochs without a better validation hit rate before stopping.", path.appending(path: \.patience), 1...10_000),
            .bool("mustBeatPopular", "Publish only a model trained on 100+ users with 3+ positives whose held-out hit rate beats the popular items'.",
                  path.appending(path: \.mustBeatPopular)),
        ]
    }
}

extension NextItemTraining {
    /// The epoch loop of a sequence model: `windows` shuffled and cut into batches, `batchLoss`
    /// per batch on its own tape, Adam on the dense parameters and lazy Adam on the sparse ones,
    /// then `validate` (the held-out hit rate; nil: none) and early stopping after each epoch,
    /// ties keeping the later epoch; the best epoch's values are put back at the end.
    /// Returns the best epoch's validation hit rate (nil: no validation).
    @discardableResult
    func fit(_ name: String, windows all: [UserSequences.Window], parameters params: [Parameter], threads: Int?, rng: inout SplitMix64,
             validate: (() throws -> Double)?, progress: ((String) -> Void)?,
             batchLoss: (ArraySlice<UserSequences.Window>, Tape, inout SplitMix64) throws -> Variable) throws -> Double? {
        var windows = all
        let dense = Adam(learningRate: learningRate), sparse = LazyAdam(learningRate: learningRate)
        let denseParams = params.filter { !$0.sparse }, sparseParams = params.filter { $0.sparse }
        var stopping = EarlyStopping(patience: patience, preferLater: true)
        for epoch in 0..<epochs where !windows.isEmpty {
            windows.shuffle(using: &rng)
            var total = 0.0, batches = 0
            var start = 0
            while start < windows.count {
                let batch = windows[start..<Swift.min(windows.count, start + batchSize)]
                start += batch.count
                let tape = Tape(training: true, threads: threads, seed: rng.next())
                let loss = try batchLoss(batch, tape, &rng)
                try tape.backward(loss)
                try dense.step(denseParams)
                try sparse.step(sparseParams)
                total += Double(loss.value.base[0])
                batches += 1
            }
            var note = ""
            if let validate {
                let hit = try validate()
                note = ", validation hit@10 \(String(format: "%.4f", hit))"
                stopping.record(hit, params)
            }
            progress?("\(name) epoch \(epoch + 1)/\(epochs): loss \(String(format: "%.4f", total / Double(Swift.max(batches, 1)))) over \(windows.count) windows\(note)")
            if stopping.exhausted { break }
        }
        try stopping.restore(params)
        return stopping.best?.score
    }

    /// Fewest users with at least 3 positives a sequence model is published from when
    /// ``mustBeatPopular``.
    static let minimumSequences = 100

    /// The held-out comparison of a trained model: its best validation hit rate (nil without
    /// held-out users) beside the popular items', and how many users had 3 or more positives.
    func heldOut(model: Double?, sequences: UserSequences, users: [Int], itemCount: Int) -> HeldOutHitRate {
        let eligible = (0..<(sequences.offsets.count - 1)).filter { sequences.offsets[$0 + 1] - sequences.offsets[$0] >= 3 }.count
        guard let model, !users.isEmpty else { return HeldOutHitRate(model: nil, popular: nil, users: 0, sequences: eligible) }
        return HeldOutHitRate(model: model, popular: NextItemSoftmax.popularHitRate(sequences: sequences, users: users, items: itemCount),
                              users: users.count, sequences: eligible)
    }

    /// Throws ``ChannelDeclined`` when ``mustBeatPopular`` and the model learned from fewer than
    /// ``minimumSequences`` users with 3 or more positives, or its held-out hit rate is not above
    /// the popular items'.
    func requireEarned(_ f: HeldOutHitRate?, channel: String) throws {
        guard mustBeatPopular, let f else { return }
        let anyway = "set channel.\(channel).mustBeatPopular = false to publish it anyway"
        if f.sequences < Self.minimumSequences {
            throw ChannelDeclined(channel: channel, reason: "only \(f.sequences) users have 3 or more positives, fewer than the \(Self.minimumSequences) a sequence model needs (\(anyway))")
        }
        if let m = f.model, let p = f.popular, m <= p {
            throw ChannelDeclined(channel: channel, reason: String(
                format: "held-out hit rate@10 %.4f does not beat the most popular items' %.4f on %d users (%@)", m, p, f.users, anyway))
        }
    }
}

/// A sequence model's hit rate@10 on the held-out last positive of some users, beside that of
/// the most popular items on the same users (each list without the user's own items).
public struct HeldOutHitRate: Sendable, Equatable {
    /// Nil when no user was held out (``NextItemTraining/validationUsers`` 0, or too few users).
    public var model: Double?
    public var popular: Double?
    /// Users held out.
    public var users: Int
    /// Users with 3 or more positives in the training log.
    public var sequences: Int
}

/// A trained channel that did not earn its place on this data; the trainer publishes the other
/// channels and reports this one with its reason.
public struct ChannelDeclined: Error, Sendable, CustomStringConvertible {
    public var channel: String
    public var reason: String
    public init(channel: String, reason: String) {
        self.channel = channel
        self.reason = reason
    }
    public var description: String { "\(channel) not published: \(reason)" }
}

/// The next-item objective and its validation, shared by the sequence trainers (SASRec,
/// ComiRec): user states scored against the item embedding table (row 0 the padding, item i in
/// row i + 1).
enum NextItemSoftmax {
    /// Cross-entropy of `targets` (item rows) given `states` [P, dim]: full softmax over the
    /// table when `full`, else against `negatives` items drawn uniformly (the same for every
    /// item, so no logQ correction is needed), shared by the batch. O(P dim S), S the width.
    static func loss(states: Variable, targets: [Int32], table: Variable, itemCount: Int, full: Bool, negatives: Int,
                     rng: inout SplitMix64) throws -> Variable {
        if full {
            let logits = try states.matmul(table, transposeOther: true)  // [P, items + 1]
            return try Loss.softmaxCrossEntropy(logits: logits, targets: IndexTensor(shape: [targets.count], ids: targets))
        }
        let k = Swift.min(negatives, itemCount)
        let drawn = (0..<k).map { _ in Int32(1 + Int(rng.next() % UInt64(itemCount))) }
        let positive = try (states * table.gather(IndexTensor(shape: [targets.count], ids: targets))).sum(axis: 1, keepDims: true)
        let negative = try states.matmul(table.gather(IndexTensor(shape: [k], ids: drawn)), transposeOther: true)
        let logits = try Variable.concat([positive, negative], axis: 1)  // the positive in column 0
        return try Loss.softmaxCrossEntropy(logits: logits, targets: IndexTensor(shape: [targets.count], ids: [Int32](repeating: 0, count: targets.count)))
    }

    /// Share of `users` whose held-out last positive is among the 10 most popular items they had
    /// not engaged with, popularity counted over every sequence without the held-out positives.
    /// O(rows + items log items + users 10).
    static func popularHitRate(sequences: UserSequences, users: [Int], items: Int) -> Double {
        guard !users.isEmpty, items > 0 else { return 0 }
        var counts = [Int](repeating: 0, count: items + 1)
        for r in sequences.rows where Int(r) <= items { counts[Int(r)] += 1 }
        for u in users where Int(sequences.rows[sequences.offsets[u + 1] - 1]) <= items {
            counts[Int(sequences.rows[sequences.offsets[u + 1] - 1])] -= 1
        }
        let ranked = (1...items).sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        var hits = 0
        for u in users {
            let lo = sequences.offsets[u], hi = sequences.offsets[u + 1]
            let target = Int(sequences.rows[hi - 1])
            guard target <= items else { continue }
            let own = Set(sequences.rows[lo..<(hi - 1)].map(Int.init))
            var shown = 0
            for i in ranked where i == target || !own.contains(i) {
                if i == target { hits += 1; break }
                shown += 1
                if shown >= 10 { break }
            }
        }
        return Double(hits) / Double(users.count)
    }

    /// Share of `users` whose held-out last positive ranks in the top 10 of the items they had
    /// not engaged with. `queries[r]` are user r's queries: an item scores its best inner
    /// product plus offset over them (one query for a single-vector model). O(users queries items dim).
    static func validationHitRate(queries: [[InterestQuery]], dim d: Int, table: UnsafePointer<Float>, items: Int,
                                  sequences: UserSequences, users: [Int]) -> Double {
        guard !users.isEmpty, items > 0 else { return 0 }
        var scores = [Float](repeating: 0, count: items + 1), one = scores
        var hits = 0
        for (r, u) in users.enumerated() {
            let lo = sequences.offsets[u], hi = sequences.offsets[u + 1]
            let target = Int(sequences.rows[hi - 1])
            for (q, query) in queries[r].enumerated() {
                one.withUnsafeMutableBufferPointer { o in
                    query.vector.withUnsafeBufferPointer { Kernels.gemv(trans: false, m: items + 1, n: d, a: table, lda: d, x: $0.baseAddress!, y: o.baseAddress!, threads: 1) }
                }
                for i in scores.indices where q == 0 || one[i] + query.offset > scores[i] { scores[i] = one[i] + query.offset }
            }
            guard !queries[r].isEmpty else { continue }
            let own = Set(sequences.rows[lo..<(hi - 1)].map(Int.init))
            let t = scores[target]
            var better = 0
            for i in 1...items where i != target && !own.contains(i) && scores[i] > t {
                better += 1
                if better >= 10 { break }
            }
            if better < 10 { hits += 1 }
        }
        return Double(hits) / Double(users.count)
    }
}
