import CascadeCore
import CascadeTensor
import Foundation

/// Hyper-parameters of `TwoTower`.
public struct TwoTowerParameters: Sendable, Equatable {
    /// How positives and negatives form the loss: `listwise` (in-batch softmax over the batch's
    /// positives and the uniform negatives, logQ-corrected), `pointwise` (binary cross-entropy:
    /// each positive pair 1, each user against each uniform negative 0) or `pairwise` (hinge with
    /// `margin` between each positive and each uniform negative, on cosines).
    public enum Mode: String, Sendable, CaseIterable { case listwise, pointwise, pairwise }
    public var mode: Mode = .listwise
    /// Pairwise mode: required cosine gap between a positive and a negative.
    public var margin: Float = 0.2
    /// Listwise mode: also the item-to-user softmax over the batch (symmetric loss).
    public var symmetric = false
    public var dim = 32
    public var hidden = 128
    /// Most recent positives pooled by the user tower.
    public var historyLength = 30
    public var epochs = 12
    public var batchSize = 256
    public var learningRate: Float = 0.003
    /// Cosine similarities are divided by this before the softmax.
    public var temperature: Float = 0.07
    /// Items drawn uniformly from the catalog per batch as extra negatives (mixed negatives).
    public var uniformNegatives = 256
    /// Subtract log q (streaming estimate of each item's in-batch probability) from its logits.
    public var logQCorrection = true
    /// Down-sample positives of popular items (word2vec-style threshold on the item's share of
    /// positives; 0 = keep all).
    public var popularSubsampling: Float = 0
    /// Extra epochs after the first stage, each batch adding the model's own top-ranked
    /// non-positive items for the batch's users as shared hard negatives (0 = no second stage).
    public var hardNegativeEpochs = 0
    public var hardNegatives = 64
    /// Weight of the self-supervised contrastive loss on the item tower (0 = off).
    public var selfSupervisedWeight: Float = 0
    /// Share of training items whose id is replaced by the "unknown" row, and of users whose
    /// id is (DropoutNet, Volkovs et al., NeurIPS 2017): the towers learn to place an item from
    /// its features alone and a user from their history alone, in the same space as the warm
    /// ones, so a new item or user gets a vector that was trained, not an untrained row's.
    public var itemIdDropout: Float = 0
    public var userIdDropout: Float = 0
    /// Users whose last positive is held out to choose the epoch (early stopping on hit rate@50
    /// of the held-out item; the best epoch's weights are kept). 0 trains all epochs on everything.
    public var validationUsers = 500
    /// Epochs without a better validation hit rate before stopping.
    public var patience = 4
    public var seed: UInt64 = 11
    public var threads: Int? = 1

    public init() {}
}

/// Streaming estimate of how often each item appears in a batch, from Yi et al. (RecSys 2019,
/// Algorithm 2): per (hashed) item, the step it was last seen (A) and a moving average of the
/// gap between sightings (B); the in-batch probability is q = 1 / B. O(1) per update, O(H) memory.
public struct StreamingFrequency: Sendable {
    var lastStep: [Int]
    var gap: [Float]
    public let learningRate: Float

    public init(buckets: Int, learningRate: Float = 0.05, initialGap: Float = 100) {
        lastStep = Array(repeating: -1, count: Swift.max(buckets, 1))
        gap = Array(repeating: initialGap, count: Swift.max(buckets, 1))
        self.learningRate = learningRate
    }

    @inline(__always) func bucket(_ item: Int32) -> Int { Int(UInt32(bitPattern: item)) % gap.count }

    /// Records that `item` appeared in the batch of step `step`.
    public mutating func update(_ item: Int32, step: Int) {
        let h = bucket(item)
        if lastStep[h] >= 0 { gap[h] = (1 - learningRate) * gap[h] + learningRate * Float(step - lastStep[h]) }
        lastStep[h] = step
    }

