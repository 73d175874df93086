import CascadeCore
import Foundation

/// Helpers every ``Store`` backend shares: entity documents, manifest JSON, batch checks.
package enum StoreSupport {
    package static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return e
    }()

    package static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    package static func decode<T: Decodable>(_ type: T.Type, _ text: String?, what: String) throws -> T? {
        guard let text else { return nil }
        do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
            throw CascadeError.corrupt("\(what): stored document does not decode: \(error)")
        }
    }

    package static func validateUnique<T>(_ values: [T], id: (T) -> String, kind: String) throws {
        var seen = Set<String>()
        for v in values where !seen.insert(id(v)).inserted {
            throw CascadeError.invalid("\(kind) id '\(id(v))' appears twice in one batch")
        }
    }

    /// Why a batch naming a deleted user or item is refused.
    package static func deletedMessage(_ kind: String, _ id: String) -> String {
        "\(kind) \(id) was deleted: events naming it are refused until it is created again (PUT /api/\(kind)s/{id}, or an import of it)"
    }

    /// Checks a whole import batch before any of it is written: every record valid, no id twice.
    package static func validateBatch(users: [User], items: [Item], events: [Event]) throws {
        for u in users { try u.validate() }
        for i in items { try i.validate() }
        let now = Date().timeIntervalSince1970
        for e in events { try e.validate(now: now) }
        try validateUnique(users, id: \.id, kind: "user")
        try validateUnique(items, id: \.id, kind: "item")
    }
}
