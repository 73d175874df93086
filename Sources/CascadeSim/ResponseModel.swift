import Foundation
import CascadeCore

/// The response model: how a user reacts to an item shown at a position at a time.
///
/// With affinity `a = user taste . item taste`, item quality `q`, and `sigma(x) = 1 / (1 + e^-x)`:
///
/// ```
/// z = b0 + wA * a + wQ * q + beta_u                       (clickBase, affinityWeight, qualityWeight, user bias)
///       - decay_c * log2(1 + age_days)                    (freshness; age = t - publish time, c = top category)
///       + hourAmplitude * cos(2 pi (hour(t) - peak_c) / 24)   (hour-by-category context, UTC)
///       + geo(d)                                          (local items only, d = km from the user's home)
///       + followBoost * [user follows the author]
/// geo(d) = geoNearBoost * e^(-d/s) - geoFarPenalty * (1 - e^(-d/s)),  s = geoScaleKm
/// P(click | shown at position k) = e(k) * sigma(z),  e(k) = (1 + k)^(-positionExponent)
/// ```
///
/// The position factor is the examination hypothesis: a user first looks at a slot (with a
/// probability that depends on the slot only), then clicks if the item appeals. After a click:
///
/// ```
/// P(like | click)     = sigma(like.base + like.affinity * a + like.quality * q + gamma_u)
/// P(favorite | click) = sigma(favorite.base + favorite.affinity * a + favorite.quality * q)
/// P(share | click)    = sigma(share.base + share.affinity * a + share.quality * q)
/// P(comment | click)  = sigma(comment.base + comment.affinity * a + comment.quality * q + gamma_u / 2)
/// P(follow | click)   = sigma(follow.base + follow.affinity * a + follow.quality * q), 0 when already following
/// log(watched / L)    = min(0, mu + watchSpread * N(0, 1)),
///                       mu = watch.base + watch.affinity * a + watch.quality * q - watchLengthSlope * ln(L / 60)
/// P(finish | click)   = P(mu + watchSpread * N >= 0) = Phi(mu / watchSpread)
/// E[watched | click]  = L * (Phi(mu/s) + e^(mu + s^2/2) * Phi(-mu/s - s)),  s = watchSpread
/// ```
/// An examined impression that is not clicked draws a dislike with probability
/// `dislikeRate * sigma(-dislikeSlope * (a - dislikeThreshold))`: rare unless affinity is very low.
///
/// When no time is given (`time == nil`), the freshness and hour terms are left out: that is the
/// timeless preference used by ``SimulatedWorld/trueTopK(user:k:excluding:at:)``.
extension GroundTruth {
    /// True affinity: the inner product of the user's and the item's taste vectors.
    @inline(__always)
    public func affinity(user u: Int, item i: Int) -> Float {
        let d = dimension
        return userTaste.withUnsafeBufferPointer { ut in
            itemTaste.withUnsafeBufferPointer { it in
                var s: Float = 0
                let ub = u * d, ib = i * d
                for k in 0..<d { s += ut[ub + k] * it[ib + k] }
                return s
            }
        }
    }

    /// Probability that a user looks at slot `position` (0-based) of a page.
    @inline(__always)
    public func examination(position: Int) -> Float {
        Foundation.pow(Float(1 + position), -response.positionExponent)
    }

    /// Whether user `u` follows author `a` (linear in the user's follow count, which is small).
    @inline(__always)
    public func userFollows(_ u: Int, author a: Int32) -> Bool {
        var j = followOffsets[u]
        let end = followOffsets[u + 1]
        while j < end { if follows[j] == a { return true }; j += 1 }
        return false
    }

    /// Distance in km by the equirectangular approximation (within 0.5% of the great circle below
    /// a few hundred km, which is where the geo term matters).
    @inline(__always)
    static func approximateKm(_ lat1: Float, _ lon1: Float, _ lat2: Float, _ lon2: Float) -> Float {
        let rad: Float = .pi / 180
        let x = (lon2 - lon1) * rad * Foundation.cos(0.5 * (lat1 + lat2) * rad)
        let y = (lat2 - lat1) * rad
        return 6371 * (x * x + y * y).squareRoot()
    }

    /// The geo term of the click logit (0 for items that are not local).
    @inline(__always)
    func geoTerm(user u: Int, item i: Int) -> Float {
        let lat = itemLatitude[i]
        if lat.isNaN { return 0 }
        let d = Self.approximateKm(userLatitude[u], userLongitude[u], lat, itemLongitude[i])
        let near = Foundation.exp(-d / response.geoScaleKm)
        return response.geoNearBoost * near - response.geoFarPenalty * (1 - near)
    }

    /// The time-dependent terms of the click logit: freshness and hour-by-category.
    @inline(__always)
    func timeTerm(item i: Int, time t: Double) -> Float {
        let c = topCategory(ofItem: i)
        let ageDays = Float(max(0, t - itemPublishedAt[i]) / 86_400)
        let fresh = -topDecay[c] * Foundation.log2(1 + ageDays)
        let hour = Float((t.truncatingRemainder(dividingBy: 86_400) + 86_400).truncatingRemainder(dividingBy: 86_400) / 3_600)
        let context = response.hourAmplitude * Foundation.cos(2 * Float.pi * (hour - topPeakHour[c]) / 24)
        return fresh + context
    }

    /// The part of the click logit that depends on neither the user's bias nor time.
    @inline(__always)
    func preferenceLogit(user u: Int, item i: Int, affinity a: Float) -> Float {
        var z = response.affinityWeight * a + response.qualityWeight * itemQuality[i]
        z += geoTerm(user: u, item: i)
        if userFollows(u, author: itemAuthor[i]) { z += response.followBoost }
        return z
    }

