import Foundation

/// An order as a client sent it: every field is text, exactly as on the wire
/// (an empty field was not given).
public struct OrderTicket: Sendable, Equatable {
    public var symbol: String
    public var qty: String
    public var side: String
    public var orderType: String
    public var timeInForce: String
    public var limitPrice: String
    public var stopPrice: String
    /// A trailing stop's trail in dollars (`trail_price`).
    public var trailPrice: String
    /// A trailing stop's trail in percent (`trail_percent`).
    public var trailPercent: String
    /// A dollar amount instead of `qty` (`notional`): market day orders only.
    public var notional: String
    /// `"true"` lets a DAY limit order fill outside the regular session (`extended_hours`).
    public var extendedHours: String
    /// `simple` (or empty), `bracket`, `oco` or `oto` (`order_class`).
    public var orderClass: String
    /// The take-profit exit's limit (`take_profit.limit_price`).
    public var takeProfitLimitPrice: String
    /// The stop-loss exit's stop (`stop_loss.stop_price`).
    public var stopLossStopPrice: String
    /// The stop-loss exit's limit, making it a stop-limit (`stop_loss.limit_price`).
    public var stopLossLimitPrice: String

    public init(
        symbol: String, qty: String, side: String, orderType: String = "", timeInForce: String = "",
        limitPrice: String = "", stopPrice: String = "", trailPrice: String = "", trailPercent: String = "",
        notional: String = "", extendedHours: String = "", orderClass: String = "", takeProfitLimitPrice: String = "",
        stopLossStopPrice: String = "", stopLossLimitPrice: String = ""
    ) {
        self.symbol = symbol
        self.qty = qty
        self.side = side
        self.orderType = orderType
        self.timeInForce = timeInForce
        self.limitPrice = limitPrice
        self.stopPrice = stopPrice
        self.trailPrice = trailPrice
        self.trailPercent = trailPercent
        self.notional = notional
        self.extendedHours = extendedHours
        self.orderClass = orderClass
        self.takeProfitLimitPrice = takeProfitLimitPrice
        self.stopLossStopPrice = stopLossStopPrice
        self.stopLossLimitPrice = stopLossLimitPrice
    }
}

/// Why an order ticket was refused: the field and a sentence a person understands.
public struct OrderValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The wire name of the offending field (`qty`, `limit_price`, …).
    public var field: String
    /// What was wrong and what is allowed.
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}

/// What the broker in use can do, which changes what a valid order is.
public struct OrderRules: Sendable, Equatable {
    /// Fractional quantities (only for market and limit orders with time in force `day`, as Alpaca allows).
    public var allowsFractionalQuantity: Bool
    /// Largest quantity in one order.
    public var maximumQuantity: Decimal
    /// Largest price accepted.
    public var maximumPrice: Decimal

    public init(
        allowsFractionalQuantity: Bool = true, maximumQuantity: Decimal = 1_000_000_000,
        maximumPrice: Decimal = 1_000_000
    ) {
        self.allowsFractionalQuantity = allowsFractionalQuantity
        self.maximumQuantity = maximumQuantity
        self.maximumPrice = maximumPrice
    }

    /// Fractional shares: at most this many digits after the point (Alpaca's limit).
    public static let quantityFractionDigits = 9
    /// Longest symbol.
    public static let maximumSymbolLength = 15
}

/// Checks an order ticket field by field. Pure: the same ticket and rules always give the same answer.
public enum OrderValidation {
    /// Validates `ticket` and returns the typed order, or the first problem found
    /// in wire-field order (`validateOrder` with its exits).
    public static func validate(_ ticket: OrderTicket, rules: OrderRules = OrderRules()) -> Result<
        OrderTerms, OrderValidationError
    > {
        validateOrder(ticket, rules: rules).map(\.terms)
    }

