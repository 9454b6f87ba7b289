import DeskBroker
import DeskCore
import Foundation

/// A decimal that Alpaca sends as a string (`"145.5"`) and some clients as a
/// JSON number: read exactly from its text either way, never through a Double's
/// arithmetic.
public struct WireDecimal: Codable, Sendable, Equatable {
    public var value: Decimal

    public init(_ value: Decimal) { self.value = value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let string = try? container.decode(String.self) {
            text = string
        } else {
            // A JSON number: its shortest text is what the sender wrote.
            text = String(describing: try container.decode(Double.self))
        }
        guard case .success(let value) = ExactDecimal.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a decimal: \(text)")
        }
        self.value = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(ExactDecimal.plain(value))
    }
}

/// An `Order` in Alpaca's JSON (the body of `POST /v2/orders`): decimals as
/// strings, and the desk's order id as `client_order_id`, so a retry can never
/// create a second order. An order with exits is ONE request in Alpaca's shape:
/// `order_class` with `take_profit.limit_price` and `stop_loss.stop_price`
/// (`stop_loss.limit_price` for a stop-limit exit); a trailing stop carries its
/// `trail_price` or `trail_percent`; a notional order its quantity (admission
/// turned the amount into one). Fields the order does not use are left out.
public struct AlpacaOrderBody: Codable, Sendable, Equatable {
    /// `take_profit`: the take-profit exit's limit.
    public struct TakeProfit: Codable, Sendable, Equatable {
        public var limit_price: String
    }

    /// `stop_loss`: the stop-loss exit's stop, and its limit when it is a stop-limit.
    public struct StopLoss: Codable, Sendable, Equatable {
        public var stop_price: String
        public var limit_price: String?
    }

    public var symbol: String
    public var qty: String
    public var side: String
    public var type: String
    public var time_in_force: String
    public var limit_price: String?
    public var stop_price: String?
    public var trail_price: String?
    public var trail_percent: String?
    /// Sent only when true.
    public var extended_hours: Bool?
    /// Sent only for bracket, oco and oto.
    public var order_class: String?
    public var take_profit: TakeProfit?
    public var stop_loss: StopLoss?
    public var client_order_id: String

    /// The body for `order` (and its `legs`).
    public init(_ order: Order) {
        symbol = order.terms.symbol
        qty = ExactDecimal.plain(order.terms.qty)
        side = order.terms.side.rawValue
        type = order.terms.type.rawValue
        time_in_force = order.terms.timeInForce.rawValue
        limit_price = order.terms.limitPrice.map(ExactDecimal.plain)
        stop_price = order.terms.stopPrice.map(ExactDecimal.plain)
        trail_price = order.terms.trailPrice.map(ExactDecimal.plain)
        trail_percent = order.terms.trailPercent.map(ExactDecimal.plain)
        extended_hours = order.terms.extendedHours ? true : nil
        client_order_id = order.id
        guard order.orderClass != .simple else { return }
        order_class = order.orderClass.rawValue
        for leg in order.legs {
            switch leg.terms.type {
            case .limit:
                take_profit = leg.terms.limitPrice.map { TakeProfit(limit_price: ExactDecimal.plain($0)) }
            case .stop, .stopLimit:
                stop_loss = leg.terms.stopPrice.map {
                    StopLoss(
                        stop_price: ExactDecimal.plain($0), limit_price: leg.terms.limitPrice.map(ExactDecimal.plain))
                }
            case .market, .trailingStop:
                break
            }
        }
        // An oco is the take profit itself.
        if order.orderClass == .oco, let limit = order.terms.limitPrice {
            take_profit = TakeProfit(limit_price: ExactDecimal.plain(limit))
        }
    }
}

/// The body of `PATCH /v2/orders/{id}` replacing an order by `order`: its
/// quantity, time in force, prices and trail, under the new order's id as
/// `client_order_id` (so the new order is the desk's).
public struct AlpacaReplaceBody: Codable, Sendable, Equatable {
    public var qty: String
    public var time_in_force: String
    public var limit_price: String?
    public var stop_price: String?
    /// A trailing stop's new trail (in the mode it was placed with).
    public var trail: String?
    public var client_order_id: String

