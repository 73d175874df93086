import CascadeServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The Python client (`clients/python`) against a live server on a simulated world: its
/// contract test (every route and schema of docs/openapi.json) and its live test (pages,
/// feedback, users, items, hides, experiments, keys and errors). `.ci/run` installs python3.
let python3: String? = ((ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
    + ["/usr/bin/python3"]).first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite struct PythonClientTests {
    @Test(.enabled(if: python3 != nil, "skipped: python3 is not installed"))
    func pythonClientPassesItsTestsAgainstALiveServer() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.live) { client in
            let port = try #require(client.port)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python3!)
            p.arguments = ["-m", "unittest", "discover", "-v", "-s", root.appendingPathComponent("clients/python/tests").path]
            var env = ProcessInfo.processInfo.environment
            env["PYTHONPATH"] = root.appendingPathComponent("clients/python").path
            env["CASCADE_URL"] = "http://127.0.0.1:\(port)"
            env["CASCADE_READ_KEY"] = readKey
            env["CASCADE_ADMIN_KEY"] = adminKey
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(p.terminationStatus == 0, "python client tests failed:\n\(text)")
            #expect(!text.contains("skipped"), "a live test was skipped:\n\(text)")
        }
    }
}
