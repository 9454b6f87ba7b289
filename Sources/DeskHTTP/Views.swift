import DeskCore
import DeskLedger
import Foundation

/// An order as the read API shows it. Decimals are strings; absent values are null.
public struct OrderView: Encodable, Sendable {
    var orderId: String
    var userId: String
    var strategy: String
    var symbol: String
    var qty: String
    var side: String
    var orderType: String
    var timeInForce: String
    var limitPrice: String?
    var stopPrice: String?
    var status: String
    var filledQty: String
    var filledAvgPrice: String?
    var rejectReason: String?
    var createdAt: Date
    var updatedAt: Date
    var fills: [FillView]?

    public init(_ order: OrderRecord) { self.init(order, fills: nil) }

    public init(_ order: OrderRecord, fills: [FillRecord]?) {
        orderId = order.orderId
        userId = order.userId
        strategy = order.strategy
        symbol = order.symbol
        qty = ExactDecimal.plain(order.qty)
        side = order.side.rawValue
        orderType = order.orderType.rawValue
        timeInForce = order.timeInForce.rawValue
        limitPrice = order.limitPrice.map(ExactDecimal.plain)
        stopPrice = order.stopPrice.map(ExactDecimal.plain)
        status = order.status.rawValue
        filledQty = ExactDecimal.plain(order.filledQty)
        filledAvgPrice = order.filledAvgPrice.map(ExactDecimal.plain)
        rejectReason = order.rejectReason
        createdAt = order.createdAt
        updatedAt = order.updatedAt
        self.fills = fills?.map(FillView.init)
    }

    enum CodingKeys: String, CodingKey {
        case orderId = "order_id", userId = "user_id", strategy, symbol, qty, side, orderType = "order_type"
        case timeInForce = "time_in_force", limitPrice = "limit_price", stopPrice = "stop_price", status
        case filledQty = "filled_qty", filledAvgPrice = "filled_avg_price", rejectReason = "reject_reason"
        case createdAt = "created_at", updatedAt = "updated_at", fills
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(orderId, forKey: .orderId)
        try container.encode(userId, forKey: .userId)
        try container.encode(strategy, forKey: .strategy)
        try container.encode(symbol, forKey: .symbol)
        try container.encode(qty, forKey: .qty)
        try container.encode(side, forKey: .side)
        try container.encode(orderType, forKey: .orderType)
        try container.encode(timeInForce, forKey: .timeInForce)
        try container.encode(limitPrice, forKey: .limitPrice)
        try container.encode(stopPrice, forKey: .stopPrice)
        try container.encode(status, forKey: .status)
        try container.encode(filledQty, forKey: .filledQty)
        try container.encode(filledAvgPrice, forKey: .filledAvgPrice)
        try container.encode(rejectReason, forKey: .rejectReason)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(fills, forKey: .fills)
    }
}

/// One fill of an order.
public struct FillView: Encodable, Sendable {
    var fillId: String
    var qty: String
    var price: String
    var filledAt: Date

    public init(_ fill: FillRecord) {
        fillId = fill.fillId
        qty = ExactDecimal.plain(fill.qty)
        price = ExactDecimal.plain(fill.price)
        filledAt = fill.filledAt
    }

    enum CodingKeys: String, CodingKey {
        case fillId = "fill_id", qty, price, filledAt = "filled_at"
    }
}

/// `{"orders": [...]}`.
public struct OrderList: Encodable, Sendable {
    var orders: [OrderView]
    public init(orders: [OrderView]) { self.orders = orders }
}

/// A holding valued at the last known price (null fields when no price is known yet).
public struct PositionView: Encodable, Sendable {
    var userId: String
    var strategy: String?
    var symbol: String
    var qty: String
    var avgEntryPrice: String?
    var costBasis: String
    var realizedPnl: String
    var marketPrice: String?
    var marketValue: String?
    var unrealizedPnl: String?

    public init(_ record: PositionRecord, lastPrice: Decimal?, byStrategy: Bool) {
        let position = record.position
        userId = record.userId
        strategy = byStrategy ? record.strategy : nil
        symbol = record.symbol
        qty = ExactDecimal.plain(position.qty)
        avgEntryPrice = position.averageEntryPrice.map(ExactDecimal.plain)
        costBasis = ExactDecimal.plain(position.costBasis)
        realizedPnl = ExactDecimal.plain(position.realizedPnL)
        marketPrice = lastPrice.map(ExactDecimal.plain)
        marketValue = lastPrice.map { ExactDecimal.plain(position.marketValue(at: $0)) }
        unrealizedPnl = lastPrice.map { ExactDecimal.plain(position.unrealizedPnL(at: $0)) }
    }

    enum CodingKeys: String, CodingKey {
        case userId = "user_id", strategy, symbol, qty, avgEntryPrice = "avg_entry_price", costBasis = "cost_basis"
        case realizedPnl = "realized_pnl", marketPrice = "market_price", marketValue = "market_value"
        case unrealizedPnl = "unrealized_pnl"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(userId, forKey: .userId)
        try container.encodeIfPresent(strategy, forKey: .strategy)
        try container.encode(symbol, forKey: .symbol)
        try container.encode(qty, forKey: .qty)
        try container.encode(avgEntryPrice, forKey: .avgEntryPrice)
        try container.encode(costBasis, forKey: .costBasis)
        try container.encode(realizedPnl, forKey: .realizedPnl)
        try container.encode(marketPrice, forKey: .marketPrice)
        try container.encode(marketValue, forKey: .marketValue)
        try container.encode(unrealizedPnl, forKey: .unrealizedPnl)
    }
}

/// `{"positions": [...]}`.
public struct PositionList: Encodable, Sendable {
    var positions: [PositionView]
    public init(positions: [PositionView]) { self.positions = positions }
}

/// A member's account summary. Positions without a known price count at cost.
public struct AccountView: Encodable, Sendable, Equatable {
    var userId: String
    /// Net cash paid for trades: buys minus sells (negative: more taken in than paid).
    var cashUsed: String
    var marketValue: String
    var realizedPnl: String
    var unrealizedPnl: String
    var totalPnl: String
    var openOrders: Int
    var positions: Int

    enum CodingKeys: String, CodingKey {
        case userId = "user_id", cashUsed = "cash_used", marketValue = "market_value", realizedPnl = "realized_pnl"
        case unrealizedPnl = "unrealized_pnl", totalPnl = "total_pnl", openOrders = "open_orders", positions
    }

    /// Sums a member's positions at the last known prices.
    public init(member: String, positions: [PositionRecord], openOrders: Int, lastPrice: (String) -> Decimal?) {
        var cost: Decimal = 0
        var value: Decimal = 0
        var realized: Decimal = 0
        var unrealized: Decimal = 0
        for record in positions {
            let position = record.position
            cost += position.costBasis
            realized += position.realizedPnL
            if let price = lastPrice(record.symbol) {
                value += position.marketValue(at: price)
                unrealized += position.unrealizedPnL(at: price)
            } else {
                value += position.costBasis
            }
        }
        userId = member
        cashUsed = ExactDecimal.plain(cost - realized)
        marketValue = ExactDecimal.plain(value)
        realizedPnl = ExactDecimal.plain(realized)
        unrealizedPnl = ExactDecimal.plain(unrealized)
        totalPnl = ExactDecimal.plain(realized + unrealized)
        self.openOrders = openOrders
        self.positions = positions.filter { $0.qty != 0 }.count
    }
}
