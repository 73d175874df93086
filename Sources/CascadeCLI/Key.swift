import ArgumentParser
import CascadeServer
import Foundation

/// `cascade key new|hash`: API keys for `cascade serve`, which keeps only their SHA-256 digests.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Make API keys and their digests for `cascade serve`.",
        discussion: """
            Give clients the key; give the server only its digest, in CASCADE_READ_KEY_SHA256 or
            CASCADE_ADMIN_KEY_SHA256 (comma-separated for several keys, e.g. while rotating).
            """,
        subcommands: [New.self, Hash.self])

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new random key and its SHA-256 digest.")
        func run() throws {
            let key = APIKeys.generate()
            print("key=\(key) sha256=\(APIKeys.hex(APIKeys.digest(key)))")
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the SHA-256 digest of a key read from standard input (one line).")
        func run() throws {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no key on standard input")
            }
            print(APIKeys.hex(APIKeys.digest(line)))
        }
    }
}
