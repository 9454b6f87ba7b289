import DeskCore
import Foundation

// The objects of Alpaca's Trading API v2 as the desk's `/v2` routes write them
// (shared/ALPACA.md §3.2, §5): Alpaca's field names, decimals as strings, RFC 3339
// times, `null` for what does not apply, only values alpaca-py's enums know.

/// Alpaca's Order object.
public struct AlpacaOrderView: Codable, Sendable, Equatable {
    public var id: String
    public var client_order_id: String
    public var created_at: String
    public var updated_at: String
    public var submitted_at: String
    @Nullable public var filled_at: String?
    @Nullable public var expired_at: String?
    @Nullable public var canceled_at: String?
    @Nullable public var failed_at: String?
    @Nullable public var replaced_at: String?
    @Nullable public var replaced_by: String?
    @Nullable public var replaces: String?
    public var asset_id: String
    public var symbol: String
    public var asset_class: String
    @Nullable public var notional: String?
    @Nullable public var qty: String?
    public var filled_qty: String
    @Nullable public var filled_avg_price: String?
    public var order_class: String
    public var order_type: String
    public var type: String
    public var side: String
    public var time_in_force: String
    @Nullable public var limit_price: String?
    @Nullable public var stop_price: String?
    public var status: String
    public var extended_hours: Bool
    @Nullable public var legs: [AlpacaOrderView]?
    @Nullable public var trail_percent: String?
    @Nullable public var trail_price: String?
    @Nullable public var hwm: String?
    /// The desk's own additions (alpaca-py ignores fields it does not know): whose order it is.
    public var member: String
    /// The strategy that placed it; empty when none.
    public var strategy: String
    /// Why the desk or the broker rejected or canceled it.
    @Nullable public var reject_reason: String?

    /// An order as the desk recorded it.
    public init(
        id: String, clientOrderId: String, member: String, strategy: String, symbol: String, qty: Decimal,
        side: Side, type: OrderType, timeInForce: TimeInForce, limitPrice: Decimal?, stopPrice: Decimal?,
        status: OrderStatus, filledQty: Decimal, filledAvgPrice: Decimal?, rejectReason: String?, createdAt: Date,
        updatedAt: Date
    ) {
        let updated = AlpacaTime.string(updatedAt)
        self.id = id
        client_order_id = clientOrderId
        created_at = AlpacaTime.string(createdAt)
        updated_at = updated
        submitted_at = created_at
        filled_at = status == .filled ? updated : nil
        expired_at = status == .expired ? updated : nil
        canceled_at = status == .canceled ? updated : nil
        failed_at = status == .rejected ? updated : nil
        asset_id = AlpacaAssetView.assetId(symbol)
        self.symbol = symbol
        asset_class = AlpacaAssetView.assetClass
        self.qty = ExactDecimal.plain(qty)
        filled_qty = ExactDecimal.plain(filledQty)
        filled_avg_price = filledAvgPrice.map(ExactDecimal.plain)
        order_class = "simple"
        order_type = type.rawValue
        self.type = type.rawValue
        self.side = side.rawValue
        time_in_force = timeInForce.rawValue
        limit_price = limitPrice.map(ExactDecimal.plain)
        stop_price = stopPrice.map(ExactDecimal.plain)
        self.status = status.rawValue
        extended_hours = false
        self.member = member
        self.strategy = strategy
        reject_reason = rejectReason
    }
}

extension AlpacaOrderView {
    /// The order as it was when the desk accepted it (what a `new` trade update
    /// shows, though the order may have filled since): status `new`, nothing filled.
    public var asNew: AlpacaOrderView {
        var order = self
        order.status = OrderStatus.new.rawValue
        order.updated_at = created_at
        order.filled_qty = "0"
        order.filled_avg_price = nil
        order.filled_at = nil
        order.canceled_at = nil
        order.expired_at = nil
        order.failed_at = nil
        order.reject_reason = nil
        return order
    }
}

