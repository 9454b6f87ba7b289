import DeskCore
import Foundation

/// A `POST /v2/orders` body read by Alpaca's rules (shared/ALPACA.md §2, §3.1):
/// numbers as JSON numbers or strings, `null` and `""` as absent, then what the
/// desk does not trade refused with a sentence saying so. The result is the desk's
/// own `OrderTicket`, which `OrderValidation` checks like every other order.
public struct AlpacaOrderRequest: Sendable, Equatable {
    /// The ticket for the order pipeline (`order_type` is Alpaca's `type`).
    public var ticket: OrderTicket
    /// The client's id for the order, if it gave one.
    public var clientOrderId: String?

    /// Every key Alpaca's order body has; others are refused.
    public static let keys = [
        "symbol", "qty", "notional", "side", "type", "time_in_force", "limit_price", "stop_price", "trail_price",
        "trail_percent", "extended_hours", "client_order_id", "order_class", "take_profit", "stop_loss",
        "position_intent", "legs",
    ]

    /// Longest `client_order_id` Alpaca takes.
    public static let maximumClientOrderIdLength = 48

    /// Reads an order body; the refusal is Alpaca's error for it (400 for what is not
    /// JSON, 422 for a field the desk cannot take).
    public static func parse(_ bytes: [UInt8]) -> Result<AlpacaOrderRequest, AlpacaError> {
        do throws(AlpacaError) {
            var fields = try fieldsOf(bytes, keys: keys, kind: "order")
            // `extended_hours: false` is Alpaca's default: it counts as absent.
            if case .bool(false)? = fields["extended_hours"] { fields["extended_hours"] = nil }
            return .success(try read(fields))
        } catch {
            return .failure(error)
        }
    }

    /// The fields of a JSON object body, each one of `keys` (another is refused
    /// naming them, as an `kind` field); `null` and `""` count as absent.
    static func fieldsOf(_ bytes: [UInt8], keys: [String], kind: String) throws(AlpacaError)
        -> [String: StrictJSON.Node.Value]
    {
        let document: StrictJSON.Document
        do { document = try StrictJSON.parse(bytes) } catch {
            throw AlpacaError(status: 400, message: "the body is not a JSON object: \(error)")
        }
        guard case .object(let members) = document.root.value else {
            throw AlpacaError(status: 400, message: "the body must be a JSON object")
        }
        var fields: [String: StrictJSON.Node.Value] = [:]
        for member in members {
            guard keys.contains(member.key) else {
                throw AlpacaError(
                    status: 422,
                    message:
                        "unknown \(kind) field \(OrderValidation.quoted(member.key)); the fields are: \(keys.joined(separator: ", "))"
                )
            }
            switch member.node.value {
            case .null: continue
            case .string(let text) where text.isEmpty: continue
            default: fields[member.key] = member.node.value
            }
        }
        return fields
    }

