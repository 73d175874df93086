import CascadeCore

/// A ranking model the engine can build by name, declared once at the end of its model's file
/// (`extension DCNv2: RankModelDefinition`). Everything that names rankers derives from
/// ``RankModelRegistry``: `rank.model`'s allowed values, the stored ranker's loader, the CLI's
/// help, and which of the declared options (``RankModelParameters/settings``) a model reads.
public protocol RankModelDefinition {
    /// Stable name: written in stored rankers and config files (`rank.model = "dcnv2-mmoe"`).
    static var name: String { get }
    /// Other spellings accepted on input (`"dcn-v2"`).
    static var aliases: [String] { get }
    /// One line for help texts: what it is, after which paper.
    static var summary: String { get }
    /// Whether it learns every asked task (false: the first task alone, the click).
    static var multiTask: Bool { get }
    /// The keys of ``RankModelParameters/settings`` this model reads (`seed` and the tasks are
    /// read by every model and not listed).
    static var options: [String] { get }
    /// The model, untrained, for `pipeline`'s features.
    static func make(pipeline: FeaturePipeline, parameters: RankModelParameters) throws -> any RankModel
}

extension RankModelDefinition {
    public static var aliases: [String] { [] }
}

/// The ranking models by name: the built-in ones and any registered by the application.
public enum RankModelRegistry {
    /// The models the engine ships, in the order help texts list them.
    public static let builtIn: [any RankModelDefinition.Type] = [
        LogisticRegression.self, FactorizationMachine.self, WideAndDeep.self, DeepFM.self, DCNv2.self, DIN.self, SIM.self,
        FiBiNET.self, LHUC.self, SharedBottom.self, MMoE.self, DCNv2MMoE.self, ESMM.self,
    ]

    private static let registered = Locked<[any RankModelDefinition.Type]>([])

    /// Adds a model (from another module, or a test). A name already taken is refused.
    public static func register(_ definition: any RankModelDefinition.Type) throws {
        try registered.withLock { list in
            let taken = (builtIn + list).flatMap { [$0.name] + $0.aliases }
            guard !taken.contains(definition.name.lowercased()) else {
                throw RankError.config("ranking model '\(definition.name)' is already registered")
            }
            list.append(definition)
        }
    }

    /// Every model: the built-in ones, then the registered ones.
    public static var all: [any RankModelDefinition.Type] { builtIn + registered.withLock { $0 } }

    public static var names: [String] { all.map { $0.name } }

    /// The model called `name` (or one of its aliases), case-insensitive.
    public static func definition(named name: String) -> (any RankModelDefinition.Type)? {
        let n = name.lowercased()
        return all.first { $0.name == n || $0.aliases.contains(n) }
    }

    /// The model called `name`, untrained. An unknown name is refused listing the known ones.
    public static func make(_ name: String, pipeline: FeaturePipeline, parameters: RankModelParameters = RankModelParameters()) throws -> any RankModel {
        guard let d = definition(named: name) else {
            throw RankError.model("unknown model '\(name)' (known: \(names.joined(separator: ", ")))")
        }
        return try d.make(pipeline: pipeline, parameters: parameters)
    }

    /// The models that read the option `key` of ``RankModelParameters/settings``.
    public static func readers(of key: String) -> [String] {
        all.filter { $0.options.contains(key) }.map { $0.name }
    }
}
