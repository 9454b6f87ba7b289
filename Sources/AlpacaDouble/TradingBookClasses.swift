import DeskCore
import Foundation

/// Order classes, trailing stops and replacement in the double's account, by
/// the rules of ALPACA.md §3.1, §3.6 and §9:
///
/// | order | at Alpaca |
/// | --- | --- |
/// | bracket | the entry, then a take-profit limit and a stop loss (stop, or stop-limit with `stop_loss.limit_price`), both `held` until the entry has filled completely, then `new`; one exit's fill cancels the other (a partial fill shrinks it) |
/// | oto | the entry and its one exit (`take_profit` or `stop_loss`), held likewise |
/// | oco | a take-profit limit (the order itself) and its stop loss, both working at once |
/// | trailing_stop | `hwm` the best price since it was placed (a sell's highest, a buy's lowest); `stop_price` hwm − trail_price or hwm × (1 − trail_percent/100) for a sell, mirrored for a buy; triggered, a market order |
/// | replace (`PATCH`) | a new order with the changes and what the old had not filled; the old one `replaced`, `replaced_by` the new |
///
/// Canceling any order of a group cancels the rest.
extension TradingBook {
    /// Why an order's class, trail or extended hours are refused (Alpaca's 422s), nil when they are fine.
    static func classRefusal(_ request: PlacedOrderRequest, marketPrice: Decimal?) -> Refusal? {
        let dayOrGTC = ["day", "gtc"].contains(request.timeInForce)
        if request.type == "trailing_stop" {
            if (request.trailPrice == nil) == (request.trailPercent == nil) {
                return .invalid("trailing_stop orders require exactly one of trail_price or trail_percent")
            }
            if let trail = request.trailPrice ?? request.trailPercent, trail <= 0 {
                return .invalid("trail_price and trail_percent must be positive")
            }
            if !dayOrGTC { return .invalid("trailing_stop orders must be DAY or GTC orders") }
        } else if request.trailPrice != nil || request.trailPercent != nil {
            return .invalid("trail_price and trail_percent are only for trailing_stop orders")
        }
        if request.extendedHours && (request.type != "limit" || request.timeInForce != "day") {
            return .invalid("extended hours order must be DAY limit orders")
        }
        if request.orderClass != "simple" && request.qty != ExactDecimal.rounded(request.qty, scale: 0) {
            return .invalid("fractional orders must be simple orders")
        }
        let buy = request.side == "buy"
        switch request.orderClass {
        case "bracket":
            guard request.takeProfitLimit != nil else {
                return .invalid("bracket orders require take_profit.limit_price")
            }
            guard request.stopLossStop != nil else { return .invalid("bracket orders require stop_loss.stop_price") }
            if !dayOrGTC { return .invalid("bracket orders must be DAY or GTC orders") }
            if request.extendedHours { return .invalid("bracket orders cannot be extended hours orders") }
            if !["market", "limit"].contains(request.type) {
                return .invalid("bracket orders must be market or limit orders")
            }
            return exitPricesRefusal(request, base: request.limitPrice ?? marketPrice, exitsSell: buy)
        case "oto":
            guard (request.takeProfitLimit != nil) != (request.stopLossStop != nil) else {
                return .invalid("oto orders require one of take_profit.limit_price or stop_loss.stop_price")
            }
            if !dayOrGTC { return .invalid("oto orders must be DAY or GTC orders") }
            return exitPricesRefusal(request, base: request.limitPrice ?? marketPrice, exitsSell: buy)
        case "oco":
            guard request.type == "limit" else { return .invalid("oco orders must be limit orders") }
            guard let takeProfit = request.limitPrice ?? request.takeProfitLimit else {
                return .invalid("oco orders require take_profit.limit_price")
            }
            guard request.stopLossStop != nil else { return .invalid("oco orders require stop_loss.stop_price") }
            // The oco is the exit itself: a sell takes profit above, stops below.
            return exitPricesRefusal(request, base: takeProfit, exitsSell: !buy, takeProfitIsBase: true)
        default:
            return nil
        }
    }