    private static func read(_ fields: [String: StrictJSON.Node.Value]) throws(AlpacaError) -> AlpacaOrderRequest {
        func refuse(_ message: String) -> AlpacaError { AlpacaError(status: 422, message: message) }
        if fields["legs"] != nil {
            throw refuse(
                "legs is not supported by the desk (it is for options mleg orders); send bracket, oco or oto orders")
        }
        if fields["position_intent"] != nil {
            throw refuse("position_intent is not supported by the desk (it is for options); send side alone")
        }
        let type = try fields["type"] == nil ? "" : text(fields, "type")
        if type.isEmpty {
            throw refuse("type is required: one of \"market\", \"limit\", \"stop\", \"stop_limit\", \"trailing_stop\"")
        }
        let timeInForce = try fields["time_in_force"] == nil ? "" : text(fields, "time_in_force")
        if ["opg", "cls", "gtd", "gtx"].contains(timeInForce) {
            throw refuse(
                "time_in_force \(OrderValidation.quoted(timeInForce)) is not supported by the desk: use day, gtc, ioc or fok"
            )
        }
        if timeInForce.isEmpty {
            throw refuse("time_in_force is required: one of \"day\", \"gtc\", \"ioc\", \"fok\"")
        }
        if fields["qty"] == nil && fields["notional"] == nil { throw refuse("qty or notional is required") }
        let clientOrderId = try fields["client_order_id"] == nil ? nil : text(fields, "client_order_id")
        if let clientOrderId, clientOrderId.count > maximumClientOrderIdLength {
            throw refuse(
                "client_order_id is \(clientOrderId.count) characters long; at most \(maximumClientOrderIdLength) are allowed"
            )
        }
        let extendedHours: String
        switch fields["extended_hours"] {
        case nil: extendedHours = ""
        case .bool(let value): extendedHours = value ? "true" : "false"
        case .string(let text) where text == "true" || text == "false": extendedHours = text
        default: throw refuse("extended_hours must be true or false")
        }
        let takeProfit = try object(fields, "take_profit", keys: ["limit_price"])
        let stopLoss = try object(fields, "stop_loss", keys: ["stop_price", "limit_price"])
        func optional(_ fields: [String: StrictJSON.Node.Value], _ key: String, in name: String = "")
            throws(AlpacaError) -> String
        {
            fields[key] == nil ? "" : try number(fields, key, name: name.isEmpty ? key : "\(name).\(key)")
        }
        let ticket = OrderTicket(
            symbol: try fields["symbol"] == nil ? "" : text(fields, "symbol"), qty: try optional(fields, "qty"),
            side: try fields["side"] == nil ? "" : text(fields, "side"), orderType: type, timeInForce: timeInForce,
            limitPrice: try optional(fields, "limit_price"), stopPrice: try optional(fields, "stop_price"),
            trailPrice: try optional(fields, "trail_price"), trailPercent: try optional(fields, "trail_percent"),
            notional: try optional(fields, "notional"), extendedHours: extendedHours,
            orderClass: try fields["order_class"] == nil ? "" : text(fields, "order_class"),
            takeProfitLimitPrice: try optional(takeProfit, "limit_price", in: "take_profit"),
            stopLossStopPrice: try optional(stopLoss, "stop_price", in: "stop_loss"),
            stopLossLimitPrice: try optional(stopLoss, "limit_price", in: "stop_loss"))
        return AlpacaOrderRequest(ticket: ticket, clientOrderId: clientOrderId)
    }

    /// An object field (`take_profit`, `stop_loss`) with only `keys`, its `null`
    /// and `""` members left out; empty when absent.
    static func object(_ fields: [String: StrictJSON.Node.Value], _ key: String, keys: [String])
        throws(AlpacaError) -> [String: StrictJSON.Node.Value]
    {
        guard let value = fields[key] else { return [:] }
        guard case .object(let members) = value else {
            throw AlpacaError(
                status: 422, message: "\(key) must be an object such as {\"\(keys[0])\": \"145.50\"}")
        }
        var inner: [String: StrictJSON.Node.Value] = [:]
        for member in members {
            guard keys.contains(member.key) else {
                throw AlpacaError(
                    status: 422,
                    message:
                        "unknown field \(OrderValidation.quoted(member.key)) in \(key); its fields are: \(keys.joined(separator: ", "))"
                )
            }
            switch member.node.value {
            case .null: continue
            case .string(let text) where text.isEmpty: continue
            default: inner[member.key] = member.node.value
            }
        }
        return inner
    }

    /// A string field.
    static func text(_ fields: [String: StrictJSON.Node.Value], _ key: String) throws(AlpacaError) -> String {
        guard case .string(let value) = fields[key] else {
            throw AlpacaError(status: 422, message: "\(key) must be a string")
        }
        return value
    }

    /// A decimal field: a JSON number (alpaca-py sends `1.0`) or a string (`"1.5"`), as its text;
    /// `name` is how a refusal calls it (the key by default).
    static func number(_ fields: [String: StrictJSON.Node.Value], _ key: String, name: String = "")
        throws(AlpacaError) -> String
    {
        switch fields[key] {
        case .number(let text), .string(let text): return text
        default:
            throw AlpacaError(
                status: 422, message: "\(name.isEmpty ? key : name) must be a number or a decimal string such as \"10\""
            )
        }
    }
}

