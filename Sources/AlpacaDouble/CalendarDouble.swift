import DeskCore
import Foundation
import Hummingbird
import HummingbirdWebSocket

/// What the double publishes about the market beside its orders: the exchange
/// calendar (the NYSE rules, less the days a test closes) and corporate actions.
struct PublishedMarket: Sendable {
    /// Days a test closed on top of the rules (`POST /_double/calendar`).
    var closedDays: Set<TradingDay> = []
    /// The corporate actions the account has had, under their announcement ids (`CorporateActionsDouble.swift`).
    var announcements: [(id: String, action: CorporateAction)] = []
}

extension TradingDouble {
    /// `GET /v2/calendar?start=&end=` as Alpaca answers it, and `POST /_double/calendar`
    /// (`{"closed": ["2026-12-07"]}`) to close days beyond the rules.
    func addCalendarRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.get("v2/calendar") { request, context in
            try await self.guarded(request, context) { received in
                let query = received.uri.queryParameters
                let rules = SessionCalendar()
                let today = rules.day(of: Date())
                guard let start = TradingDay(query.get("start") ?? today.description),
                    let end = TradingDay(query.get("end") ?? today.adding(days: 30).description)
                else { return Self.error(422, 42_210_000, "start and end are dates: 2026-01-02") }
                let closed = self.state.withLock { $0.market.closedDays }
                let days = rules.sessions(from: start, through: end, limit: 4000).filter { !closed.contains($0.day) }
                return Self.reply(
                    200,
                    days.map {
                        [
                            "date": $0.day.description, "open": $0.hours.open.description,
                            "close": $0.hours.close.description,
                            "session_open": "0400", "session_close": "2000",
                        ]
                    })
            }
        }
        router.post("_double/calendar") { request, context in
            let body = try await request.decode(as: [String: [String]].self, context: context)
            let days = (body["closed"] ?? []).compactMap { TradingDay($0) }
            guard days.count == body["closed"]?.count else {
                throw HTTPError(.badRequest, message: #"expected {"closed": ["2026-12-07"]}"#)
            }
            self.state.withLock { $0.market.closedDays.formUnion(days) }
            return Response(status: .ok)
        }
    }
}
