import DeskCore
import Foundation

/// The double's account: orders, positions and the rules Alpaca applies to a new
/// order. Pure state; `TradingDouble` serves it over HTTP and the stream.
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

        var isOpen: Bool { ["new", "accepted", "partially_filled", "pending_new"].contains(status) }
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
    }

    var orders: [Order] = []
    var positions: [String: (qty: Decimal, cost: Decimal)] = [:]
    var prices: [String: Decimal] = [:]
    var buyingPower: Decimal

    init(buyingPower: Decimal) { self.buyingPower = buyingPower }

    func order(id: String) -> Order? { orders.first { $0.id == id } }
    func order(clientOrderId: String) -> Order? { orders.first { $0.clientOrderId == clientOrderId } }

    /// Checks a new order as Alpaca would and books it as `accepted`.
    mutating func place(_ request: PlacedOrderRequest, at now: Date) -> Result<Order, Refusal> {
        if let clientOrderId = request.clientOrderId, order(clientOrderId: clientOrderId) != nil {
            return .failure(Refusal(status: 422, code: 40_010_001, message: "client_order_id must be unique"))
        }
        for (name, price) in [("limit_price", request.limitPrice), ("stop_price", request.stopPrice)] {
            if let price, ExactDecimal.significantFractionDigits(price) > (price >= 1 ? 2 : 4) {
                return .failure(
                    Refusal(
                        status: 422, code: 42_210_000,
                        message:
                            "invalid \(name) \(ExactDecimal.plain(price)). sub-penny increment does not fulfill minimum pricing criteria"
                    ))
            }
        }
        if request.type == "market" && (request.limitPrice != nil || request.stopPrice != nil) {
            return .failure(
                Refusal(status: 422, code: 42_210_000, message: "market orders require no stop or limit price"))
        }
        let opposite = request.side == "buy" ? "sell" : "buy"
        if orders.contains(where: { $0.isOpen && $0.symbol == request.symbol && $0.side == opposite }) {
            return .failure(
                Refusal(status: 403, code: 40_310_000, message: "potential wash trade detected. use complex orders"))
        }
        if request.side == "buy" {
            let price = request.limitPrice ?? prices[request.symbol] ?? 0
            let committed = orders.filter { $0.isOpen && $0.side == "buy" }.reduce(Decimal(0)) {
                $0 + $1.remaining * ($1.limitPrice ?? prices[$1.symbol] ?? 0)
            }
            if request.qty * price + committed > buyingPower {
                return .failure(Refusal(status: 403, code: 40_310_000, message: "insufficient buying power"))
            }
        }
        let placed = Order(
            id: UUID().uuidString.lowercased(), clientOrderId: request.clientOrderId ?? UUID().uuidString.lowercased(),
            symbol: request.symbol, qty: request.qty, side: request.side, type: request.type,
            timeInForce: request.timeInForce, limitPrice: request.limitPrice, stopPrice: request.stopPrice,
            status: "accepted", createdAt: now, updatedAt: now)
        orders.append(placed)
        return .success(placed)
    }

    /// The order becomes `new` (routed).
    mutating func route(id: String, at now: Date) -> Event? {
        guard let index = orders.firstIndex(where: { $0.id == id }), orders[index].status == "accepted" else {
            return nil
        }
        orders[index].status = "new"
        orders[index].updatedAt = now
        return Event(event: "new", order: orders[index], at: now)
    }

    /// What of the order can trade at the current price now: nil when it cannot.
    func executablePrice(id: String) -> Decimal? {
        guard let order = order(id: id), order.isOpen, let price = prices[order.symbol] else { return nil }
        switch order.type {
        case "limit":
            guard let limit = order.limitPrice else { return nil }
            return order.side == "buy" ? (price <= limit ? price : nil) : (price >= limit ? price : nil)
        default:
            return price
        }
    }

    /// Fills `qty` of the order at `price`, moving the account's position.
    mutating func fill(id: String, qty: Decimal, price: Decimal, at now: Date) -> Event? {
        guard let index = orders.firstIndex(where: { $0.id == id }), orders[index].isOpen else { return nil }
        let quantity = min(qty, orders[index].remaining)
        guard quantity > 0 else { return nil }
        orders[index].filledQty += quantity
        orders[index].filledNotional += quantity * price
        orders[index].status = orders[index].remaining == 0 ? "filled" : "partially_filled"
        orders[index].updatedAt = now
        let signed = orders[index].side == "buy" ? quantity : -quantity
        var position = positions[orders[index].symbol] ?? (0, 0)
        position.qty += signed
        position.cost += signed * price
        positions[orders[index].symbol] = position.qty == 0 ? nil : position
        return Event(
            event: orders[index].status == "filled" ? "fill" : "partial_fill", order: orders[index],
            executionId: UUID().uuidString.lowercased(), price: price, qty: quantity, positionQty: position.qty, at: now
        )
    }

    /// Cancels an open order; the refusal Alpaca gives otherwise.
    mutating func cancel(id: String, at now: Date) -> Result<Event, Refusal> {
        guard let index = orders.firstIndex(where: { $0.id == id }) else {
            return .failure(Refusal(status: 404, code: 40_410_000, message: "order not found"))
        }
        guard orders[index].isOpen else {
            return .failure(Refusal(status: 422, code: 42_210_000, message: "order is not cancelable"))
        }
        orders[index].status = "canceled"
        orders[index].updatedAt = now
        return .success(Event(event: "canceled", order: orders[index], at: now))
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

    static func parse(_ body: [UInt8]) -> Result<PlacedOrderRequest, TradingBook.Refusal> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return .failure(.init(status: 400, code: 40_010_000, message: "request body format is invalid"))
        }
        func text(_ key: String) -> String? {
            switch object[key] {
            case let string as String: string.isEmpty ? nil : string
            case let number as NSNumber: number.stringValue
            default: nil
            }
        }
        func decimal(_ key: String) -> Result<Decimal?, TradingBook.Refusal> {
            guard let value = text(key) else { return .success(nil) }
            guard case .success(let parsed) = ExactDecimal.parse(value) else {
                return .failure(.init(status: 422, code: 42_210_000, message: "invalid \(key) \(value)"))
            }
            return .success(parsed)
        }
        guard let symbol = text("symbol") else {
            return .failure(.init(status: 422, code: 42_210_000, message: "symbol is required"))
        }
        guard case .success(let qty?) = decimal("qty"), qty > 0 else {
            return .failure(.init(status: 422, code: 40_010_000, message: "qty or notional is required"))
        }
        guard let side = text("side"), ["buy", "sell"].contains(side) else {
            return .failure(.init(status: 422, code: 42_210_000, message: "invalid side"))
        }
        guard let type = text("type"), ["market", "limit", "stop", "stop_limit"].contains(type) else {
            return .failure(.init(status: 422, code: 42_210_000, message: "invalid order type"))
        }
        guard let timeInForce = text("time_in_force") else {
            return .failure(.init(status: 422, code: 42_210_000, message: "time_in_force is required"))
        }
        let limit: Decimal?
        switch decimal("limit_price") {
        case .success(let value): limit = value
        case .failure(let refusal): return .failure(refusal)
        }
        let stop: Decimal?
        switch decimal("stop_price") {
        case .success(let value): stop = value
        case .failure(let refusal): return .failure(refusal)
        }
        return .success(
            PlacedOrderRequest(
                symbol: symbol, qty: qty, side: side, type: type, timeInForce: timeInForce, limitPrice: limit,
                stopPrice: stop, clientOrderId: text("client_order_id")))
    }
}
