import DeskCore
import Foundation

/// The double's account: orders, positions and the rules Alpaca applies to a new
/// order. Pure state; `TradingDouble` serves it over HTTP and the stream. Order
/// classes (bracket, oco, oto), trailing stops and replacement are in
/// `TradingBookClasses.swift`.
struct TradingBook {
    struct Order {
        var id: String
        var clientOrderId: String
        var symbol: String
        var qty: Decimal
        var side: String
        var type: String
        var timeInForce: String
        var limitPrice: Decimal?
        var stopPrice: Decimal?
        var status: String
        var filledQty: Decimal = 0
        var filledNotional: Decimal = 0
        var createdAt: Date
        var updatedAt: Date
        /// `simple`, `bracket`, `oco` or `oto` (Alpaca's `order_class`).
        var orderClass = "simple"
        /// An exit's order (the entry; for oco the take-profit limit).
        var parentId: String?
        /// The exits' ids: take profit first, then stop loss.
        var legIds: [String] = []
        var trailPrice: Decimal?
        var trailPercent: Decimal?
        /// A trailing stop's best price since it was placed (high for a sell, low for a buy).
        var hwm: Decimal?
        var extendedHours = false
        /// A stop or stop-limit whose stop was reached: from then on a market or limit order.
        var triggered = false
        var replacedBy: String?
        var replaces: String?

        var isOpen: Bool { ["new", "accepted", "partially_filled", "pending_new", "held"].contains(status) }
        var remaining: Decimal { qty - filledQty }
        var filledAvgPrice: Decimal? {
            filledQty > 0 ? ExactDecimal.rounded(filledNotional / filledQty, scale: 7) : nil
        }
    }

    /// Something that happened to an order, for the trade_updates stream.
    struct Event {
        var event: String
        var order: Order
        var executionId: String?
        var price: Decimal?
        var qty: Decimal?
        var positionQty: Decimal?
        var at: Date
    }

    /// Why a new order is refused: Alpaca's status, code and message.
    struct Refusal: Error, Equatable {
        var status: Int
        var code: Int
        var message: String

        /// A 422 with Alpaca's validation code.
        static func invalid(_ message: String) -> Refusal { Refusal(status: 422, code: 42_210_000, message: message) }
    }

    var orders: [Order] = []
    var positions: [String: (qty: Decimal, cost: Decimal)] = [:]
    var prices: [String: Decimal] = [:]
    /// The best bid and ask a test published, per symbol: orders fill at them when there is one.
    var quotes: [String: (bid: Decimal, ask: Decimal)] = [:]
    var buyingPower: Decimal

    init(buyingPower: Decimal) { self.buyingPower = buyingPower }

    func order(id: String) -> Order? { orders.first { $0.id == id } }
    func order(clientOrderId: String) -> Order? { orders.first { $0.clientOrderId == clientOrderId } }

    /// Checks a new order as Alpaca would and books it as `accepted` (with its
    /// exits, `held` until the entry fills; an oco's stop loss works at once).
    mutating func place(_ request: PlacedOrderRequest, at now: Date) -> Result<Order, Refusal> {
        if let clientOrderId = request.clientOrderId, order(clientOrderId: clientOrderId) != nil {
            return .failure(Refusal(status: 422, code: 40_010_001, message: "client_order_id must be unique"))
        }
        let prices: [(String, Decimal?)] = [
            ("limit_price", request.limitPrice), ("stop_price", request.stopPrice),
            ("take_profit.limit_price", request.takeProfitLimit), ("stop_loss.stop_price", request.stopLossStop),
            ("stop_loss.limit_price", request.stopLossLimit),
        ]
        for (name, price) in prices {
            if let price, ExactDecimal.significantFractionDigits(price) > (price >= 1 ? 2 : 4) {
                return .failure(
                    .invalid(
                        "invalid \(name) \(ExactDecimal.plain(price)). sub-penny increment does not fulfill minimum pricing criteria"
                    ))
            }
        }
        if request.type == "market" && (request.limitPrice != nil || request.stopPrice != nil) {
            return .failure(.invalid("market orders require no stop or limit price"))
        }
        if let refusal = Self.classRefusal(request, marketPrice: self.prices[request.symbol]) {
            return .failure(refusal)
        }
        let opposite = request.side == "buy" ? "sell" : "buy"
        if orders.contains(where: { $0.isOpen && $0.symbol == request.symbol && $0.side == opposite }) {
            return .failure(
                Refusal(status: 403, code: 40_310_000, message: "potential wash trade detected. use complex orders"))
        }
        if request.side == "buy" {
            let price = request.limitPrice ?? self.prices[request.symbol] ?? 0
            let committed = orders.filter { $0.isOpen && $0.side == "buy" }.reduce(Decimal(0)) {
                $0 + $1.remaining * ($1.limitPrice ?? self.prices[$1.symbol] ?? 0)
            }
            if request.qty * price + committed > buyingPower {
                return .failure(Refusal(status: 403, code: 40_310_000, message: "insufficient buying power"))
            }
        }
        var placed = Order(
            id: Self.newId(), clientOrderId: request.clientOrderId ?? Self.newId(),
            symbol: request.symbol, qty: request.qty, side: request.side, type: request.type,
            timeInForce: request.timeInForce, limitPrice: request.limitPrice ?? request.ocoLimit,
            stopPrice: request.stopPrice, status: "accepted", createdAt: now, updatedAt: now,
            orderClass: request.orderClass, trailPrice: request.trailPrice, trailPercent: request.trailPercent,
            extendedHours: request.extendedHours)
        if placed.type == "trailing_stop" { placed.setHighWaterMark(self.prices[placed.symbol]) }
        let legs = Self.legs(of: placed, request)
        placed.legIds = legs.map(\.id)
        orders.append(placed)
        orders += legs
        return .success(placed)
    }

