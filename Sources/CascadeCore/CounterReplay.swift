/// The statistics counters (``CounterTable``) rebuilt from an event log, point in time: what
/// training reads for each logged impression, and what a store's counters must equal.
///
/// Events are replayed in time order; a query at time `t` sees exactly the events strictly
/// before `t` (events of one instant never see each other). Day rows that fall out of every
/// 7-day window are dropped as the replay moves on, so memory stays at the all-time rows plus
/// a week of day rows. O(events log events + queries * 40 hash lookups).
public struct CounterReplay: Sendable {
    /// Type names by event type code.
    public let typeNames: [String]
    /// Attributes by dense item index (items beyond it have none).
    public let attributes: [CounterAttributes]

    public init(registry: EventTypeRegistry, attributes: [CounterAttributes]) {
        typeNames = (0..<256).map { registry.name(of: UInt8($0)) }
        self.attributes = attributes
    }

    /// The attributes of `items` by dense index of `ids`.
    public init(registry: EventTypeRegistry, items: [Item], ids: IdMap) {
        self.init(registry: registry, attributes: CounterAttributes.byIndex(items: items, ids: ids))
    }

    func add(_ log: EventLog, _ e: Int, into table: inout CounterTable) {
        let v = log.values[e]
        table.add(user: log.users[e], item: log.items[e], attributes: CounterAttributes.of(log.items[e], in: attributes), type: typeNames[Int(log.types[e])],
                  value: v.isNaN ? nil : Double(v), timestamp: log.timestamps[e])
    }

    /// Every event of `log` strictly before `time`, counted (with all its day rows).
    public func table(_ log: EventLog, before time: Double) -> CounterTable {
        var table = CounterTable()
        for e in 0..<log.count where log.timestamps[e] < time { add(log, e, into: &table) }
        return table
    }

    /// Replays `log` and calls `visit(query, table)` for each event index in `queries`, with
    /// the counters of the events strictly before that event's time.
    public func replay(_ log: EventLog, queries: [Int], visit: (Int, CounterTable) -> Void) {
        var order = Array(0..<log.count)
        order.sort { log.timestamps[$0] < log.timestamps[$1] || (log.timestamps[$0] == log.timestamps[$1] && $0 < $1) }
        var isQuery = [Bool](repeating: false, count: log.count)
        for q in queries where q >= 0 && q < log.count { isQuery[q] = true }
        var table = CounterTable()
        var day = Int64.min
        var p = 0
        while p < order.count {
            let t = log.timestamps[order[p]]
            var q = p
            while q < order.count && log.timestamps[order[q]] == t { q += 1 }
            let d = CounterTable.day(t)
            if d > day {
                if day != .min { table.prune(before: d) }
                day = d
            }
            for k in p..<q where isQuery[order[k]] { visit(order[k], table) }
            for k in p..<q { add(log, order[k], into: &table) }
            p = q
        }
    }
}
