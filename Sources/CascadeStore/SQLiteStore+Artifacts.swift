import CascadeCore
import Foundation
import GRDB

/// The model artifact registry: versioned blobs with a JSON manifest, one active version per
/// model name. Activation is one row update inside a transaction, so readers see the old version
/// or the new one, never a mixture.
extension SQLiteStore {
    public func putArtifact(name: String, manifest: [String: String], blob: Data, activate: Bool) throws -> Int {
        guard !name.isEmpty, name.utf8.count <= 128 else { throw CascadeError.invalid("artifact name must be 1-128 bytes, got '\(name)'") }
        let manifestText = try StoreSupport.json(manifest)
        return try write("saving artifact \(name)") { db in
            let version = (try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts WHERE name = ?", arguments: [name])) ?? 1
            try db.execute(sql: "INSERT INTO artifacts(name, version, manifest, blob, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, version, manifestText, blob, Date().timeIntervalSince1970])
            if activate {
                try db.execute(sql: "INSERT INTO active_artifacts(name, version) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version",
                               arguments: [name, version])
            }
            return version
        }
    }

    public func activateArtifact(name: String, version: Int) throws {
        try write("activating artifact \(name) v\(version)") { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM artifacts WHERE name = ? AND version = ?", arguments: [name, version]) != nil else {
                throw CascadeError.notFound("artifact \(name) version \(version)")
            }
            try db.execute(sql: "INSERT INTO active_artifacts(name, version) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version",
                           arguments: [name, version])
        }
    }

    @discardableResult
    public func deactivateArtifact(name: String) throws -> Bool {
        try write("deactivating artifact \(name)") { db in
            try db.execute(sql: "DELETE FROM active_artifacts WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    private func info(_ row: Row, active: Int?) throws -> ArtifactInfo {
        let name: String = row["name"]
        let version: Int = row["version"]
        let manifest = try StoreSupport.decode([String: String].self, row["manifest"], what: "manifest of artifact \(name) v\(version)") ?? [:]
        return ArtifactInfo(name: name, version: version, manifest: manifest, createdAt: row["created_at"],
                            active: active == version, size: row["size"])
    }

    public func artifact(name: String, version: Int) throws -> Artifact? {
        try read("reading artifact \(name) v\(version)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT name, version, manifest, created_at, length(blob) AS size, blob FROM artifacts WHERE name = ? AND version = ?",
                                             arguments: [name, version]) else { return nil }
            let active = try Int.fetchOne(db, sql: "SELECT version FROM active_artifacts WHERE name = ?", arguments: [name])
            return Artifact(info: try info(row, active: active), blob: row["blob"])
        }
    }

    public func activeArtifact(name: String) throws -> Artifact? {
        // One read transaction: the active pointer and the blob come from the same snapshot.
        try read("reading active artifact \(name)") { db in
            guard let version = try Int.fetchOne(db, sql: "SELECT version FROM active_artifacts WHERE name = ?", arguments: [name]),
                  let row = try Row.fetchOne(db, sql: "SELECT name, version, manifest, created_at, length(blob) AS size, blob FROM artifacts WHERE name = ? AND version = ?",
                                             arguments: [name, version])
            else { return nil }
            return Artifact(info: try info(row, active: version), blob: row["blob"])
        }
    }

    public func artifactVersions(name: String) throws -> [ArtifactInfo] {
        try read("listing artifact \(name)") { db in
            let active = try Int.fetchOne(db, sql: "SELECT version FROM active_artifacts WHERE name = ?", arguments: [name])
            return try Row.fetchAll(db, sql: "SELECT name, version, manifest, created_at, length(blob) AS size FROM artifacts WHERE name = ? ORDER BY version",
                                    arguments: [name]).map { try info($0, active: active) }
        }
    }
}
