import CascadeANN
import CascadeCore
import Foundation

/// Everything a channel's trainer may read: the log, the interaction matrix built from it once
/// for all channels, the item documents in dense index order, and the shared index settings.
public struct ChannelTrainingInput: @unchecked Sendable {
    public let log: EventLog
    public let userCount: Int
    public let itemCount: Int
    public let registry: EventTypeRegistry
    /// The positive weight of each event type code (``EventTypeRegistry/weightsByCode``).
    public let typeWeights: [Float]
    /// Item documents in dense index order (bare documents for items known only from events).
    public let items: [Item]
    /// Catalogs of at least this many items serve vector channels through an HNSW index.
    public let annMinItems: Int
    public let hnsw: HNSWIndex.Parameters
    /// Where long trainers report progress lines.
    public let progress: @Sendable (String) -> Void
    /// The matrix, built by the first channel that asks.
    let built = Locked<InteractionMatrix?>(nil)

    public init(log: EventLog, userCount: Int, itemCount: Int, registry: EventTypeRegistry, items: [Item],
                annMinItems: Int = 50_000, hnsw: HNSWIndex.Parameters = HNSWIndex.Parameters(),
                progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.log = log
        self.userCount = userCount
        self.itemCount = itemCount
        self.registry = registry
        typeWeights = registry.weightsByCode
        self.items = items.count == itemCount ? items : (0..<itemCount).map { i in i < items.count ? items[i] : Item(id: "#\(i)") }
        self.annMinItems = annMinItems
        self.hnsw = hnsw
        self.progress = progress
    }

    /// The user-item matrix of positive weights (built on first use, shared by every channel).
    public var matrix: InteractionMatrix {
        built.withLock { m in
            if let m { return m }
            let made = InteractionMatrix(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights)
            m = made
            return made
        }
    }

    /// `model` behind an HNSW index when the catalog is large enough to need one, else as is.
    public func indexedIfLarge(_ model: any VectorRecallModel) throws -> any RecallChannel {
        itemCount >= annMinItems ? try IndexedRecall.build(model, parameters: hnsw) : model
    }
}

/// A recall channel as the engine knows it: its stable name (the artifact `recall/<name>`, the
/// quota key, the trace label), its parameters and their defaults, its place in the merge, and
/// how it is trained, stored and read back. One type per channel, declared beside the algorithm;
/// ``ChannelRegistry`` lists them and everything else (funnel configuration, trainer, loaders,
/// command-line help, experiment overrides, the config file) is derived from it.
///
/// To add a channel: write the algorithm (a ``RecallChannel``), declare a `ChannelDefinition`
/// beside it, and add it to ``ChannelRegistry/builtIn`` (or call ``ChannelRegistry/register(_:)``).
public protocol ChannelDefinition: Sendable {
    associatedtype Parameters: Sendable & Equatable
    /// Stable name; never derived from a Swift type name, so renaming a type orphans nothing.
    static var name: String { get }
    /// One line for help texts.
    static var summary: String { get }
    static var defaultParameters: Parameters { get }
    /// Quota and merge weight when the funnel runs the channel.
    static var defaultQuota: (quota: Int, weight: Float) { get }
    /// Whether `cascade train` trains it when no channel list is given.
    static var trainedByDefault: Bool { get }
    /// The declared settings of ``Parameters`` (the config file's `[channel.<name>]` table).
    static var settings: [Setting<Parameters>] { get }
    /// Builds the channel from a log. Not called for online channels.
    static func train(_ input: ChannelTrainingInput, parameters: Parameters) throws -> any RecallChannel
    /// Reads back what the channel's ``RecallChannel/serialized()`` wrote.
    static func load(_ bytes: [UInt8]) throws -> any RecallChannel
    /// An online channel has no artifact: the funnel builds it and it fills itself while serving.
    static func online(parameters: Parameters) -> (any RecallChannel)?
    /// Continues training `active` on the events since `since` (incremental update between full
    /// retrains); nil when the channel does not support it.
    static func refreshed(_ active: any RecallChannel, input: ChannelTrainingInput, since: Double,
                          parameters: Parameters) throws -> (any RecallChannel)?
    /// Whether ``refreshed(_:input:since:parameters:)`` is implemented.
    static var supportsRefresh: Bool { get }
}

extension ChannelDefinition {
    public static var trainedByDefault: Bool { true }
    public static var settings: [Setting<Parameters>] { [] }
    public static func online(parameters: Parameters) -> (any RecallChannel)? { nil }
    public static func refreshed(_ active: any RecallChannel, input: ChannelTrainingInput, since: Double,
                                 parameters: Parameters) throws -> (any RecallChannel)? { nil }
    /// Whether the channel is built while serving rather than trained.
    public static var isOnline: Bool { online(parameters: defaultParameters) != nil }
    public static var supportsRefresh: Bool { false }
}

