import DeskCore
import DeskLedger
import Foundation

/// The desk's in-memory view of what each member holds and has working, kept
/// in step with the ledger, so risk checks need no database read. Pure value type.
struct ExposureBook: Sendable {
    private struct OpenOrder: Sendable {
        var member: String
        var symbol: String
        var side: Side
        var remaining: Decimal
    }

    private struct Key: Hashable, Sendable {
        var member: String
        var symbol: String
    }

    private var positions: [Key: Decimal] = [:]
    private var openOrders: [String: OpenOrder] = [:]
    private var openCounts: [String: Int] = [:]
    private var openQty: [Key: (buy: Decimal, sell: Decimal)] = [:]

    /// Builds the book from the ledger's positions and open orders.
    init(positions: [PositionRecord], openOrders: [OrderRecord]) {
        for position in positions {
            self.positions[Key(member: position.userId, symbol: position.symbol)] = position.qty
        }
        for order in openOrders { track(order) }
    }

    /// What `member` holds and has working in `symbol`.
    func exposure(member: String, symbol: String, lastPrice: Decimal?) -> RiskExposure {
        let key = Key(member: member, symbol: symbol)
        let open = openQty[key] ?? (0, 0)
        return RiskExposure(
            position: positions[key] ?? 0, openBuyQty: open.buy, openSellQty: open.sell,
            openOrders: openCounts[member] ?? 0, lastPrice: lastPrice)
    }

    /// Counts a newly accepted (or restored) order as working.
    mutating func track(_ order: OrderRecord) {
        guard order.status.isOpen, openOrders[order.orderId] == nil else { return }
        let open = OpenOrder(
            member: order.userId, symbol: order.symbol, side: order.side, remaining: order.qty - order.filledQty)
        openOrders[order.orderId] = open
        openCounts[open.member, default: 0] += 1
        adjustOpen(open, by: open.remaining)
    }

    /// Follows an order after a ledger change: a fill moves quantity from open to
    /// held; a final status stops counting it.
    mutating func update(to order: OrderRecord, filled fillQty: Decimal?) {
        if let fillQty {
            let key = Key(member: order.userId, symbol: order.symbol)
            positions[key, default: 0] += order.side == .buy ? fillQty : -fillQty
        }
        guard var open = openOrders[order.orderId] else { return }
        let remaining = order.status.isOpen ? order.qty - order.filledQty : 0
        adjustOpen(open, by: remaining - open.remaining)
        open.remaining = remaining
        if order.status.isFinal {
            openOrders[order.orderId] = nil
            openCounts[open.member, default: 1] -= 1
        } else {
            openOrders[order.orderId] = open
        }
    }

    private mutating func adjustOpen(_ open: OpenOrder, by delta: Decimal) {
        let key = Key(member: open.member, symbol: open.symbol)
        var quantities = openQty[key] ?? (0, 0)
        if open.side == .buy { quantities.buy += delta } else { quantities.sell += delta }
        openQty[key] = quantities
    }
}
