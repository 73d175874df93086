import CascadeCore
import CascadeEngine
import Foundation
import Hummingbird

extension CascadeAPI {
    func addFeedbackRoutes(_ router: Router<BasicRequestContext>) {
        router.post("/api/feedback") { request, context in
            try await self.feedback(request, context)
        }
    }

    /// `POST /api/feedback` with `{"events": [...]}`: the batch is validated whole (every event's
    /// user and item ids, a registered type, finite timestamp and value, a known item) and then
    /// appended in one durable transaction; the 200 answer is sent only after the commit.
    /// Impressions then enter the users' exposure filters. A batch with any bad event is refused
    /// whole with the event's index and reason, and nothing is stored. Unknown users are created
    /// (new users arrive with their first event); unknown items are refused (add them first
    /// with `PUT /api/items/{id}`). An event naming a `request` must answer a page this
    /// deployment served (the served-page log), and its `position` must be on that page.
    func feedback(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await decode(APIModels.FeedbackRequest.self, from: request)
        return try await blocking { try self.record(body) }
    }

    /// The length of the page served with `request`, looked up once per batch.
    private func pageLength(_ request: String, log: PageLog, cache: inout [String: Int?]) throws -> Int? {
        if let known = cache[request] { return known }
        let n = try log.pageLength(request: request)
        cache[request] = n
        return n
    }

    /// Validates and stores one decoded batch (blocking: runs on the worker threads).
    func record(_ body: APIModels.FeedbackRequest) throws -> Response {
        guard !body.events.isEmpty else { throw APIError.invalid("events is empty: send at least one event") }
        guard body.events.count <= config.maxBatch else {
            throw APIError.tooLarge("\(body.events.count) events in one batch; at most \(config.maxBatch)")
        }
        let now = Date().timeIntervalSince1970
        let recommender = models.recommender
        var registry = recommender.registry
        var events: [Event] = []
        events.reserveCapacity(body.events.count)
        var lengths: [String: Int?] = [:]
        for (k, e) in body.events.enumerated() {
            let type = EventType(e.type ?? EventType.click.name)
            if registry.code(of: type) == nil {
                registry = try store.eventTypes()
                guard registry.code(of: type) != nil else {
                    throw APIError.invalid("events[\(k)].type: unknown event type '\(type.name)'; known: \(registry.entries.map(\.name).joined(separator: ", "))")
                }
            }
            let event = Event(user: Identifier.canonical(e.user), item: Identifier.canonical(e.item), type: type,
                              timestamp: e.timestamp ?? now, value: e.value, scene: e.scene, request: e.request, position: e.position)
            do { try event.validate() } catch {
                throw APIError.invalid("events[\(k)]: \(error.description.replacingOccurrences(of: "invalid input: ", with: ""))")
            }
            // The page it answers must have been served, and the slot must be on it.
            if let r = event.request, let pageLog {
                guard let length = try pageLength(r, log: pageLog, cache: &lengths) else {
                    throw APIError.invalid("events[\(k)].request: unknown request id '\(r)': no page was served with it")
                }
                if let p = event.position, p >= length {
                    throw APIError.invalid("events[\(k)].position: \(p) is outside its page (request '\(r)' showed \(length) items, positions 0...\(length - 1))")
                }
            }
            if recommender.items.index(of: event.item) == nil, try store.item(event.item) == nil {
                throw APIError.notFound("events[\(k)].item: unknown item '\(event.item)'; add it with PUT /api/items/{id} first")
            }
            events.append(event)
        }
        // No lock here: the store appends atomically and updates each user's exposure filter in
        // one transaction (row-locked on PostgreSQL), so concurrent batches, on this node or on
        // others sharing the store, never lose each other's impressions.
        try Feedback.record(events, store: store, config: config.exposure)
        if let exp = models.experiments {
            armActivity.record(events.map { ($0.user, $0.type.name, $0.timestamp) }, config: exp)
        }
        metrics.eventsRecorded(Dictionary(events.map { ($0.type.name, 1) }, uniquingKeysWith: +))
        return try json(APIModels.FeedbackResponse(accepted: events.count))
    }
}
