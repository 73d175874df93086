import CascadeANN
import CascadeCore
import Foundation
import Testing

@Suite struct VectorFilesTests {
    func tempPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(UInt32.random(in: 0...UInt32.max))-\(name)").path
    }

    @Test func fvecsAndIvecsRoundTrip() throws {
        let f = tempPath("a.fvecs"), i = tempPath("a.ivecs")
        defer { try? FileManager.default.removeItem(atPath: f); try? FileManager.default.removeItem(atPath: i) }
        let values: [Float] = (0..<21).map { Float($0) * 0.5 - 3 }
        try VectorFiles.writeFvecs(f, values, dimension: 3)
        let m = try VectorFiles.readFvecs(f)
        #expect(m.dimension == 3 && m.count == 7 && m.values == values)
        #expect(try VectorFiles.readFvecs(f, limit: 2).values == Array(values.prefix(6)))
        // Byte layout: Int32 dimension, then the row.
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: f)))
        #expect(raw.count == 7 * 16 && Array(raw.prefix(4)) == [3, 0, 0, 0])
        let ints: [Int32] = [1, -2, 3, 4, 5, Int32.max]
        try VectorFiles.writeIvecs(i, ints, dimension: 2)
        let n = try VectorFiles.readIvecs(i)
        #expect(n.dimension == 2 && n.count == 3 && n.values == ints)
    }

    @Test func truncatedAndMixedFilesNameTheFileAndRow() throws {
        let f = tempPath("cut.fvecs")
        defer { try? FileManager.default.removeItem(atPath: f) }
        try VectorFiles.writeFvecs(f, (0..<12).map(Float.init), dimension: 4)
        var raw = try Data(contentsOf: URL(fileURLWithPath: f))
        try raw.prefix(raw.count - 6).write(to: URL(fileURLWithPath: f))
        do {
            _ = try VectorFiles.readFvecs(f)
            Issue.record("truncated file accepted")
        } catch {
            #expect("\(error)".contains(f) && "\(error)".contains("truncated") && "\(error)".contains("row 3"), "\(error)")
        }
        // A row announcing another dimension.
        raw[20] = 5
        try raw.write(to: URL(fileURLWithPath: f))
        do {
            _ = try VectorFiles.readFvecs(f)
            Issue.record("mixed dimensions accepted")
        } catch {
            #expect("\(error)".contains(f) && "\(error)".contains("row 2 announces dimension 5"), "\(error)")
        }
        do {
            _ = try VectorFiles.readIvecs(f + ".none")
            Issue.record("missing file accepted")
        } catch {
            #expect("\(error)".contains(f + ".none"))
        }
    }
}