    static func newId() -> String { UUID().uuidString.lowercased() }

    /// The order becomes `new` (routed); so do an oco's exits, which work from the start.
    mutating func route(id: String, at now: Date) -> [Event] {
        guard let index = orders.firstIndex(where: { $0.id == id }), orders[index].status == "accepted" else {
            return []
        }
        orders[index].status = "new"
        orders[index].updatedAt = now
        var events = [Event(event: "new", order: orders[index], at: now)]
        if orders[index].orderClass == "oco" {
            for legId in orders[index].legIds { events += activate(id: legId, at: now) }
        }
        return events
    }

    /// What of the order can trade at the current price now: nil when it cannot.
    /// A stop (and a trailing stop) triggers when the last trade reaches it and is
    /// then a market order; a stop-limit then a limit order. With a quote a buy
    /// trades at the ask and a sell at the bid.
    mutating func executablePrice(id: String) -> Decimal? {
        guard let index = orders.firstIndex(where: { $0.id == id }), orders[index].isOpen,
            orders[index].status != "held", orders[index].status != "accepted",
            let price = prices[orders[index].symbol]
        else { return nil }
        var order = orders[index]
        let buy = order.side == "buy"
        if ["stop", "stop_limit", "trailing_stop"].contains(order.type) && !order.triggered {
            guard let stop = order.stopPrice, buy ? price >= stop : price <= stop else { return nil }
            order.triggered = true
            orders[index] = order
        }
        // A buy takes the ask, a sell the bid, when quoted; the last trade otherwise.
        let quote = quotes[order.symbol]
        let market = (buy ? quote?.ask : quote?.bid) ?? price
        switch order.type {
        case "limit", "stop_limit":
            guard let limit = order.limitPrice else { return nil }
            return buy ? (market <= limit ? market : nil) : (market >= limit ? market : nil)
        default:
            return market
        }
    }

    /// Fills `qty` of the order at `price`, moving the account's position; a
    /// filled entry activates its exits, an exit's fill cancels (or shrinks) the other.
    mutating func fill(id: String, qty: Decimal, price: Decimal, at now: Date) -> [Event] {
        guard let index = orders.firstIndex(where: { $0.id == id }), orders[index].isOpen else { return [] }
        let quantity = min(qty, orders[index].remaining)
        guard quantity > 0 else { return [] }
        orders[index].filledQty += quantity
        orders[index].filledNotional += quantity * price
        orders[index].status = orders[index].remaining == 0 ? "filled" : "partially_filled"
        orders[index].updatedAt = now
        let signed = orders[index].side == "buy" ? quantity : -quantity
        var position = positions[orders[index].symbol] ?? (0, 0)
        position.qty += signed
        position.cost += signed * price
        positions[orders[index].symbol] = position.qty == 0 ? nil : position
        var events = [
            Event(
                event: orders[index].status == "filled" ? "fill" : "partial_fill", order: orders[index],
                executionId: Self.newId(), price: price, qty: quantity, positionQty: position.qty, at: now)
        ]
        events += afterFill(of: orders[index], at: now)
        return events
    }

    /// Cancels an open order and the rest of its group; the refusal Alpaca gives otherwise.
    mutating func cancel(id: String, at now: Date) -> Result<[Event], Refusal> {
        guard let index = orders.firstIndex(where: { $0.id == id }) else {
            return .failure(Refusal(status: 404, code: 40_410_000, message: "order not found"))
        }
        guard orders[index].isOpen else {
            return .failure(.invalid("order is not cancelable"))
        }
        var events = [end(index, as: "canceled", at: now)]
        for other in group(of: orders[index]) where other != id {
            if let otherIndex = orders.firstIndex(where: { $0.id == other }), orders[otherIndex].isOpen {
                events.append(end(otherIndex, as: "canceled", at: now))
            }
        }
        return .success(events)
    }

