import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeExperiment
import CascadeSim
import CascadeStore
import Foundation

/// `cascade experiment ...`: layered A/B experiments over the funnel's parameters.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Layered A/B experiments: validate a config, assign users, report per arm, simulate a closed loop.",
        discussion: """
            The config is JSON: buckets per layer (default 1000), an optional global holdout, and layers of \
            experiments whose arms hold bucket ranges and funnel overrides (\(FunnelConfig.overrideKeys.joined(separator: ", "))). \
            See README.md, "Experiments".
            """,
        subcommands: [Validate.self, Assign.self, Report.self, Estimate.self, SimulateAB.self])

    struct ConfigOption: ParsableArguments {
        @Option(help: "The experiment config (JSON).")
        var config: String

        func load() throws -> ExperimentConfig { try ExperimentConfig.load(path: config, funnel: FunnelConfig()) }
    }

    /// The window of logged events or pages a command reads.
    struct WindowOption: ParsableArguments {
        @Option(help: "Start of the window: Unix seconds or an ISO 8601 date/time (default: the beginning).")
        var from: String?

        @Option(help: "End of the window (exclusive), same forms (default: no end).")
        var to: String?

        /// `[from, to)` in Unix seconds; throws when it is empty.
        func range() throws -> (from: Double, to: Double) {
            let lo = try from.map { try parseTime($0, option: "--from") } ?? -1e15
            let hi = try to.map { try parseTime($0, option: "--to") } ?? 1e15
            guard lo < hi else { throw CascadeError.invalid("--from must be before --to") }
            return (lo, hi)
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a config (bucket ranges, names, keys, values) and print its arms with their traffic shares.")

        @OptionGroup var options: ConfigOption

        func run() throws {
            try runReporting {
                let c = try options.load()
                let held = c.holdout?.ranges(total: c.buckets).reduce(0) { $0 + $1.count } ?? 0
                print("config=\(options.config) valid=true fingerprint=\(c.fingerprint) buckets=\(c.buckets) layers=\(c.layers.count) holdout=\(String(format: "%.4f", Double(held) / Double(c.buckets)))")
                for layer in c.layers {
                    let named = Set(layer.experiments.flatMap(\.arms).compactMap(\.buckets).flatMap { $0.flatMap { Array($0.lo...$0.hi) } })
                    for exp in layer.experiments {
                        for arm in exp.arms {
                            let count = arm.buckets.map { $0.reduce(0) { $0 + $1.count } } ?? (c.buckets - named.count)
                            let ranges = arm.buckets.map { $0.map(\.description).joined(separator: ",") } ?? "rest"
                            let overrides = arm.overrides.keys.sorted().map { "\($0)=\(arm.overrides[$0]!)" }.joined(separator: ";")
                            // Shares are of the users outside the holdout.
                            print("layer=\(layer.name) experiment=\(exp.name) kind=\(exp.kind.rawValue) status=\(exp.status.rawValue) arm=\(arm.name) buckets=\(ranges) share=\(String(format: "%.4f", Double(count) / Double(c.buckets))) overrides=\(overrides.isEmpty ? "-" : overrides)")
                        }
                    }
                }
            }
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print where users stand: holdout, arm per layer, merged overrides, log tag.")

        @OptionGroup var options: ConfigOption

        @Option(name: .customLong("user"), help: "A user id (repeat for several).")
        var users: [String]

        func validate() throws {
            guard !users.isEmpty else { throw ValidationError("give at least one --user") }
        }

        func run() throws {
            try runReporting {
                let c = try options.load()
                for user in users {
                    let a = c.assign(user: user)
                    let buckets = c.layers.map { "bucket.\($0.name)=\(c.bucket(of: user, layer: $0.name))" }.joined(separator: " ")
                    let overrides = a.overrides.keys.sorted().map { "\($0)=\(a.overrides[$0]!)" }.joined(separator: ";")
                    print("user=\(user) holdout=\(a.holdout) arms=\(a.compact.isEmpty ? "-" : a.compact) tag=\(a.tag) overrides=\(overrides.isEmpty ? "-" : overrides)\(buckets.isEmpty ? "" : " " + buckets)")
                }
            }
        }
    }

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-arm metrics from a store's events: users, impressions, CTR, engagement, north star, difference vs control and p.",
            discussion: """
                Reads the events in [--from, --to), groups them by user and assigns every user from the config \
                (the same hash the server uses; stopped experiments included). Each row is one arm; the first arm of \
                an experiment is its control. `delta`, `delta_lo`, `delta_hi` and `p` are those of --metric: ctr \
                (delta method over users, z test), engagement (positive events per user) or northstar (--northstar: \
                weighted = sum of event-type weights per user, time = seconds watched per user), both by Welch's t test.
                """)

        @OptionGroup var store: StoreOptions
        @OptionGroup var options: ConfigOption

        @OptionGroup var window: WindowOption

        @Option(help: "Tested metric: ctr, engagement or northstar.")
        var metric: String = ReportMetric.northstar.rawValue

        @Option(help: "North-star metric: weighted (event-type weights per user) or time (seconds watched per user).")
        var northstar: String = NorthStar.weighted.rawValue

        func validate() throws {
            guard ReportMetric(rawValue: metric) != nil else { throw ValidationError("--metric must be ctr, engagement or northstar, got \(metric)") }
            guard NorthStar(rawValue: northstar) != nil else { throw ValidationError("--northstar must be weighted or time, got \(northstar)") }
        }

        func run() throws {
            try runReporting {
                let c = try options.load()
                let (lo, hi) = try window.range()
                guard store.exists else { throw CascadeError.notFound("database \(store.display)") }
                let s = try store.openForReading()
                let events = try s.events(from: lo, to: hi)
                let outcomes = ExperimentReport.outcomes(of: events, registry: try s.eventTypes())
                let m = ReportMetric(rawValue: metric)!
                note("\(events.count) events of \(outcomes.count) users")
                for row in ExperimentReport.rows(config: c, outcomes: outcomes, metric: m, northStar: NorthStar(rawValue: northstar)!) {
                    print(ExperimentReport.line(row, metric: m))
                }
            }
        }
    }

    struct Estimate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Estimate each arm's CTR offline from the served-page log, before it serves anyone (IPS, SNIPS, doubly robust).",
            discussion: """
                Reads the pages served in [--from, --to) that carry propensities (served with \
                rerank.exploreEpsilon), joins their clicks (by request id, else by user and item within a day), \
                replays each arm's page for every logged request with the active models, and prints one line per \
                arm: ips, snips, dr with its 95% interval (dr_lo, dr_hi), the direct model alone (dm), the \
                effective sample size (ess) and the share of the arm's items the log could have shown (support). \
                Needs a ranker trained with --rank-position-bias (its position curve). Exits non-zero when the \
                window has no pages with propensities.
                """)

        @OptionGroup var store: StoreOptions
        @OptionGroup var options: ConfigOption

        @OptionGroup var window: WindowOption

        @Option(help: "Candidates after the page that exploring slots drew from when the pages were served (rerank.explorePool).")
        var explorePool: Int = RerankConfig().explorePool

        func validate() throws {
            guard explorePool >= 1 else { throw ValidationError("--explore-pool must be at least 1") }
        }

        func run() throws {
            try runReporting {
                let c = try options.load()
                let (lo, hi) = try window.range()
                guard store.exists else { throw CascadeError.notFound("database \(store.display)") }
                let r = try LoggedPageEstimate.run(store: try store.openForReading(), experiments: c, from: lo, to: hi, pool: explorePool)
                note("\(r.explored) of \(r.pages) served pages carry propensities; their CTR \(String(format: "%.4f", r.loggedCTR)); position curve "
                     + r.examination.prefix(10).map { String(format: "%.3f", $0) }.joined(separator: " "))
                for row in r.rows { print(row.line) }
            }
        }
    }

    struct SimulateAB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "simulate",
            abstract: "Closed-loop A/B test on a simulated world: train, serve each arm's funnel, draw true responses, report per arm.",
            discussion: """
                Each row adds the simulator's exact expectation for the pages the arm served (true_ctr, \
                true_northstar) beside the measured values. With --db the world and the loop's events are written \
                to a new store, so `cascade experiment report` can be run on them.
                """)

        @OptionGroup var options: ConfigOption

        @Option(help: "Simulated users.") var users: Int = 2_000
        @Option(help: "Simulated items.") var items: Int = 5_000
        @Option(help: "Logged events of the history the funnel trains on.") var events: Int = 200_000
        @Option(help: "Seed of the world.") var seed: UInt64 = 42
        @Option(help: "Rounds (days) of serving.") var rounds: Int = 3
        @Option(help: "Items per page.") var pageSize: Int = 10
        @Option(help: "Seed of the users' responses.") var responseSeed: UInt64 = 1
        @Option(help: "Tested metric: ctr, engagement or northstar.") var metric: String = ReportMetric.northstar.rawValue
        @Option(help: "North-star metric: weighted or time.") var northstar: String = NorthStar.weighted.rawValue
        @Option(help: "Write the world and the loop's events into this new SQLite file.") var db: String?
        @Option(help: "Also serve every user by the base funnel exploring this share of slots, and estimate each arm offline from that log (IPS, SNIPS, doubly robust) beside its truth.")
        var explore: Double?
        @Option(help: "Candidates after the page that an exploring slot draws from (with --explore).")
        var explorePool: Int = 40
        @Flag(help: "The world's logging system orders each logged page by its own estimate, best at the top (position then confounds relevance in the log the funnel trains on).")
        var rankedLog = false
    @Option(help: "With --ranked-log: what the logging system orders its pages by, estimate (its estimate of the user's taste) or popularity.")
    var rankedLogBy: LoggingPolicyConfig.PageOrder = .estimate
        /// The ranker the arms that rank use (the same flags as `cascade train`).
        @OptionGroup var ranker: RankerOptions

        func validate() throws {
            guard rounds >= 1, pageSize >= 1 else { throw ValidationError("--rounds and --page-size must be at least 1") }
            if let explore, !(explore > 0 && explore <= 1) { throw ValidationError("--explore must be in (0, 1], got \(explore)") }
            guard explorePool >= pageSize else { throw ValidationError("--explore-pool (\(explorePool)) must be at least --page-size (\(pageSize))") }
            guard ReportMetric(rawValue: metric) != nil else { throw ValidationError("--metric must be ctr, engagement or northstar, got \(metric)") }
            guard NorthStar(rawValue: northstar) != nil else { throw ValidationError("--northstar must be weighted or time, got \(northstar)") }
        }

        func run() throws {
            try runReporting {
                let c = try options.load()
                if let db, FileManager.default.fileExists(atPath: db) {
                    throw CascadeError.invalid("\(db) already exists; give a new database file")
                }
                var sim = SimConfig(users: users, items: items, events: events, seed: seed)
                sim.policy.rankedPages = rankedLog
                sim.policy.rankedBy = rankedLogBy
                try sim.validate()
                let world = SimulatedWorld.generate(sim)
                var p = ABSimulation.Parameters()
                p.rounds = rounds
                p.pageSize = pageSize
                p.seed = responseSeed
                p.metric = ReportMetric(rawValue: metric)!
                p.northStar = NorthStar(rawValue: northstar)!
                let bar = ProgressBar("ab")
                var base = FunnelConfig()
                try ranker.apply(to: &base.rank)
                var offPolicy: ABSimulation.OffPolicyResult?
                let r: ABSimulation.Result
                if let explore {
                    offPolicy = try ABSimulation.offPolicy(world: world, experiments: c, base: base, parameters: p, epsilon: explore,
                                                           pool: explorePool) { bar.stage($0) }
                    r = offPolicy!.loop
                } else {
                    r = try ABSimulation.run(world: world, experiments: c, base: base, parameters: p) { bar.stage($0) }
                }
                bar.finish()
                note("world: \(world.users.count) users, \(world.items.count) items, \(world.log.count) events; trained in \(String(format: "%.1f", r.trainSeconds))s; \(r.requests) requests in \(String(format: "%.1f", r.serveSeconds))s; \(r.events.count) new events")
                for k in r.rows.indices { print(r.line(k)) }
                if let o = offPolicy {
                    note("offline estimates from the base funnel's log with exploration \(explore!) over \(explorePool) candidates: logged CTR \(String(format: "%.4f", o.loggedCTR)) (true \(String(format: "%.4f", o.loggedTrueCTR))); position curve " + o.examination.prefix(p.pageSize).map { String(format: "%.3f", $0) }.joined(separator: " ")
                         + " against the world's " + (0..<min(p.pageSize, o.examination.count)).map { String(format: "%.3f", Double(world.positionBias(position: $0))) }.joined(separator: " "))
                    if let c = o.exploredCurve {
                        note("position curve measured on the explored slots alone (\(c.impressions) impressions, \(Int(c.clicks)) clicks): eta "
                             + String(format: "%.3f", c.eta) + ", " + c.curve.map { String(format: "%.4f", $0) }.joined(separator: ",")
                             + " (raw " + c.raw.map { String(format: "%.2f", $0) }.joined(separator: " ") + "); give it to an arm as rank.positionCurve")
                    }
                    for a in o.arms { print("estimate " + a.line) }
                }
                if let db {
                    let s = try SQLiteStore(path: db)
                    try SimulationLoader.write(world, to: s)
                    if let o = offPolicy {
                        // The deployment as it stands after the exploring run: models trained on the
                        // world's history (the ranker with its position curve), then the run's
                        // traffic: its events and its served pages.
                        var trained = base
                        trained.rank.positionBias = true
                        _ = try Trainer.train(store: s, config: trained)
                        try s.appendEvents(o.events)
                        try s.appendPages(o.pages)
                        note("wrote the world, models trained on it, the exploring run's events and its \(o.pages.count) served pages to \(db); "
                             + "estimate arms from them with `cascade experiment estimate --db \(db) --from \(Int(world.config.end))`")
                    } else {
                        try s.appendEvents(r.events)
                        note("wrote the world and the loop's events to \(db); report the loop with --from \(Int(world.config.end))")
                    }
                }
            }
        }
    }
}

/// Unix seconds, or an ISO 8601 date (`2024-01-31`) or date-time (`2024-01-31T12:00:00Z`).
func parseTime(_ s: String, option: String) throws -> Double {
    if let t = Double(s), t.isFinite { return t }
    let f = ISO8601DateFormatter()
    if let d = f.date(from: s) { return d.timeIntervalSince1970 }
    f.formatOptions = [.withFullDate]
    if let d = f.date(from: s) { return d.timeIntervalSince1970 }
    throw CascadeError.invalid("\(option) '\(s)': expected Unix seconds or an ISO 8601 date such as 2024-01-31 or 2024-01-31T12:00:00Z")
}
