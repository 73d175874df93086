import CascadeCore
import Foundation

/// Saving and loading HNSW graphs.
///
/// Artifact "HNSW" version 1, little-endian (see `ByteWriter`):
/// dimension u32, metric u8, M u32, efConstruction u32, efSearch u32, seed u64, level-stream state
/// u64, entry point i32, top level i32, then arrays: labels [i32], levels [i32], tombstones [u8],
/// vectors [f32] (N x dimension, unpadded; normalised for cosine), layer-0 rows [i32]
/// (N x (1 + M0)), upper rows [i32] (for each node in order, `level` rows of 1 + M).
/// Loading checks every length, then the structural invariants, so a damaged artifact cannot
/// make later searches read outside the graph. O(N (d + M0)) both ways.
extension HNSWIndex {
    static let magic = "HNSW"
    static let version: UInt32 = 1

    public func serialized() -> [UInt8] {
        rw.reading {
            let n = graph.count
            let g = graph.view
            var w = ByteWriter(magic: Self.magic, version: Self.version)
            w.write(UInt32(dimension))
            w.write(metric.code)
            w.write(UInt32(parameters.M))
            w.write(UInt32(parameters.efConstruction))
            w.write(UInt32(parameters.efSearch))
            w.write(parameters.seed)
            w.write(levelRNG.state)
            w.write(entryPoint)
            w.write(Int32(maxLevel))
            w.write(array: Array(UnsafeBufferPointer(start: graph.labels, count: n)))
            w.write(array: Array(UnsafeBufferPointer(start: g.levels, count: n)))
            w.write(array: Array(UnsafeBufferPointer(start: g.deleted, count: n)))
            var vectors = [Float](repeating: 0, count: n * dimension)
            var rows0 = [Int32](repeating: 0, count: n * (g.M0 + 1))
            var upperRows = [Int32]()
            for i in 0..<n {
                let v = g.vector(Int32(i))
                for c in 0..<dimension { vectors[i * dimension + c] = v[c] }
                let r0 = g.links(Int32(i), 0)
                for j in 0...g.M0 { rows0[i * (g.M0 + 1) + j] = r0[j] }
                let level = Int(g.levels[i])
                if level > 0 {
                    upperRows.append(contentsOf: UnsafeBufferPointer(start: g.links(Int32(i), 1), count: level * (g.M + 1)))
                }
            }
            w.write(array: vectors)
            w.write(array: rows0)
            w.write(array: upperRows)
            return [UInt8](w.data)
        }
    }

    public static func load(_ bytes: [UInt8], what: String) throws(CascadeError) -> HNSWIndex {
        var r = try ByteReader(Data(bytes), magic: magic, what: what)
        guard r.version == version else { throw .corrupt("\(what): unsupported HNSW version \(r.version)") }
        let d = Int(try r.read(UInt32.self, "dimension"))
        guard d > 0, d <= 1 << 20 else { throw .corrupt("\(what): impossible dimension \(d)") }
        let metric = try VectorMetric(code: try r.read(UInt8.self, "metric"), what: what)
        let M = Int(try r.read(UInt32.self, "M"))
        let efC = Int(try r.read(UInt32.self, "efConstruction"))
        let efS = Int(try r.read(UInt32.self, "efSearch"))
        let seed = try r.read(UInt64.self, "seed")
        let state = try r.read(UInt64.self, "level stream state")
        let entry = try r.read(Int32.self, "entry point")
        let top = Int(try r.read(Int32.self, "top level"))
        let index: HNSWIndex
        do {
            index = try HNSWIndex(dimension: d, metric: metric,
                                  parameters: Parameters(M: M, efConstruction: efC, efSearch: efS, seed: seed))
        } catch {
            throw .corrupt("\(what): bad parameters (\(error))")
        }
        let labels = try r.readArray(Int32.self, "labels")
        let levels = try r.readArray(Int32.self, "levels")
        let deleted = try r.readArray(UInt8.self, "tombstones")
        let vectors = try r.readFloats("vectors")
        let rows0 = try r.readArray(Int32.self, "layer-0 links")
        let upperRows = try r.readArray(Int32.self, "upper links")
        guard r.isAtEnd else { throw .corrupt("\(what): unexpected bytes after the upper links") }
        let n = labels.count
        let M0 = 2 * M
        guard levels.count == n, deleted.count == n else {
            throw .corrupt("\(what): \(n) labels but \(levels.count) levels and \(deleted.count) tombstones")
        }
        guard vectors.count == n * d else { throw .corrupt("\(what): \(vectors.count) floats for \(n) vectors of dimension \(d)") }
        guard rows0.count == n * (M0 + 1) else { throw .corrupt("\(what): \(rows0.count) layer-0 link slots for \(n) nodes") }
        var upperTotal = 0
        for (i, l) in levels.enumerated() {
            guard l >= 0, l <= 64 else { throw .corrupt("\(what): node \(i) has impossible level \(l)") }
            upperTotal += Int(l) * (M + 1)
        }
        guard upperRows.count == upperTotal else {
            throw .corrupt("\(what): \(upperRows.count) upper link slots, expected \(upperTotal)")
        }
        for i in 0..<n where deleted[i] == 0 {
            guard index.slotOf.updateValue(Int32(i), forKey: labels[i]) == nil else {
                throw .corrupt("\(what): id \(labels[i]) is live in two nodes")
            }
        }
        let g = index.graph
        g.reserve(n)
        var padded = [Float](repeating: 0, count: index.dp)
        rows0.withUnsafeBufferPointer { r0 in
            upperRows.withUnsafeBufferPointer { ur in
                var upperAt = 0
                for i in 0..<n {
                    for c in 0..<d { padded[c] = vectors[i * d + c] }
                    g.append(vector: padded, label: labels[i], level: Int(levels[i]))
                    let view = g.view
                    view.links(Int32(i), 0).update(from: r0.baseAddress! + i * (M0 + 1), count: M0 + 1)
                    let slots = Int(levels[i]) * (M + 1)
                    if slots > 0 {
                        view.links(Int32(i), 1).update(from: ur.baseAddress! + upperAt, count: slots)
                        upperAt += slots
                    }
                    if deleted[i] != 0 {
                        view.deleted[i] = 1
                        index.tombstones += 1
                    }
                }
            }
        }
        index.entryPoint = entry
        index.maxLevel = top
        index.levelRNG.state = state
        try index.checkStructure(what: what)
        return index
    }
}
