import CascadeCore

/// Everything that shapes a simulated world. A world is a pure function of its config: the same
/// config (seed included) gives the same world bit for bit.
///
/// Sizes are free; the other fields have defaults that give a feed-like world: a click-through
/// rate of 7-12%, heavy-tailed item popularity (the top 1% of items get 10-20% of the clicks) and
/// user activity (the top 10% of users make two thirds of the events), one to three interests a
/// user. `authors` defaults to `items / 50` when the config is made.
public struct SimConfig: Sendable, Equatable {
    public var users: Int
    public var items: Int
    /// Target number of logged events, impressions included. The log stops at the last whole page
    /// of impressions that fits, so it holds at most this many and at least this many minus one
    /// page's worth of events (`pageSize * 9`).
    public var events: Int
    public var seed: UInt64
    /// Size of taste vectors.
    public var dimension: Int = 16
    /// Cities users live near; local items sit near one of them.
    public var cities: Int = 8
    /// Categories form two levels: `topCategories` of them, each with `subcategoriesPerTop`.
    public var topCategories: Int = 20
    public var subcategoriesPerTop: Int = 8
    public var authors: Int
    /// Each subcategory has its own tag vocabulary of this size.
    public var tagsPerSubcategory: Int = 12
    /// Start of the simulated period, seconds since 1970 UTC (1_700_000_000 is 2023-11-14 22:13:20).
    public var start: Double = 1_700_000_000
    /// Length of the simulated period in seconds.
    public var duration: Double = 30 * 86_400
    /// Share of items published before `start` (the back catalog), spread over `catalogDays`.
    public var catalogShare: Double = 0.3
    public var catalogDays: Double = 60
    /// Share of items that are local (carry a location near their author's city).
    public var localItemShare: Double = 0.15
    /// Mean number of authors a user follows (Poisson).
    public var meanFollows: Double = 3
    /// User activity is Pareto with this tail index (smaller is heavier), capped at `maxActivity`
    /// times the minimum.
    public var activityTail: Double = 1.1
    public var maxActivity: Double = 500
    /// Impressions per page; a session shows one page, then more while the user stays engaged.
    public var pageSize: Int = 10
    public var maxPages: Int = 20
    public var taste = TasteParameters()
    public var policy = LoggingPolicyConfig()
    public var response = ResponseParameters()

    public init(users: Int, items: Int, events: Int, seed: UInt64 = 42, authors: Int? = nil) {
        self.users = users
        self.items = items
        self.events = events
        self.seed = seed
        self.authors = authors ?? max(1, items / 50)
    }

    /// A world for tests: 500 users, 2,000 items, 50,000 events, small category tree.
    public static func small(seed: UInt64 = 42) -> SimConfig {
        var c = SimConfig(users: 500, items: 2_000, events: 50_000, seed: seed, authors: 100)
        c.cities = 5
        c.topCategories = 10
        c.subcategoriesPerTop = 5
        c.policy.popularPoolSize = 100
        return c
    }

    /// The benchmark world: 100,000 users, 1,000,000 items, 10,000,000 events.
    public static func benchmark(seed: UInt64 = 42) -> SimConfig {
        SimConfig(users: 100_000, items: 1_000_000, events: 10_000_000, seed: seed)
    }

    public var subcategoryCount: Int { topCategories * subcategoriesPerTop }
    public var end: Double { start + duration }

    /// Checks sizes and ranges; the message names the field.
    public func validate() throws(CascadeError) {
        func need(_ ok: Bool, _ what: String) throws(CascadeError) { if !ok { throw .invalid("SimConfig: \(what)") } }
        try need(users >= 1 && users < Int(Int32.max), "users must be in 1..<2^31, got \(users)")
        try need(items >= 1 && items < Int(Int32.max), "items must be in 1..<2^31, got \(items)")
        try need(events >= 0 && events < Int(Int32.max), "events must be in 0..<2^31, got \(events)")
        try need(dimension >= 2 && dimension <= 1024, "dimension must be in 2...1024, got \(dimension)")
        try need(cities >= 1, "cities must be positive, got \(cities)")
        try need(topCategories >= 1 && subcategoriesPerTop >= 1, "category counts must be positive")
        try need(subcategoryCount < Int(Int32.max), "too many subcategories")
        try need(authors >= 1 && authors < Int(Int32.max), "authors must be in 1..<2^31, got \(authors)")
        try need(tagsPerSubcategory >= 1, "tagsPerSubcategory must be positive")
        try need(start.isFinite && start >= 0, "start must be a finite time after 1970")
        try need(duration.isFinite && duration >= 60, "duration must be at least 60 seconds")
        try need((0...1).contains(catalogShare) && catalogDays > 0, "catalogShare must be in [0, 1], catalogDays positive")
        try need((0...1).contains(localItemShare), "localItemShare must be in [0, 1]")
        try need(meanFollows >= 0 && meanFollows < 30, "meanFollows must be in [0, 30)")
        try need(activityTail > 0 && maxActivity >= 1, "activityTail must be positive and maxActivity at least 1")
        try need(pageSize >= 1 && pageSize <= 250 && maxPages >= 1, "pageSize must be in 1...250 and maxPages positive")
        try policy.validate()
    }
}

