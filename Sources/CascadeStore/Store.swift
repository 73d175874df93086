import CascadeCore
import Foundation

/// Where Cascade keeps users, items, events and model artifacts.
///
/// Every backend passes the same conformance suite (`Tests/CascadeStoreTests/StoreConformance.swift`).
/// Contracts every implementation keeps:
/// - A write that returns has been committed durably; a write that throws changed nothing.
/// - Batches are atomic: all rows of one call land, or none.
/// - External ids are interned to dense indices in first-seen order; an index is never reused.
///   ``idSnapshot()`` returns them so training can address arrays by index.
/// - An event naming an unknown user or item creates that user or item with empty attributes.
/// - Every counted event (impression, click, like, watch) adds to the statistics counters
///   (``CounterTable``) in the same transaction; ``CounterSource/counters(user:items:attributes:now:)``
///   reads one request's counters in one round trip.
public protocol Store: AnyObject, Sendable, CounterSource {
    // MARK: users and items
    /// Inserts or replaces users by id.
    func upsertUsers(_ users: [User]) throws
    /// Removes a user's attributes; their events stay (they still train models). Returns false if unknown.
    @discardableResult func deleteUser(_ id: String) throws -> Bool
    func user(_ id: String) throws -> User?
    /// Inserts or replaces items by id.
    func upsertItems(_ items: [Item]) throws
    /// Removes an item: it is never recommended again; its events stay. Returns false if unknown.
    @discardableResult func deleteItem(_ id: String) throws -> Bool
    func item(_ id: String) throws -> Item?
    /// Hides or unhides an item. Throws ``CascadeError/notFound(_:)`` when unknown.
    func setItemHidden(_ id: String, hidden: Bool) throws
    /// All stored users / items (deleted ones excluded), in index order.
    func allUsers() throws -> [User]
    func allItems() throws -> [Item]

    // MARK: events
    /// Appends events; returns only after the commit is durable.
    func appendEvents(_ events: [Event]) throws
    /// Users, items and events in one atomic transaction (what importers call).
    func importBatch(users: [User], items: [Item], events: [Event]) throws
    /// A user's most recent events, newest first, optionally of some types only (none for a
    /// deleted user).
    func lastEvents(user: String, limit: Int, types: Set<EventType>?) throws -> [Event]
    /// Events with `from <= timestamp < to`, oldest first.
    func events(from: Double, to: Double) throws -> [Event]
    /// The time of the newest event (nil when there is none): the "now" of offline commands.
    func newestEventTime() throws -> Double?
    /// Every event in dense form, in batches of up to `batchSize`, in insertion order.
    func scanEvents(batchSize: Int, _ body: (EventLog) throws -> Void) throws
    /// Every event in dense form (convenience over ``scanEvents(batchSize:_:)``).
    func loadEventLog() throws -> EventLog

    /// Recounts the statistics counters from the stored events, with the items' current
    /// attributes (counts are kept by the attributes an item had when each event was written).
    func rebuildCounters() throws

    // MARK: ids, types, counts
    /// External ids by dense index: `users[i]` is the user of index i.
    func idSnapshot() throws -> (users: IdMap, items: IdMap)
    /// Dense indices of hidden or deleted items.
    func unavailableItems() throws -> Set<Int32>
    func eventTypes() throws -> EventTypeRegistry
    /// Adds a custom event type (or changes its weight).
    func registerEventType(_ type: EventType, weight: Float) throws
    func counts() throws -> StoreCounts

    // MARK: served pages
    /// Appends served pages in one transaction; a page whose request id is already stored is
    /// left as it was (a retried batch writes each page once).
    func appendPages(_ pages: [ServedPage]) throws
    /// The stored pages among `requests` (any order; unknown ids are absent).
    func pages(requests: [String]) throws -> [ServedPage]
    /// Pages served in `[from, to)`, oldest first.
    func pages(from: Double, to: Double) throws -> [ServedPage]
    /// The request ids carried by events of type code `type` (``EventTypeRegistry``) timed in
    /// `[from, to)`: which served pages the client reported impressions for.
    func requests(eventType type: UInt8, from: Double, to: Double) throws -> Set<String>

    // MARK: exposure filters
    /// The stored exposure filter of `user` (see ``ExposureFilter``), nil when none.
    func exposureFilter(user: String) throws -> Data?
    /// Replaces the exposure filters of several users in one transaction. Unknown users are created.
    func putExposureFilters(_ filters: [String: Data]) throws
    /// Reads, changes and writes back the exposure filters of `users` as one atomic step: a
    /// concurrent update of the same user (from another process or node too) waits, so none is
    /// lost. `update` gets each user's stored filter (nil when none) and returns the new one.
    func updateExposureFilters(users: [String], _ update: (String, Data?) throws -> Data) throws

    // MARK: artifacts
    /// Saves a new version of model `name` (versions count from 1); activates it when asked.
    @discardableResult
    func putArtifact(name: String, manifest: [String: String], blob: Data, activate: Bool) throws -> Int
    /// Makes `version` the active one for `name`, atomically.
    func activateArtifact(name: String, version: Int) throws
    /// Leaves `name` with no active version (its versions stay in the registry); true when one
    /// was active. Servers then stop serving it at their next reload.
    @discardableResult func deactivateArtifact(name: String) throws -> Bool
    /// The active version of `name`, or nil when none.
    func activeArtifact(name: String) throws -> Artifact?
    func artifact(name: String, version: Int) throws -> Artifact?
    /// Versions of `name`, oldest first, without their blobs.
    func artifactVersions(name: String) throws -> [ArtifactInfo]
}

public struct StoreCounts: Sendable, Equatable, Codable {
    public var users: Int
    public var items: Int
    public var events: Int
    public var eventsByType: [String: Int]
    public init(users: Int, items: Int, events: Int, eventsByType: [String: Int]) {
        self.users = users; self.items = items; self.events = events; self.eventsByType = eventsByType
    }
}

public struct ArtifactInfo: Sendable, Equatable {
    public var name: String
    public var version: Int
    public var manifest: [String: String]
    public var createdAt: Double
    public var active: Bool
    public var size: Int
    public init(name: String, version: Int, manifest: [String: String], createdAt: Double, active: Bool, size: Int) {
        self.name = name; self.version = version; self.manifest = manifest
        self.createdAt = createdAt; self.active = active; self.size = size
    }
}

public struct Artifact: Sendable, Equatable {
    public var info: ArtifactInfo
    public var blob: Data
    public init(info: ArtifactInfo, blob: Data) { self.info = info; self.blob = blob }
}
