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

    /// Every limit once: its configuration name, where it lives, and what removing it leaves.
    /// Merging (`overridden(by:)`), removal (`removing(_:)`) and the config file's keys derive from
    /// this table; a new limit is a property above and a line here (plus its config file reader).
    public static let fields: [RiskLimitField] = [
        RiskLimitField("max_order_qty", \.maxOrderQty),
        RiskLimitField("max_order_notional", \.maxOrderNotional),
        RiskLimitField("max_position", \.maxPosition),
        RiskLimitField("max_open_orders", \.maxOpenOrders),
        RiskLimitField("orders_per_second", \.ordersPerSecond),
        RiskLimitField("order_burst", \.orderBurst),
        RiskLimitField("allowed_symbols", \.allowedSymbols),
        RiskLimitField("denied_symbols", \.deniedSymbols, removed: []),
        RiskLimitField("capital", \.capital),
    ]

    /// The entry of `fields` for the limit at `keyPath`.
    public static func field(_ keyPath: PartialKeyPath<RiskLimits>) -> RiskLimitField {
        guard let field = fields.first(where: { $0.keyPath == keyPath }) else {
            preconditionFailure("RiskLimits.fields has no entry for \(keyPath)")
        }
        return field
    }

    /// These limits with every limit that `override` sets replacing this one's.
    public func overridden(by override: RiskLimitsOverride) -> RiskLimits {
        var merged = self
        for field in override.fields { field.copy(override.values, &merged) }
        return merged
    }

    /// These limits without `removed` (each set to what removing it leaves: no limit, or an empty list).
    public func removing(_ removed: some Sequence<RiskLimitField>) -> RiskLimits {
        var limits = self
        for field in removed { field.remove(&limits) }
        return limits
    }
}

/// One limit of `RiskLimits` (an entry of `RiskLimits.fields`): its configuration name, its key
/// path, and the value that means "not limited". Two fields are the same when their names are.
public struct RiskLimitField: Sendable, Hashable, CustomStringConvertible {
    /// The limit's configuration name (`max_order_qty`), as the config file and refusals spell it.
    public let name: String
    /// Where the limit lives in `RiskLimits`.
    public let keyPath: PartialKeyPath<RiskLimits> & Sendable
    /// Copies this limit from the first limits into the second.
    let copy: @Sendable (RiskLimits, inout RiskLimits) -> Void
    /// Sets this limit to "not limited".
    let remove: @Sendable (inout RiskLimits) -> Void

    /// A limit at `keyPath` whose "not limited" value is `removed`.
    init<Value: Sendable>(_ name: String, _ keyPath: WritableKeyPath<RiskLimits, Value> & Sendable, removed: Value) {
        self.name = name
        self.keyPath = keyPath
        copy = { source, target in target[keyPath: keyPath] = source[keyPath: keyPath] }
        remove = { limits in limits[keyPath: keyPath] = removed }
    }

    /// An optional limit: nil is "not limited".
    init<Value: Sendable>(_ name: String, _ keyPath: WritableKeyPath<RiskLimits, Value?> & Sendable) {
        self.init(name, keyPath, removed: nil)
    }

    public static func == (left: RiskLimitField, right: RiskLimitField) -> Bool { left.name == right.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    public var description: String { name }
}

/// The limits a member's configuration changes from the desk's defaults: which fields it sets, and
/// their values. Build one with `setting(_:to:)`:
/// `RiskLimitsOverride().setting(\.maxOrderQty, to: 5)`.
public struct RiskLimitsOverride: Sendable, Equatable {
    /// The values of the limits it sets; only those in `fields` count.
    public private(set) var values = RiskLimits()
    /// The limits it sets.
    public private(set) var fields: Set<RiskLimitField> = []

    /// An override that sets nothing.
    public init() {}

    /// Sets the limit at `keyPath` to `value` (nil for an optional limit: not limited).
    public mutating func set<Value>(_ keyPath: WritableKeyPath<RiskLimits, Value>, to value: Value) {
        values[keyPath: keyPath] = value
        fields.insert(RiskLimits.field(keyPath))
    }

    /// This override also setting the limit at `keyPath` to `value`.
    public func setting<Value>(_ keyPath: WritableKeyPath<RiskLimits, Value>, to value: Value) -> RiskLimitsOverride {
        var override = self
        override.set(keyPath, to: value)
        return override
    }
}

/// The desk's risk configuration: defaults and per-member overrides.
public struct RiskPolicy: Sendable, Equatable {
    public var defaults: RiskLimits
    public var members: [String: RiskLimitsOverride]
    /// Capital allocations given per venue (`"capital": {"paper": "100000", "live": "5000"}`),
    /// by member then venue; a venue not named here has the member's plain `capital` (if any).
    public var venueCapital: [String: [String: Decimal]]

    public init(
        defaults: RiskLimits = .standard, members: [String: RiskLimitsOverride] = [:],
        venueCapital: [String: [String: Decimal]] = [:]
    ) {
        self.defaults = defaults
        self.members = members
        self.venueCapital = venueCapital
    }

    /// The limits that apply to `member`.
    public func limits(for member: String) -> RiskLimits {
        members[member].map(defaults.overridden(by:)) ?? defaults
    }

    /// `member`'s capital allocation on `venue`: the one given for that venue, else
    /// their plain allocation (every venue's); nil when they have none.
    public func capital(for member: String, venue: String) -> Decimal? {
        venueCapital[member]?[venue] ?? limits(for: member).capital
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