    /// Starts each item's gap from its share of `total` training samples (`count` of them its own)
    /// at `batch` samples per step, instead of a flat guess: the estimate is right from the first
    /// step, and a short incremental run does not begin uncorrected.
    public mutating func warmStart(counts: [Int], total: Int, batch: Int) {
        guard total > 0 else { return }
        for (item, c) in counts.enumerated() where c > 0 {
            let q = Swift.min(1, Float(c) * Float(batch) / Float(total))
            let h = bucket(Int32(item))
            gap[h] = 1 / q
        }
    }

    /// Estimated probability that `item` appears in a batch.
    public func probability(_ item: Int32) -> Float { Swift.min(1, 1 / Swift.max(gap[bucket(item)], 1)) }
}

/// Training samples: each positive event (weight > 0) of a user, with the items the user engaged
/// with before it (most recent first, at most `historyLength`). Impressions without a click are
/// not positives and never negatives (seed 004).
struct TwoTowerSamples {
    var user: [Int32] = []
    var item: [Int32] = []
    var time: [Double] = []
    /// Per sample, where its history starts and ends in the user's time-ordered positives.
    var historyStart: [Int] = []
    var historyEnd: [Int] = []
    /// Per user, positives in time order (first occurrence of each item only).
    var userOffsets: [Int] = [0]
    var userItems: [Int32] = []
    let sequences: PositiveSequences

    init(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float], historyLength: Int) {
        sequences = PositiveSequences(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights)
        userOffsets = sequences.offsets
        userItems = sequences.items
        time = sequences.times
        for u in 0..<userCount {
            let base = sequences.offsets[u]
            for position in base..<sequences.offsets[u + 1] {
                user.append(Int32(u))
                historyStart.append(Swift.max(base, position - historyLength))
                historyEnd.append(position)
            }
        }
        item = userItems
    }

    var count: Int { user.count }
}

