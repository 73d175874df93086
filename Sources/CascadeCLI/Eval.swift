import ArgumentParser
import CascadeCore
import CascadeEngine
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate offline: split by time, train on the past, score on the future.",
        subcommands: [EvalTopK.self, EvalRecall.self, EvalRank.self, EvalRankSim.self, EvalRecallSim.self, EvalCold.self],
        defaultSubcommand: EvalTopK.self)
}

struct EvalRecall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall",
        abstract: "Recall@K and HitRate@K of each recall channel alone and of the merged candidates, at K = 50, 200, 1000.",
        discussion: "Same split as `cascade eval`; also prints the final top-10 figures.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var model: ModelOptions

    @Option(help: "Fraction of each user's events held out.")
    var testFrac: Double = 0.2

    func run() throws {
        try runReporting {
            let s = try store.openForReading()
            let bar = ProgressBar("eval recall")
            // The recall view: channels and their merge, without the ranking stages.
            var config = try model.config
            config.rank.enabled = false
            let r = try OfflineEvaluation.run(store: s, testFraction: testFrac, ks: [10, 50, 200, 1000], config: config) { bar.stage($0) }
            bar.finish()
            print("protocol=temporal test_frac=\(testFrac) train_events=\(r.trainEvents) test_events=\(r.testEvents)")
            print(OfflineEvaluation.recallTable(r), terminator: "")
            for (name, m) in r.rows { print(m.line(system: name, k: m.k)) }
        }
    }
}

struct EvalTopK: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topk",
        abstract: "Top-K quality of the funnel and of each channel alone (the default).",
        discussion: """
            temporal: per user, the last --test-frac of their positive events (by time) are held out; \
            users with one event stay in train. Metrics (as topk_judge.py defines them): Recall@K, \
            NDCG@K (binary gain), HitRate@K over users with test items, and catalog coverage@K. \
            Items a user has in train are never counted. The store itself is not changed.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var model: ModelOptions

    @Option(help: "Protocol: temporal or leave-one-out.")
    var `protocol`: String = "temporal"

    @Option(help: "Fraction of each user's events held out (temporal).")
    var testFrac: Double = 0.2

    @Option(help: "Cut-off K.")
    var k: Int = 10

    func run() throws {
        try runReporting {
            guard let proto = OfflineEvaluation.SplitProtocol(rawValue: self.protocol) else {
                throw CascadeError.invalid("--protocol must be one of \(OfflineEvaluation.SplitProtocol.allCases.map(\.rawValue).joined(separator: ", ")), got '\(self.protocol)'")
            }
            let s = try store.openForReading()
            let bar = ProgressBar("eval")
            let r = try OfflineEvaluation.run(store: s, protocol: proto, testFraction: testFrac, k: k, config: try model.config) { bar.stage($0) }
            bar.finish()
            print("protocol=\(proto.rawValue) test_frac=\(testFrac) train_events=\(r.trainEvents) test_events=\(r.testEvents) train_s=\(String(format: "%.2f", r.trainSeconds))")
            print(OfflineEvaluation.table(r, k: k), terminator: "")
            for (name, m) in r.rows { print(m.line(system: name, k: k)) }
        }
    }
}
