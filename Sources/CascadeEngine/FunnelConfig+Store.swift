import CascadeRecall
import CascadeStore

extension FunnelConfig {
    /// Artifact name of a recall channel's model.
    public static func artifactName(channel: String) -> String { ModelArtifact.recall(channel) }

    /// This configuration plus every channel trained only on request (not
    /// ``ChannelDefinition/trainedByDefault``) that has an active model in `store`, so what was
    /// trained is served.
    public func includingTrainedChannels(store: any Store) throws -> FunnelConfig {
        var config = self
        for name in Self.knownChannels where !Self.onlineChannels.contains(name) && !config.quotas.contains(where: { $0.channel == name }) {
            if try !store.artifactVersions(name: Self.artifactName(channel: name)).filter(\.active).isEmpty {
                config.quotas.append(Self.defaultQuota(of: name) ?? ChannelQuota(channel: name, quota: 200, weight: 0.9))
            }
        }
        return config
    }

    /// Active version of every model the funnel may serve (absent when never trained): what a
    /// server compares to notice a newly published model.
    public static func activeVersions(store: any Store, extra: [String] = []) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for name in knownChannels.filter({ !onlineChannels.contains($0) }).map(artifactName(channel:)) + [ModelArtifact.rank, ModelArtifact.preRank] + extra {
            if let v = try store.artifactVersions(name: name).last(where: \.active) { out[name] = v.version }
        }
        return out
    }
}

extension FunnelConfig {
    /// The channels of this configuration that have an active model in `store`, plus every
    /// on-request channel that has one: what a server can answer with, without warnings for
    /// channels never trained.
    public func servingTrainedChannels(store: any Store) throws -> FunnelConfig {
        var config = try includingTrainedChannels(store: store)
        config.quotas = try config.quotas.filter {
            try Self.onlineChannels.contains($0.channel) || !store.artifactVersions(name: Self.artifactName(channel: $0.channel)).filter(\.active).isEmpty
        }
        return config
    }
}
