/// Insertion into HNSW (Malkov & Yashunin 2018, Algorithms 1 and 4).
///
/// Concurrency scheme for a parallel build: every new node's vector, level and (empty) link rows
/// are stored before the workers start, so workers only read vectors and write link rows. A link
/// row is read or written only under its node's spin lock. The entry point and top level are
/// read under `entryMutex`; a worker whose node will become the new top keeps that mutex for its
/// whole insertion (rare: O(log N) times per build), so no one descends from a half-linked top.
extension HNSWIndex {
    /// Links stored node `q` into every layer up to its level. O(efConstruction M0 d log N).
    func insert<S: DistanceSpace>(_: S.Type, node q: Int32, scratch s: HNSWScratch) {
        let g = graph.view
        let level = Int(g.levels[Int(q)])
        let qv = g.vector(q)
        entryMutex.lock()
        let top = maxLevel
        let ep = entryPoint
        let becomesTop = level > top
        if !becomesTop { entryMutex.unlock() }
        if ep < 0 {
            entryPoint = q
            maxLevel = level
            entryMutex.unlock()
            return
        }
        var cur = ep
        var d = S.distance(qv, g.vector(cur), dp)
        var l = top
        while l > level {
            (cur, d) = Self.greedy(S.self, g, qv, from: cur, distance: d, level: l, locked: true, buffer: s.ids)
            l -= 1
        }
        l = min(level, top)
        while l >= 0 {
            Self.searchLayer(S.self, g, qv, entry: cur, entryDistance: d, ef: parameters.efConstruction, level: l,
                             scratch: s, locked: true, skipDeleted: false)
            let n = s.drainResultsSorted()
            if n > 0 {
                cur = s.sorted[0].node
                d = s.sorted[0].key
            }
            let chosen = Self.selectNeighbors(S.self, g, s.sorted, count: n, limit: g.M, excluding: q,
                                              into: s.selected)
            connect(S.self, g, q, level: l, neighbours: s.selected, count: chosen, scratch: s)
            l -= 1
        }
        if becomesTop {
            entryPoint = q
            maxLevel = level
            entryMutex.unlock()
        }
    }

    /// Neighbour selection heuristic (Algorithm 4 without extending or keeping pruned candidates,
    /// as hnswlib does): walk candidates nearest first and keep one only if it is closer to the
    /// base than to every neighbour already kept. With at most `limit` candidates all are kept.
    /// `candidates` are sorted by ascending distance to the base. O(count limit d).
    static func selectNeighbors<S: DistanceSpace>(_: S.Type, _ g: HNSWView, _ candidates: UnsafePointer<HeapEntry>,
                                                  count n: Int, limit: Int, excluding: Int32,
                                                  into out: UnsafeMutablePointer<Int32>) -> Int
    {
        var kept = 0
        if n <= limit {
            for i in 0..<n where candidates[i].node != excluding {
                out[kept] = candidates[i].node
                kept += 1
            }
            return kept
        }
        for i in 0..<n {
            if kept == limit { break }
            let c = candidates[i]
            if c.node == excluding { continue }
            let cv = g.vector(c.node)
            var good = true
            for j in 0..<kept where S.distance(cv, g.vector(out[j]), g.dp) < c.key {
                good = false
                break
            }
            if good {
                out[kept] = c.node
                kept += 1
            }
        }
        return kept
    }

    /// Sets `q`'s links on `level` to the chosen neighbours and adds the reverse link to each,
    /// pruning a full neighbour list with the heuristic. O(count M0^2 d) worst case.
    private func connect<S: DistanceSpace>(_: S.Type, _ g: HNSWView, _ q: Int32, level: Int,
                                           neighbours: UnsafeMutablePointer<Int32>, count: Int, scratch s: HNSWScratch)
    {
        let maxDegree = g.maxDegree(level)
        let own = g.links(q, level)
        g.lock(q)
        // Another worker may already have linked itself here (it reached `q` through an upper
        // layer); keep those links after the chosen ones while there is room.
        let earlier = Int(own[0])
        var merged = count
        var extra = [Int32]()
        if earlier > 0 { extra = Array(UnsafeBufferPointer(start: own + 1, count: earlier)) }
        for j in 0..<count { own[1 + j] = neighbours[j] }
        for e in extra where merged < maxDegree && e != q {
            var seen = false
            for j in 0..<merged where own[1 + j] == e { seen = true; break }
            if !seen {
                own[1 + merged] = e
                merged += 1
            }
        }
        own[0] = Int32(merged)
        g.unlock(q)

        for j in 0..<count {
            let e = neighbours[j]
            let row = g.links(e, level)
            g.lock(e)
            let n = Int(row[0])
            var present = false
            for t in 0..<n where row[1 + t] == q { present = true; break }
            if !present {
                if n < maxDegree {
                    row[1 + n] = q
                    row[0] = Int32(n + 1)
                } else {
                    let ev = g.vector(e)
                    let cands = s.sorted
                    cands[0] = HeapEntry(key: S.distance(ev, g.vector(q), dp), node: q)
                    for t in 0..<n {
                        let x = row[1 + t]
                        cands[t + 1] = HeapEntry(key: S.distance(ev, g.vector(x), dp), node: x)
                    }
                    Self.sortAscending(cands, n + 1)
                    let kept = Self.selectNeighbors(S.self, g, cands, count: n + 1, limit: maxDegree, excluding: e,
                                                    into: s.ids)
                    row.advanced(by: 1).update(from: s.ids, count: kept)
                    row[0] = Int32(kept)
                }
            }
            g.unlock(e)
        }
    }

    /// Insertion sort by key (lists here hold at most M0 + 1 entries).
    @inline(__always)
    static func sortAscending(_ a: UnsafeMutablePointer<HeapEntry>, _ n: Int) {
        if n < 2 { return }
        for i in 1..<n {
            let x = a[i]
            var j = i
            while j > 0 && a[j - 1].key > x.key {
                a[j] = a[j - 1]
                j -= 1
            }
            a[j] = x
        }
    }
}