    /// A sell exit's take profit must be a cent above the base price and its stop a
    /// cent below (a buy exit's the other way round).
    private static func exitPricesRefusal(
        _ request: PlacedOrderRequest, base: Decimal?, exitsSell: Bool, takeProfitIsBase: Bool = false
    ) -> Refusal? {
        guard let base else { return nil }
        let cent = Decimal(string: "0.01")!
        if !takeProfitIsBase, let takeProfit = request.takeProfitLimit {
            if exitsSell ? takeProfit < base + cent : takeProfit > base - cent {
                return .invalid(
                    "take_profit.limit_price must be \(exitsSell ? ">= base_price + 0.01" : "<= base_price - 0.01")")
            }
        }
        if let stop = request.stopLossStop {
            if exitsSell ? stop > base - cent : stop < base + cent {
                return .invalid(
                    "stop_loss.stop_price must be \(exitsSell ? "<= base_price - 0.01" : ">= base_price + 0.01")")
            }
        }
        return nil
    }

    /// The exits of a new order, each an order of its own (`held`): take profit, then stop loss.
    static func legs(of parent: Order, _ request: PlacedOrderRequest) -> [Order] {
        guard parent.orderClass != "simple" else { return [] }
        let side = parent.orderClass == "oco" ? parent.side : (parent.side == "buy" ? "sell" : "buy")
        func leg(type: String, limit: Decimal?, stop: Decimal?) -> Order {
            var leg = Order(
                id: newId(), clientOrderId: newId(), symbol: parent.symbol, qty: parent.qty, side: side, type: type,
                timeInForce: parent.timeInForce, limitPrice: limit, stopPrice: stop, status: "held",
                createdAt: parent.createdAt, updatedAt: parent.createdAt)
            leg.orderClass = parent.orderClass
            leg.parentId = parent.id
            return leg
        }
        var legs: [Order] = []
        if parent.orderClass != "oco", let limit = request.takeProfitLimit {
            legs.append(leg(type: "limit", limit: limit, stop: nil))
        }
        if let stop = request.stopLossStop {
            let limit = request.stopLossLimit
            legs.append(leg(type: limit == nil ? "stop" : "stop_limit", limit: limit, stop: stop))
        }
        return legs
    }

    /// `order` as Alpaca's JSON; with its exits under `legs` when `nested`.
    func json(_ order: Order, nested: Bool) -> [String: Any] {
        TradingDouble.orderJSON(order, legs: nested ? order.legIds.compactMap { self.order(id: $0) } : nil)
    }

    /// A held exit starts working (`new`).
    mutating func activate(id: String, at now: Date) -> [Event] {
        guard let index = orders.firstIndex(where: { $0.id == id }), orders[index].status == "held" else { return [] }
        orders[index].status = "new"
        orders[index].updatedAt = now
        if orders[index].type == "trailing_stop" { orders[index].setHighWaterMark(prices[orders[index].symbol]) }
        return [Event(event: "new", order: orders[index], at: now)]
    }

    /// Every order of `order`'s group (the parent and its exits), `order` included.
    func group(of order: Order) -> [String] {
        let parent = order.parentId.flatMap { self.order(id: $0) } ?? order
        return [parent.id] + parent.legIds
    }

    /// What a fill changes in the group: a filled entry activates its held exits; an
    /// exit's fill cancels the other exit when complete, and shrinks it otherwise.
    mutating func afterFill(of order: Order, at now: Date) -> [Event] {
        var events: [Event] = []
        let isExit = order.parentId != nil || order.orderClass == "oco"
        if !isExit {
            guard order.status == "filled" else { return [] }
            for legId in order.legIds { events += activate(id: legId, at: now) }
            return events
        }
        for other in group(of: order) where other != order.id {
            guard let index = orders.firstIndex(where: { $0.id == other }), orders[index].isOpen,
                orders[index].status != "held" || order.orderClass == "oco"
            else { continue }
            if order.status == "filled" {
                events.append(end(index, as: "canceled", at: now))
            } else {
                orders[index].qty = orders[index].filledQty + order.remaining
                orders[index].updatedAt = now
            }
        }
        return events
    }

    /// A new trade price: trailing stops of the symbol follow it (their `hwm` and `stop_price`).
    mutating func observe(symbol: String, price: Decimal) {
        prices[symbol] = price
        for index in orders.indices
        where orders[index].symbol == symbol && orders[index].type == "trailing_stop" && orders[index].isOpen
            && orders[index].status != "held" && !orders[index].triggered
        {
            orders[index].setHighWaterMark(price)
        }
    }

