import Foundation

/// The one envelope of every model artifact in the store: what kind of model it holds, the
/// format version of its payload, and a CRC-32 of the payload. Reading checks all three before a
/// loader sees a byte, so a truncated, foreign or bit-flipped artifact is refused with its name,
/// and an artifact of an older or newer format is refused with what to do.
///
/// Layout (little-endian):
///
///     0   magic "CART"
///     4   UInt32 envelope version (1)
///     8   UInt64 kind byte count K, then the kind (UTF-8: "recall/itemcf", "rank", "prerank")
///     .   UInt32 payload format version
///     .   UInt32 CRC-32 of the payload
///     .   UInt64 payload byte count P, then the payload
public enum ArtifactCodec {
    static let magic = "CART"
    static let envelopeVersion: UInt32 = 1

    /// What a store hands back for an artifact it cannot serve.
    public static let retrain = "retrain: cascade train"

    public static func encode(kind: String, format: UInt32, payload: [UInt8]) -> Data {
        var w = ByteWriter(magic: magic, version: envelopeVersion)
        w.write(kind)
        w.write(format)
        w.write(payload.withUnsafeBytes { CRC32.checksum($0) })
        w.write(array: payload)
        return w.data
    }

    /// The payload of an artifact of `kind`, checked. `formats` are the payload versions the
    /// caller reads; `what` names the artifact in messages ("recall/itemcf v3").
    public static func decode(_ data: Data, kind: String, formats: ClosedRange<UInt32>, what: String) throws(CascadeError)
        -> (format: UInt32, payload: [UInt8])
    {
        guard data.count >= 4, data.prefix(4).elementsEqual(magic.utf8) else {
            throw .corrupt("\(what): stored in a format this version of Cascade no longer reads (no artifact envelope); \(retrain)")
        }
        var r = try ByteReader(data, magic: magic, what: what)
        guard r.version == envelopeVersion else {
            throw .corrupt("\(what): artifact envelope version \(r.version) is not \(envelopeVersion); \(retrain)")
        }
        let stored = try r.readString("kind")
        guard stored == kind else { throw .corrupt("\(what): holds a \(stored) model, not \(kind)") }
        let format = try r.read(UInt32.self, "format version")
        guard formats.contains(format) else {
            throw .corrupt("\(what): payload format \(format) is outside the formats \(formats.lowerBound)...\(formats.upperBound) this version reads; \(retrain)")
        }
        let crc = try r.read(UInt32.self, "checksum")
        let payload = try r.readArray(UInt8.self, "payload")
        let actual = payload.withUnsafeBytes { CRC32.checksum($0) }
        guard actual == crc else {
            throw .corrupt("\(what): checksum mismatch (stored \(String(crc, radix: 16)), computed \(String(actual, radix: 16))); \(retrain)")
        }
        return (format, payload)
    }
}
