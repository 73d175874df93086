import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeSim
import Foundation

struct EvalRecallSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall-sim",
        abstract: "Recall channels against the simulator's ground truth: recall@K of each user's true top items, popularity bias, cold-start reach.",
        discussion: """
            Simulates a world, trains each named channel on its whole log and, for sampled users, \
            measures the share of their true top --truth-k items (excluding items they engaged with) \
            among the channel's top --k candidates, the mean popularity rank of the top 10 (higher = less \
            popularity-biased) and how many never-interacted items reach the candidate sets. \
            --channels names the channels judged (default \(defaultChannels)). Variants: twotower-nologq (two-tower without the logQ correction), twotower-ssl (with the \
            self-supervised item loss), twotower-hard (with a hard-negative second stage), twotower-dropout \
            (DropoutNet id dropout, 0.5 on items and users unless set). Cold protocol: among the items that \
            never had an event only, the share of each user's true top --truth-k cold items in the channel's \
            top --truth-k cold candidates (cold_recall_at_k).
            """)

    /// Judged when `--channels` is not given.
    static let defaultChannels = "itemcf,als,twotower,twotower-nologq,lightgcn"
    @Option(help: "Simulated users.") var users: Int = 2_000
    @Option(help: "Simulated items.") var items: Int = 5_000
    @Option(help: "Simulated events.") var events: Int = 200_000
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Users sampled.") var sample: Int = 300
    @Option(help: "Candidates per channel.") var k: Int = 200
    @Option(help: "True top items per user.") var truthK: Int = 50
    @OptionGroup var model: ModelOptions

    func run() throws {
        try runReporting {
            let config = SimConfig(users: users, items: items, events: events, seed: seed)
            try config.validate()
            let world = SimulatedWorld.generate(config)
            let base = try model.unrestrictedConfig
            var variants: [LearnedRecallEvaluation.Variant] = []
            for name in (model.channels ?? Self.defaultChannels).split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) {
                var c = base
                var channel = name
                switch name {
                case "twotower-nologq": channel = "twotower"; c.twoTower.logQCorrection = false
                case "twotower-ssl": channel = "twotower"; c.twoTower.selfSupervisedWeight = Swift.max(c.twoTower.selfSupervisedWeight, 0.3)
                case "twotower-hard": channel = "twotower"; c.twoTower.hardNegativeEpochs = Swift.max(c.twoTower.hardNegativeEpochs, 3)
                case "twotower-dropout":
                    channel = "twotower"
                    if c.twoTower.itemIdDropout == 0 { c.twoTower.itemIdDropout = 0.5 }
                    if c.twoTower.userIdDropout == 0 { c.twoTower.userIdDropout = 0.5 }
                default:
                    guard FunnelConfig.knownChannels.contains(name) else {
                        throw ValidationError("unknown channel '\(name)' (channels: \(FunnelConfig.knownChannels.joined(separator: ", ")), twotower-nologq, twotower-ssl, twotower-hard, twotower-dropout)")
                    }
                }
                variants.append(.init(label: name, channel: channel, config: c))
            }
            print("world users=\(world.users.count) items=\(world.items.count) events=\(world.log.count) k=\(k) truth_k=\(truthK)")
            let rows = try LearnedRecallEvaluation.run(world: world, variants: variants, sampleUsers: sample, k: k, truthK: truthK) {
                FileHandle.standardError.write(Data(("# " + $0 + "\n").utf8))
            }
            for r in rows { print(r.line) }
        }
    }
}
