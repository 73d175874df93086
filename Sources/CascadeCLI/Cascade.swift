import ArgumentParser
import CascadePostgres
import CascadeCore
import CascadeEngine
import CascadeRank
import CascadeRecall
import CascadeStore
import CascadeTensor
import Foundation
import Logging

@main
struct Cascade: ParsableCommand {
    /// Checks the CPU before anything runs: the numeric kernels are built for AVX2 and FMA.
    static func main() {
        // Library logs go to standard error; CASCADE_LOG_LEVEL=info (or debug, trace) shows them.
        let level = ProcessInfo.processInfo.environment["CASCADE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        if let problem = CPUFeatures.check() {
            note("error: \(problem)")
            Foundation.exit(3)
        }
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "cascade",
        abstract: "A recommender engine: recall, ranking and serving over your users, items and events.",
        discussion: """
            Start with `cascade quickstart`. A typical flow on your own data:
              cascade import --db my.sqlite --format csv --events events.csv
              cascade train --db my.sqlite
              cascade recommend --db my.sqlite --user alice --n 10
              cascade eval --db my.sqlite --protocol temporal --test-frac 0.2 --k 10
            """,
        subcommands: [Quickstart.self, Simulate.self, Import.self, Train.self, Recommend.self, Eval.self,
                      Stats.self, Serve.self, Bench.self, ExperimentCommand.self, KeyCommand.self]
    )
}

/// Options every command that touches a store shares: an SQLite file (`--db`) or a PostgreSQL
/// database (`--store postgres://...`, or the `CASCADE_STORE` environment variable).
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database file (created when missing).")
    var db: String?

    @Option(name: .long, help: "A store URL: postgres://user@host:port/database[?schema=NAME&pool=N&sslmode=require] or an SQLite path. Default: $CASCADE_STORE. The password may come from PGPASSWORD.")
    var store: String?

    @Flag(name: .long, help: "SQLite only: synchronous=NORMAL, faster writes that survive a crash of Cascade but not of the machine.")
    var relaxedDurability = false

    func validate() throws {
        if db != nil && store != nil { throw ValidationError("give --db or --store, not both") }
        if db == nil && store == nil && ProcessInfo.processInfo.environment["CASCADE_STORE"] == nil {
            throw ValidationError("no store: give --db FILE, --store URL, or set CASCADE_STORE")
        }
    }

    /// The store location as given (an SQLite path or a postgres:// URL).
    var location: String {
        db ?? store ?? ProcessInfo.processInfo.environment["CASCADE_STORE"] ?? ""
    }

    var isPostgres: Bool { location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") }

    /// The location for messages: a URL without its password.
    var display: String {
        if isPostgres, let l = try? PostgresLocation(url: location) { return l.display }
        return location
    }

    /// Whether the store holds nothing yet or can be created (a new SQLite file).
    var exists: Bool { isPostgres || FileManager.default.fileExists(atPath: location) }

    func open() throws -> any Store {
        if isPostgres { return try PostgresStore(url: location) }
        return try SQLiteStore(path: location, durability: relaxedDurability ? .normal : .full)
    }

    /// For commands that only read (stats, recommend, eval, experiment report): the store must
    /// exist (a mistyped path is an error, not a new empty store) and an SQLite file is opened
    /// read-only, so a read-only file or folder works and nothing is changed.
    func openForReading() throws -> any Store {
        if isPostgres { return try PostgresStore(url: location) }
        return try SQLiteStore(path: location, readOnly: true)
    }
}

/// Prints a message to standard error.
func note(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Turns any error into a one-line message and a non-zero exit, never a stack trace.
func runReporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as CascadeError {
        note("error: \(e.description)")
        throw ExitCode(2)
    }
}

