import Foundation

/// An order as the read API shows it. Decimals are strings; absent values are null.
public struct OrderView: Codable, Sendable, Equatable {
    public var orderId: String
    /// Who the order belongs to.
    public var member: String
    /// The strategy that placed it; empty when the token names none.
    public var strategy: String
    public var symbol: String
    public var qty: String
    public var side: String
    public var orderType: String
    public var timeInForce: String
    @Nullable public var limitPrice: String?
    @Nullable public var stopPrice: String?
    /// `pending_new`, `new`, `partially_filled`, `filled`, `canceled`, `expired` or `rejected`.
    public var status: String
    public var filledQty: String
    @Nullable public var filledAvgPrice: String?
    /// Why the broker refused it, or why it was canceled or expired.
    @Nullable public var rejectReason: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// Its fills, on `GET /orders/{id}` only.
    public var fills: [FillView]?
    /// The venue it went to (`paper`, `live`, …).
    public var venue: String?
    /// `bracket`, `oco` or `oto`; absent for a simple order.
    public var orderClass: String?
    /// An exit's order (its entry; for oco the take profit).
    public var parentId: String?
    /// A trailing stop's trail in dollars.
    public var trailPrice: String?
    /// A trailing stop's trail in percent.
    public var trailPercent: String?
    /// The dollar amount a notional order asked for.
    public var notional: String?
    /// True for an order that may fill outside the regular session.
    public var extendedHours: Bool?
    /// Its exits (bracket, oco, oto), each an order of its own.
    public var legs: [OrderView]?
    /// The order it replaced.
    public var replaces: String?
    /// The order that replaced it.
    public var replacedBy: String?

    public init(
        orderId: String, member: String, strategy: String, symbol: String, qty: String, side: String,
        orderType: String, timeInForce: String, limitPrice: String?, stopPrice: String?, status: String,
        filledQty: String, filledAvgPrice: String?, rejectReason: String?, createdAt: Date, updatedAt: Date,
        fills: [FillView]? = nil, venue: String? = nil
    ) {
        self.venue = venue
        self.orderId = orderId
        self.member = member
        self.strategy = strategy
        self.symbol = symbol
        self.qty = qty
        self.side = side
        self.orderType = orderType
        self.timeInForce = timeInForce
        self.limitPrice = limitPrice
        self.stopPrice = stopPrice
        self.status = status
        self.filledQty = filledQty
        self.filledAvgPrice = filledAvgPrice
        self.rejectReason = rejectReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.fills = fills
    }

    enum CodingKeys: String, CodingKey {
        case orderId = "order_id", member, strategy, symbol, qty, side, orderType = "order_type"
        case timeInForce = "time_in_force", limitPrice = "limit_price", stopPrice = "stop_price", status
        case filledQty = "filled_qty", filledAvgPrice = "filled_avg_price", rejectReason = "reject_reason"
        case createdAt = "created_at", updatedAt = "updated_at", fills, venue
        case orderClass = "order_class", parentId = "parent_id", trailPrice = "trail_price"
        case trailPercent = "trail_percent", notional, extendedHours = "extended_hours", legs, replaces
        case replacedBy = "replaced_by"
    }
}

/// One fill of an order.
public struct FillView: Codable, Sendable, Equatable {
    public var fillId: String
    public var qty: String
    public var price: String
    public var filledAt: Date
    /// The venue it happened on.
    public var venue: String?

    public init(fillId: String, qty: String, price: String, filledAt: Date, venue: String? = nil) {
        self.venue = venue
        self.fillId = fillId
        self.qty = qty
        self.price = price
        self.filledAt = filledAt
    }

    enum CodingKeys: String, CodingKey {
        case fillId = "fill_id", qty, price, filledAt = "filled_at", venue
    }
}

/// `{"orders": [...]}`, newest first.
public struct OrderList: Codable, Sendable, Equatable {
    public var orders: [OrderView]
    public init(orders: [OrderView]) { self.orders = orders }
}

/// A holding valued at the last known price (null fields while no price is known).
public struct PositionView: Codable, Sendable, Equatable {
    public var member: String
    /// The strategy, in `?by=strategy` listings only.
    public var strategy: String?
    public var symbol: String
    public var qty: String
    @Nullable public var avgEntryPrice: String?
    public var costBasis: String
    public var realizedPnL: String
    @Nullable public var marketPrice: String?
    @Nullable public var marketValue: String?
    @Nullable public var unrealizedPnL: String?
    /// The venue whose book the holding is in.
    public var venue: String?

    public init(
        member: String, strategy: String?, symbol: String, qty: String, avgEntryPrice: String?, costBasis: String,
        realizedPnL: String, marketPrice: String?, marketValue: String?, unrealizedPnL: String?, venue: String? = nil
    ) {
        self.venue = venue
        self.member = member
        self.strategy = strategy
        self.symbol = symbol
        self.qty = qty
        self.avgEntryPrice = avgEntryPrice
        self.costBasis = costBasis
        self.realizedPnL = realizedPnL
        self.marketPrice = marketPrice
        self.marketValue = marketValue
        self.unrealizedPnL = unrealizedPnL
    }

    enum CodingKeys: String, CodingKey {
        case member, strategy, symbol, qty, avgEntryPrice = "avg_entry_price", costBasis = "cost_basis"
        case realizedPnL = "realized_pnl", marketPrice = "market_price", marketValue = "market_value"
        case unrealizedPnL = "unrealized_pnl", venue
    }
}

/// `{"positions": [...]}`.
public struct PositionList: Codable, Sendable, Equatable {
    public var positions: [PositionView]
    public init(positions: [PositionView]) { self.positions = positions }
}

/// A member's account summary. Positions without a known price count at cost.
public struct AccountView: Codable, Sendable, Equatable {
    public var member: String
    /// Net cash paid for trades: buys minus sells (negative: more taken in than paid).
    public var cashUsed: String
    public var marketValue: String
    public var realizedPnL: String
    public var unrealizedPnL: String
    public var totalPnL: String
    public var openOrders: Int
    /// Symbols held (non-zero quantity).
    public var positions: Int
    /// The venue whose book it is; absent when it adds up every venue's (an officer's or admin's read).
    public var venue: String?

    public init(
        member: String, cashUsed: String, marketValue: String, realizedPnL: String, unrealizedPnL: String,
        totalPnL: String, openOrders: Int, positions: Int, venue: String? = nil
    ) {
        self.venue = venue
        self.member = member
        self.cashUsed = cashUsed
        self.marketValue = marketValue
        self.realizedPnL = realizedPnL
        self.unrealizedPnL = unrealizedPnL
        self.totalPnL = totalPnL
        self.openOrders = openOrders
        self.positions = positions
    }

    enum CodingKeys: String, CodingKey {
        case member, cashUsed = "cash_used", marketValue = "market_value", realizedPnL = "realized_pnl"
        case unrealizedPnL = "unrealized_pnl", totalPnL = "total_pnl", openOrders = "open_orders", positions, venue
    }
}