/// The parameters of every channel, by channel name; a channel absent here uses its defaults.
public struct ChannelParameterSet: Sendable, Equatable {
    var values: [String: any Sendable] = [:]
    public init() {}

    public subscript<C: ChannelDefinition>(_ channel: C.Type) -> C.Parameters {
        get { (values[C.name] as? C.Parameters) ?? C.defaultParameters }
        set { values[C.name] = newValue }
    }

    public static func == (a: ChannelParameterSet, b: ChannelParameterSet) -> Bool {
        for d in ChannelRegistry.all where !equal(d, a, b) { return false }
        return true
    }

    static func equal<C: ChannelDefinition>(_ c: C.Type, _ a: ChannelParameterSet, _ b: ChannelParameterSet) -> Bool {
        a[c] == b[c]
    }
}

/// Every channel the engine can run, in the order traces and default quotas list them.
public enum ChannelRegistry {
    /// The channels Cascade ships.
    public static let builtIn: [any ChannelDefinition.Type] = [
        ItemCFChannel.self, SwingChannel.self, UserCFChannel.self, ALSChannel.self, BPRChannel.self, TwoTowerChannel.self,
        LightGCNChannel.self, EGESChannel.self, SASRecChannel.self, ComiRecChannel.self, AuthorChannel.self, GeoChannel.self, FreshChannel.self, TrendingChannel.self,
        PopularChannel.self, CacheChannel.self,
    ]

    private static let extra = Locked<[any ChannelDefinition.Type]>([])

    /// Adds a channel defined outside this module (a name already taken is replaced).
    public static func register(_ definition: any ChannelDefinition.Type) {
        extra.withLock { list in
            list.removeAll { $0.name == definition.name }
            list.append(definition)
        }
    }

    /// Built-in channels, then registered ones.
    public static var all: [any ChannelDefinition.Type] {
        let added = extra.withLock { $0 }
        return builtIn.filter { b in !added.contains { $0.name == b.name } } + added
    }

    public static var names: [String] { all.map { $0.name } }

    public static func definition(_ name: String) -> (any ChannelDefinition.Type)? {
        all.first { $0.name == name }
    }

    /// The definition of `name`, or an error listing the known channels.
    public static func require(_ name: String) throws(CascadeError) -> any ChannelDefinition.Type {
        guard let d = definition(name) else { throw .invalid("unknown channel '\(name)'; channels: \(names.joined(separator: ", "))") }
        return d
    }

    /// Trains `definition` with its parameters from `set`.
    public static func train(_ definition: any ChannelDefinition.Type, input: ChannelTrainingInput,
                             parameters set: ChannelParameterSet) throws -> any RecallChannel {
        try trainOpened(definition, input: input, set: set)
    }

    static func trainOpened<C: ChannelDefinition>(_ c: C.Type, input: ChannelTrainingInput, set: ChannelParameterSet) throws -> any RecallChannel {
        try c.train(input, parameters: set[c])
    }

    /// The online channel of `definition` with its parameters from `set` (nil: a trained channel).
    public static func online(_ definition: any ChannelDefinition.Type, parameters set: ChannelParameterSet) -> (any RecallChannel)? {
        onlineOpened(definition, set: set)
    }

    static func onlineOpened<C: ChannelDefinition>(_ c: C.Type, set: ChannelParameterSet) -> (any RecallChannel)? {
        c.online(parameters: set[c])
    }

    /// The incremental update of `definition` (nil: not supported).
    public static func refreshed(_ definition: any ChannelDefinition.Type, active: any RecallChannel, input: ChannelTrainingInput,
                                 since: Double, parameters set: ChannelParameterSet) throws -> (any RecallChannel)? {
        try refreshedOpened(definition, active: active, input: input, since: since, set: set)
    }

    static func refreshedOpened<C: ChannelDefinition>(_ c: C.Type, active: any RecallChannel, input: ChannelTrainingInput,
                                                      since: Double, set: ChannelParameterSet) throws -> (any RecallChannel)? {
        try c.refreshed(active, input: input, since: since, parameters: set[c])
    }

    /// Reads a vector channel's artifact: the model alone, or the model behind its HNSW index.
    public static func loadVector(_ bytes: [UInt8], base: @escaping @Sendable ([UInt8]) throws(CascadeError) -> any VectorRecallModel) throws
        -> any RecallChannel
    {
        IndexedRecall.isIndexed(bytes) ? try IndexedRecall(serialized: bytes, base: base) : try base(bytes)
    }
}
