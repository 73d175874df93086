import CascadeCore
import CascadeStore
import Foundation

/// How the engine's models are stored: every artifact is written and read through
/// ``ArtifactCodec`` (kind, payload format version, CRC-32), under the names below.
public enum ModelArtifact {
    /// The payload format every model artifact is written in today (the payloads carry their own
    /// versions inside; this one changes when the envelope's meaning does).
    public static let format: UInt32 = 1
    public static let rank = "rank"
    public static let preRank = "prerank"

    /// Artifact name of a recall channel's model.
    public static func recall(_ channel: String) -> String { "recall/\(channel)" }

    /// Publishes `payload` as the next version of `name` and activates it; returns the version.
    @discardableResult
    public static func publish(store: any Store, name: String, manifest: [String: String], payload: [UInt8],
                               activate: Bool = true) throws -> Int {
        var m = manifest
        m["format"] = String(format)
        let blob = ArtifactCodec.encode(kind: name, format: format, payload: payload)
        let version = try store.putArtifact(name: name, manifest: m, blob: blob, activate: activate)
        Trainer.logger.info("published artifact", metadata: ["name": "\(name)", "version": "\(version)", "bytes": "\(blob.count)"])
        return version
    }

    @discardableResult
    public static func publish(store: any Store, name: String, manifest: [String: String], payload: Data, activate: Bool = true) throws -> Int {
        try publish(store: store, name: name, manifest: manifest, payload: [UInt8](payload), activate: activate)
    }

    /// The checked payload of a stored artifact of `name`, as `Data`.
    public static func data(of artifact: Artifact, name: String) throws(CascadeError) -> Data {
        Data(try payload(of: artifact, name: name))
    }

    /// The checked payload of a stored artifact of `name`.
    public static func payload(of artifact: Artifact, name: String) throws(CascadeError) -> [UInt8] {
        try ArtifactCodec.decode(artifact.blob, kind: name, formats: format...format, what: "\(name) v\(artifact.info.version)").payload
    }
}
