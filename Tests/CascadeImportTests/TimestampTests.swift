import CascadeCore
import CascadeImport
import Foundation
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1704164645", 1_704_164_645.0),
        ("1704164645.25", 1_704_164_645.25),
        (" 1704164645 ", 1_704_164_645),
        ("1704164645123", 1_704_164_645.123),
        ("-86400", -86_400),
        ("0", 0),
        ("2024-01-02T03:04:05Z", 1_704_164_645),
        ("2024-01-02t03:04:05z", 1_704_164_645),
        ("2024-01-02 03:04:05", 1_704_164_645),
        ("2024-01-02T03:04:05.5Z", 1_704_164_645.5),
        ("2024-01-02T05:04:05+02:00", 1_704_164_645),
        ("2024-01-02T05:04:05.000+0200", 1_704_164_645),
        ("2024-01-01T22:04:05-05", 1_704_164_645),
        ("2024-01-02T03:04Z", 1_704_164_640),
        ("2024-01-02", 1_704_153_600),
        ("1970-01-01T00:00:00Z", 0),
        ("2000-02-29T00:00:00Z", 951_782_400),
        ("1969-12-31T23:59:59Z", -1),
    ])
    func parses(text: String, seconds: Double) {
        #expect(TimestampParser.parse(text) == seconds)
    }

    @Test(arguments: ["xyz", "", "2024-13-01", "2023-02-29", "2024-01-02T25:00:00Z", "2024-01-02T03:04:05Q",
                      "2024-01-02T03:04:05+2", "2024/01/02", "1e999", "nan", "inf", "12:00", "0x10"])
    func rejects(text: String) {
        #expect(TimestampParser.parse(text) == nil)
    }

    /// Numbers in value columns go through the fast decimal parser; it must agree with the
    /// standard library's correctly rounded conversion.
    @Test func numbersMatchTheStandardLibrary() throws {
        var texts = ["0", "-0", "1", "-1", ".5", "5.", "0.1", "0.3", "123.456", "1e-5", "1E5", "-2.5e+3", "1e22", "1e23",
                     "9007199254740993", "0.000000000000000000000000001", "123456789012345678901234567890",
                     "3.141592653589793238", "2.2250738585072014e-308", "1.7976931348623157e308", "4.9e-324", "+7"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let d = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)
            texts.append("\(d)")
            texts.append(String(format: "%.6f", Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 997))
        }
        var csv = "user,item,timestamp,value\n"
        for t in texts { csv += "u,i,1,\(t)\n" }
        let r = try CSVFile.parse(Data(csv.utf8), file: "n.csv", mapping: .events, eventTypes: EventTypeRegistry())
        // Values beyond the declared range (FieldRanges) are refused by name; the rest parse exactly.
        let accepted = texts.filter { abs(Double($0)!) <= FieldRanges.maxValueMagnitude }
        #expect(r.badRows.count == texts.count - accepted.count)
        #expect(r.badRows.allSatisfy { $0.reason.contains("value") && $0.reason.contains("accepted range") })
        #expect(r.batch.events.count == accepted.count)
        for (t, e) in zip(accepted, r.batch.events) where e.value != Double(t) {
            Issue.record("'\(t)' parsed as \(String(describing: e.value)), expected \(Double(t)!)")
        }
        let bad = "user,item,timestamp,value\nu,i,1,1e\nu,i,1,--1\nu,i,1,1.2.3\nu,i,1,0x1p3\nu,i,1,1 2\n"
        let rb = try CSVFile.parse(Data(bad.utf8), file: "n.csv", mapping: .events, eventTypes: EventTypeRegistry())
        #expect(rb.badRows.count == 5)
        #expect(rb.badRows.allSatisfy { $0.reason.contains("unparseable number") })
    }

    /// `--timestamp-unit`: auto reads numbers above 1e11 as milliseconds and says how many; s
    /// refuses them as out of range (naming the unit); ms reads every number as milliseconds.
    @Test func timestampUnitsAndTheirReport() throws {
        let csv = Data("user,item,timestamp\nu,i,1765000000000\nu,i,1700000000\nu,i,2024-01-02\n".utf8)
        let auto = try CSVFile.parse(csv, file: "t.csv", mapping: .events, eventTypes: EventTypeRegistry())
        #expect(auto.batch.events.map(\.timestamp) == [1_765_000_000, 1_700_000_000, 1_704_153_600])
        #expect(auto.warnings.contains { $0.contains("1 timestamp(s) above 1e11 read as milliseconds") }, "\(auto.warnings)")
        var seconds = ColumnMapping.events
        seconds.timestampUnit = .seconds
        let s = try CSVFile.parse(csv, file: "t.csv", mapping: seconds, eventTypes: EventTypeRegistry())
        #expect(s.batch.events.map(\.timestamp) == [1_700_000_000, 1_704_153_600])
        #expect(s.badRows.count == 1 && s.badRows[0].reason.contains("milliseconds"), "\(s.badRows)")
        #expect(s.warnings.isEmpty)
        var ms = ColumnMapping.events
        ms.timestampUnit = .milliseconds
        let m = try CSVFile.parse(Data("user,item,timestamp\nu,i,1765000000000\nu,i,2024-01-02\n".utf8), file: "t.csv", mapping: ms,
                                  eventTypes: EventTypeRegistry())
        #expect(m.batch.events.map(\.timestamp) == [1_765_000_000, 1_704_153_600])
        #expect(m.warnings.isEmpty, "the unit was asked for: nothing to say")
    }
}
