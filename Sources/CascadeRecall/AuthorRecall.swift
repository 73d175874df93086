import CascadeCore
import Foundation

/// Author recall: new items of the authors a user follows, then of authors they engage with,
/// then popular items of similar authors (by fan overlap, ``SimilarAuthors``).
///
/// The user's authors come from the history in the request: a follow event on an item means the
/// user follows that item's author; a positive event whose type weight is at least
/// `interactionMinWeight` (like, favorite, share...) makes the item's author an interacted author.
/// Three tiers, each in its own score band so that a higher tier always comes first:
/// - followed authors' newest items, score in (2, 3]: `2 + 2^(-age / recencyHalfLife)`, at most
///   `perAuthorQuota` items an author, none older than `maxAge`;
/// - interacted authors' newest items (strongest interaction first among at most
///   `maxSeedAuthors`), score in (1, 2], same recency rule;
/// - similar authors' popular items, score in (0, 1]: the author's affinity (the sum over seed
///   authors of seed weight x similarity, seed weight 1 for followed and `interactedWeight` for
///   interacted authors, divided by the best affinity) times the item's popularity relative to
///   the author's most popular item. Only the `maxSimilarAuthors` closest authors are used.
/// Within-tier scores are clamped to at least 0.001 so the bands never touch. An item has one
/// author and the tiers' authors are disjoint, so no item appears twice. Items published after
/// the request time are never returned.
///
/// Build: O(events + items log items) plus the similarity table (see ``SimilarAuthors``).
/// Recall: O(history + seeds x (perAuthorQuota + similar neighbours) + gathered x log quota).
public struct AuthorRecall: RecallChannel {
    public struct Parameters: Sendable, Equatable {
        /// Event-type code meaning "follows this item's author" (the built-in registry's is 6).
        public var followType: UInt8 = 6
        /// Newest items kept per author.
        public var newestPerAuthor = 20
        /// Most popular items kept per author.
        public var popularPerAuthor = 20
        /// Similar authors kept per author.
        public var similarPerAuthor = 20
        public var similarity: SimilarAuthors.Measure = .cosine
        /// Common followers a pair of authors needs to count as similar.
        public var minCommonFans = 2
        /// Follows of one user used in the overlap counting (the most recent).
        public var maxFollowsPerUser = 500
        /// Half-life in seconds of events in item popularity; nil for all-time counts.
        public var popularityHalfLife: Double? = nil
        /// Followed and interacted authors' items older than this (seconds) are skipped; nil
        /// for any age (items without a publish time pass only then).
        public var maxAge: Double? = 30 * 86_400
        /// Seconds after which an item's recency score halves.
        public var recencyHalfLife: Double = 3 * 86_400
        /// Smallest type weight of an event that makes its item's author an interacted author;
        /// `.infinity` disables the interacted tier.
        public var interactionMinWeight: Float = 2
        /// Seed weight of an interacted author when looking for similar authors (followed: 1).
        public var interactedWeight: Float = 0.5
        /// Followed authors used, and interacted authors used, a request (each).
        public var maxSeedAuthors = 100
        /// Similar authors used a request.
        public var maxSimilarAuthors = 50
        /// Items one author may contribute to one request.
        public var perAuthorQuota = 10
        public init() {}
    }

    public let name: String
    public let parameters: Parameters
    /// Weight per event-type code (to recognise interactions).
    public let typeWeights: [Float]
    /// Author names; index = author index.
    public let authors: [String]
    /// Author index of each item, -1 when it has none.
    public let itemAuthor: [Int32]
    /// Author `a`'s newest items are `newestItems[newestOffsets[a]..<newestOffsets[a+1]]`, newest
    /// first, with publish times in `newestPublished` (`.nan` when unknown, listed last).
    public let newestOffsets: [Int]
    public let newestItems: [Int32]
    public let newestPublished: [Double]
    /// Author `a`'s most popular items, best first, with their popularity.
    public let popularOffsets: [Int]
    public let popularItems: [Int32]
    public let popularScores: [Float]
    public let similar: SimilarAuthors

