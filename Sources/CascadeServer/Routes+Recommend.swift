import CascadeCore
import CascadeEngine
import CascadeRecall
import Foundation
import Hummingbird

extension CascadeAPI {
    func addRecommendRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/api/recommend/:user") { request, context in
            try await self.blocking { try self.recommend(request, context) }
        }
        router.get("/api/items/:id/similar") { request, context in
            try await self.blocking { try self.similar(request, context) }
        }
    }

    /// `GET /api/recommend/{user}?n=&scene=&debug=`: one page for the user, filtered by what they
    /// acted on, disliked or were shown within the exposure window; hidden items never appear.
    /// An unknown user gets the cold-start page (popular and trending), not an error. Every page
    /// gets a request id and enters the served-page log (``PageLog``).
    func recommend(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        let user = try parameter("user", context)
        let n = try intQuery("n", request, default: 10, range: 1...config.maxN)
        let debug = try boolQuery("debug", request)
        let scene: String? = request.uri.queryParameters.get("scene").map { String($0) }
        if let s = scene, s.isEmpty || s.utf8.count > 64 { throw APIError.invalid("scene must be 1 to 64 bytes") }
        let (recommender, assignment) = try models.recommender(for: user, scene: scene)
        let start = DispatchTime.now().uptimeNanoseconds
        // A store read that fails degrades the page (no history or no exposure filter), never the request.
        var history: [HistoryEvent] = []
        do { history = try recommender.history(of: user, store: store) } catch {
            metrics.degradedStage("history")
            logger.warning("history unavailable; serving without it", metadata: ["user": "\(user)", "error": "\(error)"])
        }
        var exposure: ExposureFilter?
        do { exposure = try store.exposureFilter(user: user).map { try ExposureFilter(serialized: $0) } } catch {
            metrics.degradedStage("exposure")
            logger.warning("exposure filter unavailable; serving without it", metadata: ["user": "\(user)", "error": "\(error)"])
        }
        // A user deleted since the models were trained is served as a stranger.
        var known = true
        do { known = try !recommender.isDeleted(user: user, history: history, store: store) } catch {
            metrics.degradedStage("history")
        }
        let result = recommender.run(user: user, history: history, n: n, now: Date().timeIntervalSince1970,
                                     exposure: exposure, scene: scene, known: known, counters: store, trace: debug)
        let totalMs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        for c in result.channels { metrics.stage("recall/\(c.channel)", milliseconds: c.microseconds / 1000) }
        metrics.stage("funnel", milliseconds: totalMs)
        let ids = recommender.items.ids
        for st in result.stages { metrics.stage(st.stage, milliseconds: st.microseconds / 1000) }
        for d in result.degraded { metrics.degradedStage(d) }
        let items = result.recommendations.map {
            APIModels.RecommendedItem(item: ids[Int($0.item)], score: $0.score, channels: $0.channels, trace: debug ? $0.trace : nil)
        }
        let stages = result.channels.map { APIModels.StageTiming(stage: "recall/\($0.channel)", candidates: $0.candidates, ms: $0.microseconds / 1000) }
            + result.stages.map { APIModels.StageTiming(stage: $0.stage, candidates: $0.candidatesOut, ms: $0.microseconds / 1000) }
        let requestId = UUID().uuidString.lowercased()
        let propensities = result.recommendations.compactMap(\.propensity)
        pageLog?.offer(ServedPage(request: requestId, user: user, timestamp: Date().timeIntervalSince1970, items: items.map(\.item),
                                  propensities: propensities.count == items.count && !items.isEmpty ? propensities : nil,
                                  experiment: assignment.map(\.tag), scene: scene, models: models.versions))
        let body = APIModels.RecommendResponse(
            request: requestId, user: user, scene: scene, items: items, coldStart: !known || recommender.users.index(of: user) == nil,
            models: models.versions, experiment: assignment.map(\.tag),
            debug: debug ? APIModels.Debug(merged: result.merged, stages: stages, totalMs: totalMs,
                                           overrides: assignment?.overrides ?? [:], degraded: result.degraded) : nil)
        return try json(body)
    }

    /// `GET /api/items/{id}/similar?n=`: item-CF neighbours when that channel is trained, else the
    /// nearest items by cosine of a vector channel's item vectors; unavailable items left out.
    func similar(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        let id = try parameter("id", context)
        let n = try intQuery("n", request, default: 10, range: 1...config.maxN)
        let r = models.recommender
        guard let index = r.items.index(of: id) else {
            if try store.item(id) != nil {
                return try json(APIModels.SimilarResponse(item: id, method: "none", items: []))
            }
            throw APIError.notFound("unknown item '\(id)'")
        }
        let (method, list) = r.similarItems(to: index, n: n)
        return try json(APIModels.SimilarResponse(item: id, method: method, items: list.map {
            APIModels.RecommendedItem(item: r.items.ids[Int($0.item)], score: $0.score, channels: [method])
        }))
    }

    func validateExternalId(_ id: String, kind: String) throws {
        do { try User(id: id).validate() } catch {
            throw APIError.invalid("\(kind) id: \(error.description.replacingOccurrences(of: "invalid input: ", with: ""))")
        }
    }
}
