import CascadeCore
import Foundation
import CascadeExperiment
import Hummingbird

extension CascadeAPI {
    func addSystemRoutes(_ router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in
            let r = self.models.recommender
            return try self.json(APIModels.Health(status: "ok", models: self.models.versions, users: r.users.count,
                                                  items: r.items.count, uptimeSeconds: Date().timeIntervalSince(self.metrics.started)))
        }
        router.get("/api/experiments") { _, _ in
            guard let c = self.models.experiments else {
                return try self.json(ExperimentConfig(layers: []))
            }
            return try self.json(c)
        }
        router.put("/api/experiments") { request, _ in
            let data = try await self.bodyData(request, expecting: "an experiment config (JSON)")
            return try self.json(try self.models.putExperiments(data))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.render() + self.pageLogMetrics())))
        }
    }
}