    /// The replacement `order` in Alpaca's shape.
    public init(_ order: Order) {
        qty = ExactDecimal.plain(order.terms.qty)
        time_in_force = order.terms.timeInForce.rawValue
        limit_price = order.terms.limitPrice.map(ExactDecimal.plain)
        // A trailing stop's stop moves by itself: only its trail is Alpaca's to change.
        stop_price = order.terms.type == .trailingStop ? nil : order.terms.stopPrice.map(ExactDecimal.plain)
        trail = (order.terms.trailPrice ?? order.terms.trailPercent).map(ExactDecimal.plain)
        client_order_id = order.id
    }
}

/// The fields of Alpaca's Order object the desk follows.
public struct AlpacaOrder: Codable, Sendable, Equatable {
    public var id: String
    public var client_order_id: String
    public var symbol: String?
    public var qty: WireDecimal?
    public var side: String?
    public var type: String?
    public var time_in_force: String?
    public var limit_price: WireDecimal?
    public var stop_price: WireDecimal?
    public var status: String
    public var filled_qty: WireDecimal?
    public var filled_avg_price: WireDecimal?
    /// `bracket`, `oco`, `oto`, or `simple`/`""`.
    public var order_class: String?
    /// Its exits, as Alpaca answers a new order (and lists nested orders).
    public var legs: [AlpacaOrder]?
    /// The order that replaced it (Alpaca's id).
    public var replaced_by: String?

    public init(
        id: String, clientOrderId: String, symbol: String?, qty: Decimal?, side: String?, status: String,
        filledQty: Decimal = 0, filledAvgPrice: Decimal? = nil
    ) {
        self.id = id
        client_order_id = clientOrderId
        self.symbol = symbol
        self.qty = qty.map(WireDecimal.init)
        self.side = side
        self.status = status
        filled_qty = WireDecimal(filledQty)
        filled_avg_price = filledAvgPrice.map(WireDecimal.init)
    }

    /// What the desk needs of it to follow the order.
    public var snapshot: OrderSnapshot { snapshot(replacedBy: nil) }

    /// The snapshot, with the desk's id of the order that replaced it when the desk knows it.
    public func snapshot(replacedBy: String?) -> OrderSnapshot {
        OrderSnapshot(
            status: status, filledQty: filled_qty?.value ?? 0, filledAvgPrice: filled_avg_price?.value,
            replacedBy: replacedBy)
    }
}

/// Which of Alpaca's legs is which of the desk's exits.
public enum AlpacaLegs {
    /// Pairs each desk exit (its id and type) with Alpaca's leg of the same role:
    /// a limit is the take profit, a stop or stop-limit the stop loss. An exit
    /// without a counterpart is left out.
    public static func match(_ exits: [(String, OrderType)], _ legs: [AlpacaOrder]) -> [(
        deskId: String, alpaca: AlpacaOrder
    )] {
        exits.compactMap { id, type in
            legs.first { isStopLoss($0.type) == isStopLoss(type.rawValue) }.map { (deskId: id, alpaca: $0) }
        }
    }

    static func isStopLoss(_ type: String?) -> Bool { type == "stop" || type == "stop_limit" }
}

/// A `trade_updates` message: `{"stream":"trade_updates","data":{"event":…,"order":{…},…}}`.
public struct TradeUpdateMessage: Decodable, Sendable {
    public struct Payload: Decodable, Sendable {
        public var event: String
        public var order: AlpacaOrder
        public var execution_id: String?
        public var price: WireDecimal?
        public var qty: WireDecimal?
        public var timestamp: String?
    }

    public var stream: String
    public var data: Payload?
}

/// A control message on the trading stream (`authorization`, `listening`).
public struct StreamControlMessage: Decodable, Sendable {
    public struct Payload: Decodable, Sendable {
        public var status: String?
        public var action: String?
        public var streams: [String]?
    }

    public var stream: String
    public var data: Payload?
}

/// Alpaca's error body, `{"code": 40310000, "message": "insufficient buying power"}`.
public struct AlpacaErrorBody: Decodable, Sendable {
    public var code: Int?
    public var message: String?
}

/// An account position (`GET /v2/positions`).
public struct AlpacaPosition: Codable, Sendable, Equatable {
    public var symbol: String
    /// Signed: negative for a short.
    public var qty: WireDecimal
    public var side: String?
    public var avg_entry_price: WireDecimal?
}