    /// The full click logit `z` (click probability at the top slot is `sigmoid(z)`).
    @inline(__always)
    public func clickLogit(user u: Int, item i: Int, affinity a: Float, time t: Double?) -> Float {
        var z = response.clickBase + userClickBias[u] + preferenceLogit(user: u, item: i, affinity: a)
        if let t { z += timeTerm(item: i, time: t) }
        return z
    }

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }

    /// Standard normal CDF.
    @inline(__always)
    static func phi(_ x: Float) -> Float { Float(0.5 * Foundation.erfc(-Double(x) * 0.7071067811865476)) }

    @inline(__always)
    func followUp(_ c: FollowUpCoefficients, affinity a: Float, item i: Int) -> Float {
        Self.sigmoid(c.base + c.affinity * a + c.quality * itemQuality[i])
    }

    @inline(__always)
    func likeGivenClick(user u: Int, item i: Int, affinity a: Float) -> Float {
        let c = response.like
        return Self.sigmoid(c.base + c.affinity * a + c.quality * itemQuality[i] + userLikeBias[u])
    }

    @inline(__always)
    func commentGivenClick(user u: Int, item i: Int, affinity a: Float) -> Float {
        let c = response.comment
        return Self.sigmoid(c.base + c.affinity * a + c.quality * itemQuality[i] + 0.5 * userLikeBias[u])
    }

    /// `mu` of the log watched fraction.
    @inline(__always)
    func watchMu(item i: Int, affinity a: Float) -> Float {
        let c = response.watch
        return c.base + c.affinity * a + c.quality * itemQuality[i]
            - response.watchLengthSlope * Foundation.log(itemLength[i] / 60)
    }

    @inline(__always)
    func finishGivenClick(mu: Float) -> Float { Self.phi(mu / response.watchSpread) }

    /// Expected seconds watched given a click.
    func expectedWatch(item i: Int, mu: Float) -> Float {
        let s = response.watchSpread
        let partial = Foundation.exp(mu + 0.5 * s * s) * Self.phi(-mu / s - s)
        return itemLength[i] * (Self.phi(mu / s) + partial)
    }

    /// Dislike probability of an examined, unclicked impression.
    @inline(__always)
    func dislikeGivenSkip(affinity a: Float) -> Float {
        response.dislikeRate * Self.sigmoid(-response.dislikeSlope * (a - response.dislikeThreshold))
    }

    /// Every true probability for `user` and `item` shown at the top slot at time `t` (nil: timeless).
    public func engagement(user u: Int, item i: Int, at t: Double?) -> Engagement {
        let a = affinity(user: u, item: i)
        let z = clickLogit(user: u, item: i, affinity: a, time: t)
        let click = Self.sigmoid(z)
        let mu = watchMu(item: i, affinity: a)
        let following = userFollows(u, author: itemAuthor[i])
        var e = Engagement(
            affinity: a, clickLogit: z, click: click,
            likeGivenClick: likeGivenClick(user: u, item: i, affinity: a),
            favoriteGivenClick: followUp(response.favorite, affinity: a, item: i),
            shareGivenClick: followUp(response.share, affinity: a, item: i),
            commentGivenClick: commentGivenClick(user: u, item: i, affinity: a),
            followGivenClick: following ? 0 : followUp(response.follow, affinity: a, item: i),
            finishGivenClick: finishGivenClick(mu: mu),
            expectedWatchSeconds: expectedWatch(item: i, mu: mu),
            dislike: (1 - click) * dislikeGivenSkip(affinity: a),
            value: 0)
        let w = Engagement.weights
        let afterClick = w.click + w.watch + w.like * e.likeGivenClick + w.favorite * e.favoriteGivenClick
            + w.share * e.shareGivenClick + w.comment * e.commentGivenClick + w.follow * e.followGivenClick
            + w.completion * e.finishGivenClick
        e.value = click * afterClick + w.dislike * e.dislike
        return e
    }
}

/// True probabilities for one user and one item at the top slot (position 0).
public struct Engagement: Sendable, Equatable {
    public var affinity: Float
    /// `z` of the click model; `click = sigmoid(clickLogit)`.
    public var clickLogit: Float
    public var click: Float
    public var likeGivenClick: Float
    public var favoriteGivenClick: Float
    public var shareGivenClick: Float
    public var commentGivenClick: Float
    public var followGivenClick: Float
    public var finishGivenClick: Float
    public var expectedWatchSeconds: Float
    /// Unconditional probability of a dislike (no click, then dislike).
    public var dislike: Float
    /// Expected sum of the ``EventTypeRegistry`` weights of the events one impression leads to:
    /// click, watch, like, favorite, share, comment, follow, completion and (negative) dislike.
    public var value: Float

    public var like: Float { click * likeGivenClick }
    public var share: Float { click * shareGivenClick }
    public var finish: Float { click * finishGivenClick }

    struct Weights {
        var click: Float, watch: Float, like: Float, favorite: Float, share: Float, comment: Float
        var follow: Float, completion: Float, dislike: Float
    }

    static let weights: Weights = {
        let r = EventTypeRegistry()
        let w = r.weightsByCode
        func of(_ t: EventType) -> Float { w[Int(r.code(of: t)!)] }
        return Weights(click: of(.click), watch: of(.watch), like: of(.like), favorite: of(.favorite),
                       share: of(.share), comment: of(.comment), follow: of(.followAuthor),
                       completion: of(.completion), dislike: of(.dislike))
    }()
}
