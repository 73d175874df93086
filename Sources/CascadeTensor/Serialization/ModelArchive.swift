import CascadeCore
import Foundation

/// A saved model: named parameter tensors, optional optimizer state, and a JSON manifest that
/// describes them, in one versioned binary blob (a file, or `Data` for an artifact registry).
///
/// Layout (all integers little-endian):
///
///     0   magic "CSCDMODL" (8 bytes)
///     8   UInt32 format version
///     12  UInt32 manifest byte count M
///     16  UInt32 CRC-32 of the manifest bytes
///     20  UInt32 reserved (0)
///     24  UInt64 payload byte count P
///     32  manifest: UTF-8 JSON (`Manifest`, sorted keys)
///     32+M payload: Float32 little-endian tensors; each manifest entry gives its offset
///         (from the payload start), byte count and CRC-32
///
/// Reading verifies the magic, version, sizes and every checksum; loading into parameters
/// checks every name and shape before writing anything. Every failure is a
/// `TensorError.corruptFile` naming the file ("memory" for `Data`) and the tensor or field.
/// Writing and reading are O(total tensor bytes).
public struct ModelArchive: Sendable {
    public static let magic: [UInt8] = Array("CSCDMODL".utf8)
    public static let formatVersion = 1
    static let headerSize = 32

    /// Whether a tensor is a model parameter or optimizer state.
    public enum Role: String, Codable, Sendable {
        case parameter
        case optimizerState
    }

