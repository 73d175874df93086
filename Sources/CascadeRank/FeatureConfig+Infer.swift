extension FeatureConfig {
    /// A config guessed from the columns of a training table, for users who have not written one:
    /// - `timestamp`/`ts`/`time` columns (numbers) become the scene features hour and weekday;
    /// - columns whose values contain `|` become bags (multi-valued, e.g. genres, tags);
    /// - every other column becomes a categorical feature (ids, ages, years, zip prefixes);
    ///   numeric columns with more than 1,000 distinct values become 16 quantile buckets.
    /// - with user, item and timestamp columns, a behaviour sequence `hist_item` (the user's last
    ///   `historyLength` distinct items before each row), with the first genre/category of each
    ///   item as side sequence when a `genres`/`genre`/`category`/`cate` column exists.
    /// The label column is excluded. The guess is printed by the CLI so it can be saved and edited.
    public static func infer(from frame: FeatureFrame, label: String = "label", minCount: Int = 1,
                             historyLength: Int = 50) -> FeatureConfig {
        var features: [FeatureSpec] = []
        for name in frame.columns.keys.sorted() where name != label {
            let values = frame.columns[name]!
            let lower = name.lowercased()
            if ["timestamp", "ts", "time"].contains(lower), values.prefix(100).allSatisfy({ $0.isEmpty || Double($0) != nil }) {
                features.append(FeatureSpec(name: "\(name)_hour", source: name, kind: .categorical, derive: .hour))
                features.append(FeatureSpec(name: "\(name)_weekday", source: name, kind: .categorical, derive: .weekday))
            } else if values.prefix(2000).contains(where: { $0.contains("|") }) {
                features.append(FeatureSpec(name: name, kind: .bag, minCount: minCount, separator: "|"))
            } else {
                let numeric = values.prefix(2000).allSatisfy { $0.isEmpty || Double($0) != nil }
                if numeric && Set(values).count > 1_000 && !lower.hasSuffix("id") && lower != "user" && lower != "item" {
                    features.append(FeatureSpec(name: name, kind: .buckets, buckets: 16))
                } else {
                    features.append(FeatureSpec(name: name, kind: .categorical, minCount: minCount))
                }
            }
        }
        func column(_ names: [String]) -> String? {
            frame.columns.keys.sorted().first { names.contains($0.lowercased()) && $0 != label }
        }
        if historyLength > 0,
           let user = column(["user", "user_id", "userid", "uid"]),
           let item = column(["item", "item_id", "itemid", "iid"]),
           let time = column(["timestamp", "ts", "time"]),
           features.contains(where: { $0.kind == .categorical && $0.derive == nil && $0.column == item }),
           !features.contains(where: { $0.name == "hist_item" }) {
            let side = column(["genres", "genre", "category", "categories", "cate", "cat"]).flatMap { s in
                features.contains { ($0.kind == .bag || $0.kind == .categorical && $0.derive == nil) && $0.column == s } ? s : nil
            }
            features.append(.sequence(name: "hist_item", source: item, user: user, time: time, length: historyLength, side: side))
        }
        return FeatureConfig(label: label, features: features)
    }
}
