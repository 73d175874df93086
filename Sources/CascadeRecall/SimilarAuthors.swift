import CascadeCore
import Foundation

/// Author-to-author similarity by fan overlap: two authors are alike when the same users follow
/// both. With `F(a)` the followers of author `a` and `c = |F(a) ∩ F(b)|`,
///
///     cosine(a, b)  = c / sqrt(|F(a)| |F(b)|)
///     jaccard(a, b) = c / (|F(a)| + |F(b)| - c)
///
/// Pairs with fewer than `minCommonFans` common followers are dropped (one shared fan is mostly
/// noise), and each author keeps its `neighbours` most similar authors, best first, ties by index.
/// A user contributes at most `maxFollowsPerUser` follows (the most recent), which bounds the cost
/// at O(sum_u min(|follows(u)|, cap)^2) time, run over both cores, and O(authors x neighbours) memory.
public struct SimilarAuthors: Sendable, Equatable {
    public enum Measure: UInt8, Sendable, Equatable, CaseIterable {
        case cosine = 0
        case jaccard = 1
    }

    /// Author `a`'s neighbours are `neighbourAuthors[offsets[a]..<offsets[a+1]]`, best first.
    public let offsets: [Int]
    public let neighbourAuthors: [Int32]
    public let similarities: [Float]

    public var authorCount: Int { offsets.count - 1 }

    public init(offsets: [Int], neighbourAuthors: [Int32], similarities: [Float]) {
        self.offsets = offsets
        self.neighbourAuthors = neighbourAuthors
        self.similarities = similarities
    }

    /// No similar authors for any of `authorCount` authors.
    public init(authorCount: Int) {
        self.init(offsets: [Int](repeating: 0, count: authorCount + 1), neighbourAuthors: [], similarities: [])
    }

    /// The authors most similar to `author`, best first.
    public func neighbours(of author: Int32) -> [(author: Int32, similarity: Float)] {
        guard author >= 0, Int(author) < authorCount else { return [] }
        return (offsets[Int(author)]..<offsets[Int(author) + 1]).map { (neighbourAuthors[$0], similarities[$0]) }
    }

