import Foundation

/// Pre-trade limits for one member. A nil limit is not checked.
public struct RiskLimits: Sendable, Equatable {
    /// Largest quantity in one order.
    public var maxOrderQty: Decimal?
    /// Largest qty × price of one order, at the worst price it can fill at (`OrderValuation`).
    public var maxOrderNotional: Decimal?
    /// Largest absolute position per symbol, counting open orders on the same side.
    public var maxPosition: Decimal?
    /// Most orders working at once.
    public var maxOpenOrders: Int?
    /// Sustained order rate (token bucket refill per second).
    public var ordersPerSecond: Double?
    /// Orders that may be sent at once before the rate applies (bucket size).
    public var orderBurst: Int?
    /// When set, only these symbols may be traded.
    public var allowedSymbols: Set<String>?
    /// These symbols may never be traded.
    public var deniedSymbols: Set<String>
    /// The member's capital allocation: orders must fit its buying power (see `CapitalRule`).
    public var capital: Decimal?

    public init(
        maxOrderQty: Decimal? = nil, maxOrderNotional: Decimal? = nil, maxPosition: Decimal? = nil,
        maxOpenOrders: Int? = nil, ordersPerSecond: Double? = nil, orderBurst: Int? = nil,
        allowedSymbols: Set<String>? = nil, deniedSymbols: Set<String> = [], capital: Decimal? = nil
    ) {
        self.maxOrderQty = maxOrderQty
        self.maxOrderNotional = maxOrderNotional
        self.maxPosition = maxPosition
        self.maxOpenOrders = maxOpenOrders
        self.ordersPerSecond = ordersPerSecond
        self.orderBurst = orderBurst
        self.allowedSymbols = allowedSymbols
        self.deniedSymbols = deniedSymbols
        self.capital = capital
    }

    /// What a desk with no risk configuration enforces: generous, but finite.
    public static let standard = RiskLimits(
        maxOrderQty: 10_000, maxOrderNotional: 1_000_000, maxPosition: 100_000, maxOpenOrders: 500,
        ordersPerSecond: 50, orderBurst: 100)

    /// These limits with every limit that `override` sets replacing this one's.
    public func overridden(by override: RiskLimitsOverride) -> RiskLimits {
        var merged = self
        if let value = override.maxOrderQty { merged.maxOrderQty = value }
        if let value = override.maxOrderNotional { merged.maxOrderNotional = value }
        if let value = override.maxPosition { merged.maxPosition = value }
        if let value = override.maxOpenOrders { merged.maxOpenOrders = value }
        if let value = override.ordersPerSecond { merged.ordersPerSecond = value }
        if let value = override.orderBurst { merged.orderBurst = value }
        if let value = override.allowedSymbols { merged.allowedSymbols = value }
        if let value = override.deniedSymbols { merged.deniedSymbols = value }
        if let value = override.capital { merged.capital = value }
        return merged
    }
}

/// The limits a member's configuration changes from the desk's defaults.
public struct RiskLimitsOverride: Sendable, Equatable {
    public var maxOrderQty: Decimal?
    public var maxOrderNotional: Decimal?
    public var maxPosition: Decimal?
    public var maxOpenOrders: Int?
    public var ordersPerSecond: Double?
    public var orderBurst: Int?
    public var allowedSymbols: Set<String>?
    public var deniedSymbols: Set<String>?
    public var capital: Decimal?

    public init(
        maxOrderQty: Decimal? = nil, maxOrderNotional: Decimal? = nil, maxPosition: Decimal? = nil,
        maxOpenOrders: Int? = nil, ordersPerSecond: Double? = nil, orderBurst: Int? = nil,
        allowedSymbols: Set<String>? = nil, deniedSymbols: Set<String>? = nil, capital: Decimal? = nil
    ) {
        self.maxOrderQty = maxOrderQty
        self.maxOrderNotional = maxOrderNotional
        self.maxPosition = maxPosition
        self.maxOpenOrders = maxOpenOrders
        self.ordersPerSecond = ordersPerSecond
        self.orderBurst = orderBurst
        self.allowedSymbols = allowedSymbols
        self.deniedSymbols = deniedSymbols
        self.capital = capital
    }
}

/// The desk's risk configuration: defaults and per-member overrides.
public struct RiskPolicy: Sendable, Equatable {
    public var defaults: RiskLimits
    public var members: [String: RiskLimitsOverride]

    public init(defaults: RiskLimits = .standard, members: [String: RiskLimitsOverride] = [:]) {
        self.defaults = defaults
        self.members = members
    }

    /// The limits that apply to `member`.
    public func limits(for member: String) -> RiskLimits {
        members[member].map(defaults.overridden(by:)) ?? defaults
    }
}

