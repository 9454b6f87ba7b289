import DeskCore
import DeskPromotion
import Foundation
import Testing

@Suite("A strategy's promotion record (evidence) and the settlement of interrupted moves")
struct EvidenceTests {
    static let day: TimeInterval = 86_400
    /// 2027-01-04 00:00 UTC, a Monday.
    static let start = Date(timeIntervalSince1970: 1_799_020_800)

    static func at(day: Int, hour: Int = 15) -> Date {
        start.addingTimeInterval(Double(day) * Self.day + Double(hour) * 3600)
    }

    static func fill(_ side: Side, _ qty: Decimal, _ price: Decimal, day: Int, symbol: String = "AAPL") -> RecordedFill
    {
        RecordedFill(symbol: symbol, side: side, qty: qty, price: price, at: at(day: day))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var orders: [Int]
        var fills: [RecordedFill]
        var now: Int
        var last: [String: Decimal] = [:]
        var days: Int
        var pnl: Decimal
        var maxDrawdown: Decimal
        var sharpe: Decimal?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "nothing traded: zero everywhere, no Sharpe", orders: [], fills: [], now: 3, days: 0, pnl: 0,
            maxDrawdown: 0, sharpe: nil),
        Case(
            name: "orders without fills count days from the first order", orders: [0, 2], fills: [], now: 6, days: 6,
            pnl: 0, maxDrawdown: 0, sharpe: nil),
        Case(
            name: "one day of trading: P&L at the last price, no Sharpe under two days", orders: [1],
            fills: [fill(.buy, 10, Decimal(string: "100.10")!, day: 1)], now: 1,
            last: ["AAPL": Decimal(string: "101.35")!],
            days: 0, pnl: Decimal(string: "12.5")!, maxDrawdown: 0, sharpe: nil),
        Case(
            name: "a round trip with a loss, then a win: drawdown from the peak, exact decimals", orders: [0, 1, 2, 3],
            fills: [
                fill(.buy, 10, 100, day: 0), fill(.sell, 10, Decimal(string: "98.5")!, day: 1),
                fill(.buy, 5, 100, day: 2), fill(.sell, 5, Decimal(string: "104.2")!, day: 3),
            ],
            now: 5, days: 5, pnl: Decimal(string: "6")!, maxDrawdown: Decimal(string: "15")!,
            // Daily P&L 0, -15, 0, 21: mean 1.5, sample deviation 14.7986...; × √252.
            sharpe: Decimal(string: "1.609")!),
        Case(
            name: "the same P&L every day: no variation, no Sharpe", orders: [0, 1],
            fills: [
                fill(.buy, 1, 100, day: 0), fill(.sell, 1, 101, day: 0), fill(.buy, 1, 100, day: 1),
                fill(.sell, 1, 101, day: 1),
            ],
            now: 2, days: 2, pnl: 2, maxDrawdown: 0, sharpe: nil),
    ]

    @Test("evidence from orders and fills", arguments: cases)
    func evidence(_ test: Case) {
        let record = StrategyRecord(venue: "paper", orderTimes: test.orders.map { Self.at(day: $0) }, fills: test.fills)
        let evidence = record.evidence(now: Self.at(day: test.now, hour: 20), lastPrice: { test.last[$0] })
        #expect(evidence.venue == "paper")
        #expect(evidence.days == test.days)
        #expect(evidence.orders == test.orders.count)
        #expect(evidence.fills == test.fills.count)
        #expect(evidence.pnl == test.pnl)
        #expect(evidence.maxDrawdown == test.maxDrawdown)
        if let expected = test.sharpe {
            let close = evidence.sharpe.map { abs($0 - expected) < Decimal(string: "0.001")! }
            #expect(close == true, "\(String(describing: evidence.sharpe))")
        } else {
            #expect(evidence.sharpe == nil)
        }
    }

    @Test("the Sharpe ratio is a decimal to four places")
    func sharpePlaces() throws {
        let sharpe = try #require(StrategyRecord.sharpe([1, 2, 3, 4]))
        // mean 2.5, deviation √(5/3) = 1.290994..., × √252 = 30.7408...
        #expect(sharpe == Decimal(string: "30.7409")!)
        #expect(StrategyRecord.sharpe([5]) == nil)
    }

    static func order(_ strategy: String, venue: String, member: String = "alice") -> OrderRecord {
        OrderRecord(
            Order(
                id: "o-\(strategy)-\(venue)", member: member, strategy: strategy,
                terms: OrderTerms(symbol: "AAPL", qty: 1, side: .buy, type: .limit, limitPrice: 1), placedAt: start,
                venue: venue),
            progress: OrderProgress(qty: 1))
    }

    struct SettlementCase: Sendable, CustomTestStringConvertible {
        var name: String
        var open: [OrderRecord]
        var venues: [String: String]
        var expected: [StrayOrders]
        var testDescription: String { name }
    }

    static let settlements: [SettlementCase] = [
        SettlementCase(
            name: "nothing moved: nothing to cancel", open: [order("trend", venue: "")], venues: [:], expected: []),
        SettlementCase(
            name: "moved to live, a working order left on paper (no venue: the default)",
            open: [order("trend", venue: ""), order("trend", venue: "live")], venues: ["trend": "live"],
            expected: [StrayOrders(member: "alice", strategy: "trend", venue: "paper")]),
        SettlementCase(
            name: "demoted to paper, an order left on live", open: [order("trend", venue: "live")],
            venues: ["trend": "paper"], expected: [StrayOrders(member: "alice", strategy: "trend", venue: "live")]),
        SettlementCase(
            name: "a member's own order (no strategy) is left alone", open: [order("", venue: "live")],
            venues: [:], expected: []),
        SettlementCase(
            name: "an order of a strategy the desk does not run, never moved, is left alone",
            open: [order("script", venue: "live")], venues: [:], expected: []),
        SettlementCase(
            name: "a running strategy never moved is on the default venue", open: [order("mean", venue: "live")],
            venues: [:], expected: [StrayOrders(member: "alice", strategy: "mean", venue: "live")]),
    ]

    @Test("settlement at start names the working orders on a venue that is not the strategy's", arguments: settlements)
    func settlement(_ test: SettlementCase) {
        let strays = PromotionSettlement.strays(
            open: test.open, venues: test.venues, strategies: ["trend", "mean"], defaultVenue: "paper")
        #expect(strays == test.expected)
    }
}
