/// Coefficients of a logistic follow-up: `p = sigmoid(base + affinity * a + quality * q)`.
public struct FollowUpCoefficients: Sendable, Equatable {
    public var base: Float
    public var affinity: Float
    public var quality: Float
    public init(base: Float, affinity: Float, quality: Float) {
        self.base = base
        self.affinity = affinity
        self.quality = quality
    }
}

/// Constants of the response model (see ``GroundTruth`` for the formulas that use them).
/// With the defaults, the logging policy's impressions are clicked 7% (``SimConfig/small(seed:)``)
/// to 12% (``SimConfig/benchmark(seed:)``, where the personal source finds closer matches) of the
/// time; 30-40% of clicks bring a like, about 12% a favorite, 7% a share, 3% a comment, 2% a
/// follow, and 33-46% a finished watch; 0.4-0.9% of impressions draw a dislike.
public struct ResponseParameters: Sendable, Equatable {
    /// `b0` of the click logit.
    public var clickBase: Float = -2.8
    /// Weight of true affinity `a = user taste . item taste` in the click logit.
    public var affinityWeight: Float = 3.5
    /// Weight of item quality `q` in the click logit.
    public var qualityWeight: Float = 1.0
    /// Per-user click bias `beta_u ~ N(0, userBiasSpread^2)`.
    public var userBiasSpread: Float = 0.4
    /// Each top category decays its items' appeal at its own rate, drawn uniformly from this
    /// range: the logit loses `rate * log2(1 + age in days)`.
    public var freshnessDecay: ClosedRange<Float> = 0.15...0.6
    /// Local items: `+geoNearBoost * e^(-d/geoScaleKm) - geoFarPenalty * (1 - e^(-d/geoScaleKm))`
    /// for a user `d` km away.
    public var geoScaleKm: Float = 30
    public var geoNearBoost: Float = 0.8
    public var geoFarPenalty: Float = 1.0
    /// Added when the user follows the item's author.
    public var followBoost: Float = 0.6
    /// Hour-by-category context: `hourAmplitude * cos(2 pi (hour - peak_c) / 24)`, where each top
    /// category `c` has its own peak hour (UTC).
    public var hourAmplitude: Float = 0.3
    /// Examination probability at position `k` of a page (0-based): `(1 + k)^(-positionExponent)`.
    public var positionExponent: Float = 0.6
    /// Conditional on a click.
    public var like = FollowUpCoefficients(base: -2.9, affinity: 2.5, quality: 0.5)
    /// Per-user like bias `gamma_u ~ N(0, likeBiasSpread^2)`, added to the like logit (and half of it
    /// to the comment logit).
    public var likeBiasSpread: Float = 0.6
    public var favorite = FollowUpCoefficients(base: -3.8, affinity: 2.0, quality: 0.4)
    public var share = FollowUpCoefficients(base: -4.8, affinity: 2.0, quality: 0.8)
    public var comment = FollowUpCoefficients(base: -4.6, affinity: 1.5, quality: 0.4)
    /// Following the item's author (only when not already following).
    public var follow = FollowUpCoefficients(base: -5.2, affinity: 2.0, quality: 0.3)
    /// Watch: the log of the watched fraction is `N(mu, watchSpread^2)` capped at 0 (the whole
    /// item), with `mu = watch.base + watch.affinity * a + watch.quality * q - watchLengthSlope * ln(L / 60)`.
    public var watch = FollowUpCoefficients(base: -1.6, affinity: 1.5, quality: 0.3)
    public var watchLengthSlope: Float = 0.35
    public var watchSpread: Float = 0.7
    /// Dislike on an examined, unclicked impression: `dislikeRate * sigmoid(-dislikeSlope * (a - dislikeThreshold))`.
    public var dislikeRate: Float = 0.1
    public var dislikeSlope: Float = 8
    public var dislikeThreshold: Float = -0.25
    public init() {}
}
