import CascadeCore
import CascadeImport
import Foundation
import Testing

@Suite struct RecBoleReaderTests {
    let types = EventTypeRegistry()

    @Test func parsesInterUserAndItemFiles() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let inter = dir.write("ml.inter", """
            user_id:token\titem_id:token\trating:float\ttimestamp:float\tlabel:float
            196\t242\t3\t881250949\t1
            186\t302\t3.5\t891717742\t0

            """)
        let user = dir.write("ml.user", """
            user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token
            1\t24\tM\ttechnician\t85711
            2\t\tF\tother\t
            """)
        let item = dir.write("ml.item", """
            item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\tvec:float_seq\tscore:float
            1\tToy Story\t1995\tAnimation Children's Comedy\t0.5 1\t4.5
            2\tGoldenEye\t1995\tAction Adventure Thriller\t\t
            """)

        let e = try RecBoleFile(path: inter).parse(eventTypes: types)
        #expect(e.badRows.isEmpty)
        #expect(e.batch.events == [
            Event(user: "196", item: "242", type: .click, timestamp: 881_250_949, value: 3),
            Event(user: "186", item: "302", type: .click, timestamp: 891_717_742, value: 3.5),
        ])
        #expect(e.warnings.count == 1 && e.warnings[0].contains("label"))

        let u = try RecBoleFile(path: user).parse(eventTypes: types)
        #expect(u.batch.users == [
            User(id: "1", categorical: ["gender": "M", "occupation": "technician", "zip_code": "85711"], numeric: ["age": 24]),
            User(id: "2", categorical: ["gender": "F", "occupation": "other"]),
        ])

        let i = try RecBoleFile(path: item).parse(eventTypes: types)
        #expect(i.badRows.isEmpty)
        #expect(i.batch.items == [
            Item(id: "1", categories: ["Animation", "Children's", "Comedy"],
                 numeric: ["vec_0": 0.5, "vec_1": 1, "score": 4.5],
                 categorical: ["movie_title": "Toy Story", "release_year": "1995"]),
            Item(id: "2", categories: ["Action", "Adventure", "Thriller"],
                 categorical: ["movie_title": "GoldenEye", "release_year": "1995"]),
        ])
    }

    @Test func badRowsAndHeaderErrors() throws {
        let inter = """
            user_id:token\titem_id:token\trating:float\ttimestamp:float
            1\t2\t3\t100
            1\t2\t3
            1\t2\tnan\t100
            1\t2\t3\tsoon
            \t2\t3\t100
            """
        let r = try RecBoleFile.parse(Data(inter.utf8), file: "x.inter", kind: .events)
        #expect(r.batch.events.count == 1)
        #expect(r.badRows.map(\.line) == [3, 4, 5, 6])
        #expect(r.badRows[0].reason.contains("expected 4"))
        #expect(r.badRows[1].reason.contains("non-finite number 'nan'"))
        #expect(r.badRows[2].reason.hasPrefix("unparseable timestamp 'soon'"))
        #expect(r.badRows[3].reason.contains("missing user_id"))

        let users = "user_id:token\tage:float\n1\t20\n1\t30\n"
        let d = try RecBoleFile.parse(Data(users.utf8), file: "x.user", kind: .users)
        #expect(d.badRows == [BadRow(file: "x.user", line: 3, reason: "duplicate user id '1' (first seen on line 2)")])

        let noTime = "user_id:token\titem_id:token\n1\t2\n"
        let e = #expect(throws: CascadeError.self) { try RecBoleFile.parse(Data(noTime.utf8), file: "x.inter", kind: .events) }
        #expect(e.flatMap(badInput)?.reason.contains("missing required column 'timestamp'") == true)

        let untyped = "user_id\titem_id\n"
        let e2 = #expect(throws: CascadeError.self) { try RecBoleFile.parse(Data(untyped.utf8), file: "x.inter", kind: .events) }
        #expect(e2.flatMap(badInput)?.reason.contains("name:type") == true)

        for empty in ["", "user_id:token\titem_id:token\ttimestamp:float\n"] {
            let e3 = #expect(throws: CascadeError.self) { try RecBoleFile.parse(Data(empty.utf8), file: "x.inter", kind: .events) }
            #expect(e3.flatMap(badInput)?.file == "x.inter")
        }
    }
}
