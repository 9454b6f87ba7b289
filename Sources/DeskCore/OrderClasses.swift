import Foundation

/// A bracket's, oco's or oto's exits as the ticket priced them: a take profit
/// (a limit) and a stop loss (a stop, or a stop-limit with its limit).
public struct OrderExits: Sendable, Equatable {
    /// A stop loss: its stop, and its limit when it is a stop-limit.
    public struct StopLoss: Sendable, Equatable {
        public var stopPrice: Decimal
        public var limitPrice: Decimal?

        /// A stop loss at `stopPrice` (a stop-limit when `limitPrice` is given).
        public init(stopPrice: Decimal, limitPrice: Decimal? = nil) {
            self.stopPrice = stopPrice
            self.limitPrice = limitPrice
        }
    }

    /// The take profit's limit (`take_profit.limit_price`).
    public var takeProfit: Decimal?
    /// The stop loss (`stop_loss`).
    public var stopLoss: StopLoss?

    /// Exits as given (none by default).
    public init(takeProfit: Decimal? = nil, stopLoss: StopLoss? = nil) {
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
    }

    /// Why these exits, trading on `side`, are on the wrong side of `base`
    /// (`basis` names it: "the entry's limit", "the last price"), or nil when
    /// they are not: a sell exit takes profit above it and stops the loss below
    /// it; a buy exit the other way round (Alpaca: at least a cent apart).
    public func problem(side: Side, base: Decimal, basis: String) -> OrderValidationError? {
        let plain = ExactDecimal.plain
        if let takeProfit, side == .sell ? takeProfit <= base : takeProfit >= base {
            return OrderValidationError(
                field: "take_profit.limit_price",
                message:
                    "take_profit.limit_price \(plain(takeProfit)) must be \(side == .sell ? "above" : "below") \(basis) \(plain(base)) for a \(side.rawValue) exit"
            )
        }
        if let stop = stopLoss?.stopPrice, side == .sell ? stop >= base : stop <= base {
            return OrderValidationError(
                field: "stop_loss.stop_price",
                message:
                    "stop_loss.stop_price \(plain(stop)) must be \(side == .sell ? "below" : "above") \(basis) \(plain(base)) for a \(side.rawValue) exit"
            )
        }
        return nil
    }
}

/// A ticket that passed validation: its terms (a notional order's `qty` still 0),
/// its order class and its exits.
public struct ValidOrder: Sendable, Equatable {
    public var terms: OrderTerms
    public var orderClass: OrderClass
    public var exits: OrderExits

    /// A valid order as given.
    public init(terms: OrderTerms, orderClass: OrderClass = .simple, exits: OrderExits = OrderExits()) {
        self.terms = terms
        self.orderClass = orderClass
        self.exits = exits
    }

    /// The side the exits trade on: the entry's opposite for a bracket or oto; for
    /// an oco, whose order is itself the take profit, its own.
    public var exitSide: Side {
        orderClass == .oco ? terms.side : (terms.side == .buy ? .sell : .buy)
    }

    /// The admitted order with its legs (`Order.legs`), each leg's id from
    /// `newLegId`: bracket = [take profit, stop loss], oto = [its one exit], oco =
    /// [stop loss]; each leg the same symbol, quantity and time in force, on
    /// `exitSide`, with `parentId` = `id`.
    public func order(
        id: String, member: String, strategy: String, placedAt: Date, venue: String, newLegId: () -> String
    ) -> Order {
        var legs: [Order] = []
        func leg(_ type: OrderType, limit: Decimal?, stop: Decimal?) -> Order {
            Order(
                id: newLegId(), member: member, strategy: strategy,
                terms: OrderTerms(
                    symbol: terms.symbol, qty: terms.qty, side: exitSide, type: type, timeInForce: terms.timeInForce,
                    limitPrice: limit, stopPrice: stop),
                placedAt: placedAt, venue: venue, orderClass: orderClass, parentId: id)
        }
        if orderClass != .oco, let takeProfit = exits.takeProfit {
            legs.append(leg(.limit, limit: takeProfit, stop: nil))
        }
        if orderClass != .simple, let stopLoss = exits.stopLoss {
            legs.append(
                leg(
                    stopLoss.limitPrice == nil ? .stop : .stopLimit, limit: stopLoss.limitPrice,
                    stop: stopLoss.stopPrice))
        }
        return Order(
            id: id, member: member, strategy: strategy, terms: terms, placedAt: placedAt, venue: venue,
            orderClass: orderClass, legs: orderClass == .simple ? [] : legs)
    }
}

