import CascadeCore
import CascadeStore
import Foundation
import CascadeTestSupport

/// A store that only records what importers hand it: enough for importer tests.
/// Every call an importer should not make throws.
final class MemoryStore: Store, @unchecked Sendable {
    struct Batch {
        var users: [User]
        var items: [Item]
        var events: [Event]
    }

    private let lock = NSLock()
    private var registry = EventTypeRegistry()
    private var _batches: [Batch] = []

    /// Every `importBatch` call, in order.
    var batches: [Batch] { lock.withLock { _batches } }

    func importBatch(users: [User], items: [Item], events: [Event]) throws {
        lock.withLock { _batches.append(Batch(users: users, items: items, events: events)) }
    }

    func eventTypes() throws -> EventTypeRegistry { lock.withLock { registry } }

    func registerEventType(_ type: EventType, weight: Float) throws {
        try lock.withLock { _ = try registry.register(type, weight: weight) }
    }

    private func unsupported(_ name: String = #function) -> CascadeError {
        .storage("MemoryStore does not implement \(name)")
    }

    func upsertUsers(_ users: [User]) throws { throw unsupported() }
    func deleteUser(_ id: String) throws -> Bool { throw unsupported() }
    func user(_ id: String) throws -> User? { throw unsupported() }
    func upsertItems(_ items: [Item]) throws { throw unsupported() }
    func deleteItem(_ id: String) throws -> Bool { throw unsupported() }
    func item(_ id: String) throws -> Item? { throw unsupported() }
    func setItemHidden(_ id: String, hidden: Bool) throws { throw unsupported() }
    func allUsers() throws -> [User] { throw unsupported() }
    func allItems() throws -> [Item] { throw unsupported() }
    func exposureFilter(user: String) throws -> Data? { throw unsupported() }
    func putExposureFilters(_ filters: [String: Data]) throws { throw unsupported() }
    func updateExposureFilters(users: [String], _ update: (String, Data?) throws -> Data) throws { throw unsupported() }
    func appendEvents(_ events: [Event]) throws { throw unsupported() }
    func appendPages(_ pages: [ServedPage]) throws { throw unsupported() }
    func pages(requests: [String]) throws -> [ServedPage] { throw unsupported() }
    func pages(from: Double, to: Double) throws -> [ServedPage] { throw unsupported() }
    func requests(eventType type: UInt8, from: Double, to: Double) throws -> Set<String> { throw unsupported() }
    func rebuildCounters() throws { throw unsupported() }
    func counters(user: Int32?, items: [Int32], attributes: [CounterAttributes], now: Double) throws -> CounterSnapshot { throw unsupported() }
    func lastEvents(user: String, limit: Int, types: Set<EventType>?) throws -> [Event] { throw unsupported() }
    func events(from: Double, to: Double) throws -> [Event] { throw unsupported() }
    func scanEvents(batchSize: Int, _ body: (EventLog) throws -> Void) throws { throw unsupported() }
    func loadEventLog() throws -> EventLog { throw unsupported() }
    func idSnapshot() throws -> (users: IdMap, items: IdMap) { throw unsupported() }
    func unavailableItems() throws -> Set<Int32> { throw unsupported() }
    func counts() throws -> StoreCounts { throw unsupported() }
    func putArtifact(name: String, manifest: [String: String], blob: Data, activate: Bool) throws -> Int { throw unsupported() }
    func activateArtifact(name: String, version: Int) throws { throw unsupported() }
    func deactivateArtifact(name: String) throws -> Bool { throw unsupported() }
    func newestEventTime() throws -> Double? { throw unsupported() }
    func activeArtifact(name: String) throws -> Artifact? { throw unsupported() }
    func artifact(name: String, version: Int) throws -> Artifact? { throw unsupported() }
    func artifactVersions(name: String) throws -> [ArtifactInfo] { throw unsupported() }
}

/// A fresh directory under the scratch root, removed by ``remove()`` (or with the root).
struct TempDir {
    let url: URL

    init() {
        url = Scratch.path("import")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes UTF-8 text to `name` and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let file = url.appendingPathComponent(name)
        try! Data(bytes).write(to: file)
        return file.path
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The `badInput` fields of an error, or nil when it is another error.
func badInput(_ error: any Error) -> (file: String, line: Int, reason: String)? {
    guard case CascadeError.badInput(let f, let l, let r)? = error as? CascadeError else { return nil }
    return (f, l, r)
}
