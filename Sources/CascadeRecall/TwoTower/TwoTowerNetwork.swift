import CascadeCore
import CascadeTensor

/// Item side information the item tower reads: a coarse category, an author and a bag of tags
/// (remaining categories and tags), as vocabulary ids where 0 means "none".
public struct ItemSideFeatures: Sendable {
    public var category: [Int32]
    public var author: [Int32]
    /// CSR: the tags of item i are `tagIds[tagOffsets[i]..<tagOffsets[i + 1]]` (at least one id: 0 when none).
    public var tagOffsets: [Int]
    public var tagIds: [Int32]
    public var categoryCount: Int
    public var authorCount: Int
    public var tagCount: Int

    /// Vocabularies from the catalog (items in dense index order).
    public static func build(items: [Item]) -> ItemSideFeatures {
        var cats: [String: Int32] = [:], authors: [String: Int32] = [:], tags: [String: Int32] = [:]
        func id(_ s: String, _ d: inout [String: Int32]) -> Int32 {
            if let v = d[s] { return v }
            let v = Int32(d.count + 1)
            d[s] = v
            return v
        }
        var f = ItemSideFeatures(category: [], author: [], tagOffsets: [0], tagIds: [], categoryCount: 0, authorCount: 0, tagCount: 0)
        for item in items {
            f.category.append(item.categories.first.map { id($0, &cats) } ?? 0)
            f.author.append(item.author.map { id($0, &authors) } ?? 0)
            let bag = item.categories.dropFirst().map { id("c:" + $0, &tags) } + item.tags.map { id("t:" + $0, &tags) }
            f.tagIds += bag.isEmpty ? [0] : bag
            f.tagOffsets.append(f.tagIds.count)
        }
        f.categoryCount = cats.count + 1
        f.authorCount = authors.count + 1
        f.tagCount = tags.count + 1
        return f
    }

    /// Features of `n` bare items (ids only).
    public static func none(count n: Int) -> ItemSideFeatures {
        ItemSideFeatures(category: Array(repeating: 0, count: n), author: Array(repeating: 0, count: n),
                         tagOffsets: Array(0...n), tagIds: Array(repeating: 0, count: n), categoryCount: 1, authorCount: 1, tagCount: 1)
    }
}

/// The two towers of `TwoTower` as tape modules.
///
/// User tower: [user id embedding, mean of the history items' embeddings, mean of their
/// categories' embeddings] -> ReLU layer -> linear -> L2 normalized. Item tower: [item id
/// embedding, category, author, mean of tags] -> ReLU layer -> linear -> L2 normalized. Unknown
/// users and items (and items never seen in training, so cold-start vectors come from features
/// alone) use a shared "unknown" row. Feature groups of the item tower can be masked (zeroed)
/// for the self-supervised views.
final class TwoTowerNetwork: ParameterContainer {
    let dim: Int
    let users: Int, items: Int
    let userTable, historyTable, itemTable, categoryTable, authorTable, tagTable: Parameter
    let userHidden, userOut, itemHidden, itemOut: Linear

    init(users: Int, items: Int, features f: ItemSideFeatures, dim: Int, hidden: Int, seed: UInt64) {
        self.dim = dim
        self.users = users
        self.items = items
        func table(_ name: String, _ rows: Int, _ s: UInt64) -> Parameter {
            Parameter("twotower.\(name)", Tensor.normal([rows, dim], std: 0.05, seed: seed &+ s), sparse: true)
        }
        userTable = table("user", users + 1, 1)
        historyTable = table("history", items + 1, 2)
        itemTable = table("item", items + 1, 3)
        categoryTable = table("category", f.categoryCount, 4)
        authorTable = table("author", f.authorCount, 5)
        tagTable = table("tag", f.tagCount, 6)
        userHidden = Linear(name: "twotower.user.0", in: 3 * dim, out: hidden, activation: .relu, seed: seed &+ 7)
        userOut = Linear(name: "twotower.user.1", in: hidden, out: dim, seed: seed &+ 8)
        itemHidden = Linear(name: "twotower.item.0", in: 4 * dim, out: hidden, activation: .relu, seed: seed &+ 9)
        itemOut = Linear(name: "twotower.item.1", in: hidden, out: dim, seed: seed &+ 10)
    }

    var parameters: [Parameter] {
        [userTable, historyTable, itemTable, categoryTable, authorTable, tagTable]
            + userHidden.parameters + userOut.parameters + itemHidden.parameters + itemOut.parameters
    }

    /// User vectors [B, dim]: `userIds` (the unknown row for new users), history items as CSR
    /// (`offsets` has B + 1 entries; empty histories pool to zero).
    func userTower(userIds: [Int32], history: [Int32], offsets: [Int], features f: ItemSideFeatures, tape: Tape) throws -> Variable {
        let u = try tape.parameter(userTable).gather(IndexTensor(userIds))
        let hi = IndexTensor(history.isEmpty ? [Int32(items)] : history)
        let off = history.isEmpty ? [0] + [Int](repeating: 1, count: offsets.count - 1) : offsets
        let h = try tape.parameter(historyTable).gatherSegment(hi, offsets: off, mode: .mean)
        let hc = try tape.parameter(categoryTable).gatherSegment(
            IndexTensor(history.isEmpty ? [Int32(0)] : history.map { f.category[Int($0)] }), offsets: off, mode: .mean)
        let x = try Variable.concat([u, h, hc], axis: 1)
        return try userOut(userHidden(x)).l2Normalized()
    }

    /// Which item feature groups to zero (self-supervised views).
    struct Mask: OptionSet {
        let rawValue: UInt8
        static let id = Mask(rawValue: 1), category = Mask(rawValue: 2), author = Mask(rawValue: 4), tags = Mask(rawValue: 8)
    }

    /// Item vectors [N, dim] for `itemIds`; `known[i]` false routes the id to the unknown row, and
    /// so does `dropped[j]` for column j (id dropout while training).
    func itemTower(_ itemIds: [Int32], known: [Bool], dropped: [Bool]? = nil, features f: ItemSideFeatures, mask: Mask = [],
                   tape: Tape) throws -> Variable {
        let ids = IndexTensor(itemIds.enumerated().map { j, i in known[Int(i)] && !(dropped?[j] ?? false) ? i : Int32(items) })
        var parts: [Variable] = []
        func zeroIf(_ m: Mask, _ v: Variable) throws -> Variable {
            mask.contains(m) ? v * 0 : v
        }
        parts.append(try zeroIf(.id, tape.parameter(itemTable).gather(ids)))
        parts.append(try zeroIf(.category, tape.parameter(categoryTable).gather(IndexTensor(itemIds.map { f.category[Int($0)] }))))
        parts.append(try zeroIf(.author, tape.parameter(authorTable).gather(IndexTensor(itemIds.map { f.author[Int($0)] }))))
        var tagIds: [Int32] = [], offsets = [0]
        for i in itemIds {
            tagIds += f.tagIds[f.tagOffsets[Int(i)]..<f.tagOffsets[Int(i) + 1]]
            offsets.append(tagIds.count)
        }
        parts.append(try zeroIf(.tags, tape.parameter(tagTable).gatherSegment(IndexTensor(tagIds), offsets: offsets, mode: .mean)))
        let x = try Variable.concat(parts, axis: 1)
        return try itemOut(itemHidden(x)).l2Normalized()
    }
}
