import Foundation
import Testing
import CascadeCore
@testable import CascadeImport

@Suite struct CSVTableTests {
    @Test func readsColumnsWithQuotes() throws {
        let csv = "label,user,genres\r\n1,\"a,b\",Drama|Comedy\n0,c,\n"
        let t = try CSVTable.parse(Data(csv.utf8), file: "t.csv")
        #expect(t.header == ["label", "user", "genres"])
        #expect(try t.column("user") == ["a,b", "c"])
        #expect(try t.column("genres") == ["Drama|Comedy", ""])
        #expect(t.lines == [2, 3])
    }

    @Test func badRowsNameFileAndLine() throws {
        do {
            _ = try CSVTable.parse(Data("a,b\n1,2\n3\n".utf8), file: "t.csv")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("t.csv") && "\(error)".contains("3"))
        }
        #expect(throws: CascadeError.self) { try CSVTable.parse(Data("a,a\n1,2\n".utf8), file: "t.csv") }
        #expect(throws: CascadeError.self) { try CSVTable.parse(Data("".utf8), file: "t.csv") }
        let t = try CSVTable.parse(Data("a\n1\n".utf8), file: "t.csv")
        #expect(throws: CascadeError.self) { try t.column("b", file: "t.csv") }
    }
}
