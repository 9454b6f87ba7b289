import DeskBroker
import DeskCore
import DeskLedger
import DeskOrders
import Foundation
import Testing

/// The paper venue's quote rules through the order desk: valuation, legs' events
/// under their own ids, partial fills booked one by one.
@Suite("Order desk on quotes: valuation at the ask and bid, brackets and trailing stops on the paper venue")
struct PaperQuoteDeskTests {
    static func line(
        _ price: Decimal, bid: Decimal?, ask: Decimal?, bidSize: Decimal? = nil, askSize: Decimal? = nil,
        trade: Bool = true, at: Date
    )
        -> PriceBook.Line
    {
        PriceBook.Line(
            symbol: "AAPL", price: price, size: nil, at: at,
            quote: PriceBook.Quote(bid: bid, ask: ask, bidSize: bidSize, askSize: askSize), isTrade: trade)
    }

    @Test(
        "admission values a buy at the ask and a sell at the bid when quoted (max order notional 1000 at a last price of 100)"
    )
    func valuation() async throws {
        let policy = RiskPolicy(defaults: RiskLimits(maxOrderNotional: 1000))
        try await withPaperDesk(policy: policy) { desk, ledger, prices, clock in
            prices.observe(Self.line(100, bid: 99, ask: 101, at: clock.now()))
            let buy = OrderTicket(symbol: "AAPL", qty: "10", side: "buy")
            guard case .riskRejected = await desk.place(buy, member: "alice", strategy: "") else {
                Issue.record("a buy of 10 at the ask 101 is 1010, over 1000")
                return
            }
            let sell = OrderTicket(symbol: "AAPL", qty: "10", side: "sell")
            guard case .accepted(let sold) = await desk.place(sell, member: "alice", strategy: "") else {
                Issue.record("a sell of 10 at the bid 99 is 990")
                return
            }
            #expect(sold.status == .filled)
            let soldAt = try await ledger.fills(orderId: sold.orderId).map(\.price)
            #expect(soldAt == [99])
        }
    }

    @Test(
        "a bracket on the paper venue: the entry fills in parts at the ask, its legs activate, the take profit's fill cancels the stop"
    )
    func bracket() async throws {
        try await withPaperDesk { desk, ledger, prices, clock in
            prices.observe(
                Self.line(
                    100, bid: Decimal(string: "99.99")!, ask: Decimal(string: "100.01")!, askSize: 4, at: clock.now()))
            let ticket = OrderTicket(
                symbol: "AAPL", qty: "10", side: "buy", timeInForce: "gtc", orderClass: "bracket",
                takeProfitLimitPrice: "101", stopLossStopPrice: "99")
            guard case .accepted(let entry) = await desk.place(ticket, member: "alice", strategy: "") else {
                Issue.record("expected the bracket to be accepted")
                return
            }
            #expect(entry.status == .partiallyFilled && entry.filledQty == 4)
            #expect(entry.legs.map(\.status) == [.held, .held])
            let (takeProfit, stopLoss) = (entry.legs[0].orderId, entry.legs[1].orderId)
            clock.advance(1)
            prices.observe(
                Self.line(Decimal(string: "100.02")!, bid: 100, ask: Decimal(string: "100.02")!, at: clock.now()))
            let activated = try await eventually { try await ledger.order(id: stopLoss)?.status == .new }
            #expect(activated)
            clock.advance(1)
            prices.observe(
                Self.line(
                    Decimal(string: "101.01")!, bid: 101, ask: Decimal(string: "101.02")!, bidSize: 3, trade: false,
                    at: clock.now()))
            let stopCanceled = try await eventually { try await ledger.order(id: stopLoss)?.status == .canceled }
            #expect(stopCanceled)
            let takeProfitStatus = try await ledger.order(id: takeProfit)?.status
            #expect(takeProfitStatus == .partiallyFilled)
            let fills = try await ledger.allFills().map {
                "\($0.orderId == entry.orderId ? "entry" : "tp") \($0.qty)@\($0.price)"
            }
            #expect(fills == ["entry 4@100.01", "entry 6@100.02", "tp 3@101"])
        }
    }

    @Test("a trailing stop through the desk follows the trades and sells at the bid")
    func trailingStop() async throws {
        try await withPaperDesk { desk, ledger, prices, clock in
            prices.observe(Self.line(100, bid: 100, ask: Decimal(string: "100.02")!, at: clock.now()))
            let ticket = OrderTicket(
                symbol: "AAPL", qty: "5", side: "sell", orderType: "trailing_stop", timeInForce: "gtc", trailPrice: "1")
            guard case .accepted(let order) = await desk.place(ticket, member: "alice", strategy: "") else {
                Issue.record("expected the trailing stop to be accepted")
                return
            }
            for (price, bid) in [("102", "101.98"), ("101.5", "101.4"), ("101", "100.9")] {
                clock.advance(1)
                prices.observe(
                    Self.line(
                        Decimal(string: price)!, bid: Decimal(string: bid)!, ask: Decimal(string: price)! + 1,
                        at: clock.now()))
            }
            let filled = try await eventually { try await ledger.order(id: order.orderId)?.status == .filled }
            #expect(filled)
            let fillPrices = try await ledger.fills(orderId: order.orderId).map(\.price)
            #expect(fillPrices == [Decimal(string: "100.9")!])
        }
    }
}