extension OrderValidation {
    /// Most digits after the point in a notional amount (whole cents).
    public static let notionalFractionDigits = 2

    /// `notional`: a positive dollar amount with at most two decimals, for market
    /// DAY simple orders without `qty`, on a broker that takes fractions.
    static func validateNotional(
        _ ticket: OrderTicket, type: OrderType, timeInForce: TimeInForce, orderClass: OrderClass, rules: OrderRules
    ) throws(OrderValidationError) -> Decimal? {
        let raw = ticket.notional
        if raw.isEmpty { return nil }
        func refuse(_ message: String) -> OrderValidationError {
            OrderValidationError(field: "notional", message: message)
        }
        if !ticket.qty.isEmpty {
            throw refuse("give qty (shares) or notional (dollars), not both")
        }
        let amount = try decimal(raw, field: "notional", example: "\"500\" or \"250.50\"")
        if amount <= 0 { throw refuse("notional \(quoted(raw)) must be greater than zero") }
        let digits = ExactDecimal.significantFractionDigits(amount)
        if digits > notionalFractionDigits {
            throw refuse(
                "notional \(quoted(raw)) has \(digits) decimal places; at most \(notionalFractionDigits) (cents)")
        }
        if type != .market {
            throw refuse("notional orders must be market orders; send qty for a \(type.rawValue) order")
        }
        if timeInForce != .day { throw refuse("notional orders must be DAY orders (time_in_force \"day\")") }
        if orderClass != .simple {
            throw refuse("notional orders must be simple orders; send qty for a \(orderClass.rawValue) order")
        }
        if !rules.allowsFractionalQuantity {
            throw refuse("notional orders buy fractions of a share, which this broker does not take; send qty")
        }
        return amount
    }

    /// `trail_price` or `trail_percent`: exactly one for a trailing stop (DAY or
    /// GTC), neither for any other order.
    static func validateTrail(_ ticket: OrderTicket, type: OrderType, timeInForce: TimeInForce, rules: OrderRules)
        throws(OrderValidationError) -> (price: Decimal?, percent: Decimal?)
    {
        let (price, percent) = (ticket.trailPrice, ticket.trailPercent)
        guard type == .trailingStop else {
            for (field, raw) in [("trail_price", price), ("trail_percent", percent)] where !raw.isEmpty {
                throw OrderValidationError(
                    field: field,
                    message: "\(field) is not allowed for \(type.rawValue) orders (only for trailing_stop)")
            }
            return (nil, nil)
        }
        if price.isEmpty && percent.isEmpty {
            throw OrderValidationError(
                field: "trail_price", message: "a trailing_stop order needs trail_price or trail_percent")
        }
        if !price.isEmpty && !percent.isEmpty {
            throw OrderValidationError(
                field: "trail_percent", message: "give trail_price or trail_percent, not both")
        }
        if timeInForce != .day && timeInForce != .gtc {
            throw OrderValidationError(
                field: "time_in_force", message: "trailing_stop orders must be DAY or GTC orders")
        }
        if !price.isEmpty {
            return (try validatePrice(price, field: "trail_price", needed: true, type: type, rules: rules), nil)
        }
        let value = try decimal(percent, field: "trail_percent", example: "\"2.5\"")
        if value <= 0 || value >= 100 {
            throw OrderValidationError(
                field: "trail_percent",
                message: "trail_percent \(quoted(percent)) must be more than 0 and less than 100")
        }
        return (nil, value)
    }

