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

    /// Limit and stop-limit orders carry a limit price.
    public var needsLimitPrice: Bool { self == .limit || self == .stopLimit }
    /// Stop and stop-limit orders carry a stop price.
    public var needsStopPrice: Bool { self == .stop || self == .stopLimit }
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

    /// No event can change the order any more.
    public var isFinal: Bool {
        switch self {
        case .filled, .canceled, .expired, .rejected: true
        case .pendingNew, .new, .partiallyFilled: false
        }
    }

    /// The order may still fill.
    public var isOpen: Bool { !isFinal }
}
