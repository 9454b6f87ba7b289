import Foundation

/// A holding in one symbol: signed quantity (negative is short), the cost of
/// what is held, and the profit realized by reducing it. Exact decimals.
public struct Position: Sendable, Equatable {
    /// Shares held; negative when short.
    public private(set) var qty: Decimal
    /// What the open quantity cost: qty × average entry price (negative when short).
    public private(set) var costBasis: Decimal
    /// Profit or loss locked in by sells of longs and buys of shorts.
    public private(set) var realizedPnL: Decimal

    public init(qty: Decimal = 0, costBasis: Decimal = 0, realizedPnL: Decimal = 0) {
        self.qty = qty
        self.costBasis = costBasis
        self.realizedPnL = realizedPnL
    }

    /// Digits kept when a partial close takes its share of the cost basis.
    public static let costScale = 10

    /// Average price paid per share held, 6 decimal places; nil when flat.
    public var averageEntryPrice: Decimal? {
        qty == 0 ? nil : ExactDecimal.rounded(costBasis / qty, scale: 6)
    }

    /// Value of the holding at `price`.
    public func marketValue(at price: Decimal) -> Decimal { qty * price }

    /// Profit or loss not yet realized, at `price`.
    public func unrealizedPnL(at price: Decimal) -> Decimal { qty * price - costBasis }

    /// Books a fill. Adding to the holding (or opening it) adds to the cost;
    /// reducing it realizes profit against the average entry price; a fill larger
    /// than the holding closes it and opens the other way at the fill price.
    public mutating func apply(side: Side, qty fillQty: Decimal, price: Decimal) {
        let signed = side == .buy ? fillQty : -fillQty
        if qty == 0 || (qty > 0) == (signed > 0) {
            qty += signed
            costBasis += signed * price
            return
        }
        let held = qty.magnitude
        let closing = min(held, fillQty)
        let removedCost =
            closing == held ? costBasis : ExactDecimal.rounded(costBasis * closing / held, scale: Self.costScale)
        let direction: Decimal = qty > 0 ? 1 : -1
        realizedPnL += direction * closing * price - removedCost
        costBasis -= removedCost
        qty += side == .buy ? closing : -closing
        let opening = fillQty - closing
        if opening > 0 {
            qty = side == .buy ? opening : -opening
            costBasis = qty * price
        }
        if qty == 0 { costBasis = 0 }
    }

    /// A split of `ratio` new shares per old: the quantity is multiplied and the cost
    /// basis stays. When the holding was whole shares and the new quantity is not, the
    /// fraction is paid as cash in lieu at `price` per new share (no price: at its cost,
    /// realizing nothing) and its share of the cost is realized against that cash.
    /// Returns the cash in lieu (signed like the holding).
    mutating func applySplit(ratio: Decimal, cashInLieuPrice price: Decimal?) -> Decimal {
        guard qty != 0 else { return 0 }
        let wasWhole = Self.wholePart(qty) == qty
        qty *= ratio
        guard wasWhole else { return 0 }
        let whole = Self.wholePart(qty)
        let fraction = qty - whole
        if fraction == 0 { return 0 }
        let removedCost =
            whole == 0 ? costBasis : ExactDecimal.rounded(costBasis * fraction / qty, scale: Self.costScale)
        let cash = price.map { fraction * $0 } ?? removedCost
        realizedPnL += cash - removedCost
        costBasis -= removedCost
        qty = whole
        if qty == 0 { costBasis = 0 }
        return cash
    }

    /// A cash dividend of `amount` per share held: quantity × amount, into realized P&L
    /// (a short pays it). Returns the cash.
    mutating func applyDividend(amount: Decimal) -> Decimal {
        let cash = qty * amount
        realizedPnL += cash
        return cash
    }

    /// The whole shares of `value`, toward zero.
    static func wholePart(_ value: Decimal) -> Decimal {
        var magnitude = value.magnitude
        var whole = Decimal()
        NSDecimalRound(&whole, &magnitude, 0, .down)
        return value < 0 ? -whole : whole
    }
}
