import CascadeRecall

extension Recommender {
    /// The same recommender answering through `funnel` (same models, another configuration:
    /// an experiment arm's quotas, weights or re-rank settings). Copying is cheap: the arrays
    /// are shared.
    public func replacingFunnel(_ funnel: Funnel) -> Recommender {
        var r = self
        r.funnel = funnel
        return r
    }

    /// A funnel over this recommender's trained channels with another configuration.
    public func funnel(with config: FunnelConfig) -> Funnel {
        Funnel(channels: funnel.channels, config: config, itemCount: funnel.itemCount, ranker: funnel.ranker,
               catalog: funnel.catalog)
    }
}
