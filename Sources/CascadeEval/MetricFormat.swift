import Foundation

/// `x` with `digits` decimals, rounded from its exact binary value like C's and Python's `%.Nf`;
/// NaN prints as `nan`, infinities as `inf` / `-inf`, as Python prints them.
func fixed(_ x: Double, _ digits: Int) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return String(format: "%.\(digits)f", x)
}

/// A title line, then one `name  value` line per row with names padded to one width.
func formatTable(title: String, rows: [(String, String)]) -> String {
    let width = rows.map(\.0.count).max() ?? 0
    var out = title
    for (name, value) in rows {
        out += "\n  " + name + String(repeating: " ", count: width - name.count) + "  " + value
    }
    return out
}
