import CascadeCore
import CascadeStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Exposure filters (one blob per user) and the model artifact registry.
extension PostgresStore {
    // MARK: exposure filters

    public func exposureFilter(user: String) throws -> Data? {
        let logger = self.logger
        return try run("reading exposure filter of \(user)", read: true) { conn in
            for try await data in try await conn.execute(Prepared.ExposureFilter(user: user), logger: logger) { return data }
            return nil
        }
    }

    public func putExposureFilters(_ filters: [String: Data]) throws {
        try updateExposureFilters(users: Array(filters.keys)) { user, _ in filters[user]! }
    }

    /// Row locks taken in index order: the rows are created empty when missing, then locked with
    /// `FOR UPDATE`, so a second node updating the same user waits for this commit.
    public func updateExposureFilters(users: [String], _ update: (String, Data?) throws -> Data) throws {
        for id in users { try User(id: id).validate() }
        let ids = Array(Set(users)).sorted()
        guard !ids.isEmpty else { return }
        let cache = caches()
        let logger = self.logger
        let ui = try withoutActuallyEscaping(update) { update in
            let box = UpdateBox(update: update)
            // The task that ran the update may outlive this call by a moment: drop the closure here.
            defer { box.update = nil }
            return try transaction("updating \(ids.count) exposure filters") { conn in
                let ui = try await Self.intern(ids, table: .users, conn: conn, cache: cache.users, logger: logger)
                let idx = ids.map { ui[$0]! }.sorted()
                try await conn.query("""
                    INSERT INTO exposures(user_idx, data, updated_at) SELECT u, ''::bytea, 0 FROM UNNEST(\(idx)::integer[]) AS u
                    ON CONFLICT(user_idx) DO NOTHING
                    """, logger: logger)
                let rows = try await conn.query("""
                    SELECT user_idx, data FROM exposures WHERE user_idx = ANY(\(idx)::integer[]) ORDER BY user_idx FOR UPDATE
                    """, logger: logger)
                var stored: [Int32: Data] = [:]
                for try await (u, data) in rows.decode((Int32, Data).self) { stored[u] = data }
                var newData: [ByteBuffer] = []
                var order: [Int32] = []
                for id in ids {
                    let u = ui[id]!
                    let old = stored[u].flatMap { $0.isEmpty ? nil : $0 }
                    order.append(u)
                    newData.append(ByteBuffer(bytes: try box.update!(id, old)))
                }
                let now = Date().timeIntervalSince1970
                try await conn.query("""
                    UPDATE exposures SET data = d.data, updated_at = \(now) FROM UNNEST(\(order)::integer[], \(newData)::bytea[]) AS d(u, data)
                    WHERE exposures.user_idx = d.u
                    """, logger: logger)
                return ui
            }
        }
        publish(users: ui)
    }

    private final class UpdateBox: @unchecked Sendable {
        var update: ((String, Data?) throws -> Data)?
        init(update: @escaping (String, Data?) throws -> Data) { self.update = update }
    }

    // MARK: artifacts

    /// The version row and its chunks commit together: a process killed mid-write leaves no version.
    public func putArtifact(name: String, manifest: [String: String], blob: Data, activate: Bool) throws -> Int {
        guard !name.isEmpty, name.utf8.count <= 128 else { throw CascadeError.invalid("artifact name must be 1-128 bytes, got '\(name)'") }
        let manifestText = try StoreSupport.json(manifest)
        let logger = self.logger
        return try transaction("saving artifact \(name)") { conn in
            try await conn.query("SELECT pg_advisory_xact_lock(hashtext(\(name))::bigint)", logger: logger)
            var version = 1
            for try await v in try await conn.query("SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts WHERE name = \(name)", logger: logger).decode(Int.self) {
                version = v
            }
            try await conn.query("""
                INSERT INTO artifacts(name, version, manifest, size, created_at)
                VALUES (\(name), \(version), \(manifestText), \(blob.count), \(Date().timeIntervalSince1970))
                """, logger: logger)
            var seq = 0
            var start = blob.startIndex
            repeat {
                let end = min(start + Self.chunkSize, blob.endIndex)
                let chunk = Data(blob[start..<end])
                try await conn.query("INSERT INTO artifact_chunks(name, version, seq, bytes) VALUES (\(name), \(version), \(seq), \(chunk))", logger: logger)
                seq += 1
                start = end
            } while start < blob.endIndex
            if activate {
                try await conn.query("""
                    INSERT INTO active_artifacts(name, version) VALUES (\(name), \(version))
                    ON CONFLICT(name) DO UPDATE SET version = excluded.version
                    """, logger: logger)
            }
            return version
        }
    }

