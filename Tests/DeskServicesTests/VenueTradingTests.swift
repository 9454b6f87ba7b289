import DeskCore
import DeskIdentity
import DeskLedger
import DeskServices
import Foundation
import Testing

@Suite("Trading and P&L on the caller's venue")
struct VenueTradingTests {
    static let alicePaper = Caller(member: "alice", strategy: "s1", venue: "paper")
    static let aliceLive = Caller(member: "alice", strategy: "s1", venue: "live")

    @Test("orders, cancel-all, close-all and capital touch the caller's venue's book only")
    func perVenue() async throws {
        try await withTrading(live: true) { trading, ledger in
            let paperBuy = try await trading.place(ticket("10"), by: Self.alicePaper).get()
            let liveBuy = try await trading.place(ticket("2"), by: Self.aliceLive).get()
            #expect(paperBuy.venue == "paper" && liveBuy.venue == "live")
            let resting = try await trading.place(ticket("1", limit: "50"), by: Self.aliceLive).get()
            let paperResting = try await trading.place(ticket("1", limit: "50"), by: Self.alicePaper).get()
            #expect(try await trading.cancelAll(by: Self.aliceLive).map(\.orderId) == [resting.orderId])
            #expect(try await ledger.order(id: paperResting.orderId)?.status == .new)
            let closed = try await trading.closeAll(cancelOrders: false, by: Self.aliceLive)
            #expect(closed.map(\.symbol) == ["AAPL"])
            #expect(try closed.first?.result.get().qty == 2)
            #expect(try await ledger.positions(member: "alice", venue: "live").map(\.qty) == [0])
            #expect(try await ledger.positions(member: "alice", venue: "paper").map(\.qty) == [10])
            #expect(await trading.capital(of: Self.aliceLive).longMarketValue == 0)
            #expect(await trading.capital(of: Self.alicePaper).longMarketValue == 1000)
            #expect(trading.venue(of: Caller(member: "alice")) == "paper")
        }
    }

    @Test("each venue's book has its own equity sample and curve")
    func equityPerVenue() async throws {
        try await withTrading(live: true) { trading, ledger in
            _ = try await trading.place(ticket("10", "buy"), by: Self.alicePaper).get()
            _ = try await trading.place(ticket("10", "sell"), by: Self.alicePaper).get()
            _ = try await trading.place(ticket("2"), by: Self.aliceLive).get()
            let portfolio = Portfolio(
                ledger: ledger, lastPrice: { $0 == "AAPL" ? 110 : nil }, defaultVenue: "paper",
                venueNames: ["paper", "live"])
            let books = try await portfolio.equity.samples(member: "alice").filter { $0.strategy.isEmpty }
            #expect(books.map(\.venue) == ["live", "paper"])
            #expect(books.map(\.unrealizedPnL) == [20, 0])
            try await ledger.recordEquity(books)
            let live = try await portfolio.history(
                for: Self.aliceLive, member: nil, strategy: nil, since: .distantPast, stepSeconds: 60)
            #expect(live.venue == "live" && live.points.last?.equity == 20)
            let paper = try await portfolio.history(
                for: Self.alicePaper, member: nil, strategy: nil, since: .distantPast, stepSeconds: 60)
            #expect(paper.venue == "paper" && paper.points.allSatisfy { $0.equity == 0 })
            await #expect(throws: PortfolioRefusal.otherVenue(requested: "live", own: "paper")) {
                _ = try await portfolio.history(
                    for: Self.alicePaper, member: nil, strategy: nil, since: .distantPast, stepSeconds: 60,
                    venue: "live")
            }
        }
    }

    @Test("P&L today counts from the exchange calendar's last close (an early close, across a weekend)")
    func todayFromTheLastClose() async throws {
        try await withTrading(live: false) { _, ledger in
            let at = { (text: String) in ISO8601DateFormatter().date(from: text)! }
            // Friday 2026-11-27 closes at 13:00 New York (18:00 UTC); the paper venue trades on after it.
            try await ledger.recordEquity([
                EquitySample(
                    member: "alice", strategy: "", at: at("2026-11-27T17:59:00Z"), realizedPnL: 150, unrealizedPnL: 0,
                    venue: "paper"),
                EquitySample(
                    member: "alice", strategy: "", at: at("2026-11-28T15:00:00Z"), realizedPnL: 160, unrealizedPnL: 0,
                    venue: "paper"),
            ])
            let portfolio = Portfolio(
                ledger: ledger, lastPrice: { _ in nil }, defaultVenue: "paper", venueNames: ["paper"])
            let today = try await portfolio.today(
                for: Self.alicePaper, member: "alice", total: 200, calendar: SessionCalendar(),
                now: at("2026-11-30T15:00:00Z"))
            #expect(today == 50, "since Friday's 13:00 close, not since Monday's midnight (40)")
        }
    }
}