/// Alpaca's Position object: one member's holding in one symbol.
public struct AlpacaPositionView: Codable, Sendable, Equatable {
    public var asset_id: String
    public var symbol: String
    public var exchange: String
    public var asset_class: String
    public var asset_marginable: Bool
    public var avg_entry_price: String
    public var qty: String
    public var qty_available: String
    public var side: String
    @Nullable public var market_value: String?
    public var cost_basis: String
    @Nullable public var unrealized_pl: String?
    @Nullable public var unrealized_plpc: String?
    @Nullable public var current_price: String?
    /// The desk's addition: profit already realized in this symbol.
    public var realized_pl: String

    /// A position at `lastPrice` (nil: none known yet, so no market value).
    /// `heldForOrders` is what open sell orders of a long (buy orders of a short) already claim.
    public init(symbol: String, position: Position, lastPrice: Decimal?, heldForOrders: Decimal = 0) {
        asset_id = AlpacaAssetView.assetId(symbol)
        self.symbol = symbol
        exchange = ""
        asset_class = AlpacaAssetView.assetClass
        asset_marginable = false
        avg_entry_price = position.averageEntryPrice.map(ExactDecimal.plain) ?? "0"
        qty = ExactDecimal.plain(position.qty)
        qty_available = ExactDecimal.plain(max(0, position.qty.magnitude - heldForOrders) * (position.qty < 0 ? -1 : 1))
        side = position.qty < 0 ? "short" : "long"
        cost_basis = ExactDecimal.plain(position.costBasis)
        realized_pl = ExactDecimal.plain(position.realizedPnL)
        if let lastPrice {
            let unrealized = position.unrealizedPnL(at: lastPrice)
            market_value = ExactDecimal.plain(position.marketValue(at: lastPrice))
            unrealized_pl = ExactDecimal.plain(unrealized)
            unrealized_plpc =
                position.costBasis == 0
                ? "0" : ExactDecimal.plain(ExactDecimal.rounded(unrealized / position.costBasis.magnitude, scale: 6))
            current_price = ExactDecimal.plain(lastPrice)
        }
    }
}

/// Alpaca's Account object, for one member: their capital allocation as a cash account.
public struct AlpacaAccountView: Codable, Sendable, Equatable {
    public var id: String
    public var account_number: String
    public var status: String
    public var crypto_status: String
    public var currency: String
    public var cash: String
    public var buying_power: String
    public var regt_buying_power: String
    public var daytrading_buying_power: String
    public var non_marginable_buying_power: String
    public var options_buying_power: String
    public var portfolio_value: String
    public var equity: String
    public var last_equity: String
    public var long_market_value: String
    public var short_market_value: String
    public var initial_margin: String
    public var maintenance_margin: String
    public var last_maintenance_margin: String
    public var sma: String
    public var multiplier: String
    public var accrued_fees: String
    public var pending_transfer_in: String
    public var pending_transfer_out: String
    public var pattern_day_trader: Bool
    public var trading_blocked: Bool
    public var transfers_blocked: Bool
    public var account_blocked: Bool
    public var trade_suspended_by_user: Bool
    public var shorting_enabled: Bool
    public var daytrade_count: Int
    public var created_at: String
    /// The desk's additions: whose allocation this is, and its size.
    public var member: String
    /// The member's capital allocation; null when the member has none (no buying-power limit).
    @Nullable public var capital: String?
    /// Profit realized so far.
    public var realized_pl: String

    /// The buying power shown to a member without a capital allocation, whom the
    /// desk does not limit: a large number, so that an SDK strategy that checks
    /// `buying_power` before it orders goes ahead (`capital` is null).
    public static let unlimitedBuyingPower = "1000000000"