    public init(name: String = "author", parameters: Parameters, typeWeights: [Float], authors: [String], itemAuthor: [Int32],
                newestOffsets: [Int], newestItems: [Int32], newestPublished: [Double],
                popularOffsets: [Int], popularItems: [Int32], popularScores: [Float], similar: SimilarAuthors) {
        self.name = name
        self.parameters = parameters
        self.typeWeights = typeWeights
        self.authors = authors
        self.itemAuthor = itemAuthor
        self.newestOffsets = newestOffsets
        self.newestItems = newestItems
        self.newestPublished = newestPublished
        self.popularOffsets = popularOffsets
        self.popularItems = popularItems
        self.popularScores = popularScores
        self.similar = similar
    }

    /// The author index of `name`, if any item has that author.
    public func authorIndex(_ name: String) -> Int32? { authors.firstIndex(of: name).map { Int32($0) } }

    /// The authors most similar to `author` by fan overlap, best first.
    public func similarAuthors(of author: String) -> [(author: String, similarity: Float)] {
        guard let a = authorIndex(author) else { return [] }
        return similar.neighbours(of: a).map { (authors[Int($0.author)], $0.similarity) }
    }

    /// Builds the per-author lists and the similar-author table.
    /// - Parameters:
    ///   - items: the catalog in dense index order; items without an author are left out,
    ///     hidden items are kept out of the lists.
    ///   - log: events with dense ids; only events at or before `now` count. Follow events
    ///     (`parameters.followType`) on an item make the user a fan of the item's author.
    ///   - typeWeights: weight per event-type code; positive weights make item popularity.
    ///   - now: the build time; nil takes the latest event or publish time. Items published
    ///     after it are left out.
    public static func build(items: [Item], log: EventLog, typeWeights: [Float], parameters: Parameters = Parameters(),
                             now: Double? = nil, name: String = "author") -> AuthorRecall {
        precondition(parameters.recencyHalfLife.isFinite && parameters.recencyHalfLife > 0, "AuthorRecall recencyHalfLife must be positive")
        let ref = now ?? max(log.maxTimestamp, items.compactMap(\.publishedAt).max() ?? 0)
        var ids = IdMap()
        let itemAuthor: [Int32] = items.map { $0.author.map { ids.intern($0) } ?? -1 }
        let authorCount = ids.count
        var byAuthor = [[Int32]](repeating: [], count: authorCount)
        for (i, item) in items.enumerated() where itemAuthor[i] >= 0 && !item.hidden {
            if let p = item.publishedAt, p > ref { continue }
            byAuthor[Int(itemAuthor[i])].append(Int32(i))
        }
        let stats = RuleEngagement(log: log, itemCount: items.count, typeWeights: typeWeights, impressionType: 0,
                                   halfLife: parameters.popularityHalfLife, now: ref)
        var newestOffsets = [0], newestItems: [Int32] = [], newestPublished: [Double] = []
        var popularOffsets = [0], popularItems: [Int32] = [], popularScores: [Float] = []
        for list in byAuthor {
            let newest = list.sorted { a, b in
                let pa = items[Int(a)].publishedAt ?? -.infinity, pb = items[Int(b)].publishedAt ?? -.infinity
                return pa != pb ? pa > pb : a < b
            }.prefix(max(0, parameters.newestPerAuthor))
            newestItems += newest
            newestPublished += newest.map { items[Int($0)].publishedAt ?? .nan }
            newestOffsets.append(newestItems.count)
            var top = TopK(parameters.popularPerAuthor)
            for i in list where stats.weighted[Int(i)] > 0 { top.push(i, Float(stats.weighted[Int(i)])) }
            for e in top.sorted() { popularItems.append(e.id); popularScores.append(e.score) }
            popularOffsets.append(popularItems.count)
        }
        var fu: [Int32] = [], fa: [Int32] = [], ft: [Double] = []
        for e in 0..<log.count where log.types[e] == parameters.followType && log.timestamps[e] <= ref {
            let it = Int(log.items[e])
            guard it >= 0, it < itemAuthor.count, itemAuthor[it] >= 0 else { continue }
            fu.append(log.users[e]); fa.append(itemAuthor[it]); ft.append(log.timestamps[e])
        }
        let similar = SimilarAuthors.build(users: fu, authors: fa, timestamps: ft, authorCount: authorCount,
                                           measure: parameters.similarity, neighbours: parameters.similarPerAuthor,
                                           minCommonFans: parameters.minCommonFans, maxFollowsPerUser: parameters.maxFollowsPerUser)
        return AuthorRecall(name: name, parameters: parameters, typeWeights: typeWeights, authors: ids.ids, itemAuthor: itemAuthor,
                            newestOffsets: newestOffsets, newestItems: newestItems, newestPublished: newestPublished,
                            popularOffsets: popularOffsets, popularItems: popularItems, popularScores: popularScores, similar: similar)
    }

