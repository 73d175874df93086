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
        subcommands: [Quickstart.self, Simulate.self, Import.self, Train.self, Recommend.self, Eval.self, ConfigCommand.self,
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

/// Where a command's funnel settings come from, lowest first: the defaults, a config file
/// (`--config`), `CASCADE_*` environment variables, `--set key=value`, then the command's own flags.
struct SettingsOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A config file (`cascade config init` writes one with every key, its doc and default).")
    var configFile: String?

    @Option(name: .customLong("set"), help: "Set one key, e.g. --set channel.itemcf.neighbours=50 (repeatable; keys as in the config file).")
    var assignments: [String] = []

    /// The assignments of the file, the environment and `--set`, in that order.
    func sources<Root>(_ settings: [Setting<Root>]) throws -> [ConfigFile.Assignment] {
        var out: [ConfigFile.Assignment] = []
        if let configFile {
            guard let data = FileManager.default.contents(atPath: configFile) else {
                throw CascadeError.badInput(file: configFile, line: 0, reason: "cannot read the config file")
            }
            out += try ConfigFile.parse(String(decoding: data, as: UTF8.self), source: configFile)
        }
        out += ConfigFile.environment(ProcessInfo.processInfo.environment, settings: settings)
        for a in assignments {
            guard let eq = a.firstIndex(of: "=") else { throw CascadeError.invalid("--set \(a): expected key=value") }
            out.append(ConfigFile.Assignment(key: String(a[..<eq]).trimmingCharacters(in: .whitespaces),
                                             value: String(a[a.index(after: eq)...]), source: "--set \(a)"))
        }
        return out
    }

    /// `base` with the file, the environment and `--set` applied.
    func apply<Root>(_ base: Root, settings: [Setting<Root>]) throws -> Root {
        try ConfigFile.apply(try sources(settings), settings: settings, to: base)
    }
}

