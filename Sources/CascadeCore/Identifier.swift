import Foundation

/// The one form of user and item ids: Unicode NFC, without a leading byte-order mark.
///
/// Swift compares strings by canonical equivalence ("e" + combining acute equals the precomposed
/// letter) while SQLite and PostgreSQL compare bytes, so an id that reached a store in two forms
/// would be one id in memory and two on disk. Every door (the HTTP API's paths and bodies, the
/// importers, the command line) turns ids into this form with ``canonical(_:)``, and the stores
/// refuse any other (``isCanonical(_:)``, checked by `validate()`), so two spellings of one id
/// are one id everywhere, and ids are byte-exact once stored.
public enum Identifier {
    /// `id` in NFC with leading byte-order marks removed. ASCII ids come back unchanged at the
    /// cost of one pass over their bytes.
    public static func canonical(_ id: String) -> String {
        if id.utf8.allSatisfy({ $0 < 0x80 }) { return id }
        var s = Substring(id)
        while s.unicodeScalars.first == "\u{FEFF}" { s = Substring(s.unicodeScalars.dropFirst()) }
        let nfc = String(s).precomposedStringWithCanonicalMapping
        return nfc
    }

    /// Whether `id` is already in the canonical form (byte for byte).
    public static func isCanonical(_ id: String) -> Bool {
        if id.utf8.allSatisfy({ $0 < 0x80 }) { return true }
        return canonical(id).utf8.elementsEqual(id.utf8)
    }
}