    /// `extended_hours`: `true` or `false` (empty: false); true only for DAY limit simple orders.
    static func validateExtendedHours(
        _ raw: String, type: OrderType, timeInForce: TimeInForce, orderClass: OrderClass
    ) throws(OrderValidationError) -> Bool {
        switch raw {
        case "", "false": return false
        case "true":
            if type != .limit || timeInForce != .day {
                throw OrderValidationError(
                    field: "extended_hours", message: "extended hours order must be DAY limit orders")
            }
            if orderClass != .simple {
                throw OrderValidationError(
                    field: "extended_hours", message: "extended hours orders must be simple orders")
            }
            return true
        default:
            throw OrderValidationError(
                field: "extended_hours", message: "extended_hours \(quoted(raw)) is not allowed: use true or false")
        }
    }

    /// `take_profit` and `stop_loss` as the order class needs them (Alpaca's rules):
    /// none for a simple order; both for a bracket (a market or limit entry, DAY
    /// or GTC) and an oco (a limit order, its limit the take profit); exactly one
    /// for an oto; each on the right side of the other and of a limit entry.
    static func validateExits(_ ticket: OrderTicket, terms: OrderTerms, orderClass: OrderClass, rules: OrderRules)
        throws(OrderValidationError) -> OrderExits
    {
        let fields = [
            ("take_profit.limit_price", ticket.takeProfitLimitPrice),
            ("stop_loss.stop_price", ticket.stopLossStopPrice), ("stop_loss.limit_price", ticket.stopLossLimitPrice),
        ]
        guard orderClass != .simple else {
            for (field, raw) in fields where !raw.isEmpty {
                throw OrderValidationError(
                    field: field, message: "\(field) is only for bracket, oco and oto orders (order_class)")
            }
            return OrderExits()
        }
        let name = orderClass.rawValue
        var prices: [Decimal?] = []
        for (field, raw) in fields {
            prices.append(
                raw.isEmpty ? nil : try validatePrice(raw, field: field, needed: true, type: terms.type, rules: rules))
        }
        let (takeProfit, stop, stopLimit) = (prices[0], prices[1], prices[2])
        if stopLimit != nil && stop == nil {
            throw OrderValidationError(
                field: "stop_loss.stop_price", message: "stop_loss.limit_price needs stop_loss.stop_price")
        }
        switch orderClass {
        case .oco:
            if terms.type != .limit {
                throw OrderValidationError(
                    field: "order_type", message: "oco orders must be limit orders (the take profit)")
            }
        case .bracket, .oto, .simple:
            if terms.type != .market && terms.type != .limit {
                throw OrderValidationError(
                    field: "order_type", message: "\(name) orders must have a market or limit entry")
            }
        }
        if terms.timeInForce != .day && terms.timeInForce != .gtc {
            throw OrderValidationError(field: "time_in_force", message: "\(name) orders must be DAY or GTC orders")
        }
        switch orderClass {
        case .bracket, .oco:
            guard takeProfit != nil else {
                throw OrderValidationError(
                    field: "take_profit.limit_price", message: "\(name) orders require take_profit.limit_price")
            }
            guard stop != nil else {
                throw OrderValidationError(
                    field: "stop_loss.stop_price", message: "\(name) orders require stop_loss.stop_price")
            }
        case .oto, .simple:
            if takeProfit == nil && stop == nil {
                throw OrderValidationError(
                    field: "take_profit.limit_price",
                    message: "oto orders require one exit: take_profit.limit_price or stop_loss.stop_price")
            }
            if takeProfit != nil && stop != nil {
                throw OrderValidationError(
                    field: "stop_loss.stop_price",
                    message: "oto orders take one exit: take_profit or stop_loss, not both")
            }
        }
        if orderClass == .oco, !ticket.limitPrice.isEmpty, terms.limitPrice != takeProfit {
            throw OrderValidationError(
                field: "limit_price",
                message: "an oco order's limit_price is its take_profit.limit_price: give them equal")
        }
        let exits = OrderExits(
            takeProfit: takeProfit, stopLoss: stop.map { .init(stopPrice: $0, limitPrice: stopLimit) })
        let valid = ValidOrder(terms: terms, orderClass: orderClass, exits: exits)
        // Each exit on its side of the other, and of a limit entry.
        if let takeProfit, stop != nil {
            let onlyStop = OrderExits(stopLoss: exits.stopLoss)
            if let problem = onlyStop.problem(side: valid.exitSide, base: takeProfit, basis: "take_profit.limit_price")
            {
                throw problem
            }
        }
        if orderClass != .oco, terms.type == .limit, let limit = terms.limitPrice,
            let problem = exits.problem(side: valid.exitSide, base: limit, basis: "the entry's limit_price")
        {
            throw problem
        }
        return exits
    }
}

