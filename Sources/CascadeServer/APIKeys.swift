import Crypto
import Foundation

/// The API keys a server accepts, held only as SHA-256 digests.
///
/// A key's plain text is hashed when the server starts (from `CASCADE_READ_KEY` /
/// `CASCADE_ADMIN_KEY`) or never reaches the server at all (`CASCADE_READ_KEY_SHA256` /
/// `CASCADE_ADMIN_KEY_SHA256`, hex digests from `cascade key hash`). A request's key is hashed and
/// compared against every stored digest without an early exit, so neither a memory dump nor the
/// time taken reveals a key. Several digests per scope allow rotation (old and new key at once).
public struct APIKeys: Sendable, Equatable {
    public private(set) var read: [Data] = []
    public private(set) var admin: [Data] = []

    public init() {}

    public enum Scope: Sendable { case read, admin }

    /// The digest of a key as stored.
    public static func digest(_ key: String) -> Data {
        Data(SHA256.hash(data: Data(key.utf8)))
    }

    /// Adds a key by its plain text (only its digest is kept).
    public mutating func add(key: String, scope: Scope) {
        add(digest: Self.digest(key), scope: scope)
    }

    public mutating func add(digest: Data, scope: Scope) {
        if scope == .read { read.append(digest) } else { admin.append(digest) }
    }

    /// Adds comma-separated hex SHA-256 digests; throws on anything that is not 64 hex digits.
    public mutating func add(hexDigests: String, scope: Scope) throws {
        for part in hexDigests.split(separator: ",") {
            let hex = part.trimmingCharacters(in: .whitespaces)
            guard let d = Self.data(hex: hex), d.count == 32 else {
                throw APIKeyError(message: "'\(hex.prefix(80))' is not a SHA-256 digest (64 hex digits)")
            }
            add(digest: d, scope: scope)
        }
    }

    public var isEmpty: Bool { read.isEmpty && admin.isEmpty }

    /// Which scopes `key` opens (admin keys also read).
    public func check(_ key: String) -> (read: Bool, admin: Bool) {
        let d = Self.digest(key)
        let isAdmin = Self.anyEqual(d, admin)
        let isRead = Self.anyEqual(d, read)
        return (isRead || isAdmin, isAdmin)
    }

    /// Compares against every candidate, each in constant time, without stopping at a match.
    static func anyEqual(_ d: Data, _ candidates: [Data]) -> Bool {
        var found: UInt8 = 0
        for c in candidates { found |= constantTimeEqual(d, c) ? 1 : 0 }
        return found == 1
    }

    /// Equal-length digests compared byte by byte with no early exit.
    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }

    public static func hex(_ d: Data) -> String {
        d.map { String(format: "%02x", $0) }.joined()
    }

    static func data(hex: String) -> Data? {
        guard hex.utf8.count % 2 == 0 else { return nil }
        var out = Data()
        var chars = hex.makeIterator()
        while let hi = chars.next(), let lo = chars.next() {
            guard let b = UInt8(String([hi, lo]), radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }

    /// A new random key: 32 bytes from the system's generator, URL-safe base64.
    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

public struct APIKeyError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