/// Model settings shared by `train` and `eval`: the config file and `--set` first, then these
/// flags, each written through its declared setting (``FunnelConfig/settings``).
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Comma-separated recall channels to train and use (default: \(FunnelConfig.defaultQuotas.map(\.channel).joined(separator: ","))).",
                               discussion: ChannelRegistry.all.map { "\($0.name): \($0.summary)" }.joined(separator: "\n")))
    var channels: String?

    @Option(help: funnelHelp("mergeMode"))
    var merge: String?

    @OptionGroup var settings: SettingsOptions

    /// The ranker's settings (the same declaration `experiment simulate` reads).
    @OptionGroup var ranker: RankerOptions

    @Option(help: funnelHelp("channel.itemcf.neighbours"))
    var neighbours: Int?

    @Option(help: funnelHelp("channel.itemcf.lastN"))
    var lastN: Int?

    @Option(help: funnelHelp("channel.itemcf.maxItemsPerUser"))
    var maxItemsPerUser: Int?

    @Option(help: funnelHelp("channel.itemcf.triggerHalfLifeDays"))
    var triggerHalfLifeDays: Double?

    @Option(help: funnelHelp("channel.itemcf.positionDecay"))
    var positionDecay: Float?

    @Option(help: funnelHelp("channel.twotower.epochs"))
    var towerEpochs: Int?

    @Option(help: funnelHelp("channel.twotower.dim"))
    var towerDim: Int?

    @Option(help: funnelHelp("channel.twotower.temperature"))
    var towerTemperature: Float?

    @Option(help: funnelHelp("channel.twotower.learningRate"))
    var towerLr: Float?

    @Option(help: funnelHelp("channel.lightgcn.epochs"))
    var gcnEpochs: Int?

    @Option(help: funnelHelp("channel.lightgcn.learningRate"))
    var gcnLr: Float?

    @Option(help: funnelHelp("channel.lightgcn.layers"))
    var gcnLayers: Int?

    @Option(help: funnelHelp("channel.eges.epochs"))
    var egesEpochs: Int?

    @Option(help: funnelHelp("channel.eges.dim"))
    var egesDim: Int?

    @Option(help: funnelHelp("channel.eges.window"))
    var egesWindow: Int?

    @Option(help: funnelHelp("channel.eges.sessionGapMinutes"))
    var egesSessionGapMinutes: Double?

    @Option(help: funnelHelp("channel.eges.supportShrinkage"))
    var egesSupportShrinkage: Float?

    @Option(help: funnelHelp("channel.twotower.mode"))
    var towerMode: String?

    @Flag(help: "Two-tower: add the item-to-user in-batch softmax (symmetric loss).")
    var towerSymmetric = false

    @Flag(help: "Two-tower: train without the logQ sampling-bias correction.")
    var towerNoLogq = false

    @Option(help: funnelHelp("channel.twotower.hardNegativeEpochs"))
    var towerHardEpochs: Int?

    @Option(help: funnelHelp("channel.twotower.selfSupervisedWeight"))
    var towerSelfSupervised: Float?

    func validate() throws {
        // Channel names, the file, --set and every flag's value: refused before any store is opened.
        do { _ = try config } catch let e as CascadeError { throw ValidationError(e.description) }
    }

    var config: FunnelConfig {
        get throws {
            var c = try unrestrictedConfig
            if let channels {
                c = try c.restricted(to: channels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
            return c
        }
    }

    /// The config file, `--set` and the flags, with every channel (for commands that pick
    /// their own channels).
    var unrestrictedConfig: FunnelConfig {
        get throws {
            // The deployment's file: its server keys are read (and checked) but only serving uses them.
            var c = try settings.apply(Deployment(), settings: Deployment.settings).funnel
            try ranker.apply(to: &c.rank)
            return try apply(c)
        }
    }

    /// `base` with the flags that were given.
    func apply(_ base: FunnelConfig) throws -> FunnelConfig {
        var c = base
        let s = FunnelConfig.settings
        try assign(&c, s, flag: "merge", key: "mergeMode", merge)
        try assign(&c, s, flag: "neighbours", key: "channel.itemcf.neighbours", neighbours)
        try assign(&c, s, flag: "last-n", key: "channel.itemcf.lastN", lastN)
        try assign(&c, s, flag: "max-items-per-user", key: "channel.itemcf.maxItemsPerUser", maxItemsPerUser)
        try assign(&c, s, flag: "trigger-half-life-days", key: "channel.itemcf.triggerHalfLifeDays", triggerHalfLifeDays)
        try assign(&c, s, flag: "position-decay", key: "channel.itemcf.positionDecay", positionDecay)
        try assign(&c, s, flag: "eges-epochs", key: "channel.eges.epochs", egesEpochs)
        try assign(&c, s, flag: "eges-dim", key: "channel.eges.dim", egesDim)
        try assign(&c, s, flag: "eges-window", key: "channel.eges.window", egesWindow)
        try assign(&c, s, flag: "eges-session-gap-minutes", key: "channel.eges.sessionGapMinutes", egesSessionGapMinutes)
        try assign(&c, s, flag: "eges-support-shrinkage", key: "channel.eges.supportShrinkage", egesSupportShrinkage)
        try assign(&c, s, flag: "gcn-epochs", key: "channel.lightgcn.epochs", gcnEpochs)
        try assign(&c, s, flag: "gcn-layers", key: "channel.lightgcn.layers", gcnLayers)
        try assign(&c, s, flag: "gcn-lr", key: "channel.lightgcn.learningRate", gcnLr)
        try assign(&c, s, flag: "tower-mode", key: "channel.twotower.mode", towerMode)
        try assign(&c, s, flag: "tower-epochs", key: "channel.twotower.epochs", towerEpochs)
        try assign(&c, s, flag: "tower-dim", key: "channel.twotower.dim", towerDim)
        try assign(&c, s, flag: "tower-temperature", key: "channel.twotower.temperature", towerTemperature)
        try assign(&c, s, flag: "tower-lr", key: "channel.twotower.learningRate", towerLr)
        try assign(&c, s, flag: "tower-hard-epochs", key: "channel.twotower.hardNegativeEpochs", towerHardEpochs)
        try assign(&c, s, flag: "tower-self-supervised", key: "channel.twotower.selfSupervisedWeight", towerSelfSupervised)
        if towerSymmetric { c.twoTower.symmetric = true }
        if towerNoLogq { c.twoTower.logQCorrection = false }
        return c
    }
}
