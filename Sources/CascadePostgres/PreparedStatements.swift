import Foundation
import PostgresNIO

/// The statements every recommendation runs, prepared once per connection so the server plans
/// them once (a partitioned `events` costs more to plan than to read a user's last events).
/// Parameters are bound, never spliced into the text.
enum Prepared {
    /// The newest `limit` events of a user, of the named types (all types when `types` is nil),
    /// with the type's name joined in.
    struct LastEvents: PostgresPreparedStatement {
        static let name = "cascade_last_events"
        static let sql = """
            SELECT i.ext_id, t.name, e.ts, e.value, e.scene, e.request, e.position FROM events e
            JOIN items i ON i.idx = e.item_idx JOIN event_types t ON t.code = e.type
            WHERE e.user_idx = (SELECT idx FROM users WHERE ext_id = $1 AND NOT deleted) AND ($3::text[] IS NULL OR t.name = ANY($3))
            ORDER BY e.ts DESC, e.id DESC LIMIT $2
            """
        static let bindingDataTypes: [PostgresDataType] = [.text, .int8, .textArray]
        typealias Row = (String, String, Double, Double?, String?, String?, Int32?)
        var user: String
        var limit: Int
        var types: [String]?

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 3)
            b.append(user)
            b.append(limit)
            if let types { b.append(types) } else { b.appendNull() }
            return b
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// A user's serialized exposure filter, when it has one.
    struct ExposureFilter: PostgresPreparedStatement {
        static let name = "cascade_exposure_filter"
        static let sql = """
            SELECT x.data FROM exposures x JOIN users u ON u.idx = x.user_idx WHERE u.ext_id = $1 AND length(x.data) > 0
            """
        static let bindingDataTypes: [PostgresDataType] = [.text]
        typealias Row = Data
        var user: String

        func makeBindings() throws -> PostgresBindings {
            var b = PostgresBindings(capacity: 1)
            b.append(user)
            return b
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Data.self) }
    }
}
