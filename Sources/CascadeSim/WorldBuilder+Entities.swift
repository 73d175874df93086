import CascadeCore

/// External ids and the public ``User`` and ``Item`` values of a world.
///
/// Ids: users `"u1"..."uN"`, items `"i1"..."iM"`, authors `"a1"...`, top categories `"c1"...`,
/// subcategories `"c3/1"...` (the second number counts within the top category), tags `"t1"...`,
/// cities `"city1"...`; dense index `i` is always number `i + 1`.
///
/// A user carries `age_band`, `gender`, `platform` and `city` (categorical), `age` (numeric), a home
/// location, the tags `follow:aK` for each followed author and, for half of the users,
/// `interest:cK` naming their strongest interest's top category.
/// An item carries its two-level category `[cK, cK/J]`, its tags, author, publish time, length in
/// seconds (numeric `length`) and, when local, a location. Quality and taste stay hidden.
enum Names {
    static func user(_ u: Int) -> String { "u" + String(u + 1) }
    static func item(_ i: Int) -> String { "i" + String(i + 1) }
    static func author(_ a: Int) -> String { "a" + String(a + 1) }
    static func top(_ c: Int) -> String { "c" + String(c + 1) }
    static func subcategory(_ s: Int, perTop: Int) -> String { top(s / perTop) + "/" + String(s % perTop + 1) }
    static func tag(_ t: Int) -> String { "t" + String(t + 1) }
    static func city(_ c: Int) -> String { "city" + String(c + 1) }
}

extension WorldBuilder {
    func makeUsers(_ profiles: UserProfiles) -> [User] {
        let n = config.users, t = truth
        let authorNames = (0..<config.authors).map { "follow:" + Names.author($0) }
        let interestNames = (0..<config.topCategories).map { "interest:" + Names.top($0) }
        let cityNames = (0..<config.cities).map(Names.city)
        return [User](unsafeUninitializedCapacity: n) { buffer, initialized in
            let out = SendablePointer(buffer)
            Parallel.forEachChunk(count: n, chunkSize: 4_096) { _, range in
                for u in range {
                    var tags: [String] = []
                    let f0 = t.followOffsets[u], f1 = t.followOffsets[u + 1]
                    if profiles.declaresInterest[u] || f1 > f0 {
                        tags.reserveCapacity(f1 - f0 + 1)
                        if profiles.declaresInterest[u], t.interestOffsets[u + 1] > t.interestOffsets[u] {
                            tags.append(interestNames[Int(t.interests[t.interestOffsets[u]]) / t.subcategoriesPerTop])
                        }
                        for j in f0..<f1 { tags.append(authorNames[Int(t.follows[j])]) }
                    }
                    let user = User(
                        id: Names.user(u),
                        categorical: [
                            "age_band": Profile.ageBands[Int(profiles.ageBand[u])],
                            "gender": Profile.genders[Int(profiles.gender[u])],
                            "platform": Profile.platforms[Int(profiles.platform[u])],
                            "city": cityNames[Int(t.userCity[u])],
                        ],
                        numeric: ["age": Double(profiles.age[u])],
                        tags: tags,
                        location: GeoPoint(latitude: Double(t.userLatitude[u]), longitude: Double(t.userLongitude[u])))
                    (out.base + u).initialize(to: user)
                }
            }
            initialized = n
        }
    }

    func makeItems() -> [Item] {
        let m = config.items, t = truth, perTop = config.subcategoriesPerTop
        let topNames = (0..<config.topCategories).map(Names.top)
        let subNames = (0..<config.subcategoryCount).map { Names.subcategory($0, perTop: perTop) }
        let tagNames = (0..<(config.subcategoryCount * config.tagsPerSubcategory)).map(Names.tag)
        let authorNames = (0..<config.authors).map(Names.author)
        return [Item](unsafeUninitializedCapacity: m) { buffer, initialized in
            let out = SendablePointer(buffer)
            Parallel.forEachChunk(count: m, chunkSize: 4_096) { _, range in
                for i in range {
                    let s = Int(t.itemSubcategory[i])
                    var tags: [String] = []
                    tags.reserveCapacity(t.itemTagOffsets[i + 1] - t.itemTagOffsets[i])
                    for j in t.itemTagOffsets[i]..<t.itemTagOffsets[i + 1] { tags.append(tagNames[Int(t.itemTags[j])]) }
                    let lat = t.itemLatitude[i]
                    let item = Item(
                        id: Names.item(i),
                        categories: [topNames[s / perTop], subNames[s]],
                        tags: tags,
                        author: authorNames[Int(t.itemAuthor[i])],
                        location: lat.isNaN ? nil : GeoPoint(latitude: Double(lat), longitude: Double(t.itemLongitude[i])),
                        publishedAt: t.itemPublishedAt[i],
                        numeric: ["length": Double(t.itemLength[i])])
                    (out.base + i).initialize(to: item)
                }
            }
            initialized = m
        }
    }
}
