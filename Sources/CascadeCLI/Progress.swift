import Foundation

/// A one-line progress bar on standard error, redrawn at most 10 times a second, silent when
/// standard error is not a terminal (logs stay clean).
final class ProgressBar {
    let title: String
    let total: Double
    private var last = Date.distantPast
    private let enabled = isatty(STDERR_FILENO) != 0
    private let start = Date()

    init(_ title: String, total: Double = 1) {
        self.title = title
        self.total = max(total, 1e-9)
    }

    func update(_ done: Double) {
        guard enabled, Date().timeIntervalSince(last) > 0.1 else { return }
        last = Date()
        let f = min(1, max(0, done / total))
        let width = 30
        let filled = Int(f * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "\r%@ [%@] %3.0f%% %.1fs", title, bar, f * 100, Date().timeIntervalSince(start))
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Shows a stage name (for work measured in steps, not fractions).
    func stage(_ name: String) {
        guard enabled else { return }
        let line = String(format: "\r\u{1B}[K%@: %@ %.1fs", title, name, Date().timeIntervalSince(start))
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish(_ message: String? = nil) {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if let message { FileHandle.standardError.write(Data((message + "\n").utf8)) }
    }
}
