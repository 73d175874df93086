import ArgumentParser
import CascadeCore
import CascadeEngine
import CascadeSim
import CascadeStore
import CascadeTensor
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks; each prints one line per measurement as key=value fields.",
        subcommands: [BenchStore.self, BenchTensor.self])
}

struct BenchTensor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "GEMM GFLOP/s at recommender shapes (one and two threads), the scoring product, gathers.",
        discussion: "Compare with ../shared/bench/gemm_peer.py (numpy/OpenBLAS) on the same machine.")

    @Flag(help: "Fewer repetitions (a rough figure in a few seconds).")
    var quick = false

    func run() throws {
        for line in TensorBenchmark.run(threads: [1, 2], quick: quick) { print(line) }
    }
}

struct BenchStore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Event ingest into SQLite (durable batches) and CSR build time, on simulated events.")

    @Option(help: "Simulated events (users = events/100, items = events/10).")
    var events: Int = 10_000_000

    @Option(help: "Events per durable transaction.")
    var batch: Int = 10_000

    @Option(help: "Folder for the scratch database (default: the system temporary folder).")
    var dir: String?

    @Flag(help: "Measure with synchronous=NORMAL instead of FULL.")
    var relaxedDurability = false

    func run() throws {
        try runReporting {
            let machine = "cores=\(ProcessInfo.processInfo.activeProcessorCount)"
            let config = SimConfig(users: max(10, events / 100), items: max(10, events / 10), events: events, seed: 7)
            var t = Date()
            let world = SimulatedWorld.generate(config)
            print("bench=store:simulate events=\(world.log.count) users=\(config.users) items=\(config.items) s=\(fmt(Date().timeIntervalSince(t))) \(machine)")

            let folder = dir ?? FileManager.default.temporaryDirectory.path
            let path = (folder as NSString).appendingPathComponent("cascade-bench-\(UUID().uuidString).sqlite")
            defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
            let store = try SQLiteStore(path: path, durability: relaxedDurability ? .normal : .full)
            t = Date()
            try store.importBatch(users: world.users, items: world.items, events: [])
            print("bench=store:entities users=\(world.users.count) items=\(world.items.count) s=\(fmt(Date().timeIntervalSince(t)))")

            // Events as an application sends them: string ids, batches of `batch`, each durable.
            let log = world.log
            let names = (0..<256).map { EventType(EventTypeRegistry().name(of: UInt8($0))) }
            var batches: [[Event]] = []
            var cur: [Event] = []
            for i in 0..<log.count {
                let v = log.values[i]
                cur.append(Event(user: world.users[Int(log.users[i])].id, item: world.items[Int(log.items[i])].id,
                                 type: names[Int(log.types[i])], timestamp: log.timestamps[i], value: v.isNaN ? nil : Double(v)))
                if cur.count == batch { batches.append(cur); cur = [] }
            }
            if !cur.isEmpty { batches.append(cur) }
            let bar = ProgressBar("ingest", total: Double(batches.count))
            t = Date()
            for (n, b) in batches.enumerated() {
                try store.appendEvents(b)
                bar.update(Double(n + 1))
            }
            bar.finish()
            let ingest = Date().timeIntervalSince(t)
            print("bench=store:ingest events=\(log.count) batch=\(batch) synchronous=\(relaxedDurability ? "NORMAL" : "FULL") s=\(fmt(ingest)) events_per_s=\(Int(Double(log.count) / ingest))")

            t = Date()
            let loaded = try store.loadEventLog()
            let load = Date().timeIntervalSince(t)
            print("bench=store:scan events=\(loaded.count) s=\(fmt(load)) events_per_s=\(Int(Double(loaded.count) / load))")

            t = Date()
            let m = InteractionMatrix(log: loaded, userCount: world.users.count, itemCount: world.items.count,
                                      typeWeights: EventTypeRegistry().weightsByCode, halfLife: 7 * 86_400)
            print("bench=store:csr events=\(loaded.count) nnz=\(m.userItems.nonZeroCount) s=\(fmt(Date().timeIntervalSince(t)))")
        }
    }

    func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
}
