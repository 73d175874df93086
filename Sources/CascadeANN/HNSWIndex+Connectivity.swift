/// Layer-0 connectivity repair.
///
/// The paper's construction does not guarantee that every node keeps an inbound path: when all
/// the neighbours that linked to a node later prune it away (heuristic shrinking), the node can
/// still be found only if an upper layer happens to lead to it, and on layer 0 it is an orphan.
/// Under L2 a build leaves about one per thousand nodes; under inner product many more (on
/// 200k clustered vectors, 44%: small-norm vectors are never anyone's nearest neighbour).
/// After each batch, a depth-first walk from the entry point marks what layer 0 reaches, and
/// each live node left out gets one inbound link, from the first reached node with a free slot
/// among its own neighbours, else among their neighbours (both found without computing a
/// distance); only when neither exists is it searched for like a query (width
/// `efConstruction`) and linked from the nearest reached node with a free slot, or, when every
/// candidate is full, from the nearest one in place of its farthest link (the walk then runs
/// again, at most four rounds). O(N M0) for the walk, O(M0^2) per orphan on the common paths.
extension HNSWIndex {
    /// Links every live node into layer 0's reachable set; returns how many links were added.
    /// Caller holds the write lock.
    @discardableResult
    func repairConnectivity<S: DistanceSpace>(_: S.Type) -> Int {
        let n = graph.count
        guard n > 1, entryPoint >= 0 else { return 0 }
        let g = graph.view
        var added = 0
        var seen = [Bool](repeating: false, count: n)
        var stack: [Int32] = []
        func walk(from start: Int32) {
            guard !seen[Int(start)] else { return }
            seen[Int(start)] = true
            stack.append(start)
            while let v = stack.popLast() {
                let row = g.links(v, 0)
                for j in 0..<Int(row[0]) where !seen[Int(row[1 + j])] {
                    seen[Int(row[1 + j])] = true
                    stack.append(row[1 + j])
                }
            }
        }
        let s = takeScratch(entries: parameters.efConstruction)
        defer { scratchPool.give(s) }
        for _ in 0..<4 {
            for i in 0..<n { seen[i] = false }
            walk(from: entryPoint)
            var replaced = false
            for u in 0..<n where !seen[u] && g.deleted[u] == 0 {
                let uq = Int32(u)
                // Cheapest hosts first, without computing a distance: one of u's own neighbours
                // (near u by construction), else one of theirs, that is reached and has a free
                // slot. No reached node links to u, so the new link is never a repeat.
                let own = g.links(uq, 0)
                var host: Int32 = -1
                func adopt(_ c: Int32) -> Bool {
                    let row = g.links(c, 0)
                    guard c != uq, seen[Int(c)], Int(row[0]) < g.M0 else { return false }
                    row[1 + Int(row[0])] = uq
                    row[0] += 1
                    host = c
                    return true
                }
                oneHop: for j in 0..<Int(own[0]) where adopt(own[1 + j]) { break oneHop }
                if host < 0 {
                    twoHop: for j in 0..<Int(own[0]) {
                        let row = g.links(own[1 + j], 0)
                        for t in 0..<Int(row[0]) where adopt(row[1 + t]) { break twoHop }
                    }
                }
                if host >= 0 {
                    added += 1
                    walk(from: uq)
                    continue
                }
                let uv = g.vector(uq)
                var cur = entryPoint
                var d = S.distance(uv, g.vector(cur), dp)
                var level = maxLevel
                while level > 0 {
                    (cur, d) = Self.greedy(S.self, g, uv, from: cur, distance: d, level: level, locked: false, buffer: s.ids)
                    level -= 1
                }
                Self.searchLayer(S.self, g, uv, entry: cur, entryDistance: d, ef: parameters.efConstruction, level: 0,
                                 scratch: s, locked: false, skipDeleted: false)
                let m = s.drainResultsSorted()
                for t in 0..<m {
                    let c = s.sorted[t].node
                    guard c != uq, seen[Int(c)] else { continue }
                    let row = g.links(c, 0)
                    if Int(row[0]) < g.M0 {
                        row[1 + Int(row[0])] = uq
                        row[0] += 1
                        host = c
                        break
                    }
                }
                if host < 0, let nearest = (0..<m).lazy.map({ s.sorted[$0].node }).first(where: { $0 != uq && seen[Int($0)] }) {
                    // Every candidate is full: swap out the nearest one's farthest link.
                    let row = g.links(nearest, 0)
                    let nv = g.vector(nearest)
                    var worst = 1, worstDistance = -Float.infinity
                    for j in 1...Int(row[0]) {
                        let dj = S.distance(nv, g.vector(row[j]), dp)
                        if dj > worstDistance { worstDistance = dj; worst = j }
                    }
                    row[worst] = uq
                    host = nearest
                    replaced = true
                }
                if host >= 0 {
                    added += 1
                    walk(from: uq)
                }
            }
            if !replaced { break }
        }
        return added
    }
}
