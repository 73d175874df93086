import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeLab
import CascadeSim
import CascadeStore
import Foundation

struct Quickstart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "See Cascade work end to end: simulate a small world, train, recommend, evaluate.",
        discussion: """
            Writes a fresh SQLite file (replacing an earlier quickstart file at the same path), so the \
            other commands can be tried on it afterwards, e.g. `cascade recommend --db cascade-quickstart.sqlite --user u7`.
            """)

    @Option(help: "The SQLite file to create.")
    var db: String = "cascade-quickstart.sqlite"

    @Option(help: "Simulated users.")
    var users: Int = 2_000

    @Option(help: "Simulated items.")
    var items: Int = 5_000

    @Option(help: "Simulated events (impressions included).")
    var events: Int = 300_000

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    func run() throws {
        try runReporting {
            let started = Date()
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: db + suffix) {
                try? FileManager.default.removeItem(atPath: db + suffix)
            }
            let config = SimConfig(users: users, items: items, events: events, seed: seed)
            try config.validate()
            print("1. simulate: \(users) users, \(items) items, \(events) events (seed \(seed))")
            let world = SimulatedWorld.generate(config)
            let s = try SQLiteStore(path: db)
            let bar = ProgressBar("   write")
            let w = try SimulationLoader.write(world, to: s) { bar.update($0) }
            bar.finish()
            let c = try s.counts()
            let byType = c.eventsByType.sorted { $0.value > $1.value }.prefix(6).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("   stored in \(db) in \(String(format: "%.1f", w.seconds))s: \(byType)")

            print("2. train")
            let tb = ProgressBar("   train")
            let r = try Trainer.train(store: s) { tb.stage($0) }
            tb.finish()
            print("   \(r.versions.keys.sorted().map { "\($0 == "rank" || $0 == "prerank" ? $0 : "recall/\($0)") v\(r.versions[$0]!)" }.joined(separator: ", ")) in \(String(format: "%.1f", r.trainSeconds))s")

            print("3. recommend (item, its category, the channels that recalled it)")
            let rec = try Recommender.load(store: s)
            let catalog = Dictionary(uniqueKeysWithValues: world.items.map { ($0.id, $0) })
            // Show three users with some history (most simulated users are light users).
            var clicks = [Int](repeating: 0, count: world.users.count)
            for i in 0..<world.log.count where world.log.types[i] == 1 { clicks[Int(world.log.users[i])] += 1 }
            let shown = clicks.indices.filter { clicks[$0] >= 8 }.prefix(3).map { world.users[$0].id }
            for user in shown {
                let recent = try s.lastEvents(user: user, limit: 200, types: [.click])
                let cats = Dictionary(grouping: recent.compactMap { catalog[$0.item]?.categories.last }, by: { $0 })
                    .sorted { $0.value.count > $1.value.count }.prefix(3).map { "\($0.key) x\($0.value.count)" }
                print("   \(user) clicked mostly: \(cats.joined(separator: ", "))")
                for (n, x) in try rec.recommend(user: user, n: 5, store: s, now: world.log.maxTimestamp).enumerated() {
                    let id = rec.items.external(x.item)
                    print("     \(n + 1). \(id.padding(toLength: 7, withPad: " ", startingAt: 0)) \((catalog[id]?.categories.last ?? "?").padding(toLength: 6, withPad: " ", startingAt: 0)) \(x.channels.joined(separator: "+"))")
                }
            }
            let cold = try rec.recommend(user: "new-user", n: 5, store: s, now: world.log.maxTimestamp)
            print("   new-user (never seen): \(cold.map { rec.items.external($0.item) }.joined(separator: " ")) from \(Set(cold.flatMap(\.channels)).sorted().joined(separator: "+"))")

            print("4. evaluate offline (per-user temporal split, last 20% of each user's positive events held out)")
            let eb = ProgressBar("   eval")
            let e = try OfflineEvaluation.run(store: s, testFraction: 0.2, k: 10) { eb.stage($0) }
            eb.finish()
            for line in OfflineEvaluation.table(e, k: 10).split(separator: "\n") { print("   \(line)") }
            print("done in \(String(format: "%.1f", Date().timeIntervalSince(started)))s. Try: cascade recommend --db \(db) --user u7")
        }
    }
}