/// A `PATCH /v2/orders/{id}` body (shared/ALPACA.md §3.6): `qty`, `limit_price`,
/// `stop_price`, `trail` (a trailing stop's new trail, in its mode), `time_in_force`
/// and `client_order_id`, all optional; `null` and `""` as absent.
public struct AlpacaReplaceRequest: Sendable, Equatable {
    /// What to change.
    public var changes: ReplaceTicket
    /// The new order's client order id, if given.
    public var clientOrderId: String?

    /// Every key Alpaca's replace body has; others are refused.
    public static let keys = ["qty", "limit_price", "stop_price", "trail", "time_in_force", "client_order_id"]

    /// Reads a replace body; the refusal is Alpaca's error for it.
    public static func parse(_ bytes: [UInt8]) -> Result<AlpacaReplaceRequest, AlpacaError> {
        do throws(AlpacaError) {
            let fields = try AlpacaOrderRequest.fieldsOf(bytes, keys: keys, kind: "replace")
            func value(_ key: String) throws(AlpacaError) -> String {
                fields[key] == nil ? "" : try AlpacaOrderRequest.number(fields, key)
            }
            let clientOrderId =
                try fields["client_order_id"] == nil ? nil : AlpacaOrderRequest.text(fields, "client_order_id")
            if let clientOrderId, clientOrderId.count > AlpacaOrderRequest.maximumClientOrderIdLength {
                throw AlpacaError(
                    status: 422,
                    message:
                        "client_order_id is \(clientOrderId.count) characters long; at most \(AlpacaOrderRequest.maximumClientOrderIdLength) are allowed"
                )
            }
            let changes = ReplaceTicket(
                qty: try value("qty"), limitPrice: try value("limit_price"), stopPrice: try value("stop_price"),
                trail: try value("trail"),
                timeInForce: try fields["time_in_force"] == nil ? "" : AlpacaOrderRequest.text(fields, "time_in_force"))
            return .success(AlpacaReplaceRequest(changes: changes, clientOrderId: clientOrderId))
        } catch {
            return .failure(error)
        }
    }
}

/// `GET /v2/orders`' query (§3.4): `status` open (default), closed or all; `limit`
/// 1–500 (default 50); `after`/`until` (exclusive, on submission time); `direction`
/// asc or desc (default); `nested` (a bracket's, oco's or oto's legs under their
/// order's `legs` instead of listed on their own); `side`; `symbols` (comma-separated). Booleans in Python's and Go's spellings.
public struct AlpacaOrdersQuery: Sendable, Equatable {
    public enum Status: String, Sendable { case open, closed, all }

    public var status: Status = .open
    public var limit = 50
    public var after: Date?
    public var until: Date?
    public var ascending = false
    public var nested = false
    public var side: Side?
    public var symbols: Set<String>?

    public static let names = ["status", "limit", "after", "until", "direction", "nested", "side", "symbols"]
    public static let maximumLimit = 500

    public init() {}