    /// One tensor of the payload.
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var role: Role
        /// Byte offset from the start of the payload.
        public var offset: Int
        public var byteCount: Int
        public var crc32: UInt32
    }

    /// The optimizer that produced the saved state.
    public struct OptimizerInfo: Codable, Sendable, Equatable {
        public var kind: String
        public var step: Int
    }

    /// Everything about the archive except the tensor bytes.
    public struct Manifest: Codable, Sendable {
        public var formatVersion: Int
        /// What model this is ("two-tower", "dcn-v2", ...); checked against the loader's kinds.
        public var modelKind: String
        /// Free-form string settings (hyperparameters, feature names).
        public var config: [String: String]
        /// A Codable configuration encoded as JSON (see `setConfig` / `decodeConfig`).
        public var configJSON: Data?
        /// Layer or op kinds the model is built from; checked against the loader's kinds.
        public var layerKinds: [String]
        public var optimizer: OptimizerInfo?
        public var tensors: [Entry]
    }

    public private(set) var manifest: Manifest
    /// Where the archive came from, for error messages: a path or "memory".
    public private(set) var source: String
    private var tensors: [Tensor]  // parallel to manifest.tensors

    /// An empty archive for a model of `modelKind`.
    public init(modelKind: String, config: [String: String] = [:], layerKinds: [String] = []) {
        manifest = Manifest(formatVersion: Self.formatVersion, modelKind: modelKind, config: config, configJSON: nil,
                            layerKinds: layerKinds, optimizer: nil, tensors: [])
        source = "memory"
        tensors = []
    }

    // MARK: Building

    /// Stores a Codable configuration (JSON) in the manifest.
    public mutating func setConfig<T: Encodable>(_ value: T) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        manifest.configJSON = try enc.encode(value)
    }

    /// Decodes the Codable configuration stored by `setConfig`.
    public func decodeConfig<T: Decodable>(_ type: T.Type) throws -> T {
        guard let json = manifest.configJSON else { throw corrupt("manifest has no configuration blob") }
        do { return try JSONDecoder().decode(T.self, from: json) } catch {
            throw corrupt("configuration does not decode as \(T.self): \(error)")
        }
    }

    /// Adds (copies of) parameter values; names must be unique within the archive.
    public mutating func addParameters(_ params: [Parameter]) throws {
        for p in params { try add(p.name, p.value.copy(), role: .parameter) }
    }

    /// Adds every parameter of `container`.
    public mutating func addParameters(of container: some ParameterContainer) throws {
        try addParameters(container.parameters)
    }

    /// Adds an optimizer's state (its kind and step go into the manifest). Replaces earlier state.
    public mutating func addOptimizerState(_ state: OptimizerState) throws {
        let keep = manifest.tensors.indices.filter { manifest.tensors[$0].role != .optimizerState }
        manifest.tensors = keep.map { manifest.tensors[$0] }
        tensors = keep.map { tensors[$0] }
        manifest.optimizer = OptimizerInfo(kind: state.kind, step: state.step)
        for key in state.slots.keys.sorted() { try add(key, state.slots[key]!.copy(), role: .optimizerState) }
    }

    /// Adds the current state of `optimizer`.
    public mutating func addOptimizerState(of optimizer: some Optimizer) throws {
        try addOptimizerState(optimizer.exportState())
    }

    private mutating func add(_ name: String, _ t: Tensor, role: Role) throws {
        guard !manifest.tensors.contains(where: { $0.name == name && $0.role == role }) else {
            throw TensorError.invalidArgument(op: "ModelArchive", reason: "duplicate \(role.rawValue) tensor '\(name)'")
        }
        manifest.tensors.append(Entry(name: name, shape: t.shape.dims, role: role, offset: 0, byteCount: t.count * 4, crc32: 0))
        tensors.append(t)
    }

    // MARK: Access

    /// The tensor `name` of `role`, if stored.
    public func tensor(_ name: String, role: Role = .parameter) -> Tensor? {
        manifest.tensors.firstIndex { $0.name == name && $0.role == role }.map { tensors[$0] }
    }

    /// Names of the stored parameters, in order.
    public var parameterNames: [String] { manifest.tensors.filter { $0.role == .parameter }.map(\.name) }

    func corrupt(_ reason: String) -> TensorError { .corruptFile(path: source, reason: reason) }

    // MARK: Encoding

    /// The archive's bytes. O(total tensor bytes).
    public func encoded() throws -> Data {
        var payload = ArchiveWriter()
        var m = manifest
        for (i, t) in tensors.enumerated() {
            m.tensors[i].offset = payload.data.count
            m.tensors[i].crc32 = payload.append(t)
            m.tensors[i].byteCount = payload.data.count - m.tensors[i].offset
        }
        let enc = JSONEncoder()
        enc.outputFormatting = .sortedKeys
        let json = try enc.encode(m)
        var out = ArchiveWriter()
        out.data.reserveCapacity(Self.headerSize + json.count + payload.data.count)
        out.data.append(contentsOf: Self.magic)
        out.append(UInt32(Self.formatVersion))
        out.append(UInt32(json.count))
        out.append(CRC32.checksum(json))
        out.append(UInt32(0))
        out.append(UInt64(payload.data.count))
        out.append(json)
        out.append(payload.data)
        return out.data
    }

    /// Writes the archive to `url` atomically (a temporary file renamed into place).
    public func write(to url: URL) throws {
        try encoded().write(to: url, options: .atomic)
    }

    // MARK: Decoding

    /// Reads an archive from bytes, verifying magic, version, sizes and every checksum.
    /// - Parameter path: names the origin in error messages.
    public init(data: Data, path: String = "memory") throws {
        let parsed = try data.withUnsafeBytes { raw -> (Manifest, [Tensor]) in
            let r = ArchiveReader(bytes: raw, path: path)
            guard raw.count >= Self.headerSize else {
                throw r.corrupt("truncated: \(raw.count) bytes is shorter than the \(Self.headerSize)-byte header")
            }
            guard Array(raw[0..<8]) == Self.magic else { throw r.corrupt("bad magic: not a Cascade model archive") }
            let version = Int(r.u32(at: 8))
            guard version == Self.formatVersion else {
                throw r.corrupt("unsupported format version \(version) (this build reads version \(Self.formatVersion))")
            }
            let manifestSize = Int(r.u32(at: 12)), payloadSize = Int(r.u64(at: 24))
            let payloadStart = Self.headerSize + manifestSize
            guard raw.count >= payloadStart else {
                throw r.corrupt("truncated: manifest needs \(manifestSize) bytes, file has \(raw.count - Self.headerSize)")
            }
            let json = Data(raw[Self.headerSize ..< payloadStart])
            guard CRC32.checksum(json) == r.u32(at: 16) else { throw r.corrupt("manifest checksum mismatch") }
            let m: Manifest
            do { m = try JSONDecoder().decode(Manifest.self, from: json) } catch {
                throw r.corrupt("manifest is not valid: \(error)")
            }
            var out: [Tensor] = []
            for e in m.tensors {
                let what = "tensor '\(e.name)' (\(e.role.rawValue))"
                guard let shape = try? Shape(validating: e.shape), e.byteCount == shape.count * 4, e.offset >= 0 else {
                    throw r.corrupt("\(what): shape \(e.shape) does not match \(e.byteCount) bytes")
                }
                guard e.offset + e.byteCount <= payloadSize, payloadStart + e.offset + e.byteCount <= raw.count else {
                    throw r.corrupt("truncated: \(what) needs bytes \(e.offset)..<\(e.offset + e.byteCount) of the payload, "
                                    + "file has \(raw.count - payloadStart) of \(payloadSize)")
                }
                let start = payloadStart + e.offset
                let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[start ..< start + e.byteCount]))
                guard crc == e.crc32 else { throw r.corrupt("checksum mismatch in \(what)") }
                out.append(r.tensor(at: start, shape: shape))
            }
            guard raw.count >= payloadStart + payloadSize else {
                throw r.corrupt("truncated: payload has \(raw.count - payloadStart) of \(payloadSize) bytes")
            }
            return (m, out)
        }
        manifest = parsed.0
        tensors = parsed.1
        source = path
    }

    /// Reads the archive stored at `url`.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TensorError.corruptFile(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: url.path)
    }

    // MARK: Loading

    /// Throws unless the model kind is in `modelKinds` and every listed layer kind is in
    /// `layerKinds` (nil skips that check).
    public func validate(modelKinds: Set<String>? = nil, layerKinds: Set<String>? = nil) throws {
        if let kinds = modelKinds, !kinds.contains(manifest.modelKind) {
            throw corrupt("unknown model kind '\(manifest.modelKind)' (known: \(kinds.sorted()))")
        }
        if let kinds = layerKinds {
            for k in manifest.layerKinds where !kinds.contains(k) {
                throw corrupt("unknown layer kind '\(k)' (known: \(kinds.sorted()))")
            }
        }
    }

    /// Copies the stored values into `params` after validating kinds (see `validate`) and
    /// checking that every parameter is present with its exact shape; nothing is written
    /// unless all checks pass. With `allowUnused` false, stored parameters that `params` does
    /// not contain are also an error. O(total parameter size).
    public func load(into params: [Parameter], modelKinds: Set<String>? = nil, layerKinds: Set<String>? = nil,
                     allowUnused: Bool = false) throws {
        try validate(modelKinds: modelKinds, layerKinds: layerKinds)
        var pairs: [(Parameter, Tensor)] = []
        for p in params {
            guard let t = tensor(p.name) else { throw corrupt("missing tensor '\(p.name)' (shape \(p.shape))") }
            guard t.shape == p.shape else {
                throw corrupt("tensor '\(p.name)' has shape \(t.shape), the model expects \(p.shape)")
            }
            pairs.append((p, t))
        }
        if !allowUnused {
            let wanted = Set(params.map(\.name))
            if let extra = parameterNames.first(where: { !wanted.contains($0) }) {
                throw corrupt("tensor '\(extra)' is not a parameter of this model")
            }
        }
        for (p, t) in pairs { try p.value.assign(t) }
    }

    /// Loads into every parameter of `container`.
    public func load(into container: some ParameterContainer, modelKinds: Set<String>? = nil,
                     layerKinds: Set<String>? = nil, allowUnused: Bool = false) throws {
        try load(into: container.parameters, modelKinds: modelKinds, layerKinds: layerKinds, allowUnused: allowUnused)
    }

    /// The stored optimizer state, nil when none was saved.
    public func optimizerState() -> OptimizerState? {
        guard let info = manifest.optimizer else { return nil }
        var slots: [String: Tensor] = [:]
        for (i, e) in manifest.tensors.enumerated() where e.role == .optimizerState { slots[e.name] = tensors[i] }
        return OptimizerState(kind: info.kind, step: info.step, slots: slots)
    }

    /// Restores `optimizer` from the stored state; throws when none is stored or it belongs
    /// to another kind of optimizer.
    public func restore(_ optimizer: some Optimizer) throws {
        guard let state = optimizerState() else { throw corrupt("no optimizer state stored") }
        guard state.kind == optimizer.kind else {
            throw corrupt("optimizer state is for '\(state.kind)', not '\(optimizer.kind)'")
        }
        try optimizer.importState(state)
    }
}
