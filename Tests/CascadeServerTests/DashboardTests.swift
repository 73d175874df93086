import CascadeServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The dashboard loaded in headless Chromium (Debian's `chromium`), its DOM read after the
/// page's scripts ran. Skipped, saying so, where Chromium is absent; `.ci/run` installs it.
let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

func renderedDOM(_ url: String) throws -> String {
    let profile = "\(NSTemporaryDirectory())cascade-chromium-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: profile) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: chromium!)
    p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                   "--user-data-dir=\(profile)", "--dump-dom", url]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite struct DashboardTests {
    @Test(.enabled(if: chromium != nil, "skipped: Chromium is not installed (apt-get install chromium)"))
    func dashboardShowsModelsTrafficLatencyAndAUsersPage() async throws {
        let api = try makeAPI(try trainedStore())
        try await app(api).test(.live) { client in
            for k in 0..<12 {
                try await client.execute(uri: "/api/recommend/u\(k)?n=5", method: .get, headers: headers(readKey)) { #expect($0.status == .ok) }
            }
            // Experiment users' feedback feeds the arms chart.
            try await client.execute(uri: "/api/experiments", method: .put, headers: headers(adminKey), body: body(ExperimentsAPITests.config)) {
                #expect($0.status == .ok)
            }
            for k in 0..<20 {
                let items = try await page(client, "u\(k)", n: 4)
                let r = try await post(client, items.map { ["user": "u\(k)", "item": $0, "type": "impression"] }
                                       + [["user": "u\(k)", "item": items[0], "type": "click"]])
                #expect(r.status == .ok)
            }
            let expected = try await client.execute(uri: "/api/recommend/u3?n=5", method: .get, headers: headers(readKey)) {
                try decoded(PageJSON.self, $0).items.map(\.item)
            }
            let port = try #require(client.port)
            let dom = try renderedDOM("http://127.0.0.1:\(port)/dashboard?user=u3&n=5&key=\(adminKey)")
            #expect(dom.contains("data-charts=\"drawn\""), "the page's script did not run")
            #expect(dom.contains("<polyline"), "traffic chart missing")
            #expect(dom.contains("<rect"), "stage bars missing")
            #expect(dom.contains("recall/itemcf"))
            #expect(dom.contains("GET /api/recommend/{user}"))
            #expect(dom.contains("Recommendations for u3"))
            #expect(dom.contains("recall:popular-only:control") && dom.contains("recall:popular-only:popular"))
            #expect(dom.contains("class=\"arm-ctr\"") && dom.components(separatedBy: "<polyline").count >= 4, "arm charts missing")
            // The page shows the same items, in the same order, as the API.
            var last = dom.startIndex
            for item in expected {
                let r = try #require(dom.range(of: ">\(item)<", range: last..<dom.endIndex), "item \(item) missing or out of order")
                last = r.upperBound
            }
            // Without the key: a JSON 401, no page.
            let denied = try renderedDOM("http://127.0.0.1:\(port)/dashboard")
            #expect(denied.contains("unauthorized") && !denied.contains("data-charts"))
        }
    }
}