    /// The user's followed authors (most recent follow first) and interacted authors (strongest
    /// first), disjoint, each list at most `maxSeedAuthors` long.
    public func seedAuthors(_ context: RecallContext) -> (followed: [Int32], interacted: [(author: Int32, weight: Float)]) {
        var followed: [Int32] = [], followedSet = Set<Int32>()
        var strength: [Int32: Float] = [:], order: [Int32] = []
        for e in context.history {
            guard e.item >= 0, Int(e.item) < itemAuthor.count else { continue }
            let a = itemAuthor[Int(e.item)]
            guard a >= 0 else { continue }
            if e.type == parameters.followType {
                if followed.count < parameters.maxSeedAuthors, followedSet.insert(a).inserted { followed.append(a) }
                continue
            }
            let w = Int(e.type) < typeWeights.count ? typeWeights[Int(e.type)] : 0
            guard w > 0, w >= parameters.interactionMinWeight else { continue }
            if strength[a] == nil { order.append(a) }
            strength[a, default: 0] += w
        }
        var interacted = order.filter { !followedSet.contains($0) }.map { (author: $0, weight: strength[$0]!) }
        interacted.sort { $0.weight != $1.weight ? $0.weight > $1.weight : $0.author < $1.author }
        return (followed, Array(interacted.prefix(max(0, parameters.maxSeedAuthors))))
    }

    public func recall(_ context: RecallContext, quota: Int, filter: CandidateFilter) -> [Candidate] {
        guard quota > 0, !authors.isEmpty else { return [] }
        let (followed, interacted) = seedAuthors(context)
        var top = TopK(quota)
        let lambda = 1 / max(parameters.recencyHalfLife, 1e-9)
        func newest(of a: Int32, band: Float) {
            var taken = 0
            for p in newestOffsets[Int(a)]..<newestOffsets[Int(a) + 1] where taken < parameters.perAuthorQuota {
                let t = newestPublished[p]
                var w: Double = 0.001
                if t.isNaN {
                    if parameters.maxAge != nil { break } // unknown ages come last
                } else {
                    let age = context.now - t
                    if age < 0 { continue }
                    if let m = parameters.maxAge, age > m { break } // the rest are older still
                    w = max(0.001, exp2(-age * lambda))
                }
                let it = newestItems[p]
                guard filter.allows(it) else { continue }
                top.push(it, band + Float(w))
                taken += 1
            }
        }
        for a in followed { newest(of: a, band: 2) }
        for s in interacted { newest(of: s.author, band: 1) }

        // Similar authors: affinity through the seeds, excluding the seeds themselves.
        var seeds = Set(followed)
        for s in interacted { seeds.insert(s.author) }
        var affinity: [Int32: Float] = [:]
        let weighted = followed.map { ($0, Float(1)) } + interacted.map { ($0.author, parameters.interactedWeight) }
        for (a, w) in weighted where w > 0 {
            for n in similar.neighbours(of: a) where !seeds.contains(n.author) { affinity[n.author, default: 0] += w * n.similarity }
        }
        var closest = TopK(parameters.maxSimilarAuthors)
        for (b, s) in affinity where s > 0 { closest.push(b, s) }
        let ranked = closest.sorted()
        if let best = ranked.first?.score {
            for (b, s) in ranked {
                let lo = popularOffsets[Int(b)], hi = popularOffsets[Int(b) + 1]
                guard lo < hi else { continue }
                let head = popularScores[lo]
                var taken = 0
                for p in lo..<hi where taken < parameters.perAuthorQuota {
                    let it = popularItems[p]
                    guard filter.allows(it) else { continue }
                    top.push(it, max(0.001, min(1, (s / best) * (popularScores[p] / head))))
                    taken += 1
                }
            }
        }
        return top.sorted().map { Candidate(item: $0.id, score: $0.score, channel: name) }
    }

