/// Which way an order trades.
public enum Side: String, Sendable, Codable, CaseIterable {
    case buy, sell

    /// +1 for buys, -1 for sells.
    public var sign: Int { self == .buy ? 1 : -1 }
}

/// How an order is priced.
public enum OrderType: String, Sendable, Codable, CaseIterable {
    case market, limit, stop
    case stopLimit = "stop_limit"
    /// A stop that follows the price: `trail_price` or `trail_percent` from the
    /// best price since it was placed (a sell's high-water mark, a buy's low).
    case trailingStop = "trailing_stop"

    /// Limit and stop-limit orders carry a limit price.
    public var needsLimitPrice: Bool { self == .limit || self == .stopLimit }
    /// Stop and stop-limit orders carry a stop price.
    public var needsStopPrice: Bool { self == .stop || self == .stopLimit }
}

/// How an order relates to others, with Alpaca's names (`order_class`).
public enum OrderClass: String, Sendable, Codable, CaseIterable {
    /// One order on its own.
    case simple
    /// An entry and two exits (take profit and stop loss) that work once the
    /// entry has filled completely; one exit's fill cancels the other.
    case bracket
    /// One cancels other: a take-profit limit and a stop loss, both working at
    /// once; one's fill cancels the other.
    case oco
    /// One triggers other: an entry and one exit that works once the entry has filled.
    case oto
}

/// How long an order stays working.
public enum TimeInForce: String, Sendable, Codable, CaseIterable {
    /// Until the session close of the day it was placed.
    case day
    /// Until canceled.
    case gtc
    /// Fill what can be filled now, cancel the rest.
    case ioc
    /// Fill completely now or not at all.
    case fok
}

/// Where an order is in its life, with Alpaca's names.
public enum OrderStatus: String, Sendable, Codable, CaseIterable {
    /// Recorded by the desk, not yet acknowledged by the broker.
    case pendingNew = "pending_new"
    /// Working at the broker, nothing filled.
    case new
    case partiallyFilled = "partially_filled"
    case filled
    case canceled
    case expired
    case rejected
    /// A bracket or oto exit waiting for its entry to fill (Alpaca's `held`).
    case held
    /// Replaced by another order (`PATCH /v2/orders/{id}`); the new order carries on.
    case replaced

    /// No event can change the order any more.
    public var isFinal: Bool {
        switch self {
        case .filled, .canceled, .expired, .rejected, .replaced: true
        case .pendingNew, .new, .partiallyFilled, .held: false
        }
    }

    /// The order may still fill.
    public var isOpen: Bool { !isFinal }
}
