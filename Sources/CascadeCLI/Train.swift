import ArgumentParser
import CascadeCore
import CascadeEngine
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train every model of the funnel on the store's events and publish new versions.",
        discussion: "Each model becomes a new artifact version, activated when training succeeds; earlier versions stay in the registry.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var model: ModelOptions

    @Flag(help: "Refresh the models that support it (two-tower, the ranker and its pre-ranker) from recent events instead of retraining everything.")
    var incremental = false

    @Option(help: "With --incremental: days of events to learn from, counted back from the newest event.")
    var sinceDays: Double = 1

    @Option(help: "Run as the trainer of a deployment: retrain every SECONDS (from the start of one run to the next), forever or for --rounds runs. A failed run is logged and retried at the next tick.")
    var schedule: Double?

    @Option(help: "With --schedule: stop after this many runs.")
    var rounds: Int?

    func validate() throws {
        if let schedule, !(schedule > 0 && schedule.isFinite) { throw ValidationError("--schedule must be a positive number of seconds") }
        if let rounds, rounds < 1 { throw ValidationError("--rounds must be at least 1") }
        if rounds != nil && schedule == nil { throw ValidationError("--rounds needs --schedule") }
        if !(sinceDays > 0 && sinceDays.isFinite) { throw ValidationError("--since-days must be a positive number of days, got \(sinceDays)") }
    }

    func run() throws {
        guard let schedule else { return try runReporting { try trainOnce() } }
        var run = 0
        while rounds.map({ run < $0 }) ?? true {
            run += 1
            let start = Date()
            do {
                try trainOnce()
            } catch let e as CascadeError {
                // The trainer outlives a failed run (the database restarting, say): try again next tick.
                note("train run \(run) failed: \(e.description)")
            }
            if rounds.map({ run >= $0 }) ?? false { break }
            let wait = schedule - Date().timeIntervalSince(start)
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
    }

    func trainOnce() throws {
        do {
            let s = try store.open()
            let bar = ProgressBar("train")
            let r = incremental
                ? try Trainer.refresh(store: s, config: try model.config, days: sinceDays) { bar.stage($0) }
                : try Trainer.train(store: s, config: try model.config) { bar.stage($0) }
            bar.finish()
            emit("trained on \(r.events) events, \(r.users) users, \(r.items) items (load \(String(format: "%.2f", r.loadSeconds))s, train \(String(format: "%.2f", r.trainSeconds))s)")
            for (name, v) in r.versions.sorted(by: { $0.key < $1.key }) {
                emit("  \(name == "rank" || name == "prerank" ? name : "recall/\(name)") v\(v) active")
            }
            for d in r.declined { emit("  recall/\(d.channel) not published: \(d.reason)") }
            if !r.deactivated.isEmpty {
                emit("  \(r.deactivated.joined(separator: " and ")) deactivated: no ranker (--rank none), pages are served in recall order")
            }
            if let m = r.measuredPositionCurve {
                emit("  position curve measured on \(m.impressions) explored impressions (eta \(String(format: "%.3f", m.eta))), held by the position tower: "
                     + m.curve.map { String(format: "%.3f", $0) }.joined(separator: " "))
            }
            if r.pageImpressions > 0 { emit("  \(r.pageImpressions) impressions taken from the served-page log (pages without reported impressions)") }
            if let k = r.rank {
                emit("ranker: \(k.samples) impressions, tasks \(k.tasks.joined(separator: ",")), valid AUC " +
                      k.tasks.map { "\($0) \(String(format: "%.4f", k.validAUC[$0] ?? .nan))" }.joined(separator: ", ") +
                      String(format: " (%.1fs)", k.seconds))
                if let f = k.preRankFidelity {
                    emit("  pre-ranker keeps \(String(format: "%.1f", f.kept * Double(f.rankTop))) of the ranker's top \(f.rankTop) in its top \(f.preTop) (\(String(format: "%.1f%%", 100 * f.kept)); \(f.requests) held-out requests of \(f.candidates) candidates)")
                }
                for c in k.calibration {
                    func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "n/a" }
                    let logloss = c.logLossBefore.isFinite ? ", logloss \(String(format: "%.4f", c.logLossBefore)) -> \(String(format: "%.4f", c.logLossAfter))" : ""
                    emit("  calibration \(c.task): predicted/observed \(f(c.ratioBefore)) -> \(f(c.ratioAfter))\(logloss) (\(c.rows) held-out impressions)")
                }
                if let curve = k.positionCurve {
                    emit("  position bias: click rate by slot relative to the top " + curve.prefix(20).map { String(format: "%.3f", $0) }.joined(separator: " "))
                }
            }
            if let k = r.rankRefresh {
                emit("ranker refreshed on \(k.samples) impressions; AUC of the served ranker on them before the update " +
                      k.tasks.map { "\($0) \(String(format: "%.4f", k.aucBefore[$0] ?? .nan))" }.joined(separator: ", ") +
                      String(format: " (%.1fs)", k.seconds))
            }
        }
    }
}

/// Writes a line to standard output unbuffered, so a long-running trainer's log shows at once.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what the store holds: users, items, events by type, models.")

    @OptionGroup var store: StoreOptions

    func run() throws {
        try runReporting {
            let s = try store.openForReading()
            let c = try s.counts()
            print("users \(c.users)  items \(c.items)  events \(c.events)")
            for (t, n) in c.eventsByType.sorted(by: { $0.value > $1.value }) { print("  \(t.padding(toLength: 12, withPad: " ", startingAt: 0)) \(n)") }
            for q in FunnelConfig().quotas {
                let versions = try s.artifactVersions(name: "recall/\(q.channel)")
                if let a = versions.first(where: \.active) {
                    print("model recall/\(q.channel): v\(a.version) of \(versions.count), \(a.size) bytes, trained \(a.manifest["trained_at"] ?? "?")")
                } else {
                    print("model recall/\(q.channel): not trained")
                }
            }
        }
    }
}
