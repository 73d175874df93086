import CascadeRecall

/// Shorthands for the parameters of the built-in channels (`config.itemCF.neighbours = 50`);
/// each reads and writes ``FunnelConfig/channels``. A new channel needs none.
extension FunnelConfig {
    public var itemCF: ItemCF.Parameters {
        get { channels[ItemCFChannel.self] }
        set { channels[ItemCFChannel.self] = newValue }
    }
    public var swing: Swing.Parameters {
        get { channels[SwingChannel.self] }
        set { channels[SwingChannel.self] = newValue }
    }
    public var userCF: UserCF.Parameters {
        get { channels[UserCFChannel.self] }
        set { channels[UserCFChannel.self] = newValue }
    }
    public var als: ALS.Parameters {
        get { channels[ALSChannel.self] }
        set { channels[ALSChannel.self] = newValue }
    }
    public var bpr: BPR.Parameters {
        get { channels[BPRChannel.self] }
        set { channels[BPRChannel.self] = newValue }
    }
    public var twoTower: TwoTowerParameters {
        get { channels[TwoTowerChannel.self] }
        set { channels[TwoTowerChannel.self] = newValue }
    }
    public var lightGCN: LightGCN.Parameters {
        get { channels[LightGCNChannel.self] }
        set { channels[LightGCNChannel.self] = newValue }
    }
    public var eges: EGES.Parameters {
        get { channels[EGESChannel.self] }
        set { channels[EGESChannel.self] = newValue }
    }
    public var author: AuthorRecall.Parameters {
        get { channels[AuthorChannel.self] }
        set { channels[AuthorChannel.self] = newValue }
    }
    public var geo: GeoRecall.Parameters {
        get { channels[GeoChannel.self] }
        set { channels[GeoChannel.self] = newValue }
    }
    public var fresh: FreshItems.Parameters {
        get { channels[FreshChannel.self] }
        set { channels[FreshChannel.self] = newValue }
    }
    public var cache: CacheRecall.Parameters {
        get { channels[CacheChannel.self] }
        set { channels[CacheChannel.self] = newValue }
    }
}