    /// Builds the table from follow records (`users[k]` follows `authors[k]` at `timestamps[k]`);
    /// repeated follows of one author by one user count once.
    public static func build(users: [Int32], authors: [Int32], timestamps: [Double], authorCount: Int,
                             measure: Measure = .cosine, neighbours: Int = 20, minCommonFans: Int = 2,
                             maxFollowsPerUser: Int = 500) -> SimilarAuthors {
        precondition(users.count == authors.count && users.count == timestamps.count, "follow columns differ in length")
        // Group by user, then author, newest first, and keep each (user, author) pair once.
        let order = users.indices.filter { authors[$0] >= 0 && Int(authors[$0]) < authorCount && users[$0] >= 0 }.sorted {
            if users[$0] != users[$1] { return users[$0] < users[$1] }
            if authors[$0] != authors[$1] { return authors[$0] < authors[$1] }
            return timestamps[$0] != timestamps[$1] ? timestamps[$0] > timestamps[$1] : $0 < $1
        }
        // user -> followed authors (capped to the most recent), as a CSR with sorted rows.
        var userOffsets = [0], userAuthors: [Int32] = []
        var k = 0
        while k < order.count {
            let u = users[order[k]]
            var row: [(author: Int32, time: Double)] = []
            while k < order.count, users[order[k]] == u {
                let a = authors[order[k]]
                if row.last?.author != a { row.append((a, timestamps[order[k]])) }
                k += 1
            }
            if row.count > maxFollowsPerUser {
                row.sort { $0.time != $1.time ? $0.time > $1.time : $0.author < $1.author }
                row = Array(row.prefix(max(0, maxFollowsPerUser)))
                row.sort { $0.author < $1.author }
            }
            userAuthors += row.map(\.author)
            userOffsets.append(userAuthors.count)
        }
        let userCount = userOffsets.count - 1
        // author -> fans (row indices of the user CSR).
        var fanOffsets = [Int](repeating: 0, count: authorCount + 1)
        for a in userAuthors { fanOffsets[Int(a) + 1] += 1 }
        for a in 0..<authorCount { fanOffsets[a + 1] += fanOffsets[a] }
        var fill = fanOffsets
        var fans = [Int32](repeating: 0, count: userAuthors.count)
        for u in 0..<userCount {
            for p in userOffsets[u]..<userOffsets[u + 1] {
                let a = Int(userAuthors[p])
                fans[fill[a]] = Int32(u)
                fill[a] += 1
            }
        }
        let fanOff = fanOffsets, fanList = fans, userOff = userOffsets, followList = userAuthors
        let k0 = max(0, neighbours)
        var counts = [Int](repeating: 0, count: authorCount)
        var slots = [Int32](repeating: 0, count: authorCount * k0)
        var sims = [Float](repeating: 0, count: authorCount * k0)
        if k0 > 0 {
            counts.withUnsafeMutableBufferPointer { cb in
                slots.withUnsafeMutableBufferPointer { ib in
                    sims.withUnsafeMutableBufferPointer { sb in
                        let c = SendablePointer(cb.baseAddress!), it = SendablePointer(ib.baseAddress!), sm = SendablePointer(sb.baseAddress!)
                        Parallel.forRanges(authorCount, minimumChunk: 64) { range in
                            var common = [Int32](repeating: 0, count: authorCount)
                            var touched: [Int32] = []
                            for a in range {
                                touched.removeAll(keepingCapacity: true)
                                for f in fanOff[a]..<fanOff[a + 1] {
                                    let u = Int(fanList[f])
                                    for q in userOff[u]..<userOff[u + 1] {
                                        let b = followList[q]
                                        if Int(b) == a { continue }
                                        if common[Int(b)] == 0 { touched.append(b) }
                                        common[Int(b)] += 1
                                    }
                                }
                                let na = Double(fanOff[a + 1] - fanOff[a])
                                var top = TopK(k0)
                                for b in touched {
                                    let n = Double(common[Int(b)])
                                    common[Int(b)] = 0
                                    guard n >= Double(minCommonFans) else { continue }
                                    let nb = Double(fanOff[Int(b) + 1] - fanOff[Int(b)])
                                    let s = measure == .cosine ? n / (na * nb).squareRoot() : n / (na + nb - n)
                                    top.push(b, Float(s))
                                }
                                let best = top.sorted()
                                c[a] = best.count
                                for (n, e) in best.enumerated() { it[a * k0 + n] = e.id; sm[a * k0 + n] = e.score }
                            }
                        }
                    }
                }
            }
        }
        var offsets = [Int](repeating: 0, count: authorCount + 1)
        for a in 0..<authorCount { offsets[a + 1] = offsets[a] + counts[a] }
        var outAuthors: [Int32] = [], outSims: [Float] = []
        outAuthors.reserveCapacity(offsets[authorCount])
        outSims.reserveCapacity(offsets[authorCount])
        for a in 0..<authorCount {
            outAuthors += slots[(a * k0)..<(a * k0 + counts[a])]
            outSims += sims[(a * k0)..<(a * k0 + counts[a])]
        }
        return SimilarAuthors(offsets: offsets, neighbourAuthors: outAuthors, similarities: outSims)
    }

    func write(to w: inout ByteWriter) {
        w.write(array: offsets.map { Int64($0) })
        w.write(array: neighbourAuthors)
        w.write(array: similarities)
    }

    /// Reads what ``write(to:)`` wrote and checks it describes `authorCount` authors.
    static func read(from r: inout ByteReader, authorCount: Int, what: String) throws(CascadeError) -> SimilarAuthors {
        let offsets = try r.readArray(Int64.self, "similar-author offsets").map { Int($0) }
        let neighbours = try r.readArray(Int32.self, "similar authors")
        let sims = try r.readFloats("author similarities")
        guard offsets.count == authorCount + 1, offsets.first == 0, offsets.last == neighbours.count, neighbours.count == sims.count,
              zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw .corrupt("\(what): similar-author table is inconsistent")
        }
        for a in 0..<authorCount {
            for p in offsets[a]..<offsets[a + 1] {
                let b = neighbours[p]
                guard b >= 0, Int(b) < authorCount, Int(b) != a, sims[p].isFinite,
                      p == offsets[a] || sims[p - 1] >= sims[p] else {
                    throw .corrupt("\(what): similar-author list of author \(a) is invalid")
                }
            }
        }
        return SimilarAuthors(offsets: offsets, neighbourAuthors: neighbours, similarities: sims)
    }
}
