/// GeoHash (Niemeyer, 2008): interleaves longitude and latitude bisections into base-32 text, so
/// that a shared prefix means a shared cell. A cell of precision 5 is about 4.9 km x 4.9 km, 6 is
/// about 1.2 km x 0.6 km. Encode and decode are O(precision).
public enum GeoHash {
    static let alphabet: [Character] = Array("0123456789bcdefghjkmnpqrstuvwxyz")
    static let decodeTable: [Character: Int] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, $0) })

    /// The hash of `point` with `precision` characters (1-12).
    public static func encode(_ point: GeoPoint, precision: Int = 6) -> String {
        precondition((1...12).contains(precision), "GeoHash precision must be 1...12")
        var latRange = (-90.0, 90.0), lonRange = (-180.0, 180.0)
        var out = ""
        out.reserveCapacity(precision)
        var bit = 0, ch = 0, even = true
        while out.count < precision {
            if even {
                let mid = (lonRange.0 + lonRange.1) / 2
                if point.longitude >= mid { ch = ch << 1 | 1; lonRange.0 = mid } else { ch <<= 1; lonRange.1 = mid }
            } else {
                let mid = (latRange.0 + latRange.1) / 2
                if point.latitude >= mid { ch = ch << 1 | 1; latRange.0 = mid } else { ch <<= 1; latRange.1 = mid }
            }
            even.toggle()
            bit += 1
            if bit == 5 { out.append(alphabet[ch]); bit = 0; ch = 0 }
        }
        return out
    }

    /// The cell of `hash`: its bounds in degrees.
    public struct Cell: Sendable, Equatable {
        public var minLatitude, maxLatitude, minLongitude, maxLongitude: Double
        public var center: GeoPoint { GeoPoint(latitude: (minLatitude + maxLatitude) / 2, longitude: (minLongitude + maxLongitude) / 2) }
        public var latitudeSpan: Double { maxLatitude - minLatitude }
        public var longitudeSpan: Double { maxLongitude - minLongitude }
    }

    /// Decodes `hash`; throws on an empty hash or a character outside the GeoHash alphabet.
    public static func decode(_ hash: String) throws(CascadeError) -> Cell {
        guard !hash.isEmpty, hash.count <= 12 else { throw .invalid("geohash '\(hash)' must have 1-12 characters") }
        var lat = (-90.0, 90.0), lon = (-180.0, 180.0)
        var even = true
        for c in hash.lowercased() {
            guard let v = decodeTable[c] else { throw .invalid("geohash '\(hash)': '\(c)' is not a geohash character") }
            for shift in stride(from: 4, through: 0, by: -1) {
                let on = (v >> shift) & 1 == 1
                if even {
                    let mid = (lon.0 + lon.1) / 2
                    if on { lon.0 = mid } else { lon.1 = mid }
                } else {
                    let mid = (lat.0 + lat.1) / 2
                    if on { lat.0 = mid } else { lat.1 = mid }
                }
                even.toggle()
            }
        }
        return Cell(minLatitude: lat.0, maxLatitude: lat.1, minLongitude: lon.0, maxLongitude: lon.1)
    }

    /// The eight cells around `hash` at the same precision (N, NE, E, SE, S, SW, W, NW), wrapping
    /// across the antimeridian; cells beyond a pole are left out.
    public static func neighbours(_ hash: String) throws(CascadeError) -> [String] {
        let cell = try decode(hash)
        let c = cell.center
        var out: [String] = []
        for (dLat, dLon) in [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)] {
            let lat = c.latitude + Double(dLat) * cell.latitudeSpan
            guard lat > -90, lat < 90 else { continue }
            var lon = c.longitude + Double(dLon) * cell.longitudeSpan
            if lon >= 180 { lon -= 360 } else if lon < -180 { lon += 360 }
            out.append(encode(GeoPoint(latitude: lat, longitude: lon), precision: hash.count))
        }
        return out
    }
}
