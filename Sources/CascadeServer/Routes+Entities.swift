import CascadeCore
import Foundation
import Hummingbird

/// Bodies of `PUT /api/users/{id}` and `PUT /api/items/{id}`: every field optional (the id
/// comes from the path; a body `id` must equal it).
struct UserBody: Decodable {
    var id: String?
    var categorical: [String: String]?
    var numeric: [String: Double]?
    var tags: [String]?
    var location: GeoPoint?
}

struct ItemBody: Decodable {
    var id: String?
    var categories: [String]?
    var tags: [String]?
    var author: String?
    var location: GeoPoint?
    var publishedAt: Double?
    var numeric: [String: Double]?
    var categorical: [String: String]?
    var hidden: Bool?
}

extension CascadeAPI {
    func addEntityRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/api/users/:id") { _, context in
            let id = try self.parameter("id", context)
            guard let u = try self.store.user(id) else { throw APIError.notFound("unknown user '\(id)'") }
            return try self.json(u)
        }
        router.put("/api/users/:id") { request, context in
            let id = try self.parameter("id", context)
            let body = try await self.decode(UserBody.self, from: request)
            if let b = body.id, !Identifier.canonical(b).utf8.elementsEqual(id.utf8) { throw APIError.invalid("body id '\(b)' differs from the path's '\(id)'") }
            let user = User(id: id, categorical: body.categorical ?? [:], numeric: body.numeric ?? [:],
                            tags: body.tags ?? [], location: body.location)
            try user.validate()
            try self.store.upsertUsers([user])
            return try self.json(user)
        }
        router.delete("/api/users/:id") { _, context in
            let id = try self.parameter("id", context)
            guard try self.store.deleteUser(id) else { throw APIError.notFound("unknown user '\(id)'") }
            return try self.json(APIModels.Deleted(deleted: true))
        }
        router.get("/api/items/:id") { _, context in
            let id = try self.parameter("id", context)
            guard let i = try self.store.item(id) else { throw APIError.notFound("unknown item '\(id)'") }
            return try self.json(i)
        }
        router.put("/api/items/:id") { request, context in
            let id = try self.parameter("id", context)
            let body = try await self.decode(ItemBody.self, from: request)
            if let b = body.id, !Identifier.canonical(b).utf8.elementsEqual(id.utf8) { throw APIError.invalid("body id '\(b)' differs from the path's '\(id)'") }
            let item = Item(id: id, categories: body.categories ?? [], tags: body.tags ?? [], author: body.author,
                            location: body.location, publishedAt: body.publishedAt, numeric: body.numeric ?? [:],
                            categorical: body.categorical ?? [:], hidden: body.hidden ?? false)
            try item.validate()
            try self.store.upsertItems([item])
            self.models.setUnavailable(item: id, item.hidden)
            return try self.json(item)
        }
        router.delete("/api/items/:id") { _, context in
            let id = try self.parameter("id", context)
            guard try self.store.deleteItem(id) else { throw APIError.notFound("unknown item '\(id)'") }
            self.models.setUnavailable(item: id, true)
            return try self.json(APIModels.Deleted(deleted: true))
        }
        router.post("/api/items/:id/hide") { _, context in
            try self.setHidden(try self.parameter("id", context), true)
        }
        router.post("/api/items/:id/unhide") { _, context in
            try self.setHidden(try self.parameter("id", context), false)
        }
    }

    /// Hides or unhides an item: stored first, then applied to the models being served, so the
    /// very next request sees it.
    func setHidden(_ id: String, _ hidden: Bool) throws -> Response {
        try store.setItemHidden(id, hidden: hidden)
        models.setUnavailable(item: id, hidden)
        guard let item = try store.item(id) else { throw APIError.notFound("unknown item '\(id)'") }
        return try json(item)
    }
}
