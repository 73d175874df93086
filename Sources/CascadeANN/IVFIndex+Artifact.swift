import CascadeCore
import Foundation

/// Saving and loading IVF indexes.
///
/// Artifact "IVFF" version 1, little-endian (see `ByteWriter`): dimension u32, metric u8, the
/// parameters (nlist i64, -1 when automatic; nprobe, trainingPointsPerList, iterations u32; seed
/// u64), then arrays: centroids [f32] (nlist x dimension, empty when untrained), list sizes [u64],
/// ids [i32] and vectors [f32] of all lists concatenated in list order (unpadded). O(N d).
extension IVFIndex {
    static let magic = "IVFF"
    static let version: UInt32 = 1

    public func serialized() -> [UInt8] {
        rw.reading {
            var w = ByteWriter(magic: Self.magic, version: Self.version)
            w.write(UInt32(dimension))
            w.write(metric.code)
            w.write(Int64(parameters.nlist ?? -1))
            w.write(UInt32(parameters.nprobe))
            w.write(UInt32(parameters.trainingPointsPerList))
            w.write(UInt32(parameters.iterations))
            w.write(parameters.seed)
            w.write(array: unpad(centroids, rows: lists.count))
            w.write(array: lists.map { UInt64($0.ids.count) })
            w.write(array: lists.flatMap(\.ids))
            var rows = [Float]()
            rows.reserveCapacity(location.count * dimension)
            for l in lists { rows.append(contentsOf: unpad(l.rows, rows: l.ids.count)) }
            w.write(array: rows)
            return [UInt8](w.data)
        }
    }

    private func unpad(_ padded: [Float], rows: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * dimension)
        for r in 0..<rows { for c in 0..<dimension { out[r * dimension + c] = padded[r * dp + c] } }
        return out
    }

    public static func load(_ bytes: [UInt8], what: String) throws(CascadeError) -> IVFIndex {
        var r = try ByteReader(Data(bytes), magic: magic, what: what)
        guard r.version == version else { throw .corrupt("\(what): unsupported IVF version \(r.version)") }
        let d = Int(try r.read(UInt32.self, "dimension"))
        guard d > 0, d <= 1 << 20 else { throw .corrupt("\(what): impossible dimension \(d)") }
        let metric = try VectorMetric(code: try r.read(UInt8.self, "metric"), what: what)
        let nlistRaw = try r.read(Int64.self, "nlist")
        let nprobe = Int(try r.read(UInt32.self, "nprobe"))
        let perList = Int(try r.read(UInt32.self, "trainingPointsPerList"))
        let iterations = Int(try r.read(UInt32.self, "iterations"))
        let seed = try r.read(UInt64.self, "seed")
        let params = Parameters(nlist: nlistRaw < 0 ? nil : Int(nlistRaw), nprobe: nprobe, trainingPointsPerList: perList,
                                iterations: iterations, seed: seed)
        let index: IVFIndex
        do {
            index = try IVFIndex(dimension: d, metric: metric, parameters: params)
        } catch {
            throw .corrupt("\(what): bad parameters (\(error))")
        }
        let centroids = try r.readFloats("centroids")
        let sizes = try r.readArray(UInt64.self, "list sizes")
        let ids = try r.readArray(Int32.self, "ids")
        let rows = try r.readFloats("vectors")
        guard r.isAtEnd else { throw .corrupt("\(what): unexpected bytes after the vectors") }
        guard centroids.count == sizes.count * d else {
            throw .corrupt("\(what): \(centroids.count) centroid floats for \(sizes.count) lists of dimension \(d)")
        }
        var total: UInt64 = 0
        for s in sizes {
            let (sum, overflow) = total.addingReportingOverflow(s)
            guard !overflow else { throw .corrupt("\(what): impossible list sizes") }
            total = sum
        }
        guard total == UInt64(ids.count), rows.count == ids.count * d else {
            throw .corrupt("\(what): list sizes add up to \(total) but there are \(ids.count) ids and \(rows.count) floats")
        }
        let dp = index.dp
        func pad(_ src: ArraySlice<Float>, rows n: Int) -> [Float] {
            var out = [Float](repeating: 0, count: n * dp)
            var i = src.startIndex
            for row in 0..<n {
                for c in 0..<d { out[row * dp + c] = src[i]; i += 1 }
            }
            return out
        }
        index.centroids = pad(centroids[...], rows: sizes.count)
        var lists: [List] = []
        lists.reserveCapacity(sizes.count)
        var at = 0
        for (l, s) in sizes.enumerated() {
            let n = Int(s)
            let list = List(ids: Array(ids[at..<(at + n)]), rows: pad(rows[(at * d)..<((at + n) * d)], rows: n))
            for (pos, id) in list.ids.enumerated() {
                guard index.location.updateValue(UInt64(l) << 32 | UInt64(pos), forKey: id) == nil else {
                    throw .corrupt("\(what): id \(id) stored twice")
                }
            }
            lists.append(list)
            at += n
        }
        index.lists = lists
        return index
    }
}