    /// Validates `ticket` with its order class and exits (Alpaca's rules): the
    /// typed order, or the first problem found in wire-field order. A notional
    /// order's `qty` is 0 here (admission works it out from the price).
    public static func validateOrder(_ ticket: OrderTicket, rules: OrderRules = OrderRules()) -> Result<
        ValidOrder, OrderValidationError
    > {
        do throws(OrderValidationError) {
            let symbol = try validateSymbol(ticket.symbol)
            let side = try enumeration(Side.self, ticket.side, field: "side", defaultValue: nil)
            let type = try enumeration(OrderType.self, ticket.orderType, field: "order_type", defaultValue: .market)
            let timeInForce = try enumeration(
                TimeInForce.self, ticket.timeInForce, field: "time_in_force", defaultValue: .day)
            let orderClass = try enumeration(
                OrderClass.self, ticket.orderClass, field: "order_class", defaultValue: .simple)
            let notional = try validateNotional(
                ticket, type: type, timeInForce: timeInForce, orderClass: orderClass, rules: rules)
            var qty: Decimal = 0
            if notional == nil {
                qty = try validateQuantity(ticket.qty, type: type, timeInForce: timeInForce, rules: rules)
                if orderClass != .simple && ExactDecimal.significantFractionDigits(qty) > 0 {
                    throw OrderValidationError(
                        field: "qty",
                        message: "qty \(quoted(ticket.qty)) is fractional; fractional orders must be simple orders")
                }
            }
            var limitText = ticket.limitPrice
            if orderClass == .oco && type == .limit && limitText.isEmpty { limitText = ticket.takeProfitLimitPrice }
            let limitPrice = try validatePrice(
                limitText, field: "limit_price", needed: type.needsLimitPrice, type: type, rules: rules)
            let stopPrice = try validatePrice(
                ticket.stopPrice, field: "stop_price", needed: type.needsStopPrice, type: type, rules: rules)
            let trail = try validateTrail(ticket, type: type, timeInForce: timeInForce, rules: rules)
            let extendedHours = try validateExtendedHours(
                ticket.extendedHours, type: type, timeInForce: timeInForce, orderClass: orderClass)
            let terms = OrderTerms(
                symbol: symbol, qty: qty, side: side, type: type, timeInForce: timeInForce, limitPrice: limitPrice,
                stopPrice: stopPrice, trailPrice: trail.price, trailPercent: trail.percent, notional: notional,
                extendedHours: extendedHours)
            let exits = try validateExits(ticket, terms: terms, orderClass: orderClass, rules: rules)
            return .success(ValidOrder(terms: terms, orderClass: orderClass, exits: exits))
        } catch {
            return .failure(error)
        }
    }

