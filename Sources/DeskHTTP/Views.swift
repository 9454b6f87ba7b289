import DeskAPI
import DeskCore
import DeskServices
import Foundation

// The ledger's records as the API shows them (DeskAPI's types), for the routes
// and for the CLI's `--json` output, which print the same shapes.

extension OrderView {
    /// An order, with its fills when given.
    public init(_ order: OrderRecord, fills: [FillRecord]? = nil) {
        self.init(
            orderId: order.orderId, member: order.member, strategy: order.strategy, symbol: order.symbol,
            qty: ExactDecimal.plain(order.qty), side: order.side.rawValue, orderType: order.orderType.rawValue,
            timeInForce: order.timeInForce.rawValue, limitPrice: order.limitPrice.map(ExactDecimal.plain),
            stopPrice: order.stopPrice.map(ExactDecimal.plain), status: order.status.rawValue,
            filledQty: ExactDecimal.plain(order.filledQty),
            filledAvgPrice: order.filledAvgPrice.map(ExactDecimal.plain),
            rejectReason: order.statusReason, createdAt: order.createdAt, updatedAt: order.updatedAt,
            fills: fills?.map {
                FillView(
                    fillId: $0.fillId, qty: ExactDecimal.plain($0.qty), price: ExactDecimal.plain($0.price),
                    filledAt: $0.filledAt, venue: $0.venue)
            }, venue: order.venue)
        orderClass = order.orderClass == .simple ? nil : order.orderClass.rawValue
        parentId = order.parentId
        trailPrice = order.trailPrice.map(ExactDecimal.plain)
        trailPercent = order.trailPercent.map(ExactDecimal.plain)
        notional = order.notional.map(ExactDecimal.plain)
        extendedHours = order.extendedHours ? true : nil
        legs = order.legs.isEmpty ? nil : order.legs.map { OrderView($0) }
        replaces = order.replaces
        replacedBy = order.replacedBy
    }
}

extension PositionView {
    /// A holding valued at `lastPrice` (nil: no price known yet); `byStrategy` shows its strategy.
    public init(_ record: PositionRecord, lastPrice: Decimal?, byStrategy: Bool) {
        let position = record.position
        self.init(
            member: record.member, strategy: byStrategy ? record.strategy : nil, symbol: record.symbol,
            qty: ExactDecimal.plain(position.qty), avgEntryPrice: position.averageEntryPrice.map(ExactDecimal.plain),
            costBasis: ExactDecimal.plain(position.costBasis), realizedPnL: ExactDecimal.plain(position.realizedPnL),
            marketPrice: lastPrice.map(ExactDecimal.plain),
            marketValue: lastPrice.map { ExactDecimal.plain(position.marketValue(at: $0)) },
            unrealizedPnL: lastPrice.map { ExactDecimal.plain(position.unrealizedPnL(at: $0)) }, venue: record.venue)
    }
}

extension AccountView {
    /// Sums a member's positions at the last known prices (at cost where none is known).
    public init(
        member: String, positions: [PositionRecord], openOrders: Int, lastPrice: (String) -> Decimal?,
        venue: String? = nil
    ) {
        self.init(
            member: member, valuation: AccountValuation(positions: positions, lastPrice: lastPrice),
            openOrders: openOrders, venue: venue)
    }

    /// A member's account (on `venue`; nil: every venue's) as valued.
    public init(member: String, valuation: AccountValuation, openOrders: Int, venue: String? = nil) {
        self.init(
            member: member, cashUsed: ExactDecimal.plain(valuation.cashUsed),
            marketValue: ExactDecimal.plain(valuation.marketValue),
            realizedPnL: ExactDecimal.plain(valuation.realizedPnL),
            unrealizedPnL: ExactDecimal.plain(valuation.unrealizedPnL),
            totalPnL: ExactDecimal.plain(valuation.totalPnL), openOrders: openOrders,
            positions: valuation.openPositions, venue: venue)
    }
}

extension HaltView {
    /// A kill switch as stored.
    public init(_ halt: HaltRecord) {
        self.init(scope: halt.scope, reason: halt.reason, haltedBy: halt.haltedBy, haltedAt: halt.haltedAt)
    }
}

extension OrderQuery {
    /// The ledger query an API listing asks for.
    public init(_ query: OrdersQuery) {
        let status: StatusFilter =
            switch query.status {
            case .all: .all
            case .open: .open
            case .closed: .closed
            case .exactly(let status): .exactly(status)
            }
        self.init(
            member: query.member, status: status, symbol: query.symbol, since: query.since, limit: query.limit,
            venue: query.venue)
    }
}
