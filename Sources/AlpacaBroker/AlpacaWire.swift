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
/// create a second order.
public struct AlpacaOrderBody: Codable, Sendable, Equatable {
    public var symbol: String
    public var qty: String
    public var side: String
    public var type: String
    public var time_in_force: String
    public var limit_price: String?
    public var stop_price: String?
    public var client_order_id: String

    /// The body for `order`.
    public init(_ order: Order) {
        symbol = order.terms.symbol
        qty = ExactDecimal.plain(order.terms.qty)
        side = order.terms.side.rawValue
        type = order.terms.type.rawValue
        time_in_force = order.terms.timeInForce.rawValue
        limit_price = order.terms.limitPrice.map(ExactDecimal.plain)
        stop_price = order.terms.stopPrice.map(ExactDecimal.plain)
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
    public var snapshot: OrderSnapshot {
        OrderSnapshot(
            status: status, filledQty: filled_qty?.value ?? 0, filledAvgPrice: filled_avg_price?.value)
    }
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
