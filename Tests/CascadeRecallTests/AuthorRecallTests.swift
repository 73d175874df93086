import CascadeCore
@testable import CascadeRecall
import Testing

/// Authors and their fans:
/// - alice: items 0 (published 100), 1 (500), 2 (900), 10 (1500, after the request time 1000);
/// - bob: items 3 (800), 4 (950); carol: items 5 (300, 3 likes), 6 (990, 1 like);
///   follow events count in popularity (weight 2), so alice's popular list is item 0 alone;
/// - dave: item 7 (700); erin: item 8 (990); item 9 has no author.
/// Followers: alice {1, 2, 3}, carol {1, 2, 3, 4}, bob {5}, dave {3, 6}. So
/// cosine(alice, carol) = 3 / sqrt(12), cosine(alice, dave) = 1 / sqrt(6) (one common fan).
@Suite struct AuthorRecallTests {
    static let weights = EventTypeRegistry().weightsByCode
    static let follow = EventTypeRegistry().code(of: .followAuthor)!
    static let like = EventTypeRegistry().code(of: .like)!

    static var items: [Item] {
        let spec: [(String?, Double)] = [("alice", 100), ("alice", 500), ("alice", 900), ("bob", 800), ("bob", 950),
                                         ("carol", 300), ("carol", 990), ("dave", 700), ("erin", 990), (nil, 10), ("alice", 1500)]
        return spec.enumerated().map { Item(id: "i\($0.offset)", author: $0.element.0, publishedAt: $0.element.1) }
    }

    static var log: EventLog {
        var l = EventLog()
        // Follows through one item of each author.
        for (users, item) in [([1, 2, 3], 0), ([1, 2, 3, 4], 5), ([5], 3), ([3, 6], 7)] as [([Int32], Int32)] {
            for u in users { l.append(user: u, item: item, type: Self.follow, timestamp: 50) }
        }
        l.append(user: 1, item: 0, type: Self.follow, timestamp: 60) // a repeated follow counts once
        for u in Int32(10)..<13 { l.append(user: u, item: 5, type: Self.like, timestamp: 400) }
        l.append(user: 13, item: 6, type: Self.like, timestamp: 995)
        return l
    }

    static func build(_ configure: (inout AuthorRecall.Parameters) -> Void = { _ in }) -> AuthorRecall {
        var p = AuthorRecall.Parameters()
        configure(&p)
        return AuthorRecall.build(items: items, log: log, typeWeights: weights, parameters: p)
    }

    static let followsAlice = [HistoryEvent(item: 1, type: Self.follow, timestamp: 990)]

    func recall(_ a: AuthorRecall, _ history: [HistoryEvent], quota: Int = 20, seen: Set<Int32> = []) -> [Candidate] {
        a.recall(RecallContext(user: 0, history: history, now: 1000), quota: quota, filter: CandidateFilter(itemCount: 11, seen: seen))
    }

    @Test func fanOverlapSimilarity() {
        let a = Self.build()
        let sims = a.similarAuthors(of: "alice")
        #expect(sims.map(\.author) == ["carol"])
        #expect(abs(sims[0].similarity - Float(3 / 12.0.squareRoot())) < 1e-6)
        #expect(a.similarAuthors(of: "bob").isEmpty && a.similarAuthors(of: "nobody").isEmpty)
        let loose = Self.build { $0.minCommonFans = 1 }
        #expect(loose.similarAuthors(of: "alice").map(\.author) == ["carol", "dave"])
        #expect(abs(loose.similarAuthors(of: "alice")[1].similarity - Float(1 / 6.0.squareRoot())) < 1e-6)
        let jaccard = Self.build { $0.similarity = .jaccard }
        #expect(abs(jaccard.similarAuthors(of: "carol")[0].similarity - 0.75) < 1e-6)
    }

    @Test func followedNewestFirstThenSimilarAuthorsPopular() {
        let got = recall(Self.build(), Self.followsAlice)
        // alice newest first (item 10 is not published yet), then carol's popular items.
        #expect(got.map(\.item) == [2, 1, 0, 5, 6])
        #expect(got.prefix(3).allSatisfy { $0.score > 2 && $0.score <= 3 })
        // Popularity counts follows too: item 5 has 3 likes and 4 follows (14), item 6 one like (2).
        #expect(got[3].score == 1 && abs(got[4].score - 2.0 / 14) < 1e-6)
        #expect(got.allSatisfy { $0.channel == "author" })
    }

