import CascadeCore
import CascadeTensor
import Foundation

/// What the sequence models (SASRec, ComiRec) share around their networks: the stored form
/// (name, sizes, positive event types, the parameter archive), and the request's history as
/// the rows their networks read.
enum SequenceArtifact {
    /// The parameters of `network` as an archive of kind `kind`.
    static func archive(kind: String, _ parameters: [Parameter]) throws -> [UInt8] {
        var a = ModelArchive(modelKind: kind)
        try a.addParameters(parameters)
        return [UInt8](try a.encoded())
    }

    static func encode(magic: String, name: String, sizes: [Int], positiveTypes: Set<UInt8>, archive: [UInt8]) -> [UInt8] {
        var w = ByteWriter(magic: magic, version: 1)
        w.write(name)
        for v in sizes { w.write(Int64(v)) }
        w.write(array: positiveTypes.sorted())
        w.write(array: archive)
        return [UInt8](w.data)
    }

    struct Decoded {
        var name: String
        /// In the order of `sizeNames`.
        var sizes: [Int]
        var positiveTypes: Set<UInt8>
        var archive: [UInt8]
    }

    static func decode(_ bytes: [UInt8], magic: String, what: String, sizeNames: [String]) throws(CascadeError) -> Decoded {
        var r = try ByteReader(Data(bytes), magic: magic, what: what)
        guard r.version == 1 else { throw .corrupt("\(what): version \(r.version) is not supported (retrain: cascade train)") }
        let name = try r.readString("name")
        var sizes: [Int] = []
        for s in sizeNames { sizes.append(Int(try r.read(Int64.self, s))) }
        return Decoded(name: name, sizes: sizes, positiveTypes: Set(try r.readArray(UInt8.self, "positive types")),
                       archive: try r.readArray(UInt8.self, "network"))
    }

    /// Builds the model from a decoded artifact: `make` loads the archive into a network and
    /// wraps it; anything but a ``CascadeError`` it throws reads as a corrupt artifact.
    static func build<Model>(_ what: String, _ make: () throws -> Model) throws(CascadeError) -> Model {
        do { return try make() } catch let e as CascadeError { throw e } catch { throw .corrupt("\(what): \(error)") }
    }

    /// The rows a sequence network reads for a request's history (items newest first): the
    /// newest `length` distinct items of the catalog, oldest first, as rows (index + 1).
    static func rows(history: [Int32], itemCount: Int, length: Int) -> [Int32] {
        var seen = Set<Int32>()
        return history.filter { $0 >= 0 && Int($0) < itemCount && seen.insert($0).inserted }.prefix(length).reversed().map { $0 + 1 }
    }
}

extension NextItemTraining {
    /// What a sequence trainer reads from `log`: each user's positives in time order, the users
    /// whose last positive is held out for early stopping (``validationUsers``), and the
    /// training windows of `length` + 1 rows (without the held-out positives).
    func data(log: EventLog, userCount: Int, itemCount: Int, typeWeights: [Float], length: Int)
        -> (sequences: UserSequences, heldOut: [Int], windows: [UserSequences.Window])
    {
        let positives = PositiveSequences(log: log, userCount: userCount, itemCount: itemCount, typeWeights: typeWeights)
        let sequences = UserSequences(positives)
        let heldOut = positives.validationUsers(validationUsers)
        return (sequences, heldOut, sequences.windows(length: length, heldOut: Set(heldOut)))
    }
}
