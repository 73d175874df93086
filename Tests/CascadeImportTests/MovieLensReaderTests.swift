import CascadeCore
import CascadeImport
import Foundation
import Testing

@Suite struct MovieLensReaderTests {
    let types = EventTypeRegistry()

    @Test func parsesMl100kFiles() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let data = dir.write("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
        // "Café" in ISO Latin 1: 0xE9 is not valid UTF-8 on its own.
        var itemBytes = Array("1|Toy Story (1995)|01-Jan-1995||http://imdb/1|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n".utf8)
        itemBytes += Array("2|Caf".utf8) + [0xE9] + Array("||||1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n".utf8)
        let item = dir.write("u.item", bytes: itemBytes)
        let user = dir.write("u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n")

        let e = try MovieLensFile(path: data).parse(eventTypes: types)
        #expect(e.batch.events == [
            Event(user: "196", item: "242", type: .click, timestamp: 881_250_949, value: 3),
            Event(user: "186", item: "302", type: .click, timestamp: 891_717_742, value: 3),
        ])
        let i = try MovieLensFile(path: item).parse(eventTypes: types)
        #expect(i.badRows.isEmpty)
        #expect(i.batch.items == [
            Item(id: "1", categories: ["Animation", "Children's", "Comedy"], publishedAt: 788_918_400,
                 categorical: ["title": "Toy Story (1995)", "imdb_url": "http://imdb/1"]),
            Item(id: "2", categories: ["unknown"], categorical: ["title": "Café"]),
        ])
        let u = try MovieLensFile(path: user).parse(eventTypes: types)
        #expect(u.batch.users == [
            User(id: "1", categorical: ["gender": "M", "occupation": "technician", "zip": "85711"], numeric: ["age": 24]),
            User(id: "2", categorical: ["gender": "F", "occupation": "other", "zip": "94043"], numeric: ["age": 53]),
        ])
    }

    @Test func parsesMl1mFiles() throws {
        let ratings = try MovieLensFile.parse(Data("1::1193::5::978300760\n1::661::3::978302109\n".utf8), file: "ratings.dat", format: .ratings1m)
        #expect(ratings.batch.events == [
            Event(user: "1", item: "1193", type: .click, timestamp: 978_300_760, value: 5),
            Event(user: "1", item: "661", type: .click, timestamp: 978_302_109, value: 3),
        ])
        let movies = try MovieLensFile.parse(Data("1::Toy Story (1995)::Animation|Children's|Comedy\n2::Star Wars: Episode IV (1977)::Action\n".utf8),
                                             file: "movies.dat", format: .movies1m)
        #expect(movies.batch.items == [
            Item(id: "1", categories: ["Animation", "Children's", "Comedy"], numeric: ["year": 1995], categorical: ["title": "Toy Story (1995)"]),
            Item(id: "2", categories: ["Action"], numeric: ["year": 1977], categorical: ["title": "Star Wars: Episode IV (1977)"]),
        ])
        let users = try MovieLensFile.parse(Data("1::F::1::10::48067\n2::M::56::16::70072\n".utf8), file: "users.dat", format: .users1m)
        #expect(users.batch.users == [
            User(id: "1", categorical: ["gender": "F", "occupation": "K-12 student", "zip": "48067"], numeric: ["age": 1]),
            User(id: "2", categorical: ["gender": "M", "occupation": "self-employed", "zip": "70072"], numeric: ["age": 56]),
        ])
    }

    @Test func badRows() throws {
        let r = try MovieLensFile.parse(Data("1\t2\t3\t4\n1\t2\t3\n1\t2\tx\t4\n1\t2\t3\t-\n".utf8), file: "u.data", format: .ratings100k)
        #expect(r.batch.events.count == 1)
        #expect(r.badRows.map(\.line) == [2, 3, 4])
        #expect(r.badRows[0].reason.contains("expected 4, found 3"))
        #expect(r.badRows[1].reason.contains("unparseable rating 'x'"))
        #expect(r.badRows[2].reason.hasPrefix("unparseable timestamp '-'"))

        let dup = try MovieLensFile.parse(Data("1|20|M|a|1\n1|21|M|a|1\n".utf8), file: "u.user", format: .users100k)
        #expect(dup.badRows.first?.reason == "duplicate user id '1' (first seen on line 1)")

        let e = #expect(throws: CascadeError.self) { try MovieLensFile.parse(Data(), file: "u.data", format: .ratings100k) }
        #expect(e.flatMap(badInput)?.file == "u.data")
    }

    @Test func detectsFormatsByName() {
        #expect(MovieLensFormat.detect(path: "/x/ml-100k/u.data") == .ratings100k)
        #expect(MovieLensFormat.detect(path: "u1.base") == .ratings100k)
        #expect(MovieLensFormat.detect(path: "ml-1m/movies.dat") == .movies1m)
        #expect(MovieLensFormat.detect(path: "movies.csv") == nil)
    }
}
