import ArgumentParser
import CascadeANN
import CascadeCore
import CascadeEngine
import CascadeRecall
import CascadeSim
import CascadeStore
import CascadeTensor
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks; each prints one line per measurement as key=value fields.",
        subcommands: [BenchStore.self, BenchRecall.self, BenchANN.self, BenchTensor.self, BenchRank.self])
}

struct BenchANN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ann",
        abstract: "HNSW, IVF and flat search on the files of `ann_peers.py make DIR`: recall@10 and single-thread QPS per ef.",
        discussion: "Run `ann_peers.py run DIR` in the same session to compare; lines share their fields.")

    @Argument(help: "The folder written by ann_peers.py make (base.fvecs, query.fvecs, gt_l2.ivecs, gt_ip.ivecs).")
    var dir: String

    @Option(help: "Comma-separated HNSW search widths.")
    var efs: String = "16,32,64,128,256"

    @Option(help: "Metric of the ground truth: l2 or ip.")
    var metric: String = "l2"

    @Option(help: "Build threads.")
    var threads: Int = 2

    @Option(help: "Comma-separated indexes: hnsw, ivf, flat.")
    var indexes: String = "hnsw,ivf,flat"

    func run() throws {
        try runReporting {
            let widths = efs.split(separator: ",").compactMap { Int($0) }
            guard !widths.isEmpty, widths.allSatisfy({ $0 > 0 }) else { throw CascadeError.invalid("--efs must list positive integers, got '\(efs)'") }
            guard let m = ["l2": VectorMetric.l2, "ip": .innerProduct][metric] else { throw CascadeError.invalid("--metric must be l2 or ip, got '\(metric)'") }
            let kinds = try indexes.split(separator: ",").map { k -> ANNBenchmark.Kind in
                guard let kind = ANNBenchmark.Kind(rawValue: String(k)) else { throw CascadeError.invalid("--indexes: unknown index '\(k)'") }
                return kind
            }
            _ = try ANNBenchmark.run(dir: dir, efs: widths, threads: threads, metric: m, kinds: kinds) { print($0) }
        }
    }
}