    static let magic = "CAUT"

    public func serialized() -> [UInt8] {
        var w = ByteWriter(magic: Self.magic, version: 1)
        w.write(name)
        let p = parameters
        w.write(p.followType)
        for v in [p.newestPerAuthor, p.popularPerAuthor, p.similarPerAuthor, p.minCommonFans, p.maxFollowsPerUser,
                  p.maxSeedAuthors, p.maxSimilarAuthors, p.perAuthorQuota] { w.write(Int64(v)) }
        w.write(p.similarity.rawValue)
        w.write(p.popularityHalfLife ?? -1)
        w.write(p.maxAge ?? -1)
        w.write(p.recencyHalfLife)
        w.write(p.interactionMinWeight)
        w.write(p.interactedWeight)
        w.write(array: typeWeights)
        w.write(strings: authors)
        w.write(array: itemAuthor)
        w.write(array: newestOffsets.map { Int64($0) })
        w.write(array: newestItems)
        w.write(array: newestPublished)
        w.write(array: popularOffsets.map { Int64($0) })
        w.write(array: popularItems)
        w.write(array: popularScores)
        similar.write(to: &w)
        return [UInt8](w.data)
    }

    public init(serialized bytes: [UInt8]) throws(CascadeError) {
        let what = "author artifact"
        var r = try ByteReader(Data(bytes), magic: Self.magic, what: what)
        guard r.version == 1 else { throw .corrupt("\(what): unknown version \(r.version)") }
        let name = try r.readString("name")
        var p = Parameters()
        p.followType = try r.read(UInt8.self, "followType")
        var counts: [Int] = []
        for field in ["newestPerAuthor", "popularPerAuthor", "similarPerAuthor", "minCommonFans", "maxFollowsPerUser",
                      "maxSeedAuthors", "maxSimilarAuthors", "perAuthorQuota"] {
            let v = try r.read(Int64.self, field)
            guard v >= 0, v <= Int64(Int32.max) else { throw .corrupt("\(what): \(field) = \(v) is out of range") }
            counts.append(Int(v))
        }
        (p.newestPerAuthor, p.popularPerAuthor, p.similarPerAuthor, p.minCommonFans) = (counts[0], counts[1], counts[2], counts[3])
        (p.maxFollowsPerUser, p.maxSeedAuthors, p.maxSimilarAuthors, p.perAuthorQuota) = (counts[4], counts[5], counts[6], counts[7])
        let measure = try r.read(UInt8.self, "similarity")
        guard let m = SimilarAuthors.Measure(rawValue: measure) else { throw .corrupt("\(what): unknown similarity \(measure)") }
        p.similarity = m
        let halfLife = try r.readDouble("popularityHalfLife"), maxAge = try r.readDouble("maxAge")
        p.recencyHalfLife = try r.readDouble("recencyHalfLife")
        p.interactionMinWeight = try r.readFloat("interactionMinWeight")
        p.interactedWeight = try r.readFloat("interactedWeight")
        guard halfLife.isFinite, maxAge.isFinite, p.recencyHalfLife.isFinite, p.recencyHalfLife > 0,
              !p.interactionMinWeight.isNaN, p.interactedWeight.isFinite else { throw .corrupt("\(what): invalid parameters") }
        p.popularityHalfLife = halfLife < 0 ? nil : halfLife
        p.maxAge = maxAge < 0 ? nil : maxAge
        let weights = try r.readFloats("typeWeights")
        let authors = try r.readStrings("authors")
        let itemAuthor = try r.readArray(Int32.self, "itemAuthor")
        let newestOffsets = try r.readArray(Int64.self, "newest offsets").map { Int($0) }
        let newestItems = try r.readArray(Int32.self, "newest items")
        let newestPublished = try r.readDoubles("newest publish times")
        let popularOffsets = try r.readArray(Int64.self, "popular offsets").map { Int($0) }
        let popularItems = try r.readArray(Int32.self, "popular items")
        let popularScores = try r.readFloats("popular scores")
        let similar = try SimilarAuthors.read(from: &r, authorCount: authors.count, what: what)
        guard r.isAtEnd else { throw .corrupt("\(what): trailing bytes") }
        guard weights.allSatisfy(\.isFinite), Set(authors).count == authors.count else { throw .corrupt("\(what): bad type weights or repeated author") }
        guard itemAuthor.allSatisfy({ $0 >= -1 && Int($0) < authors.count }) else { throw .corrupt("\(what): item author out of range") }
        try Self.checkLists(newestOffsets, newestItems, authorCount: authors.count, itemAuthor: itemAuthor, list: "newest", what: what)
        try Self.checkLists(popularOffsets, popularItems, authorCount: authors.count, itemAuthor: itemAuthor, list: "popular", what: what)
        guard newestPublished.count == newestItems.count, popularScores.count == popularItems.count,
              popularScores.allSatisfy(\.isFinite) else { throw .corrupt("\(what): list lengths or scores are inconsistent") }
        self.init(name: name, parameters: p, typeWeights: weights, authors: authors, itemAuthor: itemAuthor,
                  newestOffsets: newestOffsets, newestItems: newestItems, newestPublished: newestPublished,
                  popularOffsets: popularOffsets, popularItems: popularItems, popularScores: popularScores, similar: similar)
    }

