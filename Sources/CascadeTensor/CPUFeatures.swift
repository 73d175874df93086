import Foundation

/// Start-up check that the CPU can run this build. On x86_64 the tensor kernels are compiled
/// for AVX2 and FMA (x86-64-v3); on an older CPU they would die with an illegal instruction, so
/// the program checks first and reports a readable message instead.
///
/// Swift has no inline assembly for `cpuid`, so on Linux the flags come from /proc/cpuinfo; on
/// other operating systems, and on other architectures, the check passes.
///
/// Because this whole module is compiled for Haswell, code that stays in it could itself use
/// AVX2/BMI instructions. The check is therefore `@_transparent`: its body is compiled into the
/// calling module (built for baseline x86-64) at every call site, even in debug builds. Call it
/// from such a module (the CLI, the engine) before any tensor work.
public enum CPUFeatures {
    /// A description of what is missing, or nil when the CPU is suitable. O(size of /proc/cpuinfo).
    @_transparent
    public static func check() -> String? {
        #if arch(x86_64) && os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        return problem(cpuinfo: text)
        #else
        return nil
        #endif
    }

    /// Throws `CPUFeatures.Unsupported` with the message of `check()` when the CPU is unsuitable.
    @_transparent
    public static func requireAVX2FMA() throws {
        if let message = check() { throw Unsupported(message: message) }
    }

    /// The error thrown by `requireAVX2FMA()`.
    public struct Unsupported: Error, CustomStringConvertible, Sendable {
        public let message: String
        @inlinable public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// The check's logic over /proc/cpuinfo text (its first `flags` line), exposed for tests:
    /// nil when both `avx2` and `fma` are listed, else the message naming the flags found.
    @_transparent
    public static func problem(cpuinfo: String) -> String? {
        var flags: [Substring] = []
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") {
                flags = line[line.index(after: colon)...].split(separator: " ")
            }
            break
        }
        if flags.contains("avx2") && flags.contains("fma") { return nil }
        let shown = flags.isEmpty ? "(none)" : flags.joined(separator: " ")
        return "this build of Cascade needs a CPU with AVX2 and FMA (x86-64-v3); found flags: \(shown)"
    }
}
