import CascadeCore
import CascadeStore
import Foundation

/// Feedback coming back from the application: events are appended durably, then impressions
/// are recorded in each user's exposure filter so they are not shown the same items again.
///
/// The exposure filters are derived state: should the process stop between the two steps, the
/// events are safe, and ``rebuildExposure(store:config:now:)`` restores the filters from them.
public enum Feedback {
    public struct ExposureConfig: Sendable, Equatable {
        public var windowSeconds: Double = 86_400
        public var windows = 7
        public var expectedPerWindow = 2_000
        public var falsePositiveRate = 0.01
        public init() {}

        func make() throws -> ExposureFilter {
            try ExposureFilter(windowSeconds: windowSeconds, windows: windows, expectedPerWindow: expectedPerWindow,
                               falsePositiveRate: falsePositiveRate)
        }
    }

    /// Appends `events` (durable when this returns) and updates the exposure filters of the users
    /// with impressions among them.
    public static func record(_ events: [Event], store: any Store, config: ExposureConfig = ExposureConfig()) throws {
        try store.appendEvents(events)
        let impressions = events.filter { $0.type == .impression }
        guard !impressions.isEmpty else { return }
        let byUser = Dictionary(grouping: impressions, by: \.user)
        // Atomic per user in the store, so servers sharing one store never lose each other's updates.
        try store.updateExposureFilters(users: Array(byUser.keys)) { user, stored in
            var filter = try stored.map { try ExposureFilter(serialized: $0) } ?? config.make()
            for e in byUser[user] ?? [] { filter.insert(ExposureFilter.key(e.item), at: e.timestamp) }
            return filter.serialized()
        }
    }

    /// Rebuilds every user's exposure filter from the stored impressions of the live windows.
    @discardableResult
    public static func rebuildExposure(store: any Store, config: ExposureConfig = ExposureConfig(), now: Double) throws -> Int {
        let from = now - config.windowSeconds * Double(config.windows)
        var filters: [String: ExposureFilter] = [:]
        for e in try store.events(from: from, to: now + 1) where e.type == .impression {
            if filters[e.user] == nil { filters[e.user] = try config.make() }
            filters[e.user]!.insert(ExposureFilter.key(e.item), at: e.timestamp)
        }
        try store.putExposureFilters(filters.mapValues { $0.serialized() })
        return filters.count
    }
}
