/// A candidate entering re-ranking: its fused relevance score, an embedding for similarity
/// (unit length for cosine), and the attributes the rules look at.
public struct RerankItem: Sendable, Equatable {
    public var id: Int32
    public var score: Float
    public var vector: [Float]
    public var category: Int32
    public var author: Int32

    public init(id: Int32, score: Float, vector: [Float] = [], category: Int32 = -1, author: Int32 = -1) {
        self.id = id
        self.score = score
        self.vector = vector
        self.category = category
        self.author = author
    }
}

/// Errors of the re-rank stage (bad parameters, mismatched vectors).
public enum RerankError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let m): return "re-rank: \(m)" }
    }
}

enum Similarity {
    /// Inner product of two equal-length vectors (cosine for unit vectors); 0 when either is empty.
    @inline(__always)
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        guard !a.isEmpty, a.count == b.count else { return 0 }
        var s: Float = 0
        for i in 0..<a.count { s += a[i] * b[i] }
        return s
    }

    static func checkVectors(_ items: [RerankItem], _ op: String) throws {
        guard let d = items.first?.vector.count else { return }
        if let bad = items.first(where: { $0.vector.count != d }) {
            throw RerankError.invalid("\(op): item \(bad.id) has a vector of \(bad.vector.count) values, the first has \(d)")
        }
    }
}