extension TwoTower {
    /// Trains towers on `log` (positives only) and computes every catalog item's vector.
    /// Cost per epoch O(samples (d (history + hidden) + batch (batch + negatives) d)).
    public static func train(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float],
                             features: ItemSideFeatures, parameters p: TwoTowerParameters = TwoTowerParameters(),
                             name: String = "twotower", progress: ((String) -> Void)? = nil) throws -> TwoTower {
        let net = TwoTowerNetwork(users: userCount, items: itemCount, features: features, dim: p.dim, hidden: p.hidden, seed: p.seed)
        return try fit(net, log: log, typeWeights: typeWeights, features: features, knownBefore: nil, parameters: p,
                       name: name, progress: progress)
    }

    /// An incremental update (seed 004: between full retrains, embeddings follow recent events):
    /// continues training this model's network on the positives of `log` at or after `since`
    /// (earlier events serve only as the users' histories) for
    /// `parameters.epochs` epochs, growing the tables for users and items added since (new rows
    /// start at the "unknown" row), and recomputes every item vector. Items known before stay
    /// known. Full retrains stay necessary: trained on recent events alone, a model drifts.
    public func refreshed(log: EventLog, since: Double, userCount: Int, itemCount: Int, typeWeights: [Float], features: ItemSideFeatures,
                          parameters: TwoTowerParameters, progress: ((String) -> Void)? = nil) throws -> TwoTower {
        guard userCount >= self.userCount, itemCount >= self.itemCount else {
            throw CascadeError.invalid("two-tower refresh: the store has fewer users or items than the model (\(userCount) < \(self.userCount) or \(itemCount) < \(self.itemCount))")
        }
        let net = try network(users: userCount, items: itemCount, features: features, seed: parameters.seed)
        var p = parameters
        p.dim = dim
        p.hidden = hidden
        p.validationUsers = 0
        let knownBefore = known + [Bool](repeating: false, count: itemCount - self.itemCount)
        return try Self.fit(net, log: log, typeWeights: typeWeights, features: features, knownBefore: knownBefore, parameters: p,
                            trainFrom: since, name: name, progress: progress)
    }

    static func fit(_ net: TwoTowerNetwork, log: EventLog, typeWeights: [Float], features: ItemSideFeatures, knownBefore: [Bool]?,
                    parameters p: TwoTowerParameters, trainFrom: Double = -.infinity, name: String,
                    progress: ((String) -> Void)?) throws -> TwoTower {
        let userCount = net.users, itemCount = net.items
        let samples = TwoTowerSamples(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights, historyLength: p.historyLength)
        var known = knownBefore ?? [Bool](repeating: false, count: itemCount)
        var freq = [Int](repeating: 0, count: itemCount)
        for i in samples.item { known[Int(i)] = true; freq[Int(i)] += 1 }
        let knownItems = (0..<itemCount).filter { known[$0] }.map(Int32.init)
        let params = net.parameters
        let dense = Adam(learningRate: p.learningRate), sparse = LazyAdam(learningRate: p.learningRate)
        var rng = TensorRandom(seed: p.seed)
        var estimator = StreamingFrequency(buckets: Swift.max(itemCount, 1))
        estimator.warmStart(counts: freq, total: samples.count, batch: p.batchSize)
        var step = 0
        let total = Float(Swift.max(samples.count, 1))
        guard p.mode == .listwise || p.uniformNegatives > 0 else {
            throw CascadeError.invalid("two-tower: \(p.mode.rawValue) training needs uniformNegatives > 0")
        }
        guard samples.count > 1, !knownItems.isEmpty else {
            throw CascadeError.invalid("two-tower: need at least two positive events to train on, got \(samples.count)")
        }
        var hard: [Int32: [Int32]] = [:]  // per user, mined hard negatives (second stage)
        // Early stopping: the last positive of some users (with at least 3) is held out
        // (a sample's index is its position in userItems).
        let heldOut = Set(samples.sequences.validationUsers(p.validationUsers).map { samples.userOffsets[$0 + 1] - 1 })
        var stopping = EarlyStopping(patience: p.patience)
        var firstStageDone = false
        for epoch in 0..<(p.epochs + p.hardNegativeEpochs) {
            let secondStage = epoch >= p.epochs
            if !secondStage && firstStageDone { continue }
            if secondStage && hard.isEmpty {
                // The second stage starts from the best first-stage weights (curriculum).
                try stopping.restore(params)
                stopping.restartPatience()
                hard = try mineHardNegatives(net: net, samples: samples, known: known, knownItems: knownItems,
                                             features: features, perUser: Swift.max(1, p.hardNegatives / 8), skip: 10)
            }
            var order = (0..<samples.count).filter { s in
                if heldOut.contains(s) || samples.time[s] < trainFrom { return false }
                // Popular-positive down-sampling (Mikolov et al. 2013's subsampling rule).
                guard p.popularSubsampling > 0 else { return true }
                let f = Float(freq[Int(samples.item[s])]) / total
                let keep = ((f / p.popularSubsampling).squareRoot() + 1) * p.popularSubsampling / f
                return rng.nextUnitFloat() < keep
            }
            order.shuffle(using: &rng)
            var lossSum = 0.0, batches = 0
            var start = 0
            while start + 1 < order.count {
                let batch = Array(order[start..<Swift.min(order.count, start + p.batchSize)])
                start += p.batchSize
                let tape = Tape(training: true, threads: p.threads, seed: rng.next())
                let users = batch.map { samples.user[$0] }
                var hist: [Int32] = [], offsets = [0]
                for s in batch {
                    for k in stride(from: samples.historyEnd[s] - 1, through: samples.historyStart[s], by: -1) {
                        hist.append(samples.userItems[k])
                    }
                    offsets.append(hist.count)
                }
                var columns = batch.map { samples.item[$0] }
                for _ in 0..<p.uniformNegatives { columns.append(knownItems[Int(rng.next() % UInt64(knownItems.count))]) }
                if secondStage {
                    var pool = Set<Int32>()
                    for u in users { for h in hard[u] ?? [] where pool.count < p.hardNegatives { pool.insert(h) } }
                    columns += pool.sorted()
                }
                let towerUsers = p.userIdDropout > 0 ? users.map { rng.nextUnitFloat() < p.userIdDropout ? Int32(net.users) : $0 } : users
                let dropped = p.itemIdDropout > 0 ? columns.map { _ in rng.nextUnitFloat() < p.itemIdDropout } : nil
                let u = try net.userTower(userIds: towerUsers, history: hist, offsets: offsets, features: features, tape: tape)
                let v = try net.itemTower(columns, known: known, dropped: dropped, features: features, tape: tape)
                let logits = try u.matmul(v, transposeOther: true)
                let logQ = Tensor(shape: [columns.count])
                if p.logQCorrection {
                    for (j, item) in columns.enumerated() {
                        let q = j < batch.count ? estimator.probability(item)
                                                : Float(p.uniformNegatives) / Float(knownItems.count)
                        logQ.base[j] = Foundation.log(Swift.max(q, 1e-6))
                    }
                }
                let mask = try Loss.collisionMask(itemIds: IndexTensor(columns), rows: batch.count)
                var loss: Variable
                switch p.mode {
                case .listwise:
                    loss = try Loss.sampledSoftmax(logits: logits, logQ: p.logQCorrection ? logQ : nil, mask: mask,
                                                   temperature: p.temperature)
                    if p.symmetric {
                        // Items to users: each in-batch item should pick its own user among the batch's users.
                        let inBatch = try v.slice(axis: 0, 0..<batch.count)
                        let userMask = try Loss.collisionMask(itemIds: IndexTensor(users), rows: batch.count)
                        loss = try loss + Loss.sampledSoftmax(logits: inBatch.matmul(u, transposeOther: true), mask: userMask,
                                                              temperature: p.temperature)
                    }
                case .pointwise, .pairwise:
                    let b = batch.count, neg = columns.count - b
                    let positive = try (u * v.slice(axis: 0, 0..<b)).sum(axis: 1)                       // [B]
                    let negative = try u.matmul(v.slice(axis: 0, b..<columns.count), transposeOther: true)  // [B, N]
                    if p.mode == .pairwise {
                        loss = try Loss.hinge(positive: positive, negative: negative.reshaped([b * neg]), margin: p.margin)
                    } else {
                        let all = try Variable.concat([positive, negative.reshaped([b * neg])], axis: 0) * (1 / p.temperature)
                        let targets = Tensor(shape: [b + b * neg])
                        for i in 0..<b { targets.base[i] = 1 }
                        loss = try Loss.binaryCrossEntropy(logits: all, targets: targets)
                    }
                }
                if p.selfSupervisedWeight > 0 {
                    loss = try loss + selfSupervisedLoss(net: net, knownItems: knownItems, known: known, features: features,
                                                         count: p.batchSize, temperature: p.temperature, rng: &rng, tape: tape)
                        * p.selfSupervisedWeight
                }
                try tape.backward(loss)
                try dense.step(params.filter { !$0.sparse })
                try sparse.step(params.filter { $0.sparse })
                for item in Set(batch.map { samples.item[$0] }) { estimator.update(item, step: step) }
                step += 1
                lossSum += Double(loss.scalar)
                batches += 1
            }
            var note = ""
            if !heldOut.isEmpty {
                let hit = try validationHitRate(net: net, samples: samples, heldOut: heldOut, known: known, knownItems: knownItems, features: features)
                note = " validation hit@50 \(String(format: "%.4f", hit))"
                stopping.record(hit, params)
            }
            progress?("two-tower epoch \(epoch + 1): loss \(String(format: "%.4f", lossSum / Double(Swift.max(batches, 1))))" + note)
            if stopping.exhausted {
                if secondStage { break }
                firstStageDone = true
            }
        }
        try stopping.restore(params)
        let positive = Factorization.positiveTypes(typeWeights)
        return try TwoTower(network: net, features: features, known: known, name: name,
                            historyLength: p.historyLength, positiveTypes: positive)
    }

    /// Share of held-out positives ranked in the top 50 of the known items the user has not
    /// engaged with before (history: the items before the held-out one).
    static func validationHitRate(net: TwoTowerNetwork, samples: TwoTowerSamples, heldOut: Set<Int>, known: [Bool],
                                  knownItems: [Int32], features: ItemSideFeatures) throws -> Double {
        let tape = Tape(training: false, threads: 1)
        let items = try net.itemTower(knownItems, known: known, features: features, tape: tape).value
        let d = net.dim
        var hits = 0
        for s in heldOut.sorted() {
            var hist: [Int32] = []
            for k in stride(from: samples.historyEnd[s] - 1, through: samples.historyStart[s], by: -1) { hist.append(samples.userItems[k]) }
            let t = Tape(training: false, threads: 1)
            let v = try net.userTower(userIds: [samples.user[s]], history: hist, offsets: [0, hist.count], features: features, tape: t).value
            let target = samples.item[s]
            guard let ti = knownItems.firstIndex(of: target) else { continue }
            let targetScore = Kernels.dot(v.base, items.base + ti * d, count: d)
            let own = Set(hist)
            var better = 0
            for (j, item) in knownItems.enumerated() where item != target && !own.contains(item) {
                if Kernels.dot(v.base, items.base + j * d, count: d) > targetScore { better += 1; if better >= 50 { break } }
            }
            if better < 50 { hits += 1 }
        }
        return Double(hits) / Double(Swift.max(heldOut.count, 1))
    }

    /// Spread-out contrastive loss of Yao et al., "Self-supervised Learning for Large-scale Item
    /// Recommendations" (CIKM 2021): items drawn uniformly from the catalog, two views each with
    /// complementary feature groups masked (correlated feature masking: identity features
    /// {id, author} vs content features {category, tags}, the split chosen at random per batch),
    /// in-batch softmax between the views.
    static func selfSupervisedLoss(net: TwoTowerNetwork, knownItems: [Int32], known: [Bool], features: ItemSideFeatures,
                                   count: Int, temperature: Float, rng: inout TensorRandom, tape: Tape) throws -> Variable {
        let n = Swift.min(count, knownItems.count)
        var picked = Set<Int32>()
        while picked.count < n { picked.insert(knownItems[Int(rng.next() % UInt64(knownItems.count))]) }
        let items = picked.sorted()
        let groupA: TwoTowerNetwork.Mask = rng.next() % 2 == 0 ? [.id, .author] : [.category, .tags]
        let groupB: TwoTowerNetwork.Mask = groupA.contains(.id) ? [.category, .tags] : [.id, .author]
        let a = try net.itemTower(items, known: known, features: features, mask: groupA, tape: tape)
        let b = try net.itemTower(items, known: known, features: features, mask: groupB, tape: tape)
        return try Loss.sampledSoftmax(logits: a.matmul(b, transposeOther: true), temperature: temperature)
    }

    /// For each user, the model's top-ranked items they never engaged with, after skipping the
    /// first `skip` (the very top are often unlabelled positives): the hard negatives of the
    /// second stage (Huang et al., "Embedding-based Retrieval in Facebook Search", KDD 2020).
    static func mineHardNegatives(net: TwoTowerNetwork, samples: TwoTowerSamples, known: [Bool], knownItems: [Int32],
                                  features: ItemSideFeatures, perUser: Int, skip: Int) throws -> [Int32: [Int32]] {
        let tape = Tape(training: false, threads: 1)
        let items = try net.itemTower(knownItems, known: known, features: features, tape: tape).value
        var out: [Int32: [Int32]] = [:]
        let users = samples.userOffsets.count - 1
        let d = net.dim
        for u in 0..<users where samples.userOffsets[u + 1] > samples.userOffsets[u] {
            let mine = Array(samples.userItems[samples.userOffsets[u]..<samples.userOffsets[u + 1]])
            let recent = Array(mine.suffix(30).reversed())
            let t = Tape(training: false, threads: 1)
            let v = try net.userTower(userIds: [Int32(u)], history: recent, offsets: [0, recent.count], features: features, tape: t).value
            var top = TopK(skip + perUser + mine.count)
            for (j, item) in knownItems.enumerated() {
                top.push(item, Kernels.dot(v.base, items.base + j * d, count: d))
            }
            let own = Set(mine)
            out[Int32(u)] = Array(top.sorted().map(\.id).filter { !own.contains($0) }.dropFirst(skip).prefix(perUser))
        }
        return out
    }
}