/// Model settings shared by `train` and `eval`.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Comma-separated recall channels to train and use (default: \(FunnelConfig.defaultQuotas.map(\.channel).joined(separator: ","))).",
                               discussion: ChannelRegistry.all.map { "\($0.name): \($0.summary)" }.joined(separator: "\n")))
    var channels: String?

    @Option(help: "How channel lists merge: max (weighted interleave) or sum (reciprocal-rank fusion).")
    var merge: String = FunnelConfig().mergeMode.rawValue

    /// The ranker's settings (the same declaration `experiment simulate` reads).
    @OptionGroup var ranker: RankerOptions

    @Option(help: "Item-CF: neighbours kept per item.")
    var neighbours: Int = ItemCF.Parameters().neighbours

    @Option(help: "Item-CF: most recent distinct items of a user used as triggers.")
    var lastN: Int = ItemCF.Parameters().lastN

    @Option(help: "Item-CF: a user's strongest items counted in co-occurrence.")
    var maxItemsPerUser: Int = ItemCF.Parameters().maxItemsPerUser

    @Option(help: "Item-CF: days after which a trigger counts half (default: no decay).")
    var triggerHalfLifeDays: Double?

    @Option(help: "Item-CF: weight factor per step back in the user's history (1 = all triggers equal).")
    var positionDecay: Float = ItemCF.Parameters().positionDecay

    @Option(help: "Two-tower: epochs.")
    var towerEpochs: Int = TwoTowerParameters().epochs

    @Option(help: "Two-tower: embedding dimension.")
    var towerDim: Int = TwoTowerParameters().dim

    @Option(help: "Two-tower: softmax temperature.")
    var towerTemperature: Float = TwoTowerParameters().temperature

    @Option(help: "Two-tower: learning rate.")
    var towerLr: Float = TwoTowerParameters().learningRate

    @Option(help: "LightGCN: epochs.")
    var gcnEpochs: Int = LightGCN.Parameters().epochs

    @Option(help: "LightGCN: Adam learning rate.")
    var gcnLr: Float = LightGCN.Parameters().learningRate

    @Option(help: "LightGCN: propagation layers.")
    var gcnLayers: Int = LightGCN.Parameters().layers

    @Option(help: "EGES: training epochs (fresh random walks each).")
    var egesEpochs: Int = EGES.Parameters().epochs

    @Option(help: "EGES: embedding dimension.")
    var egesDim: Int = EGES.Parameters().dim

    @Option(help: "EGES: skip-gram window over the random walks.")
    var egesWindow: Int = EGES.Parameters().window

    @Option(help: "EGES: minutes between two positive events of a user that start a new session.")
    var egesSessionGapMinutes: Double = EGES.Parameters().sessionGap / 60

    @Option(help: "EGES: items seen n times score n / (n + this) of their cosine (0 = plain cosine).")
    var egesSupportShrinkage: Float = EGES.Parameters().supportShrinkage

    @Option(help: "Two-tower: loss mode, listwise (in-batch softmax), pointwise (BCE) or pairwise (hinge).")
    var towerMode: String = TwoTowerParameters().mode.rawValue

    @Flag(help: "Two-tower: add the item-to-user in-batch softmax (symmetric loss).")
    var towerSymmetric = false

    @Flag(help: "Two-tower: train without the logQ sampling-bias correction.")
    var towerNoLogq = false

    @Option(help: "Two-tower: epochs of the second stage with mined hard negatives.")
    var towerHardEpochs: Int = 0

    @Option(help: "Two-tower: weight of the self-supervised item loss (0 = off).")
    var towerSelfSupervised: Float = 0

    func validate() throws {
        guard neighbours >= 1, neighbours <= 10_000 else { throw ValidationError("--neighbours must be in 1...10000, got \(neighbours)") }
        guard lastN >= 1 else { throw ValidationError("--last-n must be at least 1, got \(lastN)") }
        guard maxItemsPerUser >= 2 else { throw ValidationError("--max-items-per-user must be at least 2, got \(maxItemsPerUser)") }
        guard RecallMerger.Mode(rawValue: merge) != nil else { throw ValidationError("--merge must be max or sum, got \(merge)") }
        guard positionDecay > 0, positionDecay <= 1 else { throw ValidationError("--position-decay must be in (0, 1], got \(positionDecay)") }
        if let d = triggerHalfLifeDays, !(d > 0) { throw ValidationError("--trigger-half-life-days must be positive, got \(d)") }
        guard egesEpochs >= 1, egesDim >= 1, egesWindow >= 1, egesSessionGapMinutes > 0, egesSupportShrinkage >= 0 else {
            throw ValidationError("EGES options: epochs, dim and window must be >= 1, the session gap positive, the support shrinkage >= 0")
        }
        guard TwoTowerParameters.Mode(rawValue: towerMode) != nil else {
            throw ValidationError("--tower-mode must be listwise, pointwise or pairwise, got \(towerMode)")
        }
        guard gcnEpochs >= 1, gcnLayers >= 0 else { throw ValidationError("--gcn-epochs must be >= 1 and --gcn-layers >= 0") }
        guard towerEpochs >= 1, towerDim >= 2, towerTemperature > 0, towerLr > 0, towerHardEpochs >= 0, towerSelfSupervised >= 0 else {
            throw ValidationError("two-tower options: epochs >= 1, dim >= 2, temperature > 0, lr > 0, hard epochs >= 0, self-supervised weight >= 0")
        }
        // Channel names and the ranker's values too: refused before any store is opened.
        do { _ = try config } catch let e as CascadeError { throw ValidationError(e.description) }
    }

    var config: FunnelConfig {
        get throws {
            var c = FunnelConfig()
            if let channels {
                c = try c.restricted(to: channels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
            try ranker.apply(to: &c.rank)
            return apply(c)
        }
    }

    func apply(_ base: FunnelConfig) -> FunnelConfig {
        var c = base
        c.itemCF.neighbours = neighbours
        c.itemCF.lastN = lastN
        c.itemCF.maxItemsPerUser = maxItemsPerUser
        c.itemCF.triggerHalfLife = triggerHalfLifeDays.map { $0 * 86_400 }
        c.itemCF.positionDecay = positionDecay
        c.mergeMode = RecallMerger.Mode(rawValue: merge) ?? c.mergeMode
        c.eges.epochs = egesEpochs
        c.eges.dim = egesDim
        c.eges.window = egesWindow
        c.eges.sessionGap = egesSessionGapMinutes * 60
        c.eges.supportShrinkage = egesSupportShrinkage
        c.lightGCN.epochs = gcnEpochs
        c.lightGCN.layers = gcnLayers
        c.lightGCN.learningRate = gcnLr
        c.twoTower.mode = TwoTowerParameters.Mode(rawValue: towerMode) ?? c.twoTower.mode
        c.twoTower.symmetric = towerSymmetric
        c.twoTower.epochs = towerEpochs
        c.twoTower.dim = towerDim
        c.twoTower.temperature = towerTemperature
        c.twoTower.learningRate = towerLr
        c.twoTower.logQCorrection = !towerNoLogq
        c.twoTower.hardNegativeEpochs = towerHardEpochs
        c.twoTower.selfSupervisedWeight = towerSelfSupervised
        return c
    }
}