    /// A member's account: `statement` is their cash, equity and buying power; `halted` when a kill switch is on.
    public init(member: String, statement: CapitalStatement, halted: Bool, createdAt: Date) {
        id = AlpacaIds.uuid("account:" + member)
        account_number = member
        status = "ACTIVE"
        crypto_status = "INACTIVE"
        currency = "USD"
        let money = { (value: Decimal) in ExactDecimal.plain(value) }
        cash = money(statement.cash)
        buying_power = statement.capital == nil ? Self.unlimitedBuyingPower : money(statement.buyingPower)
        regt_buying_power = buying_power
        daytrading_buying_power = "0"
        non_marginable_buying_power = buying_power
        options_buying_power = "0"
        equity = money(statement.equity)
        portfolio_value = equity
        last_equity = equity
        long_market_value = money(statement.longMarketValue)
        short_market_value = money(statement.shortMarketValue)
        initial_margin = money(statement.shortCollateral)
        maintenance_margin = initial_margin
        last_maintenance_margin = initial_margin
        sma = "0"
        multiplier = "1"
        accrued_fees = "0"
        pending_transfer_in = "0"
        pending_transfer_out = "0"
        pattern_day_trader = false
        trading_blocked = halted
        transfers_blocked = true
        account_blocked = false
        trade_suspended_by_user = false
        shorting_enabled = true
        daytrade_count = 0
        created_at = AlpacaTime.string(createdAt)
        self.member = member
        capital = statement.capital.map(ExactDecimal.plain)
        realized_pl = money(statement.realizedPnL)
    }
}

/// Alpaca's Clock object.
public struct AlpacaClockView: Codable, Sendable, Equatable {
    public var timestamp: String
    public var is_open: Bool
    public var next_open: String
    public var next_close: String

    public init(timestamp: Date, isOpen: Bool, nextOpen: Date, nextClose: Date) {
        self.timestamp = AlpacaTime.string(timestamp)
        is_open = isOpen
        next_open = AlpacaTime.string(nextOpen)
        next_close = AlpacaTime.string(nextClose)
    }
}

/// One trading day of Alpaca's calendar: `date` `YYYY-MM-DD`, `open`/`close` `HH:MM` (exchange time).
public struct AlpacaCalendarDay: Codable, Sendable, Equatable {
    public var date: String
    public var open: String
    public var close: String
    public var session_open: String
    public var session_close: String

    public init(date: String, open: String, close: String) {
        self.date = date
        self.open = open
        self.close = close
        session_open = open.replacingOccurrences(of: ":", with: "")
        session_close = close.replacingOccurrences(of: ":", with: "")
    }
}

/// Alpaca's Asset object for a symbol the desk trades.
public struct AlpacaAssetView: Codable, Sendable, Equatable {
    public var id: String
    public var `class`: String
    public var exchange: String
    public var symbol: String
    public var name: String
    public var status: String
    public var tradable: Bool
    public var marginable: Bool
    public var shortable: Bool
    public var easy_to_borrow: Bool
    public var fractionable: Bool
    public var attributes: [String]

    /// `symbol` as the desk trades it; `fractionable` when the broker takes fractional shares.
    public init(symbol: String, fractionable: Bool) {
        id = Self.assetId(symbol)
        `class` = Self.assetClass
        exchange = ""
        self.symbol = symbol
        name = symbol
        status = "active"
        tradable = true
        marginable = false
        shortable = true
        easy_to_borrow = true
        self.fractionable = fractionable
        attributes = []
    }

    /// Every asset the desk trades is a US equity.
    public static let assetClass = "us_equity"

    /// A symbol's asset id: a UUID derived from the symbol, the same in every desk.
    public static func assetId(_ symbol: String) -> String { AlpacaIds.uuid("asset:" + symbol) }
}

/// One element of `DELETE /v2/orders`' 207 reply.
public struct AlpacaCancelResult: Codable, Sendable, Equatable {
    public var id: String
    public var status: Int
    @Nullable public var body: AlpacaError?

    public init(id: String, status: Int, body: AlpacaError?) {
        self.id = id
        self.status = status
        self.body = body
    }
}

/// One element of `DELETE /v2/positions`' 207 reply: the closing order, or why there is none.
public struct AlpacaCloseResult: Encodable, Sendable, Equatable {
    public enum Body: Sendable, Equatable {
        case order(AlpacaOrderView)
        case error(AlpacaError)
    }

    public var symbol: String
    public var status: Int
    public var body: Body

    public init(symbol: String, status: Int, body: Body) {
        self.symbol = symbol
        self.status = status
        self.body = body
    }

