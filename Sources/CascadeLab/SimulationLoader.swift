import CascadeEngine
import CascadeCore
import CascadeSim
import CascadeStore
import Foundation

/// Writes a simulated world into a store: users and items first, then events in durable batches.
public enum SimulationLoader {
    public struct Report: Sendable {
        public var users: Int
        public var items: Int
        public var events: Int
        public var seconds: Double
    }

    /// - Parameter batchSize: events per transaction.
    @discardableResult
    public static func write(_ world: SimulatedWorld, to store: any Store, batchSize: Int = 10_000,
                             progress: ((Double) -> Void)? = nil) throws -> Report {
        let start = Date()
        try store.importBatch(users: world.users, items: world.items, events: [])
        let log = world.log
        let registry = EventTypeRegistry()
        let names = (0..<256).map { EventType(registry.name(of: UInt8($0))) }
        var batch: [Event] = []
        batch.reserveCapacity(batchSize)
        for i in 0..<log.count {
            let v = log.values[i]
            batch.append(Event(user: world.users[Int(log.users[i])].id, item: world.items[Int(log.items[i])].id,
                               type: names[Int(log.types[i])], timestamp: log.timestamps[i], value: v.isNaN ? nil : Double(v),
                               position: log.position(i)))
            if batch.count == batchSize {
                try store.appendEvents(batch)
                batch.removeAll(keepingCapacity: true)
                progress?(Double(i + 1) / Double(log.count))
            }
        }
        if !batch.isEmpty { try store.appendEvents(batch) }
        progress?(1)
        return Report(users: world.users.count, items: world.items.count, events: log.count, seconds: Date().timeIntervalSince(start))
    }
}