/// What the desk knows about a member when an order arrives.
public struct RiskExposure: Sendable, Equatable {
    /// The member's position in the order's symbol.
    public var position: Decimal
    /// Quantity still open in the member's buy orders for the symbol.
    public var openBuyQty: Decimal
    /// Quantity still open in the member's sell orders for the symbol.
    public var openSellQty: Decimal
    /// The member's working orders, all symbols.
    public var openOrders: Int
    /// Last traded price of the symbol, if known.
    public var lastPrice: Decimal?

    public init(
        position: Decimal = 0, openBuyQty: Decimal = 0, openSellQty: Decimal = 0, openOrders: Int = 0,
        lastPrice: Decimal? = nil
    ) {
        self.position = position
        self.openBuyQty = openBuyQty
        self.openSellQty = openSellQty
        self.openOrders = openOrders
        self.lastPrice = lastPrice
    }
}

/// A pre-trade refusal: which limit, its value, and what the order would have done.
public struct RiskRejection: Error, Equatable, Sendable, CustomStringConvertible {
    /// The limit's configuration name (`max_order_qty`, `kill_switch`, …).
    public var limit: String
    public var message: String

    public init(limit: String, message: String) {
        self.limit = limit
        self.message = message
    }

    public var description: String { message }
}

/// Pre-trade checks. Pure: the same order, limits and exposure give the same answer.
public enum RiskCheck {
    /// The first limit `order` breaks, or nil when it may go to the broker.
    /// Rate limiting and kill switches are checked by their owners (TokenBucket, halts).
    public static func evaluate(_ order: OrderTerms, limits: RiskLimits, exposure: RiskExposure) -> RiskRejection? {
        let symbol = order.symbol
        if limits.deniedSymbols.contains(symbol) {
            return RiskRejection(limit: "denied_symbols", message: "\(symbol) is on the desk's denied symbols list")
        }
        if let allowed = limits.allowedSymbols, !allowed.contains(symbol) {
            let list = allowed.sorted().joined(separator: ", ")
            return RiskRejection(
                limit: "allowed_symbols", message: "\(symbol) is not on your allowed symbols list (\(list))")
        }
        if let maximum = limits.maxOrderQty, order.qty > maximum {
            return RiskRejection(
                limit: "max_order_qty",
                message: "qty \(ExactDecimal.plain(order.qty)) exceeds max_order_qty \(ExactDecimal.plain(maximum))")
        }
        if let maximum = limits.maxOrderNotional {
            // At the worst price the order can fill at, not the price it names.
            switch OrderValuation(order, lastPrice: exposure.lastPrice) {
            case .unbounded(let why):
                return RiskRejection(
                    limit: "max_order_notional",
                    message: "cannot check max_order_notional \(ExactDecimal.plain(maximum)): \(why)")
            case .price(let price, let basis):
                let notional = order.qty * price
                if notional > maximum {
                    return RiskRejection(
                        limit: "max_order_notional",
                        message:
                            "order notional \(ExactDecimal.plain(notional)) (\(ExactDecimal.plain(order.qty)) × \(ExactDecimal.plain(price)), \(basis)) exceeds max_order_notional \(ExactDecimal.plain(maximum))"
                    )
                }
            }
        }
        if let maximum = limits.maxOpenOrders, exposure.openOrders >= maximum {
            return RiskRejection(
                limit: "max_open_orders",
                message: "you have \(exposure.openOrders) open orders; max_open_orders is \(maximum)")
        }
        if let maximum = limits.maxPosition {
            let worst =
                order.side == .buy
                ? exposure.position + exposure.openBuyQty + order.qty
                : exposure.position - exposure.openSellQty - order.qty
            if worst.magnitude > maximum {
                return RiskRejection(
                    limit: "max_position",
                    message:
                        "position in \(symbol) could reach \(ExactDecimal.plain(worst)) (now \(ExactDecimal.plain(exposure.position)), counting open orders); max_position is \(ExactDecimal.plain(maximum))"
                )
            }
        }
        return nil
    }
}

/// Token bucket rate limiter. Time is passed in (seconds on any monotonic
/// clock), so it is a pure value type.
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    public let refillPerSecond: Double
    public private(set) var tokens: Double
    public private(set) var lastRefill: Double

    public init(capacity: Double, refillPerSecond: Double, now: Double) {
        self.capacity = capacity
        self.refillPerSecond = refillPerSecond
        self.tokens = capacity
        self.lastRefill = now
    }

    /// Takes one token if there is one at `now`; false means over the rate.
    public mutating func take(now: Double) -> Bool {
        if now > lastRefill {
            tokens = min(capacity, tokens + (now - lastRefill) * refillPerSecond)
            lastRefill = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