    @Test func interactedAuthorsBetweenFollowedAndSimilar() {
        let history = [HistoryEvent(item: 4, type: Self.like, timestamp: 995)] + Self.followsAlice
        #expect(recall(Self.build(), history).map(\.item) == [2, 1, 0, 4, 3, 5, 6])
        // A click (weight 1) is below the default interaction weight.
        let click = [HistoryEvent(item: 4, type: 1, timestamp: 995)] + Self.followsAlice
        #expect(recall(Self.build(), click).map(\.item) == [2, 1, 0, 5, 6])
        // Interactions alone seed similar authors too: liking carol's item brings alice's.
        let likesCarol = [HistoryEvent(item: 6, type: Self.like, timestamp: 995)]
        #expect(recall(Self.build(), likesCarol).map(\.item) == [6, 5, 0])
        #expect(recall(Self.build { $0.popularPerAuthor = 0; $0.minCommonFans = 1 }, likesCarol).map(\.item) == [6, 5])
    }

    @Test func filterQuotaAgeAndColdUsers() {
        let a = Self.build()
        #expect(recall(a, Self.followsAlice, seen: [1, 5]).map(\.item) == [2, 0, 6])
        #expect(recall(a, Self.followsAlice, quota: 2).map(\.item) == [2, 1])
        #expect(recall(a, Self.followsAlice, quota: 0).isEmpty)
        #expect(recall(a, []).isEmpty)
        #expect(recall(Self.build { $0.maxAge = 200 }, Self.followsAlice).map(\.item) == [2, 5, 6])
        #expect(recall(Self.build { $0.perAuthorQuota = 1 }, Self.followsAlice).map(\.item) == [2, 5])
        // An author without similar authors and items without authors add nothing.
        #expect(recall(a, [HistoryEvent(item: 8, type: Self.follow, timestamp: 1), HistoryEvent(item: 9, type: Self.follow, timestamp: 1)]).map(\.item) == [8])
    }

    @Test func similarAuthorsTableCapsFollowsPerUser() {
        // Users 0 and 1 both follow authors 0, 1, 2; user 0 followed author 2 first.
        let users: [Int32] = [0, 0, 0, 1, 1, 1], authors: [Int32] = [2, 0, 1, 0, 1, 2], times = [1.0, 5, 6, 1, 2, 3]
        let full = SimilarAuthors.build(users: users, authors: authors, timestamps: times, authorCount: 3)
        #expect(full.neighbours(of: 0).map(\.author) == [1, 2])
        #expect(full.neighbours(of: 0).allSatisfy { abs($0.similarity - 1) < 1e-6 })
        // With two follows a user, user 0 keeps authors 0 and 1, user 1 keeps 1 and 2.
        let capped = SimilarAuthors.build(users: users, authors: authors, timestamps: times, authorCount: 3, minCommonFans: 1, maxFollowsPerUser: 2)
        #expect(capped.neighbours(of: 0).map(\.author) == [1])
        #expect(capped.neighbours(of: 2).map(\.author) == [1])
        #expect(SimilarAuthors.build(users: [], authors: [], timestamps: [], authorCount: 2) == SimilarAuthors(authorCount: 2))
    }

    @Test func loadRejectsListsOfTheWrongAuthor() throws {
        let a = Self.build()
        let back = try AuthorRecall(serialized: a.serialized())
        #expect(back.authors == a.authors && back.similar == a.similar)
        let swapped = AuthorRecall(parameters: a.parameters, typeWeights: a.typeWeights, authors: a.authors, itemAuthor: a.itemAuthor,
                                   newestOffsets: a.newestOffsets, newestItems: a.newestItems.reversed(), newestPublished: a.newestPublished,
                                   popularOffsets: a.popularOffsets, popularItems: a.popularItems, popularScores: a.popularScores, similar: a.similar)
        #expect(throws: CascadeError.self) { _ = try AuthorRecall(serialized: swapped.serialized()) }
    }
}
