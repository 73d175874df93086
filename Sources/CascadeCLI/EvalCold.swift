import ArgumentParser
import CascadeCore
import CascadeLab
import Foundation

struct EvalCold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cold",
        abstract: "Cold-item protocol on a store: hold out a share of the items, train without them, recall them from their metadata.",
        discussion: """
            A seeded --holdout share of the items with positive events loses every event; each channel \
            in --channels is trained on the rest and, for every user who engaged with held-out items, \
            recommends --k of the held-out items only, from the user's training history. Prints \
            recall@K (hits / min(K, the user's held-out positives), pooled) beside a uniform pick's \
            K / held-out items. Channels that read item metadata (twotower: category, author, tags) can \
            place them; popular and the co-occurrence channels cannot. The store is not changed.
            """)

    @OptionGroup var store: StoreOptions
    @OptionGroup var model: ModelOptions

    @Option(help: "Share of the items with positive events held out, in (0, 1).")
    var holdout: Double = 0.1

    @Option(help: "Candidates per user among the held-out items.")
    var k: Int = 50

    @Option(help: "Seed of the held-out draw.")
    var seed: UInt64 = 1

    static let defaultChannels = "twotower,fresh,popular"

    func run() throws {
        try runReporting {
            let s = try store.openForReading()
            let names = (model.channels ?? Self.defaultChannels).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let rows = try ColdStartEvaluation.run(store: s, channels: names, config: try model.unrestrictedConfig, share: holdout, k: k,
                                                   seed: seed) { FileHandle.standardError.write(Data(("# " + $0 + "\n").utf8)) }
            for r in rows { print(r.line) }
        }
    }
}