    enum CodingKeys: String, CodingKey { case symbol, status, body, order_id }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(symbol, forKey: .symbol)
        try container.encode(status, forKey: .status)
        switch body {
        case .order(let order):
            try container.encode(order, forKey: .body)
            try container.encode(order.id, forKey: .order_id)
        case .error(let error): try container.encode(error, forKey: .body)
        }
    }
}

/// Alpaca's error body, `{"code": 42210000, "message": "…"}`: the code's first three
/// digits are the HTTP status.
public struct AlpacaError: Codable, Sendable, Equatable, Error, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// The error for an HTTP `status` (`422` → code `42210000`).
    public init(status: Int, message: String) {
        self.init(code: status * 100_000 + 10_000, message: message)
    }

    /// The HTTP status the code stands for.
    public var httpStatus: Int { code / 100_000 }

    public var description: String { "\(httpStatus) \(message)" }
}

/// Alpaca's times: RFC 3339 in UTC with microseconds (`2021-03-16T18:38:01.942282Z`).
public enum AlpacaTime {
    /// `date` as Alpaca writes it.
    public static func string(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded())
        let whole = Date(timeIntervalSince1970: seconds)
        let text = Timestamp.string(whole)  // 2021-03-16T18:38:01Z
        return String(text.dropLast()) + String(format: ".%06dZ", min(micros, 999_999))
    }

    /// Reads what alpaca-py (`isoformat()`, `+00:00`) or the Go SDK (`…Z`) send: RFC 3339 with
    /// or without fractions, or a date alone (`2024-01-02`, midnight UTC) — `Timestamp.date`.
    public static func date(_ text: String) -> Date? { Timestamp.date(text) }
}

/// Ids derived from names, in UUID form (alpaca-py checks that ids are UUIDs).
public enum AlpacaIds {
    /// A UUID-shaped id that depends only on `name` (two FNV-1a hashes; version 8, "custom").
    public static func uuid(_ name: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            name.utf8.reduce(seed) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        }
        let high = (fnv(0xcbf2_9ce4_8422_2325) & 0xFFFF_FFFF_FFFF_0FFF) | 0x8000
        let low = (fnv(0x8422_2325_cbf2_9ce4) & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let hex = String(format: "%016llx%016llx", high, low)
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// Whether `text` has a UUID's form (`8-4-4-4-12` hex digits).
    public static func isUUID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }
}

/// A `trade_updates` message: `{"stream":"trade_updates","data":{"event":…,"order":{…},…}}`.
public struct AlpacaTradeUpdate: Encodable, Sendable, Equatable {
    /// What happened, in Alpaca's words.
    public struct Payload: Encodable, Sendable, Equatable {
        /// `new`, `fill`, `partial_fill`, `canceled`, `expired`, `rejected`.
        public var event: String
        /// A UUID for fills (derived from the desk's fill id).
        public var execution_id: String?
        public var order: AlpacaOrderView
        public var timestamp: String
        /// A fill's price and quantity.
        public var price: String?
        public var qty: String?
        /// The member's position in the symbol after the fill (negative when short).
        public var position_qty: String?
    }

    public var stream = "trade_updates"
    public var data: Payload

    /// The message for `event` of `order` at `date`; `positionQty` after a fill.
    public init(event: OrderEvent, fillId: String?, order: AlpacaOrderView, at date: Date, positionQty: Decimal?) {
        var payload = Payload(event: "", order: order, timestamp: AlpacaTime.string(date))
        switch event {
        case .accepted:
            payload.event = "new"
            payload.order = order.asNew
        case .fill(let qty, let price):
            payload.event = order.status == OrderStatus.filled.rawValue ? "fill" : "partial_fill"
            payload.execution_id = AlpacaIds.uuid("fill:" + order.id + ":" + (fillId ?? order.filled_qty))
            payload.price = ExactDecimal.plain(price)
            payload.qty = ExactDecimal.plain(qty)
            payload.position_qty = positionQty.map(ExactDecimal.plain)
        case .canceled: payload.event = "canceled"
        case .expired: payload.event = "expired"
        case .rejected: payload.event = "rejected"
        case .replaced: payload.event = "replaced"
        }
        data = payload
    }
}
