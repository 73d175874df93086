import CascadeCore

/// The hidden parameters of a simulated world: what users really like and what items really are.
/// Models never see these; evaluation compares against them.
///
/// Vectors are stored row-major, `dimension` floats per row. Dense indices match the world's
/// `users` and `items` arrays (user `u` is `"u\(u+1)"`, item `i` is `"i\(i+1)"`); authors,
/// subcategories, tags and cities are 0-based too (author `a` is `"a\(a+1)"`). Subcategory `s`
/// belongs to top category `s / subcategoriesPerTop`.
///
/// How they are drawn (see `WorldBuilder`):
/// - Top-category centres are random unit vectors; a subcategory centre is
///   `normalize(top + subSpread * r)`, `r` a random unit vector; each tag is a random direction of
///   norm `tagStrength`; each author has a style offset of norm `authorStyle`.
/// - An item's taste is `subcategory centre + author style + sum of its tags' directions + noise`
///   (noise of norm `itemNoise`), so category, author and tags all carry signal.
/// - A user's taste is `normalize(sum_k w_k centre(interest_k) + noise)`, with one to three interests
///   whose weights `w_k` are normalised exponentials; interests are drawn from category popularity
///   tilted by the user's age band, gender, platform and city, so profiles carry signal too.
public struct GroundTruth: Sendable {
    public internal(set) var dimension: Int
    public internal(set) var response: ResponseParameters
    public internal(set) var subcategoriesPerTop: Int

    // Categories, tags, cities.
    public internal(set) var topCentres: [Float] = []
    public internal(set) var subcategoryCentres: [Float] = []
    /// Hour of day (UTC, 0..<24) at which each top category is most appealing.
    public internal(set) var topPeakHour: [Float] = []
    /// Freshness decay rate of each top category (see ``ResponseParameters/freshnessDecay``).
    public internal(set) var topDecay: [Float] = []
    /// Typical item length of each top category, seconds.
    public internal(set) var topMedianLength: [Float] = []
    /// Tag `t` belongs to subcategory `t / tagsPerSubcategory`.
    public internal(set) var tagDirections: [Float] = []
    public internal(set) var tagsPerSubcategory: Int = 0
    public internal(set) var cityCentres: [GeoPoint] = []

    // Authors.
    public internal(set) var authorSubcategory: [Int32] = []
    public internal(set) var authorCity: [Int32] = []
    public internal(set) var authorStyle: [Float] = []
    /// Relative publishing rate (Pareto).
    public internal(set) var authorProductivity: [Float] = []

    // Users.
    public internal(set) var userTaste: [Float] = []
    /// `beta_u` of the click logit.
    public internal(set) var userClickBias: [Float] = []
    /// `gamma_u` of the like logit.
    public internal(set) var userLikeBias: [Float] = []
    /// Relative session rate (Pareto, heavy-tailed).
    public internal(set) var userActivity: [Float] = []
    public internal(set) var userCity: [Int32] = []
    public internal(set) var userLatitude: [Float] = []
    public internal(set) var userLongitude: [Float] = []
    /// CSR: the interests (subcategories) of user `u` are `interests[interestOffsets[u]..<interestOffsets[u+1]]`,
    /// strongest first, with `interestWeights` alongside (summing to 1).
    public internal(set) var interestOffsets: [Int] = [0]
    public internal(set) var interests: [Int32] = []
    public internal(set) var interestWeights: [Float] = []
    /// CSR: authors user `u` follows, ascending.
    public internal(set) var followOffsets: [Int] = [0]
    public internal(set) var follows: [Int32] = []

    // Items (index order is publish order).
    public internal(set) var itemTaste: [Float] = []
    /// Global appeal `q`, independent of taste.
    public internal(set) var itemQuality: [Float] = []
    /// Seconds since 1970, ascending with the item index.
    public internal(set) var itemPublishedAt: [Double] = []
    /// Seconds.
    public internal(set) var itemLength: [Float] = []
    public internal(set) var itemSubcategory: [Int32] = []
    public internal(set) var itemAuthor: [Int32] = []
    /// Location of local items; NaN for items that are not local.
    public internal(set) var itemLatitude: [Float] = []
    public internal(set) var itemLongitude: [Float] = []
    /// CSR: tags of item `i`.
    public internal(set) var itemTagOffsets: [Int] = [0]
    public internal(set) var itemTags: [Int32] = []

    init(dimension: Int, response: ResponseParameters, subcategoriesPerTop: Int) {
        self.dimension = dimension
        self.response = response
        self.subcategoriesPerTop = subcategoriesPerTop
    }

    public var userCount: Int { userClickBias.count }
    public var itemCount: Int { itemQuality.count }
    public var authorCount: Int { authorSubcategory.count }
    public var subcategoryCount: Int { topCentres.count / max(1, dimension) * subcategoriesPerTop }

    /// Top category of an item.
    @inline(__always)
    public func topCategory(ofItem i: Int) -> Int { Int(itemSubcategory[i]) / subcategoriesPerTop }

    /// Whether item `i` is local (has a location).
    @inline(__always)
    public func isLocal(_ i: Int) -> Bool { !itemLatitude[i].isNaN }

    /// The authors user `u` follows.
    public func followedAuthors(of u: Int) -> ArraySlice<Int32> { follows[followOffsets[u]..<followOffsets[u + 1]] }

    /// The interests of user `u`: subcategories and weights, strongest first.
    public func interests(of u: Int) -> [(subcategory: Int32, weight: Float)] {
        (interestOffsets[u]..<interestOffsets[u + 1]).map { (interests[$0], interestWeights[$0]) }
    }
}
