import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeSim
import Foundation

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic world with known tastes and write it into a store.",
        discussion: """
            Users u1..uN and items i1..iM with categories, authors, tags, locations and publish times; \
            sessions of impressions chosen by a logging policy, and the clicks, likes, shares, watch time \
            and completions that users' true tastes produce. Deterministic for a seed.
            """)

    @OptionGroup var store: StoreOptions

    @Option(help: "Number of users.")
    var users: Int = 2_000

    @Option(help: "Number of items.")
    var items: Int = 5_000

    @Option(help: "Number of logged events (impressions included).")
    var events: Int = 200_000

    @Flag(help: "The world's logging system orders each logged page by its own estimate, best at the top.")
    var rankedLog = false
    @Option(help: "With --ranked-log: what the logging system orders its pages by, estimate (its estimate of the user's taste) or popularity.")
    var rankedLogBy: LoggingPolicyConfig.PageOrder = .estimate

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    func run() throws {
        try runReporting {
            var config = SimConfig(users: users, items: items, events: events, seed: seed)
            config.policy.rankedPages = rankedLog
            config.policy.rankedBy = rankedLogBy
            try config.validate()
            if store.exists, try store.openForReading().counts().events > 0 {
                throw CascadeError.invalid("\(store.display) already holds events; simulate into a new, empty store")
            }
            let gen = ProgressBar("simulate")
            let t0 = Date()
            let world = SimulatedWorld.generate(config) { gen.update($0) }
            gen.finish("generated \(world.users.count) users, \(world.items.count) items, \(world.log.count) events in \(String(format: "%.1f", Date().timeIntervalSince(t0)))s")
            // Sessions are drawn whole, so the count is near the one asked, rarely equal; say so.
            if events > 0 && world.log.count == 0 {
                throw CascadeError.invalid("the simulator produced no events of the \(events) asked: \(users) users and \(items) items are too few for its sessions (try at least 50 users and 100 items); nothing was written")
            }
            if world.log.count < events * 95 / 100 || world.log.count > events * 105 / 100 {
                note("note: \(world.log.count) events were produced of the \(events) asked (sessions are drawn whole; a small world ends them early)")
            }
            let s = try store.open()
            let bar = ProgressBar("write")
            let r = try SimulationLoader.write(world, to: s) { bar.update($0) }
            bar.finish()
            print("wrote \(r.users) users, \(r.items) items, \(r.events) events to \(store.display) in \(String(format: "%.1f", r.seconds))s")
            print("Bayes-optimal click AUC of the logged impressions: \(String(format: "%.4f", world.bayesOptimalClickAUC()))")
        }
    }
}

/// `--ranked-log-by estimate|popularity` (ArgumentParser lists the values and refuses others).
extension LoggingPolicyConfig.PageOrder: ExpressibleByArgument {}