/// How taste vectors are laid out. Vectors are built from unit-length directions, so an item
/// inside a user's single interest has affinity near 0.9, an unrelated item near 0 +- 0.3.
public struct TasteParameters: Sendable, Equatable {
    /// How far a subcategory's centre strays from its top category's:
    /// `sub = normalize(top + subSpread * r)` for a random unit direction `r`.
    public var subSpread: Float = 0.9
    /// Norm of an author's style offset.
    public var authorStyle: Float = 0.35
    /// Norm of each tag's direction added to items carrying it.
    public var tagStrength: Float = 0.2
    /// Norm of an item's own noise.
    public var itemNoise: Float = 0.3
    /// Norm of the noise added to a user's mixture of interests before normalising.
    public var userNoise: Float = 0.35
    /// Item quality `q ~ N(0, qualitySpread^2)`: global appeal, independent of taste.
    public var qualitySpread: Float = 0.6
    /// Probabilities of one, two and three strong interests.
    public var interestCounts: [Double] = [0.4, 0.4, 0.2]
    /// Zipf exponent of top-category popularity (how many users and items each gets).
    public var categoryZipf: Double = 0.8
    public init() {}
}

/// The logging policy: the production system whose choices make up the logged impressions.
/// Each slot of a page is filled by one source, drawn with these shares (normalised).
public struct LoggingPolicyConfig: Sendable, Equatable {
    /// A noisy personal model: best of `candidates` items drawn from the user's interests.
    public var personalShare: Double = 0.45
    /// The currently most clicked items (decayed counts), drawn by score.
    public var popularShare: Double = 0.2
    /// Items published within `freshWindow`, uniformly.
    public var freshShare: Double = 0.12
    /// Any published item, uniformly.
    public var exploreShare: Double = 0.1
    /// Recent items of authors the user follows.
    public var followShare: Double = 0.07
    /// Local items of the user's home city.
    public var localShare: Double = 0.06
    /// Candidates scored per personal draw.
    public var candidates: Int = 4
    /// Noise of the policy's view of a user's taste, as a norm relative to the taste's.
    public var tasteNoise: Float = 0.6
    /// Chance that a personal draw looks at a sibling subcategory of an interest instead.
    public var neighbourExploration: Double = 0.2
    public var popularPoolSize: Int = 500
    /// Seconds between refreshes of the popular pool.
    public var popularRefresh: Double = 3_600
    /// Half-life of click counts in the popular pool.
    public var popularHalfLife: Double = 86_400
    /// Popular items are drawn with weight `score^popularSharpness`.
    public var popularSharpness: Double = 0.75
    public var freshWindow: Double = 86_400
    /// Window of "recent" items for personal, follow and local draws.
    public var recentWindow: Double = 7 * 86_400
    /// A user is not shown an item that is among their last `exposureMemory` impressions.
    public var exposureMemory: Int = 128
    /// Order each page by the policy's own estimate before showing it, best at the top, as a
    /// production system ranks its pages (``LoggingPolicy/score(user:item:time:)``): the slot an
    /// item was logged at then says what the policy thought of it, so clicks confound position
    /// with relevance. Off by default: the sources fill the slots in the order drawn.
    public var rankedPages = false
    /// What ranked pages are ordered by: the policy's own estimate of the user's taste, or the
    /// item's popularity alone (decayed clicks), as a legacy system that ranks by popularity does:
    /// the top slots then go to popular items whatever the user, and a ranker that learns from the
    /// log takes their placement for appeal.
    public var rankedBy: PageOrder = .estimate
    public enum PageOrder: String, Sendable, CaseIterable { case estimate, popularity }
    public init() {}

    var shares: [Double] { [personalShare, popularShare, freshShare, exploreShare, followShare, localShare] }

    func validate() throws(CascadeError) {
        if shares.contains(where: { !($0 >= 0) || !$0.isFinite }) || shares.reduce(0, +) <= 0 {
            throw .invalid("SimConfig.policy: source shares must be non-negative with a positive sum")
        }
        if candidates < 1 || popularPoolSize < 1 || exposureMemory < 0 || exposureMemory > 4096 {
            throw .invalid("SimConfig.policy: candidates and popularPoolSize must be positive, exposureMemory in 0...4096")
        }
        if !(popularRefresh > 0) || !(popularHalfLife > 0) || !(freshWindow > 0) || !(recentWindow > 0) {
            throw .invalid("SimConfig.policy: refresh, half-life and windows must be positive")
        }
    }
}
