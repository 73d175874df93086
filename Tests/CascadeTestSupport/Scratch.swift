import Foundation

/// One scratch directory for the whole test process, removed when the process exits, so test
/// runs leave nothing behind in the system temporary directory.
public enum Scratch {
    public static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cascade-tests-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Scratch.root) }
        return url
    }()

    /// A fresh path under the root (not created).
    public static func path(_ name: String) -> URL { root.appendingPathComponent("\(name)-\(UUID().uuidString)") }
}