    public func activateArtifact(name: String, version: Int) throws {
        let logger = self.logger
        try transaction("activating artifact \(name) v\(version)") { conn in
            let rows = try await conn.query("SELECT 1 FROM artifacts WHERE name = \(name) AND version = \(version)", logger: logger)
            guard try await rows.collect().count == 1 else { throw CascadeError.notFound("artifact \(name) version \(version)") }
            try await conn.query("""
                INSERT INTO active_artifacts(name, version) VALUES (\(name), \(version))
                ON CONFLICT(name) DO UPDATE SET version = excluded.version
                """, logger: logger)
        }
    }

    @discardableResult
    public func deactivateArtifact(name: String) throws -> Bool {
        let logger = self.logger
        return try transaction("deactivating artifact \(name)") { conn in
            let rows = try await conn.query("DELETE FROM active_artifacts WHERE name = \(name) RETURNING version", logger: logger)
            return try await rows.collect().count > 0
        }
    }

    static func infos(_ conn: PostgresConnection, name: String, version: Int?, logger: Logger) async throws -> [ArtifactInfo] {
        var active: Int?
        for try await v in try await conn.query("SELECT version FROM active_artifacts WHERE name = \(name)", logger: logger).decode(Int.self) { active = v }
        let rows: PostgresRowSequence
        if let version {
            rows = try await conn.query("SELECT version, manifest, created_at, size FROM artifacts WHERE name = \(name) AND version = \(version)", logger: logger)
        } else {
            rows = try await conn.query("SELECT version, manifest, created_at, size FROM artifacts WHERE name = \(name) ORDER BY version", logger: logger)
        }
        var out: [ArtifactInfo] = []
        for try await (v, manifest, created, size) in rows.decode((Int, String, Double, Int).self) {
            let m = try StoreSupport.decode([String: String].self, manifest, what: "manifest of artifact \(name) v\(v)") ?? [:]
            out.append(ArtifactInfo(name: name, version: v, manifest: m, createdAt: created, active: active == v, size: size))
        }
        return out
    }

    static func blob(_ conn: PostgresConnection, info: ArtifactInfo, logger: Logger) async throws -> Data {
        var blob = Data()
        blob.reserveCapacity(info.size)
        let rows = try await conn.query("SELECT bytes FROM artifact_chunks WHERE name = \(info.name) AND version = \(info.version) ORDER BY seq", logger: logger)
        for try await chunk in rows.decode(Data.self) { blob.append(chunk) }
        guard blob.count == info.size else {
            throw CascadeError.corrupt("artifact \(info.name) v\(info.version): \(blob.count) bytes stored, \(info.size) expected")
        }
        return blob
    }

    public func artifact(name: String, version: Int) throws -> Artifact? {
        let logger = self.logger
        return try run("reading artifact \(name) v\(version)", read: true) { conn in
            guard let info = try await Self.infos(conn, name: name, version: version, logger: logger).first else { return nil }
            return Artifact(info: info, blob: try await Self.blob(conn, info: info, logger: logger))
        }
    }

    /// Versions never change once written, so the active pointer read first and the chunks read
    /// after it always belong to one complete version.
    public func activeArtifact(name: String) throws -> Artifact? {
        let logger = self.logger
        return try run("reading active artifact \(name)", read: true) { conn in
            var active: Int?
            for try await v in try await conn.query("SELECT version FROM active_artifacts WHERE name = \(name)", logger: logger).decode(Int.self) { active = v }
            guard let active, let info = try await Self.infos(conn, name: name, version: active, logger: logger).first else { return nil }
            return Artifact(info: info, blob: try await Self.blob(conn, info: info, logger: logger))
        }
    }

    public func artifactVersions(name: String) throws -> [ArtifactInfo] {
        let logger = self.logger
        return try run("listing artifact \(name)", read: true) { conn in
            try await Self.infos(conn, name: name, version: nil, logger: logger)
        }
    }
}
