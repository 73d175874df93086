import Foundation

/// Statistics features for ranking, computed without looking ahead: for each row, the counts and
/// smoothed positive rates of its user, its item (any key columns) as they stood strictly before
/// the row's time. They are added to a `FeatureFrame` as numeric columns
/// (`<key>_count`, `<key>_rate`, `<key>_count_7d`, `<key>_count_1d`) and declared like any other
/// numeric feature (counts log1p-standardized, rates standardized).
///
/// `augment(_:learnLabels:)` walks rows in time order, reading each row's statistics before any
/// row at the same time is counted (so a row never sees itself), then counting them. Exposure
/// counts (`_count`, `_count_7d`, `_count_1d`: how many rows the key had) need no label and are
/// always kept up to date, as a serving system counts impressions as they happen. Rates need
/// labels: with `learnLabels: false` (validation and test rows) the labelled counts stay frozen,
/// so a row never sees the labels of its own period; `learn(_:)` adds labelled rows afterwards.
/// Rates are Bayesian-smoothed toward the global positive rate with `prior` pseudo-trials.
/// O(rows log rows) for the sort plus O(rows keys windows).
public final class StatisticsFeatures {
    public let keys: [String]
    public let timeColumn: String
    public let labelColumn: String
    public let prior: Float
    private var counters: WindowedCounters
    private var trials: Double = 0
    private var positives: Double = 0

    public init(keys: [String], timeColumn: String = "timestamp", labelColumn: String = "label", prior: Float = 20) {
        self.keys = keys
        self.timeColumn = timeColumn
        self.labelColumn = labelColumn
        self.prior = prior
        counters = WindowedCounters(kinds: 3, horizonDays: 30)
    }

    /// Names of the columns `augment` adds.
    public var columnNames: [String] { keys.flatMap { ["\($0)_count", "\($0)_rate", "\($0)_count_7d", "\($0)_count_1d"] } }

    /// The declared features for the added columns.
    public var featureSpecs: [FeatureSpec] {
        keys.flatMap { k in [
            FeatureSpec(name: "\(k)_count", kind: .numeric, transform: .log1pStandardize),
            FeatureSpec(name: "\(k)_rate", kind: .numeric, transform: .standardize),
            FeatureSpec(name: "\(k)_count_7d", kind: .numeric, transform: .log1pStandardize),
            FeatureSpec(name: "\(k)_count_1d", kind: .numeric, transform: .log1pStandardize),
        ] }
    }

    /// Adds the statistics columns to `frame`, counting its rows as it goes (exposures always,
    /// labels only with `learnLabels`).
    public func augment(_ frame: inout FeatureFrame, learnLabels: Bool) throws {
        let (times, labels, keyCols) = try columns(frame, needLabels: learnLabels)
        let n = frame.rowCount
        var out = [[String]](repeating: [String](repeating: "", count: n), count: keys.count * 4)
        let order = (0..<n).sorted { times[$0] < times[$1] }
        var i = 0
        while i < n {
            var j = i
            while j < n && times[order[j]] == times[order[i]] { j += 1 }
            let mean = Float(trials > 0 ? positives / trials : 0.5)
            for r in order[i..<j] {
                let day = Self.day(times[r])
                for (k, col) in keyCols.enumerated() {
                    let key = col[r]
                    let all = counters.count(key, kind: 0, day: day, window: nil)
                    let labelled = counters.count(key, kind: 1, day: day, window: nil)
                    let pos = counters.count(key, kind: 2, day: day, window: nil)
                    out[k * 4][r] = String(all)
                    out[k * 4 + 1][r] = String(WindowedCounters.smoothedRate(successes: pos, trials: labelled, prior: prior, mean: mean))
                    out[k * 4 + 2][r] = String(counters.count(key, kind: 0, day: day, window: 7))
                    out[k * 4 + 3][r] = String(counters.count(key, kind: 0, day: day, window: 1))
                }
            }
            for r in order[i..<j] { count(row: r, times: times, labels: labels, keyCols: keyCols, exposures: true) }
            i = j
        }
        for (c, name) in columnNames.enumerated() { frame.columns[name] = out[c] }
    }

    /// Counts the labels of `frame`'s rows, whose exposures `augment` already counted (e.g.
    /// validation rows, before the test rows are augmented).
    public func learn(_ frame: FeatureFrame) throws {
        let (times, labels, keyCols) = try columns(frame, needLabels: true)
        for r in (0..<frame.rowCount).sorted(by: { times[$0] < times[$1] }) {
            count(row: r, times: times, labels: labels, keyCols: keyCols, exposures: false)
        }
    }

    /// Counts one row: its exposure (when `exposures`) and, with a label, the labelled trial.
    private func count(row r: Int, times: [Double], labels: [Float]?, keyCols: [[String]], exposures: Bool) {
        let day = Self.day(times[r])
        for col in keyCols {
            if exposures { counters.add(col[r], kind: 0, day: day) }
            if let y = labels?[r] {
                counters.add(col[r], kind: 1, day: day)
                if y > 0 { counters.add(col[r], kind: 2, day: day, amount: y) }
            }
        }
        if let y = labels?[r] {
            trials += 1
            positives += Double(y)
        }
    }

    private func columns(_ frame: FeatureFrame, needLabels: Bool) throws -> ([Double], [Float]?, [[String]]) {
        guard let t = frame.columns[timeColumn] else { throw RankError.data("statistics features need a '\(timeColumn)' column") }
        let times = try t.enumerated().map { (i, s) -> Double in
            guard let v = Double(s), v.isFinite else { throw RankError.data("row \(i + 1): timestamp '\(s)' is not a number") }
            return v
        }
        var labels: [Float]?
        if needLabels {
            guard let l = frame.columns[labelColumn] else { throw RankError.data("statistics features need a '\(labelColumn)' column") }
            labels = try l.enumerated().map { (i, s) -> Float in
                guard let v = Float(s), v.isFinite else { throw RankError.data("row \(i + 1): label '\(s)' is not a number") }
                return v
            }
        }
        let keyCols = try keys.map { k -> [String] in
            guard let c = frame.columns[k] else { throw RankError.data("statistics features need a '\(k)' column") }
            return c
        }
        return (times, labels, keyCols)
    }

    static func day(_ seconds: Double) -> Int { Int((seconds / 86_400).rounded(.down)) }
}