    /// Ends the order at `index` with `status` (`canceled`, `replaced`).
    mutating func end(_ index: Int, as status: String, at now: Date) -> Event {
        orders[index].status = status
        orders[index].updatedAt = now
        return Event(event: status, order: orders[index], at: now)
    }
}

/// A `POST /v2/orders` body, read the way Alpaca reads it (numbers or strings; null and "" absent).
struct PlacedOrderRequest: Equatable {
    var symbol: String
    var qty: Decimal
    var side: String
    var type: String
    var timeInForce: String
    var limitPrice: Decimal?
    var stopPrice: Decimal?
    var clientOrderId: String?
    var orderClass = "simple"
    var takeProfitLimit: Decimal?
    var stopLossStop: Decimal?
    var stopLossLimit: Decimal?
    var trailPrice: Decimal?
    var trailPercent: Decimal?
    var extendedHours = false

    /// An oco's limit: its `limit_price`, else its take profit's.
    var ocoLimit: Decimal? { orderClass == "oco" ? takeProfitLimit : nil }

    static func parse(_ body: [UInt8]) -> Result<PlacedOrderRequest, TradingBook.Refusal> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(.init(status: 400, code: 40_010_000, message: "request body format is invalid"))
        }
        let fields = RequestFields(object)
        do {
            guard let symbol = fields.text("symbol") else { throw TradingBook.Refusal.invalid("symbol is required") }
            guard let qty = try fields.decimal("qty"), qty > 0 else {
                throw TradingBook.Refusal(status: 422, code: 40_010_000, message: "qty or notional is required")
            }
            guard let side = fields.text("side"), ["buy", "sell"].contains(side) else {
                throw TradingBook.Refusal.invalid("invalid side")
            }
            guard let type = fields.text("type"),
                ["market", "limit", "stop", "stop_limit", "trailing_stop"].contains(type)
            else { throw TradingBook.Refusal.invalid("invalid order type") }
            guard let timeInForce = fields.text("time_in_force") else {
                throw TradingBook.Refusal.invalid("time_in_force is required")
            }
            let orderClass = fields.text("order_class") ?? "simple"
            guard ["simple", "bracket", "oco", "oto"].contains(orderClass) else {
                throw TradingBook.Refusal.invalid("invalid order_class \(orderClass)")
            }
            let takeProfit = fields.object("take_profit")
            let stopLoss = fields.object("stop_loss")
            return .success(
                PlacedOrderRequest(
                    symbol: symbol, qty: qty, side: side, type: type, timeInForce: timeInForce,
                    limitPrice: try fields.decimal("limit_price"), stopPrice: try fields.decimal("stop_price"),
                    clientOrderId: fields.text("client_order_id"), orderClass: orderClass,
                    takeProfitLimit: try takeProfit?.decimal("limit_price", named: "take_profit.limit_price"),
                    stopLossStop: try stopLoss?.decimal("stop_price", named: "stop_loss.stop_price"),
                    stopLossLimit: try stopLoss?.decimal("limit_price", named: "stop_loss.limit_price"),
                    trailPrice: try fields.decimal("trail_price"), trailPercent: try fields.decimal("trail_percent"),
                    extendedHours: fields.bool("extended_hours")))
        } catch let refusal as TradingBook.Refusal {
            return .failure(refusal)
        } catch {
            return .failure(.invalid("\(error)"))
        }
    }
}

/// A JSON object's fields as Alpaca reads them: numbers or strings, `null` and `""` absent.
struct RequestFields {
    let object: [String: Any]

    init(_ object: [String: Any]) { self.object = object }

    func text(_ key: String) -> String? {
        switch object[key] {
        case let string as String: string.isEmpty ? nil : string
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    func decimal(_ key: String, named name: String? = nil) throws(TradingBook.Refusal) -> Decimal? {
        guard let value = text(key) else { return nil }
        guard case .success(let parsed) = ExactDecimal.parse(value) else {
            throw .invalid("invalid \(name ?? key) \(value)")
        }
        return parsed
    }

    func bool(_ key: String) -> Bool {
        switch object[key] {
        case let flag as Bool: flag
        case let text as String: text.lowercased() == "true"
        default: false
        }
    }

    func object(_ key: String) -> RequestFields? {
        (object[key] as? [String: Any]).map(RequestFields.init)
    }
}
