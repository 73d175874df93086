import CascadeCore

/// One past event of the requesting user, as recall channels see it.
public struct HistoryEvent: Sendable, Equatable {
    public var item: Int32
    public var type: UInt8
    public var timestamp: Double
    public init(item: Int32, type: UInt8, timestamp: Double) {
        self.item = item
        self.type = type
        self.timestamp = timestamp
    }
}

/// What a recall channel knows about one request.
public struct RecallContext: Sendable {
    /// Dense index of the user, nil when the store has never seen them (cold start).
    public var user: Int32?
    /// The user's LastN events, newest first.
    public var history: [HistoryEvent]
    public var location: GeoPoint?
    /// Request time, seconds since 1970 UTC.
    public var now: Double
    /// The surface asking (`?scene=`). The funnel's configuration for it (quotas, fusion: the
    /// engine's `FunnelConfig.scenes`) was chosen before recall; a channel may also read it.
    public var scene: String?
    /// Where the ranker reads the request's statistics counters (the store; nil: none, the
    /// counters read as zero).
    public var counters: (any CounterSource)?

    public init(user: Int32?, history: [HistoryEvent] = [], location: GeoPoint? = nil, now: Double, scene: String? = nil,
                counters: (any CounterSource)? = nil) {
        self.user = user
        self.history = history
        self.location = location
        self.now = now
        self.scene = scene
        self.counters = counters
    }
}

/// Which items may be returned: not hidden or deleted, not already seen (exactly, from the
/// user's history, or probably, from the exposure filter), not disliked, and not by an author or
/// in a category the user blocked by their dislikes.
public struct CandidateFilter: Sendable {
    /// Indexed by item; true when the item may never be recommended.
    public var unavailable: [Bool]
    /// Items the user interacted with or disliked: never recommended again.
    public var seen: Set<Int32>
    /// Items shown recently (probabilistic: a false positive hides an unseen item, never the reverse).
    public var exposure: ExposureFilter?
    /// The request time, for the exposure filter's windows.
    public var now: Double
    /// Authors and finest categories the user does not want, with the per-item lookups.
    public var blockedAuthors: Set<Int32> = []
    public var blockedCategories: Set<Int32> = []
    public var itemAuthor: [Int32] = []
    public var itemCategory: [Int32] = []
    /// Exposure key per item (``ExposureFilter/key(_:)`` of its external id).
    public var exposureKeys: [UInt64] = []

    public init(itemCount: Int, unavailable: Set<Int32> = [], seen: Set<Int32> = [], exposure: ExposureFilter? = nil, now: Double = 0) {
        var flags = [Bool](repeating: false, count: itemCount)
        for i in unavailable where Int(i) < itemCount && i >= 0 { flags[Int(i)] = true }
        self.init(unavailable: flags, seen: seen, exposure: exposure, now: now)
    }

    /// A filter over a shared availability array (no per-request copy of it).
    public init(unavailable: [Bool], seen: Set<Int32> = [], exposure: ExposureFilter? = nil, now: Double = 0) {
        self.unavailable = unavailable
        self.seen = seen
        self.exposure = exposure
        self.now = now
    }

    /// Whether `item` may be recommended.
    @inlinable public func allows(_ item: Int32) -> Bool {
        guard item >= 0, Int(item) < unavailable.count, !unavailable[Int(item)] else { return false }
        if seen.contains(item) { return false }
        if !blockedAuthors.isEmpty, Int(item) < itemAuthor.count, blockedAuthors.contains(itemAuthor[Int(item)]) { return false }
        if !blockedCategories.isEmpty, Int(item) < itemCategory.count, blockedCategories.contains(itemCategory[Int(item)]) { return false }
        if let e = exposure, Int(item) < exposureKeys.count, e.contains(exposureKeys[Int(item)], now: now) { return false }
        return true
    }
}

/// A recalled item with the channel's own score.
public struct Candidate: Sendable, Equatable {
    public var item: Int32
    public var score: Float
    public var channel: String
    public init(item: Int32, score: Float, channel: String) {
        self.item = item
        self.score = score
        self.channel = channel
    }
}

/// A recall channel: built offline into an artifact, asked at request time for up to `quota`
/// items the filter allows, best first, each tagged with the channel's name.
///
/// Every channel passes the shared conformance suite (`Tests/CascadeRecallTests/ChannelConformance.swift`):
/// deterministic, within quota, only allowed items, identical after a save/load round trip.
public protocol RecallChannel: Sendable {
    /// The channel's name in traces and artifacts (its ``ChannelDefinition/name``).
    var name: String { get }
    func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate]
    /// The artifact bytes (see ``ByteWriter``).
    func serialized() -> [UInt8]
}