    /// Checks a per-author CSR: one row per author, each item in the row written by that author.
    static func checkLists(_ offsets: [Int], _ items: [Int32], authorCount: Int, itemAuthor: [Int32], list: String,
                           what: String) throws(CascadeError) {
        guard offsets.count == authorCount + 1, offsets.first == 0, offsets.last == items.count,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw .corrupt("\(what): \(list) offsets are inconsistent") }
        for a in 0..<authorCount {
            for p in offsets[a]..<offsets[a + 1] {
                let it = items[p]
                guard it >= 0, Int(it) < itemAuthor.count, Int(itemAuthor[Int(it)]) == a else {
                    throw .corrupt("\(what): \(list) item \(it) is not by author \(a)")
                }
            }
        }
    }
}

/// The author channel ("author"): new and popular items of followed, interacted and similar authors.
public enum AuthorChannel: ChannelDefinition {
    public static let name = "author"
    public static let summary = "items of the authors a user follows or engages with, and of similar authors"
    public static let defaultParameters = AuthorRecall.Parameters()
    public static let defaultQuota: (quota: Int, weight: Float) = (50, 0.6)
    public static let settings: [Setting<AuthorRecall.Parameters>] = [
        .int("newestPerAuthor", "Newest items kept per author.", \.newestPerAuthor, 0...Int.max),
        .int("popularPerAuthor", "Most popular items kept per author.", \.popularPerAuthor, 0...Int.max),
        .int("perAuthorQuota", "Items one author may contribute to one request.", \.perAuthorQuota, 1...Int.max),
        .optionalDouble("maxAgeDays", "Items older than this many days are skipped (none: any age).", \.maxAge, "> 0", unit: 86_400) { $0 > 0 },
    ]
    public static func train(_ input: ChannelTrainingInput, parameters: AuthorRecall.Parameters) throws -> any RecallChannel {
        var p = parameters
        p.followType = input.registry.code(of: .followAuthor) ?? p.followType
        return AuthorRecall.build(items: input.items, log: input.log, typeWeights: input.typeWeights, parameters: p, name: name)
    }
    public static func load(_ bytes: [UInt8]) throws -> any RecallChannel { try AuthorRecall(serialized: bytes) }
}
