import CascadeCore
import Foundation
import GRDB

/// Users and items: stored as JSON documents beside their dense index.
extension SQLiteStore {
    func upsertUsers(_ users: [User], db: Database, interner: inout Interner) throws {
        let stmt = try db.cachedStatement(sql: "UPDATE users SET data = ?, deleted = 0 WHERE idx = ?")
        for u in users {
            let doc = EntityJSON.user(u)
            if let idx = try interner.existing(u.id, db: db) {
                try stmt.execute(arguments: [doc, Int(idx)])
            } else {
                _ = try interner.insert(u.id, db: db, data: doc, hidden: false)
            }
        }
    }

    func upsertItems(_ items: [Item], db: Database, interner: inout Interner) throws {
        let stmt = try db.cachedStatement(sql: "UPDATE items SET data = ?, hidden = ?, deleted = 0 WHERE idx = ?")
        for it in items {
            let doc = EntityJSON.item(it)
            if let idx = try interner.existing(it.id, db: db) {
                try stmt.execute(arguments: [doc, it.hidden ? 1 : 0, Int(idx)])
            } else {
                _ = try interner.insert(it.id, db: db, data: doc, hidden: it.hidden)
            }
        }
    }

    public func upsertUsers(_ users: [User]) throws {
        for u in users { try u.validate() }
        try StoreSupport.validateUnique(users, id: \.id, kind: "user")
        let cache = caches()
        let ui = try write("upserting \(users.count) users") { db in
            var ui = try Interner(db: db, table: "users", cache: cache.users)
            try upsertUsers(users, db: db, interner: &ui)
            return ui
        }
        publish(ui)
    }

    public func upsertItems(_ items: [Item]) throws {
        for i in items { try i.validate() }
        try StoreSupport.validateUnique(items, id: \.id, kind: "item")
        let cache = caches()
        let ii = try write("upserting \(items.count) items") { db in
            var ii = try Interner(db: db, table: "items", cache: cache.items)
            try upsertItems(items, db: db, interner: &ii)
            return ii
        }
        publish(ii)
    }

    public func deleteUser(_ id: String) throws -> Bool {
        try write("deleting user \(id)") { db in
            try db.execute(sql: "UPDATE users SET data = NULL, deleted = 1 WHERE ext_id = ? AND deleted = 0", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func deleteItem(_ id: String) throws -> Bool {
        try write("deleting item \(id)") { db in
            try db.execute(sql: "UPDATE items SET data = NULL, deleted = 1 WHERE ext_id = ? AND deleted = 0", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func setItemHidden(_ id: String, hidden: Bool) throws {
        try write("hiding item \(id)") { db in
            guard let text = try String.fetchOne(db, sql: "SELECT data FROM items WHERE ext_id = ? AND deleted = 0", arguments: [id]),
                  var item = try StoreSupport.decode(Item.self, text, what: "item \(id)")
            else {
                // An item known only from events has no document yet: give it one.
                guard try Int.fetchOne(db, sql: "SELECT idx FROM items WHERE ext_id = ? AND deleted = 0", arguments: [id]) != nil else {
                    throw CascadeError.notFound("item \(id)")
                }
                let item = Item(id: id, hidden: hidden)
                try db.execute(sql: "UPDATE items SET data = ?, hidden = ? WHERE ext_id = ?", arguments: [EntityJSON.item(item), hidden ? 1 : 0, id])
                return
            }
            item.hidden = hidden
            try db.execute(sql: "UPDATE items SET data = ?, hidden = ? WHERE ext_id = ?", arguments: [EntityJSON.item(item), hidden ? 1 : 0, id])
        }
    }

    public func user(_ id: String) throws -> User? {
        try read("reading user \(id)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT data FROM users WHERE ext_id = ? AND deleted = 0", arguments: [id]) else { return nil }
            return try StoreSupport.decode(User.self, row[0], what: "user \(id)") ?? User(id: id)
        }
    }

    public func item(_ id: String) throws -> Item? {
        try read("reading item \(id)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT data, hidden FROM items WHERE ext_id = ? AND deleted = 0", arguments: [id]) else { return nil }
            var item = try StoreSupport.decode(Item.self, row[0], what: "item \(id)") ?? Item(id: id)
            item.hidden = (row[1] as Int) != 0
            return item
        }
    }

    public func allUsers() throws -> [User] {
        try read("listing users") { db in
            var out: [User] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT ext_id, data FROM users WHERE deleted = 0 ORDER BY idx")
            let decoder = JSONDecoder()
            while let row = try rows.next() {
                let id: String = row[0]
                if let text: String = row[1] {
                    do { out.append(try decoder.decode(User.self, from: Data(text.utf8))) } catch {
                        throw CascadeError.corrupt("user \(id): stored document does not decode: \(error)")
                    }
                } else {
                    out.append(User(id: id))
                }
            }
            return out
        }
    }

    public func allItems() throws -> [Item] {
        try read("listing items") { db in
            var out: [Item] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT ext_id, data, hidden FROM items WHERE deleted = 0 ORDER BY idx")
            let decoder = JSONDecoder()
            while let row = try rows.next() {
                let id: String = row[0]
                var item = Item(id: id)
                if let text: String = row[1] {
                    do { item = try decoder.decode(Item.self, from: Data(text.utf8)) } catch {
                        throw CascadeError.corrupt("item \(id): stored document does not decode: \(error)")
                    }
                }
                item.hidden = (row[2] as Int) != 0
                out.append(item)
            }
            return out
        }
    }

    public func unavailableItems() throws -> Set<Int32> {
        try read("listing hidden items") { db in
            Set(try Int.fetchAll(db, sql: "SELECT idx FROM items WHERE hidden = 1 OR deleted = 1").map { Int32($0) })
        }
    }

    public func idSnapshot() throws -> (users: IdMap, items: IdMap) {
        try reloadCaches()
        let c = caches()
        return (c.users, c.items)
    }

    public func eventTypes() throws -> EventTypeRegistry {
        try read("reading event types") { db in try Self.loadRegistry(db) }
    }

    public func registerEventType(_ type: EventType, weight: Float) throws {
        let reg = try write("registering event type \(type.name)") { db in
            var reg = try Self.loadRegistry(db)
            let code = try reg.register(type, weight: weight)
            try db.execute(sql: "INSERT INTO event_types(code, name, weight) VALUES (?, ?, ?) ON CONFLICT(code) DO UPDATE SET weight = excluded.weight",
                           arguments: [Int(code), type.name, Double(weight)])
            return reg
        }
        lock.withLock { registry = reg }
    }

    public func counts() throws -> StoreCounts {
        let reg = try eventTypes()
        return try read("counting") { db in
            let users = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM users WHERE deleted = 0") ?? 0
            let items = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM items WHERE deleted = 0") ?? 0
            var byType: [String: Int] = [:]
            var total = 0
            for row in try Row.fetchAll(db, sql: "SELECT type, COUNT(*) FROM events GROUP BY type") {
                let n: Int = row[1]
                byType[reg.name(of: UInt8(row[0] as Int))] = n
                total += n
            }
            return StoreCounts(users: users, items: items, events: total, eventsByType: byType)
        }
    }
}
