import CascadeCore

/// Graph invariants of HNSW, checked in full by `checkIntegrity()` and structurally (the part
/// that keeps memory access safe) when an artifact is loaded.
extension HNSWIndex {
    /// Checks every invariant and throws ``CascadeError/corrupt(_:)`` naming the first violation:
    /// - each link row holds at most `M` links (`M0 = 2 M` on layer 0), with no self loop, no
    ///   repeated neighbour and no neighbour outside the graph or absent from that layer;
    /// - the entry point is on the top layer, and no node is above it;
    /// - the id table and the tombstones agree with the stored labels;
    /// - every live node is reachable from the entry point on layer 0 (tombstoned nodes route
    ///   but need not be reachable themselves).
    ///
    /// O(N M0) time, O(N) memory.
    public func checkIntegrity() throws(CascadeError) {
        try rw.reading { () throws(CascadeError) in
            try checkStructure(what: "HNSW integrity")
            let n = graph.count
            guard n > 0 else { return }
            let g = graph.view
            var seen = [Bool](repeating: false, count: n)
            var stack: [Int32] = [entryPoint]
            seen[Int(entryPoint)] = true
            var reached = 1
            while let v = stack.popLast() {
                let row = g.links(v, 0)
                for j in 0..<Int(row[0]) {
                    let nb = Int(row[1 + j])
                    if !seen[nb] {
                        seen[nb] = true
                        reached += 1
                        stack.append(Int32(nb))
                    }
                }
            }
            for i in 0..<n where !seen[i] && g.deleted[i] == 0 {
                throw .corrupt("HNSW integrity: node \(i) (id \(graph.labels[i])) is not reachable from the entry point on layer 0 (\(reached) of \(n) nodes reached)")
            }
        }
    }

    /// The structural invariants (no reachability). Caller holds a lock or owns the index.
    func checkStructure(what: String) throws(CascadeError) {
        let n = graph.count
        let g = graph.view
        if n == 0 {
            guard entryPoint == -1, maxLevel == -1, slotOf.isEmpty else {
                throw .corrupt("\(what): empty graph with an entry point or ids")
            }
            return
        }
        guard entryPoint >= 0, Int(entryPoint) < n else {
            throw .corrupt("\(what): entry point \(entryPoint) outside 0..<\(n)")
        }
        guard Int(g.levels[Int(entryPoint)]) == maxLevel else {
            throw .corrupt("\(what): entry point level \(g.levels[Int(entryPoint)]) differs from the top level \(maxLevel)")
        }
        var mark = [Int](repeating: -1, count: n)
        var dead = 0
        for i in 0..<n {
            let level = Int(g.levels[i])
            guard level >= 0, level <= maxLevel else {
                throw .corrupt("\(what): node \(i) has level \(level), outside 0...\(maxLevel)")
            }
            if g.deleted[i] != 0 { dead += 1 }
            for l in 0...level {
                let row = g.links(Int32(i), l)
                let count = Int(row[0])
                guard count >= 0, count <= g.maxDegree(l) else {
                    throw .corrupt("\(what): node \(i) has \(count) links on layer \(l), more than \(g.maxDegree(l))")
                }
                for j in 0..<count {
                    let nb = Int(row[1 + j])
                    guard nb >= 0, nb < n else {
                        throw .corrupt("\(what): node \(i) layer \(l) links to \(nb), outside 0..<\(n)")
                    }
                    guard nb != i else { throw .corrupt("\(what): node \(i) links to itself on layer \(l)") }
                    guard Int(g.levels[nb]) >= l else {
                        throw .corrupt("\(what): node \(i) layer \(l) links to node \(nb), which only reaches layer \(g.levels[nb])")
                    }
                    // Marking by (i, l) detects a repeated neighbour in this row in O(1).
                    let stamp = i &* 64 &+ l
                    guard mark[nb] != stamp else {
                        throw .corrupt("\(what): node \(i) links to node \(nb) twice on layer \(l)")
                    }
                    mark[nb] = stamp
                }
            }
        }
        guard dead == tombstones else {
            throw .corrupt("\(what): \(dead) tombstoned nodes but \(tombstones) removals recorded")
        }
        guard slotOf.count == n - dead else {
            throw .corrupt("\(what): \(slotOf.count) ids for \(n - dead) live nodes")
        }
        for (id, slot) in slotOf {
            guard slot >= 0, Int(slot) < n, graph.labels[Int(slot)] == id, g.deleted[Int(slot)] == 0 else {
                throw .corrupt("\(what): id \(id) maps to slot \(slot), which does not hold it")
            }
        }
    }
}
