import DeskCore
import Foundation
import Testing

@Suite("Positions and realized P&L")
struct PositionTests {
    struct Trade: Sendable {
        var side: Side
        var qty: Decimal
        var price: Decimal
    }

    static func buy(_ qty: Decimal, _ price: String) -> Trade {
        Trade(side: .buy, qty: qty, price: Decimal(string: price)!)
    }
    static func sell(_ qty: Decimal, _ price: String) -> Trade {
        Trade(side: .sell, qty: qty, price: Decimal(string: price)!)
    }

    @Test(
        "books trades",
        arguments: [
            // trades, qty, cost basis, realized
            ([buy(10, "100")], Decimal(10), "1000", "0"),
            ([buy(10, "100"), buy(10, "110")], 20, "2100", "0"),
            ([buy(10, "100"), sell(4, "110")], 6, "600", "40"),
            ([buy(10, "100"), sell(10, "90")], 0, "0", "-100"),
            ([buy(10, "100"), sell(15, "120")], -5, "-600", "200"),  // flips short at the fill price
            ([sell(10, "50")], -10, "-500", "0"),
            ([sell(10, "50"), buy(4, "40")], -6, "-300", "40"),
            ([sell(10, "50"), buy(12, "55")], 2, "110", "-50"),
            ([buy(3, "10"), buy(1, "11"), sell(2, "12")], 2, "20.5", "3.5"),  // avg 10.25
            (
                [buy(Decimal(string: "0.5")!, "100.01"), sell(Decimal(string: "0.25")!, "100.03")],
                Decimal(string: "0.25")!, "25.0025", "0.005"
            ),
        ])
    func books(trades: [Trade], qty: Decimal, cost: String, realized: String) {
        var position = Position()
        for trade in trades { position.apply(side: trade.side, qty: trade.qty, price: trade.price) }
        #expect(position.qty == qty)
        #expect(position.costBasis == Decimal(string: cost)!)
        #expect(position.realizedPnL == Decimal(string: realized)!)
    }

    @Test("a partial close of a non-terminating average keeps 10 places and closes exactly")
    func partialCloseRounding() {
        var position = Position()
        position.apply(side: .buy, qty: 1, price: 10)
        position.apply(side: .buy, qty: 2, price: Decimal(string: "10.01")!)  // avg 10.00666…
        position.apply(side: .sell, qty: 1, price: 11)
        #expect(position.costBasis == Decimal(string: "20.0133333333")!)
        #expect(position.realizedPnL == Decimal(string: "0.9933333333")!)
        position.apply(side: .sell, qty: 2, price: 11)
        #expect(position.qty == 0)
        #expect(position.costBasis == 0)
        #expect(position.realizedPnL == Decimal(string: "2.98")!)  // 33 − 30.02, exact over the round trip
    }

    @Test("market value and unrealized P&L")
    func valuation() {
        var position = Position()
        position.apply(side: .buy, qty: 10, price: 100)
        #expect(position.marketValue(at: 105) == 1050)
        #expect(position.unrealizedPnL(at: 105) == 50)
        #expect(position.averageEntryPrice == 100)
        var short = Position()
        short.apply(side: .sell, qty: 10, price: 100)
        #expect(short.unrealizedPnL(at: 90) == 100)
        #expect(Position().averageEntryPrice == nil)
    }
}
