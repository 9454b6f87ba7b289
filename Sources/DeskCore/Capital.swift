import Foundation

/// A member's share of the club's account, as a cash account (no margin, no
/// leverage): what the member has, what their working orders already claim, and
/// what is left to trade with.
///
/// - **cash** = capital − buys + sells − fees (the desk charges no fees): the cost
///   basis of what is held comes out of it, realized profit goes back in.
/// - **short collateral**: a short's proceeds are credited to cash but held, and
///   an equal amount more is held against it (100 % of the short's value), so
///   opening a short costs buying power like a buy of the same value and covering
///   it gives it back.
/// - **reserved**: what open orders claim — the part of each that opens or adds
///   to a position (a buy beyond a short it covers, a sell beyond the long it
///   sells), at the worst price it can fill at (`OrderValuation`, at admission).
/// - **buying power** = cash − short collateral − reserved.
public struct CapitalStatement: Sendable, Equatable {
    /// The member's allocation; nil when they have none (buying power is then not limited).
    public var capital: Decimal?
    public var cash: Decimal
    /// Σ qty × last price of long positions (at cost where no price is known).
    public var longMarketValue: Decimal
    /// Σ qty × last price of short positions: negative.
    public var shortMarketValue: Decimal
    /// Held against open shorts (their proceeds and as much again).
    public var shortCollateral: Decimal
    /// Claimed by open orders.
    public var reserved: Decimal
    /// Profit realized so far, all symbols.
    public var realizedPnL: Decimal

    /// cash + long market value + short market value.
    public var equity: Decimal { cash + longMarketValue + shortMarketValue }
    /// What a new order may still claim: cash − short collateral − reserved.
    public var buyingPower: Decimal { cash - shortCollateral - reserved }
}

/// Capital allocations: a member's statement, and the buying-power check of a new
/// order. Pure: the same holdings, orders and prices always give the same answer.
public enum CapitalRule {
    /// One holding of the member.
    public struct Holding: Sendable, Equatable {
        public var symbol: String
        public var position: Position
        public var lastPrice: Decimal?

        public init(symbol: String, position: Position, lastPrice: Decimal?) {
            self.symbol = symbol
            self.position = position
            self.lastPrice = lastPrice
        }
    }

    /// One working order of the member: what is left of it and the price it is valued at.
    public struct Claim: Sendable, Equatable {
        public var symbol: String
        public var side: Side
        public var remainingQty: Decimal
        /// The worst price it can fill at (`OrderValuation`); nil when it could not be valued.
        public var price: Decimal?

        public init(symbol: String, side: Side, remainingQty: Decimal, price: Decimal?) {
            self.symbol = symbol
            self.side = side
            self.remainingQty = remainingQty
            self.price = price
        }
    }

    /// The member's statement for `capital` (nil: no allocation; the figures then start from 0).
    public static func statement(capital: Decimal?, holdings: [Holding], working: [Claim]) -> CapitalStatement {
        var statement = CapitalStatement(
            capital: capital, cash: capital ?? 0, longMarketValue: 0, shortMarketValue: 0, shortCollateral: 0,
            reserved: 0, realizedPnL: 0)
        for holding in holdings {
            let position = holding.position
            statement.cash += position.realizedPnL - position.costBasis
            statement.realizedPnL += position.realizedPnL
            let value = holding.lastPrice.map(position.marketValue(at:)) ?? position.costBasis
            if position.qty > 0 { statement.longMarketValue += value }
            if position.qty < 0 {
                statement.shortMarketValue += value
                statement.shortCollateral += 2 * position.costBasis.magnitude
            }
        }
        let held = Dictionary(holdings.map { ($0.symbol, $0.position.qty) }, uniquingKeysWith: +)
        for symbol in Set(working.map(\.symbol)) {
            statement.reserved += reservation(
                of: working.filter { $0.symbol == symbol }, held: held[symbol] ?? 0)
        }
        return statement
    }

    /// Why an order was refused for buying power.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Checks a new order against the member's buying power: the part of it that
    /// opens or adds to a position (given what the member holds and has working in
    /// its symbol), at the worst price it can fill at (`valuation`), must fit in
    /// what is left. Nil when it fits, or when the member has no allocation.
    public static func check(
        _ order: OrderTerms, valuation: OrderValuation, statement: CapitalStatement, held: Decimal, working: [Claim]
    ) -> Refusal? {
        guard statement.capital != nil else { return nil }
        let symbolWorking = working.filter { $0.symbol == order.symbol }
        let before = reservation(of: symbolWorking, held: held)
        let new = Claim(symbol: order.symbol, side: order.side, remainingQty: order.qty, price: valuation.price)
        let openingQty =
            openingQuantity(of: symbolWorking + [new], held: held, side: order.side)
            - openingQuantity(of: symbolWorking, held: held, side: order.side)
        if openingQty == 0 { return nil }
        let (price, basis): (Decimal, String)
        switch valuation {
        case .unbounded(let why): return Refusal(message: "cannot check buying power: \(why)")
        case .price(let value, let why): (price, basis) = (value, why)
        }
        let needed = reservation(of: symbolWorking + [new], held: held) - before
        if needed <= statement.buyingPower { return nil }
        let plain = ExactDecimal.plain
        return Refusal(
            message:
                "insufficient buying power: this order needs \(plain(needed)) (\(plain(openingQty)) \(order.symbol) at \(plain(price)), \(basis)) but buying power is \(plain(statement.buyingPower)) (capital \(plain(statement.capital ?? 0)), cash \(plain(statement.cash)), reserved by open orders \(plain(statement.reserved)), held for shorts \(plain(statement.shortCollateral)))"
        )
    }

    /// What `orders` (one symbol) claim, given the member holds `held` of it.
    static func reservation(of orders: [Claim], held: Decimal) -> Decimal {
        var total: Decimal = 0
        for side in Side.allCases {
            // Orders of one side close the opposite holding first; each order's
            // opening part is valued at its own price, in the order they were placed.
            var closable = side == .buy ? max(0, -held) : max(0, held)
            for order in orders where order.side == side {
                let closing = min(closable, order.remainingQty)
                closable -= closing
                total += (order.remainingQty - closing) * (order.price ?? 0)
            }
        }
        return total
    }

    /// How much of `orders` on `side` opens or adds to a position.
    static func openingQuantity(of orders: [Claim], held: Decimal, side: Side) -> Decimal {
        let total = orders.filter { $0.side == side }.reduce(Decimal(0)) { $0 + $1.remainingQty }
        let closable = side == .buy ? max(0, -held) : max(0, held)
        return max(0, total - closable)
    }
}
