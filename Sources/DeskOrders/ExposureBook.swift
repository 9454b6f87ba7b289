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
        /// Its limit (or stop) price: what its remainder is valued at for buying power.
        var price: Decimal?
    }

    private struct Key: Hashable, Sendable {
        var member: String
        var symbol: String
    }

    private var positions: [Key: Position] = [:]
    private var openOrders: [String: OpenOrder] = [:]
    private var openCounts: [String: Int] = [:]
    private var openQty: [Key: (buy: Decimal, sell: Decimal)] = [:]

    /// Builds the book from the ledger's positions and open orders.
    init(positions: [PositionRecord], openOrders: [OrderRecord]) {
        for position in positions {
            self.positions[Key(member: position.userId, symbol: position.symbol)] = position.position
        }
        for order in openOrders { track(order) }
    }

    /// What `member` holds and has working in `symbol`.
    func exposure(member: String, symbol: String, lastPrice: Decimal?) -> RiskExposure {
        let key = Key(member: member, symbol: symbol)
        let open = openQty[key] ?? (0, 0)
        return RiskExposure(
            position: positions[key]?.qty ?? 0, openBuyQty: open.buy, openSellQty: open.sell,
            openOrders: openCounts[member] ?? 0, lastPrice: lastPrice)
    }

    /// Counts a newly accepted (or restored) order as working.
    mutating func track(_ order: OrderRecord) {
        guard order.status.isOpen, openOrders[order.orderId] == nil else { return }
        let open = OpenOrder(
            member: order.userId, symbol: order.symbol, side: order.side, remaining: order.qty - order.filledQty,
            price: order.limitPrice ?? order.stopPrice)
        openOrders[order.orderId] = open
        openCounts[open.member, default: 0] += 1
        adjustOpen(open, by: open.remaining)
    }

    /// Follows an order after a ledger change: a fill moves quantity from open to
    /// held; a final status stops counting it.
    mutating func update(to order: OrderRecord, filled fill: (qty: Decimal, price: Decimal)?) {
        if let fill {
            let key = Key(member: order.userId, symbol: order.symbol)
            positions[key, default: Position()].apply(side: order.side, qty: fill.qty, price: fill.price)
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

    // MARK: Capital

    /// `member`'s holdings and working orders, as the capital rule reads them.
    private func capitalInputs(member: String, lastPrice: (String) -> Decimal?) -> (
        holdings: [CapitalRule.Holding], working: [CapitalRule.WorkingOrder]
    ) {
        let holdings = positions.filter { $0.key.member == member && $0.value.qty != 0 }
            .sorted { $0.key.symbol < $1.key.symbol }
            .map { CapitalRule.Holding(symbol: $0.key.symbol, position: $0.value, lastPrice: lastPrice($0.key.symbol)) }
        let working = openOrders.filter { $0.value.member == member }.sorted { $0.key < $1.key }.map { _, open in
            CapitalRule.WorkingOrder(
                symbol: open.symbol, side: open.side, remainingQty: open.remaining,
                price: open.price ?? lastPrice(open.symbol))
        }
        return (holdings, working)
    }

    /// `member`'s cash, equity and buying power for `capital`.
    func capitalStatement(member: String, capital: Decimal?, lastPrice: (String) -> Decimal?) -> CapitalStatement {
        let inputs = capitalInputs(member: member, lastPrice: lastPrice)
        return CapitalRule.statement(capital: capital, holdings: inputs.holdings, working: inputs.working)
    }

    /// Why `order` does not fit `member`'s buying power, or nil when it does (or they have no allocation).
    func capitalRefusal(_ order: NewOrder, member: String, capital: Decimal?, lastPrice: (String) -> Decimal?)
        -> CapitalRule.Refusal?
    {
        guard capital != nil else { return nil }
        let inputs = capitalInputs(member: member, lastPrice: lastPrice)
        let statement = CapitalRule.statement(capital: capital, holdings: inputs.holdings, working: inputs.working)
        return CapitalRule.check(
            order, price: order.boundingPrice ?? lastPrice(order.symbol), statement: statement,
            held: positions[Key(member: member, symbol: order.symbol)]?.qty ?? 0, working: inputs.working)
    }
}