/// What a replace asks to change (Alpaca's `PATCH /v2/orders/{id}`), each field as
/// text, empty to keep the old order's: `qty`, `limit_price`, `stop_price`, `trail`
/// (a trailing stop's new trail, in the mode it has: dollars or percent) and `time_in_force`.
public struct ReplaceTicket: Sendable, Equatable {
    public var qty: String
    public var limitPrice: String
    public var stopPrice: String
    public var trail: String
    public var timeInForce: String

    /// Changes as given; empty fields keep the old order's.
    public init(
        qty: String = "", limitPrice: String = "", stopPrice: String = "", trail: String = "", timeInForce: String = ""
    ) {
        self.qty = qty
        self.limitPrice = limitPrice
        self.stopPrice = stopPrice
        self.trail = trail
        self.timeInForce = timeInForce
    }

    /// True when it changes nothing.
    public var isEmpty: Bool { self == ReplaceTicket() }

    /// The whole ticket of the order that replaces `old`, which has `remaining`
    /// not yet filled: the old order's terms with these changes, its quantity
    /// what the old one had not filled unless `qty` says otherwise (a notional
    /// order's replacement trades its quantity). Simple orders are replaced, and
    /// the exits (legs) of a bracket, oco or oto in their prices only (Alpaca's
    /// rule); an entry with legs or an oco's take profit is canceled and placed
    /// again. Pure.
    public func ticket(replacing old: Order, remaining: Decimal) -> Result<OrderTicket, OrderValidationError> {
        if old.parentId != nil {
            if !qty.isEmpty || !trail.isEmpty || !timeInForce.isEmpty {
                return .failure(
                    OrderValidationError(
                        field: qty.isEmpty ? (trail.isEmpty ? "time_in_force" : "trail") : "qty",
                        message:
                            "a \(old.orderClass.rawValue) order's exit is replaced in its limit_price or stop_price only"
                    ))
            }
        } else if old.orderClass != .simple {
            return .failure(
                OrderValidationError(
                    field: "order_class",
                    message:
                        "an order with exits is not replaced (its exits are, in their prices); cancel this \(old.orderClass.rawValue) order and place a new one"
                ))
        }
        let terms = old.terms
        if !trail.isEmpty && terms.type != .trailingStop {
            return .failure(
                OrderValidationError(field: "trail", message: "trail is only for trailing_stop orders"))
        }
        func keep(_ given: String, _ old: Decimal?) -> String {
            given.isEmpty ? old.map(ExactDecimal.plain) ?? "" : given
        }
        let percentMode = terms.trailPercent != nil
        return .success(
            OrderTicket(
                symbol: terms.symbol, qty: qty.isEmpty ? ExactDecimal.plain(remaining) : qty, side: terms.side.rawValue,
                orderType: terms.type.rawValue,
                timeInForce: timeInForce.isEmpty ? terms.timeInForce.rawValue : timeInForce,
                limitPrice: keep(limitPrice, terms.limitPrice), stopPrice: keep(stopPrice, terms.stopPrice),
                trailPrice: percentMode ? "" : keep(trail, terms.trailPrice),
                trailPercent: percentMode ? keep(trail, terms.trailPercent) : "",
                extendedHours: terms.extendedHours ? "true" : ""))
    }
}
