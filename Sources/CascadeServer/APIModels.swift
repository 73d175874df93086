import CascadeCore
import CascadeEngine
import Foundation

/// JSON bodies of the API (see docs/openapi.json).
public enum APIModels {
    public struct RecommendedItem: Codable, Sendable, Equatable {
        public var item: String
        public var score: Float
        /// Recall channels that proposed it, best rank first.
        public var channels: [String]
        /// With `debug=true`: every stage's score and rank for this item.
        public var trace: ItemTrace? = nil
    }

    public struct StageTiming: Codable, Sendable, Equatable {
        public var stage: String
        public var candidates: Int
        public var ms: Double
    }

    public struct RecommendResponse: Codable, Sendable {
        /// The page's id: send it back as `request` (with the item's `position`) in feedback.
        public var request: String
        public var user: String
        public var scene: String?
        public var items: [RecommendedItem]
        /// True when the user is unknown to the models (popular and trending items).
        public var coldStart: Bool
        public var models: [String: Int]
        public var experiment: String?
        /// Present with `debug=true`: what each stage did.
        public var debug: Debug?
    }

    public struct Debug: Codable, Sendable {
        public var merged: Int
        public var stages: [StageTiming]
        public var totalMs: Double
        public var overrides: [String: String]
        /// Stages skipped because they failed (the page was still served).
        public var degraded: [String] = []
    }

    /// One feedback event; `timestamp` defaults to the time the server receives it.
    public struct FeedbackEvent: Codable, Sendable {
        public var user: String
        public var item: String
        public var type: String?
        public var timestamp: Double?
        public var value: Double?
        public var scene: String?
        /// The `request` id of the page the event answers (checked against the served-page log).
        public var request: String?
        /// The item's 0-based slot on that page.
        public var position: Int?
    }

    public struct FeedbackRequest: Codable, Sendable {
        public var events: [FeedbackEvent]
    }

    public struct FeedbackResponse: Codable, Sendable {
        /// Events stored durably (all of the batch: a batch is accepted whole or not at all).
        public var accepted: Int
    }

    public struct SimilarResponse: Codable, Sendable {
        public var item: String
        public var method: String
        public var items: [RecommendedItem]
    }

    public struct Health: Codable, Sendable {
        public var status: String
        public var models: [String: Int]
        public var users: Int
        public var items: Int
        public var uptimeSeconds: Double
    }

    public struct Deleted: Codable, Sendable {
        public var deleted: Bool
    }
}
