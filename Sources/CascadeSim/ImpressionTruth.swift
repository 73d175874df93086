/// What happened after an impression, as bits.
public struct ImpressionOutcome: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let clicked = ImpressionOutcome(rawValue: 1 << 0)
    public static let liked = ImpressionOutcome(rawValue: 1 << 1)
    public static let favorited = ImpressionOutcome(rawValue: 1 << 2)
    public static let shared = ImpressionOutcome(rawValue: 1 << 3)
    public static let commented = ImpressionOutcome(rawValue: 1 << 4)
    public static let followed = ImpressionOutcome(rawValue: 1 << 5)
    /// The watch reached the item's length (a completion event was logged).
    public static let finished = ImpressionOutcome(rawValue: 1 << 6)
    public static let disliked = ImpressionOutcome(rawValue: 1 << 7)
}

/// The truth behind one logged impression: the probabilities it was drawn with and what was drawn.
///
/// `click` includes the position factor: `click = e(position) * sigmoid(z)` (see ``GroundTruth``).
/// The follow-up probabilities are conditional on a click; the unconditional ones are the
/// products (``like``, ``share``, ``finish``). Stored in log order; `event` is the impression's
/// index in ``SimulatedWorld/log`` (its user, item and time are there).
public struct ImpressionTruth: Sendable, Equatable {
    public var event: Int32
    /// 0-based slot within its page.
    public var position: UInt8
    public var source: ImpressionSource
    public var outcome: ImpressionOutcome
    public var affinity: Float
    public var click: Float
    public var likeGivenClick: Float
    public var shareGivenClick: Float
    public var finishGivenClick: Float

    public var clicked: Bool { outcome.contains(.clicked) }
    public var like: Float { click * likeGivenClick }
    public var share: Float { click * shareGivenClick }
    public var finish: Float { click * finishGivenClick }

    public init(event: Int32, position: UInt8, source: ImpressionSource, outcome: ImpressionOutcome,
                affinity: Float, click: Float, likeGivenClick: Float, shareGivenClick: Float, finishGivenClick: Float) {
        self.event = event
        self.position = position
        self.source = source
        self.outcome = outcome
        self.affinity = affinity
        self.click = click
        self.likeGivenClick = likeGivenClick
        self.shareGivenClick = shareGivenClick
        self.finishGivenClick = finishGivenClick
    }
}