struct BenchTensor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "GEMM GFLOP/s at recommender shapes (one and two threads), the scoring product, gathers, and training throughput.",
        discussion: """
            Compare with ../shared/bench/gemm_peer.py (numpy/OpenBLAS) and bench/torch_peer.py (PyTorch CPU) \
            on the same machine. Training: a 320-256-128-1 MLP and a 26-field x 16-dim embedding model \
            (1M-row tables), batch 512, Adam; samples/s from the median step.
            """)

    @Flag(help: "Fewer repetitions (a rough figure in a few seconds).")
    var quick = false

    @Flag(help: "Skip the training-throughput figures.")
    var noTrain = false

    @Option(help: "Rows of each embedding table in the training benchmark.")
    var rows: Int = 1_000_000

    @Option(help: "Timed steps per training figure.")
    var steps: Int = 50

    func run() throws {
        for line in TensorBenchmark.run(threads: [1, 2], quick: quick) { print(line) }
        if !noTrain {
            for line in try TrainingBenchmark.run(threads: [1, 2], steps: quick ? 10 : steps, rows: rows) { print(line) }
        }
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

struct BenchRecall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall",
        abstract: "Build every recall channel on a simulated world and time requests through the merged funnel.")

    @Option(help: "Simulated events (users = events/100, items = events/10).")
    var events: Int = 10_000_000

    @Option(help: "Requests to time.")
    var requests: Int = 2_000

    @Option(help: "Comma-separated channels (default: the default funnel).")
    var channels: String?

    @Option(help: "Time only users with at least this many events (heavier users recall more candidates).")
    var minHistory: Int = 0

    @OptionGroup var settings: SettingsOptions

    func run() throws {
        try runReporting {
            let config0 = SimConfig(users: max(10, events / 100), items: max(10, events / 10), events: events, seed: 11)
            var t = Date()
            let world = SimulatedWorld.generate(config0)
            print("bench=recall:simulate events=\(world.log.count) users=\(config0.users) items=\(config0.items) s=\(fmt(Date().timeIntervalSince(t)))")
            var config = try settings.apply(FunnelConfig(), settings: FunnelConfig.settings)
            if let channels { config = try config.restricted(to: channels.split(separator: ",").map(String.init)) }
            let registry = EventTypeRegistry()
            var built: [any RecallChannel] = []
            for q in config.quotas {
                var one = config
                one.quotas = [q]
                t = Date()
                let trained = try Trainer.build(log: world.log, userCount: world.users.count, itemCount: world.items.count,
                                                registry: registry, items: world.items, config: one)
                built += trained.channels
                print("bench=recall:build channel=\(q.channel) s=\(fmt(Date().timeIntervalSince(t))) peak_rss_gib=\(String(format: "%.2f", peakMemoryGiB()))")
            }
            let ids = (users: IdMap(ids: world.users.map(\.id)), items: IdMap(ids: world.items.map(\.id)))
            let rec = Recommender(funnel: Funnel(channels: built, config: config, itemCount: world.items.count),
                                  users: ids.users, items: ids.items, catalog: ItemCatalog(items: world.items, ids: ids.items),
                                  registry: registry, userLocations: world.users.map(\.location))
            let index = world.log.indexByUser(userCount: world.users.count)
            let now = world.log.maxTimestamp
            let eligible = (0..<world.users.count).filter { index.offsets[$0 + 1] - index.offsets[$0] >= minHistory }
            guard !eligible.isEmpty else { throw CascadeError.invalid("no user has \(minHistory) events") }
            var latencies: [Double] = []
            var candidates = 0
            var perChannel: [String: (micros: Double, count: Int)] = [:]
            for r in 0..<requests {
                let u = Int32(eligible[(r &* 7919) % eligible.count])
                let lo = index.offsets[Int(u)], hi = index.offsets[Int(u) + 1]
                let history = (max(lo, hi - config.historyLength)..<hi).reversed().map { e in
                    HistoryEvent(item: world.log.items[index.events[e]], type: world.log.types[index.events[e]], timestamp: world.log.timestamps[index.events[e]])
                }
                let start = DispatchTime.now().uptimeNanoseconds
                let result = rec.run(user: world.users[Int(u)].id, history: history, n: 10, now: now)
                latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                candidates += result.merged
                for c in result.channels {
                    perChannel[c.channel, default: (0, 0)].micros += c.microseconds
                    perChannel[c.channel, default: (0, 0)].count += c.candidates
                }
            }
            for q in config.quotas {
                guard let c = perChannel[q.channel] else { continue }
                print("bench=recall:channel channel=\(q.channel) mean_ms=\(fmt(c.micros / 1000 / Double(requests))) mean_candidates=\(c.count / requests)")
            }
            // The sequential query alone: the state after the user's last N positives (N = the model's length).
            if let sasrec = built.lazy.compactMap({ ($0 as? SASRec) ?? (($0 as? IndexedRecall)?.base as? SASRec) }).first {
                var times: [Double] = []
                for r in 0..<requests {
                    let u = eligible[(r &* 7919) % eligible.count]
                    let lo = index.offsets[u], hi = index.offsets[u + 1]
                    let history = (max(lo, hi - config.historyLength)..<hi).reversed().map { world.log.items[index.events[$0]] }
                    let start = DispatchTime.now().uptimeNanoseconds
                    _ = sasrec.userVector(history: history)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
                times.sort()
                print("bench=recall:sasrec_query length=\(sasrec.parameters.length) dim=\(sasrec.dim) blocks=\(sasrec.parameters.blocks) requests=\(requests) mean_ms=\(fmt(times.reduce(0, +) / Double(max(1, times.count)))) p50_ms=\(fmt(times[times.count / 2])) p99_ms=\(fmt(times[min(times.count - 1, Int(Double(times.count) * 0.99))]))")
            }
            latencies.sort()
            func pct(_ p: Double) -> String { fmt(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) }
            print("bench=recall:request requests=\(requests) min_history=\(minHistory) channels=\(built.count) mean_candidates=\(candidates / max(1, requests)) p50_ms=\(pct(0.5)) p99_ms=\(pct(0.99)) max_ms=\(fmt(latencies.last ?? 0))")
        }
    }

    func fmt(_ x: Double) -> String { String(format: "%.3f", x) }
}

/// Peak resident memory of this process (Linux VmHWM), in GiB; 0 where unknown.
func peakMemoryGiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1_048_576
}