/// The two-tower channel ("twotower"; trained only when listed: it trains for minutes on large
/// logs). The only channel with an incremental update between full retrains.
public enum TwoTowerChannel: ChannelDefinition {
    public static let name = "twotower"
    public static let summary = "two-tower neural retrieval (sampled softmax, logQ correction), HNSW-served"
    public static let defaultParameters = TwoTowerParameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (200, 0.9)
    public static let trainedByDefault = false
    public static let supportsRefresh = true
    public static let settings: [Setting<TwoTowerParameters>] = [
        .choice("mode", "Loss: listwise (in-batch softmax), pointwise (BCE) or pairwise (hinge).", \.mode),
        .bool("symmetric", "Add the item-to-user in-batch softmax (symmetric loss).", \.symmetric),
        .int("epochs", "Training epochs.", \.epochs, 1...Int.max),
        .int("dim", "Embedding dimension.", \.dim, 2...4096),
        .float("temperature", "Softmax temperature.", \.temperature, "> 0") { $0 > 0 },
        .float("learningRate", "Learning rate.", \.learningRate, "> 0") { $0 > 0 },
        .bool("logQCorrection", "Correct the in-batch softmax for sampling bias (logQ).", \.logQCorrection),
        .int("hardNegativeEpochs", "Epochs of the second stage with mined hard negatives.", \.hardNegativeEpochs, 0...Int.max),
        .float("selfSupervisedWeight", "Weight of the self-supervised item loss (0: off).", \.selfSupervisedWeight, ">= 0") { $0 >= 0 },
        .float("itemIdDropout", "Share of training items seen through the unknown id (DropoutNet: cold items get trained vectors).",
               \.itemIdDropout, "in [0, 1)") { $0 >= 0 && $0 < 1 },
        .float("userIdDropout", "Share of training users seen through the unknown id (new users get trained vectors).",
               \.userIdDropout, "in [0, 1)") { $0 >= 0 && $0 < 1 },
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: TwoTowerParameters) throws -> any RecallChannel {
        let model = try TwoTower.train(log: input.log, userCount: input.userCount, itemCount: input.itemCount, typeWeights: input.typeWeights,
                                       features: ItemSideFeatures.build(items: input.items), parameters: parameters, name: name,
                                       progress: input.progress)
        return try input.indexedIfLarge(model)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel {
        try ChannelRegistry.loadVector(bytes) { (b: [UInt8]) throws(CascadeError) in try TwoTower(serialized: b) }
    }
    /// Two more epochs at a third of the learning rate on the events since `since`, growing the
    /// tables for users and items added since; indexed again when the active model was.
    public static func refreshed(_ active: any RecallChannel, input: ChannelTrainingInput, since: Double,
                                 parameters: TwoTowerParameters) throws -> (any RecallChannel)? {
        let indexed = active is IndexedRecall
        guard let current = (active as? TwoTower) ?? ((active as? IndexedRecall)?.base as? TwoTower) else {
            throw CascadeError.corrupt("recall/\(name): the active artifact does not hold a two-tower model")
        }
        var p = parameters
        p.epochs = Swift.min(p.epochs, 2)
        p.learningRate /= 3
        let fresh = try current.refreshed(log: input.log, since: since, userCount: input.userCount, itemCount: input.itemCount,
                                          typeWeights: input.typeWeights, features: ItemSideFeatures.build(items: input.items),
                                          parameters: p, progress: input.progress)
        return indexed ? try IndexedRecall.build(fresh, parameters: input.hnsw) : try input.indexedIfLarge(fresh)
    }
}