    /// Symbols: 1 to 15 characters, an uppercase letter first, then uppercase
    /// letters, digits, `.` or `/` (`AAPL`, `BRK.B`, `BTC/USD`). Lowercase is
    /// refused rather than guessed at.
    public static func validateSymbol(_ raw: String) throws(OrderValidationError) -> String {
        if raw.isEmpty {
            throw OrderValidationError(field: "symbol", message: "symbol is required, e.g. \"AAPL\"")
        }
        let shown = quoted(raw)
        if raw.utf8.count > OrderRules.maximumSymbolLength {
            throw OrderValidationError(
                field: "symbol",
                message: "symbol \(shown) is too long: at most \(OrderRules.maximumSymbolLength) characters")
        }
        let bytes = Array(raw.utf8)
        let first = bytes[0]
        let allowed = bytes.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
        }
        guard allowed, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else {
            throw OrderValidationError(
                field: "symbol",
                message:
                    "symbol \(shown) is not a ticker: use an uppercase letter first, then A-Z, 0-9, '.' or '/' (e.g. \"AAPL\", \"BRK.B\")"
            )
        }
        return raw
    }

    static func enumeration<Value: RawRepresentable & CaseIterable>(
        _ type: Value.Type, _ raw: String, field: String, defaultValue: Value?
    ) throws(OrderValidationError) -> Value where Value.RawValue == String {
        let allowed = Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        if raw.isEmpty {
            if let defaultValue { return defaultValue }
            throw OrderValidationError(field: field, message: "\(field) is required: one of \(allowed)")
        }
        guard let value = Value(rawValue: raw) else {
            throw OrderValidationError(
                field: field, message: "\(field) \(quoted(raw)) is not allowed: use one of \(allowed)")
        }
        return value
    }

    static func validateQuantity(_ raw: String, type: OrderType, timeInForce: TimeInForce, rules: OrderRules)
        throws(OrderValidationError) -> Decimal
    {
        let qty = try decimal(raw, field: "qty", example: "\"10\" or \"2.5\"")
        if qty <= 0 {
            throw OrderValidationError(field: "qty", message: "qty \(quoted(raw)) must be greater than zero")
        }
        if qty > rules.maximumQuantity {
            throw OrderValidationError(
                field: "qty",
                message:
                    "qty \(quoted(raw)) is larger than the desk accepts (at most \(ExactDecimal.plain(rules.maximumQuantity)))"
            )
        }
        let fractionDigits = ExactDecimal.significantFractionDigits(qty)
        if fractionDigits > 0 {
            if !rules.allowsFractionalQuantity {
                throw OrderValidationError(
                    field: "qty", message: "qty \(quoted(raw)) is fractional; this broker takes whole shares only")
            }
            if fractionDigits > OrderRules.quantityFractionDigits {
                throw OrderValidationError(
                    field: "qty",
                    message:
                        "qty \(quoted(raw)) has \(fractionDigits) decimal places; at most \(OrderRules.quantityFractionDigits) are allowed"
                )
            }
            if !(type == .market || type == .limit) || timeInForce != .day {
                throw OrderValidationError(
                    field: "qty",
                    message:
                        "qty \(quoted(raw)) is fractional; fractional orders must be market or limit with time_in_force \"day\""
                )
            }
        }
        return qty
    }

    static func validatePrice(_ raw: String, field: String, needed: Bool, type: OrderType, rules: OrderRules)
        throws(OrderValidationError) -> Decimal?
    {
        if raw.isEmpty {
            if needed {
                throw OrderValidationError(
                    field: field, message: "\(field) is required for \(type.rawValue) orders, e.g. \"145.50\"")
            }
            return nil
        }
        if !needed {
            throw OrderValidationError(
                field: field,
                message: "\(field) is not allowed for \(type.rawValue) orders (only for \(pricedTypes(field)))")
        }
        let price = try decimal(raw, field: field, example: "\"145.50\"")
        if price <= 0 {
            throw OrderValidationError(field: field, message: "\(field) \(quoted(raw)) must be greater than zero")
        }
        if price > rules.maximumPrice {
            throw OrderValidationError(
                field: field,
                message:
                    "\(field) \(quoted(raw)) is larger than the desk accepts (at most \(ExactDecimal.plain(rules.maximumPrice)))"
            )
        }
        let digits = ExactDecimal.significantFractionDigits(price)
        let allowed = price >= 1 ? 2 : 4
        if digits > allowed {
            throw OrderValidationError(
                field: field,
                message:
                    "\(field) \(quoted(raw)) has \(digits) decimal places; prices at or above $1 allow at most 2 and below $1 at most 4 (sub-penny rule)"
            )
        }
        return price
    }

    static func decimal(_ raw: String, field: String, example: String) throws(OrderValidationError) -> Decimal {
        switch ExactDecimal.parse(raw) {
        case .success(let value):
            return value
        case .failure(.empty):
            throw OrderValidationError(field: field, message: "\(field) is required: a decimal such as \(example)")
        case .failure(.tooLong(let maximum)):
            throw OrderValidationError(
                field: field,
                message: "\(field) is too long: at most \(maximum) characters, a decimal such as \(example)")
        case .failure(.notADecimal):
            throw OrderValidationError(
                field: field,
                message:
                    "\(field) \(quoted(raw)) is not a decimal number: write digits with an optional point, such as \(example)"
            )
        case .failure(let failure):
            throw OrderValidationError(
                field: field,
                message: "\(field) \(quoted(raw)) is not written canonically: \(failure.rule), such as \(example)")
        }
    }

    static func pricedTypes(_ field: String) -> String {
        field == "limit_price" ? "limit and stop_limit" : "stop and stop_limit"
    }

    /// Quotes a client's text for an error message, escaping what would not print
    /// and shortening what is long.
    public static func quoted(_ raw: String) -> String {
        var shown = ""
        for scalar in raw.unicodeScalars.prefix(40) {
            if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "\\" {
                shown.unicodeScalars.append(scalar)
            } else {
                shown += scalar.escaped(asASCII: true)
            }
        }
        if raw.unicodeScalars.count > 40 { shown += "…" }
        return "\"\(shown)\""
    }
}
