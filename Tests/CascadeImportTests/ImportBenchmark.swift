import CascadeCore
import CascadeImport
import Foundation
import Testing

/// Opt-in benchmark: `CASCADE_BENCH=1 swift test -c release --filter ImportBenchmark`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CASCADE_BENCH"] != nil))
struct ImportBenchmark {
    @Test func csvEvents1M() throws {
        let rows = 1_000_000
        var text = "user,item,timestamp,type,value\n"
        text.reserveCapacity(rows * 40)
        for i in 0..<rows {
            text += "user\(i % 50_000),item\(i % 20_000),\(1_700_000_000 + i),\(i % 3 == 0 ? "like" : "click"),\(i % 5).5\n"
        }
        let data = Data(text.utf8)
        let start = Date()
        let r = try CSVFile.parse(data, file: "bench.csv", mapping: .events, eventTypes: EventTypeRegistry())
        let seconds = Date().timeIntervalSince(start)
        #expect(r.batch.events.count == rows)
        print("Import:csvEvents1M \(rows) rows, \(data.count / 1_000_000) MB in \(String(format: "%.2f", seconds)) s (\(Int(Double(rows) / seconds)) rows/s)")

        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.path("events.csv")
        try data.write(to: URL(fileURLWithPath: path))
        let fstart = Date()
        let fr = try CSVFile(path: path, mapping: .events).parse(eventTypes: EventTypeRegistry())
        let fs = Date().timeIntervalSince(fstart)
        #expect(fr.batch.events.count == rows)
        print("Import:csvEvents1MFile \(rows) rows from a file in \(String(format: "%.2f", fs)) s (\(Int(Double(rows) / fs)) rows/s)")

        var jsonl = ""
        jsonl.reserveCapacity(rows / 4 * 80)
        for i in 0..<(rows / 4) {
            jsonl += "{\"user\":\"user\(i % 50_000)\",\"item\":\"item\(i % 20_000)\",\"timestamp\":\(1_700_000_000 + i),\"value\":\(i % 5)}\n"
        }
        let jdata = Data(jsonl.utf8)
        let jstart = Date()
        let jr = try JSONLinesFile.parse(jdata, file: "bench.jsonl", mapping: .events, eventTypes: EventTypeRegistry())
        let js = Date().timeIntervalSince(jstart)
        #expect(jr.batch.events.count == rows / 4)
        print("Import:jsonlEvents250k \(rows / 4) rows in \(String(format: "%.2f", js)) s (\(Int(Double(rows / 4) / js)) rows/s)")
    }
}
