import DeskCore
import Foundation
import Hummingbird
import HummingbirdWebSocket

extension TradingDouble {
    /// `GET /v2/corporate_actions/announcements?ca_types=&since=&until=` as Alpaca answers it, and
    /// `POST /_double/corporate-actions` with one `--corporate-actions` line, which the account
    /// undergoes at once as Alpaca applies it: a split multiplies positions (cost unchanged, a new
    /// fraction paid in cash), divides the price and cancels the symbol's open orders; a dividend
    /// pays cash per share held.
    func addCorporateActionRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.get("v2/corporate_actions/announcements") { request, context in
            try await self.guarded(request, context) { received in
                let query = received.uri.queryParameters
                let types = Set((query.get("ca_types") ?? "").lowercased().split(separator: ",").map(String.init))
                guard !types.isEmpty, let since = TradingDay(query.get("since") ?? ""),
                    let until = TradingDay(query.get("until") ?? "")
                else {
                    return Self.error(422, 42_210_000, "ca_types, since and until are required")
                }
                let announcements = self.state.withLock { $0.market.announcements }.filter {
                    types.contains($0.action.type) && since <= $0.action.exDate && $0.action.exDate <= until
                }
                return Self.reply(200, announcements.map { Self.announcementJSON(id: $0.id, action: $0.action) })
            }
        }
        router.post("_double/corporate-actions") { request, context in
            let body = try await request.body.collect(upTo: 1 << 16)
            let actions: [CorporateAction]
            do {
                actions = try CorporateActionFile.parse(Array(body.readableBytesView), path: "body")
            } catch {
                throw HTTPError(.badRequest, message: "\(error)")
            }
            for action in actions { await self.undergo(action) }
            return Response(status: .ok)
        }
    }

    /// The account undergoes `action` now, and announces it.
    func undergo(_ action: CorporateAction) async {
        let canceled = state.withLock { state -> [TradingBook.Event] in
            state.market.announcements.append((UUID().uuidString.lowercased(), action))
            let symbol = action.symbol
            let price = state.book.prices[symbol]
            if let held = state.book.positions[symbol] {
                let mark = price.map(action.adjustedPrice)
                let effect = action.effect(on: Position(qty: held.qty, costBasis: held.cost), price: mark)
                state.book.buyingPower += effect.cash
                state.book.positions[symbol] =
                    effect.after.qty == 0 ? nil : (effect.after.qty, effect.after.costBasis)
            }
            guard case .split = action.kind else { return [] }
            if let price { state.book.prices[symbol] = action.adjustedPrice(price) }
            let open = state.book.orders.filter { $0.isOpen && $0.symbol == symbol }.map(\.id)
            return open.flatMap { (try? state.book.cancel(id: $0, at: Date()).get()) ?? [] }
        }
        await broadcast(canceled)
    }

    /// An announcement as Alpaca writes it.
    static func announcementJSON(id: String, action: CorporateAction) -> [String: Any] {
        var json: [String: Any] = [
            "id": id, "corporate_action_id": "CA" + id.prefix(8), "ca_type": action.type,
            "initiating_symbol": action.symbol, "target_symbol": action.symbol,
            "declaration_date": action.exDate.adding(days: -14).description, "ex_date": action.exDate.description,
            "record_date": action.exDate.adding(days: 1).description,
        ]
        switch action.kind {
        case .split(let ratio):
            json["ca_sub_type"] = ratio >= 1 ? "forward_split" : "reverse_split"
            json["old_rate"] = "1"
            json["new_rate"] = ExactDecimal.plain(ratio)
            json["payable_date"] = action.exDate.description
            json["cash"] = "0"
        case .dividend(let amount, let payable):
            json["ca_sub_type"] = "cash"
            json["cash"] = ExactDecimal.plain(amount)
            json["old_rate"] = "1"
            json["new_rate"] = "1"
            json["payable_date"] = payable.description
        }
        return json
    }
}