    /// Reads the query; an unknown parameter or a bad value is Alpaca's 422.
    public init(_ query: QueryParameters) throws(AlpacaError) {
        try AlpacaQuery.check(query, allowed: Self.names)
        if let raw = query.value("status") {
            guard let status = Status(rawValue: raw.lowercased()) else {
                throw AlpacaError(
                    status: 422, message: "status \(OrderValidation.quoted(raw)) must be open, closed or all")
            }
            self.status = status
        }
        if let raw = query.value("limit") {
            guard let limit = Int(raw), (1...Self.maximumLimit).contains(limit) else {
                throw AlpacaError(
                    status: 422, message: "limit \(OrderValidation.quoted(raw)) must be from 1 to \(Self.maximumLimit)")
            }
            self.limit = limit
        }
        after = try AlpacaQuery.time(query, "after")
        until = try AlpacaQuery.time(query, "until")
        if let raw = query.value("direction") {
            switch raw.lowercased() {
            case "asc": ascending = true
            case "desc": ascending = false
            default:
                throw AlpacaError(status: 422, message: "direction \(OrderValidation.quoted(raw)) must be asc or desc")
            }
        }
        nested = try AlpacaQuery.bool(query, "nested") ?? false
        if let raw = query.value("side") {
            guard let side = Side(rawValue: raw.lowercased()) else {
                throw AlpacaError(status: 422, message: "side \(OrderValidation.quoted(raw)) must be buy or sell")
            }
            self.side = side
        }
        if let raw = query.value("symbols") {
            symbols = Set(
                raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
    }

    /// Whether an order with these fields is listed (the limit is applied after).
    public func includes(status: OrderStatus, side: Side, symbol: String, createdAt: Date) -> Bool {
        switch self.status {
        case .open: if status.isFinal { return false }
        case .closed: if !status.isFinal { return false }
        case .all: break
        }
        if let wanted = self.side, wanted != side { return false }
        if let symbols, !symbols.contains(symbol) { return false }
        if let after, createdAt <= after { return false }
        if let until, createdAt >= until { return false }
        return true
    }
}

/// `DELETE /v2/positions/{symbol}`' query: `qty` (≤ 9 decimals) or `percentage` (0–100), not both.
public struct AlpacaCloseQuery: Sendable, Equatable {
    /// How much to close (the desk's rule: `CloseAmount`).
    public typealias Amount = CloseAmount

    public var amount: Amount = .all

    public init() {}

    public init(_ query: QueryParameters) throws(AlpacaError) {
        try AlpacaQuery.check(query, allowed: ["qty", "percentage"])
        let (qty, percentage) = (query.value("qty"), query.value("percentage"))
        if qty != nil && percentage != nil {
            throw AlpacaError(status: 422, message: "give qty or percentage, not both")
        }
        if let qty {
            guard case .success(let value) = ExactDecimal.parse(qty), value > 0 else {
                throw AlpacaError(status: 422, message: "qty \(OrderValidation.quoted(qty)) must be a positive decimal")
            }
            amount = .qty(value)
        }
        if let percentage {
            guard case .success(let value) = ExactDecimal.parse(percentage), value > 0, value <= 100 else {
                throw AlpacaError(
                    status: 422,
                    message: "percentage \(OrderValidation.quoted(percentage)) must be above 0 and at most 100")
            }
            amount = .percentage(value)
        }
    }

    /// How much of a position of `held` shares (magnitude) to close; whole shares
    /// only when the broker takes no fractions.
    public func quantity(of held: Decimal, fractional: Bool) -> Decimal {
        amount.quantity(of: held, fractional: fractional)
    }
}

/// Shared readers of `/v2` query strings.
public enum AlpacaQuery {
    /// Refuses a name outside `allowed` or one given twice.
    public static func check(_ query: QueryParameters, allowed: [String]) throws(AlpacaError) {
        for item in query.items where !allowed.contains(item.name) {
            throw AlpacaError(
                status: 422,
                message:
                    "unknown query parameter \(OrderValidation.quoted(item.name)); this endpoint takes: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", "))"
            )
        }
        for name in allowed where query.items.filter({ $0.name == name }).count > 1 {
            throw AlpacaError(
                status: 422, message: "query parameter \(OrderValidation.quoted(name)) is given more than once")
        }
    }

    /// `True`/`true`/`1`, `False`/`false`/`0`; nil when absent.
    public static func bool(_ query: QueryParameters, _ name: String) throws(AlpacaError) -> Bool? {
        guard let raw = query.value(name) else { return nil }
        switch raw.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw AlpacaError(status: 422, message: "\(name) \(OrderValidation.quoted(raw)) must be true or false")
        }
    }

    /// An RFC 3339 time (or a date); nil when absent.
    public static func time(_ query: QueryParameters, _ name: String) throws(AlpacaError) -> Date? {
        guard let raw = query.value(name) else { return nil }
        guard let date = AlpacaTime.date(raw) else {
            throw AlpacaError(
                status: 422,
                message:
                    "\(name) \(OrderValidation.quoted(raw)) is not a time: use RFC 3339 (2024-01-02T15:04:05Z) or a date"
            )
        }
        return date
    }
}