    /// Replaces an open order (`PATCH /v2/orders/{id}`): the new order (accepted)
    /// and the old one's `replaced` event, or Alpaca's refusal.
    mutating func replace(id: String, with change: ReplaceRequest, at now: Date) -> Result<(Order, Event), Refusal> {
        guard let index = orders.firstIndex(where: { $0.id == id }) else {
            return .failure(Refusal(status: 404, code: 40_410_000, message: "order not found"))
        }
        let old = orders[index]
        guard old.isOpen else { return .failure(.invalid("unable to replace order in current state")) }
        if let clientOrderId = change.clientOrderId, order(clientOrderId: clientOrderId) != nil {
            return .failure(Refusal(status: 422, code: 40_010_001, message: "client_order_id must be unique"))
        }
        var new = old
        new.id = Self.newId()
        new.clientOrderId = change.clientOrderId ?? Self.newId()
        new.qty = change.qty ?? old.remaining
        new.filledQty = 0
        new.filledNotional = 0
        new.timeInForce = change.timeInForce ?? old.timeInForce
        new.limitPrice = change.limitPrice ?? old.limitPrice
        new.stopPrice = change.stopPrice ?? old.stopPrice
        if let trail = change.trail {
            if old.trailPercent != nil { new.trailPercent = trail } else { new.trailPrice = trail }
        }
        let unchanged =
            new.qty == old.remaining && new.timeInForce == old.timeInForce && new.limitPrice == old.limitPrice
            && new.stopPrice == old.stopPrice && new.trailPrice == old.trailPrice
            && new.trailPercent == old.trailPercent
        if unchanged {
            return .failure(Refusal(status: 403, code: 40_310_000, message: "order parameters are not changed"))
        }
        if new.qty <= 0 { return .failure(.invalid("qty must be positive")) }
        new.status = old.status == "held" ? "held" : "accepted"
        new.replaces = old.id
        new.createdAt = now
        new.updatedAt = now
        if new.type == "trailing_stop", let hwm = old.hwm { new.setHighWaterMark(hwm) }
        orders[index].replacedBy = new.id
        let event = end(index, as: "replaced", at: now)
        // The group follows the new order: its exits, or its place among its parent's.
        for legId in old.legIds {
            if let legIndex = orders.firstIndex(where: { $0.id == legId }) { orders[legIndex].parentId = new.id }
        }
        if let parentId = old.parentId, let parentIndex = orders.firstIndex(where: { $0.id == parentId }) {
            orders[parentIndex].legIds = orders[parentIndex].legIds.map { $0 == old.id ? new.id : $0 }
        }
        orders.append(new)
        return .success((new, event))
    }
}

extension TradingBook.Order {
    /// A trailing stop's best price moves to `price` when it is better (higher for a
    /// sell, lower for a buy), and its stop with it.
    mutating func setHighWaterMark(_ price: Decimal?) {
        guard type == "trailing_stop", let price else { return }
        let sell = side == "sell"
        if let hwm, sell ? price <= hwm : price >= hwm { return }
        hwm = price
        if let trailPrice {
            stopPrice = sell ? price - trailPrice : price + trailPrice
        } else if let trailPercent {
            let offset = price * trailPercent / 100
            stopPrice = sell ? price - offset : price + offset
        }
    }
}

/// A `PATCH /v2/orders/{id}` body: every field optional.
struct ReplaceRequest: Equatable {
    var qty: Decimal?
    var timeInForce: String?
    var limitPrice: Decimal?
    var stopPrice: Decimal?
    var trail: Decimal?
    var clientOrderId: String?

    static func parse(_ body: [UInt8]) -> Result<ReplaceRequest, TradingBook.Refusal> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(.init(status: 400, code: 40_010_000, message: "request body format is invalid"))
        }
        let fields = RequestFields(object)
        do throws(TradingBook.Refusal) {
            return .success(
                ReplaceRequest(
                    qty: try fields.decimal("qty"), timeInForce: fields.text("time_in_force"),
                    limitPrice: try fields.decimal("limit_price"), stopPrice: try fields.decimal("stop_price"),
                    trail: try fields.decimal("trail"), clientOrderId: fields.text("client_order_id")))
        } catch {
            return .failure(error)
        }
    }
}
