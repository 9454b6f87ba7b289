import DeskBacktest
import DeskCore
import Foundation
import Testing

@Suite("Backtest performance: positions, P&L, drawdown and ratios, exact to the cent")
struct PerformanceTests {
    /// 2026-11-02 (a Monday) at `hour:minute` UTC (14:30 UTC is 09:30 in New York).
    static func at(day: Int = 2, _ hour: Int, _ minute: Int) -> Date {
        var components = DateComponents(year: 2026, month: 11, day: day, hour: hour, minute: minute)
        components.timeZone = TimeZone(identifier: "UTC")
        return Calendar(identifier: .gregorian).date(from: components)!
    }

    static func d(_ text: String) -> Decimal { Decimal(string: text)! }

    /// A hand-computed run over two trading days:
    /// day 1: buy 10 @ 100; the price goes to 105 (equity 100,049.90 after 0.10 commission), then to 95
    /// (99,949.90: a drawdown of 100.00); sell 10 @ 96: realized −40, a losing round trip;
    /// day 2: buy 5 @ 100, the price goes to 110: unrealized +50. Commission 0.01 a share.
    static func run() -> PerformanceTracker {
        var tracker = PerformanceTracker(capital: 100_000)
        tracker.open(member: "alice", strategy: "trend")
        tracker.open(member: "bob", strategy: "idle")
        tracker.tick(symbol: "AAPL", price: 100, at: at(14, 30))
        tracker.order(member: "alice", strategy: "trend", rejected: false)
        tracker.fill(
            member: "alice", strategy: "trend", symbol: "AAPL", side: .buy, qty: 10, price: 100, commission: d("0.10"),
            at: at(14, 31))
        tracker.tick(symbol: "AAPL", price: 105, at: at(15, 0))
        tracker.tick(symbol: "AAPL", price: 95, at: at(16, 0))
        tracker.order(member: "alice", strategy: "trend", rejected: false)
        tracker.fill(
            member: "alice", strategy: "trend", symbol: "AAPL", side: .sell, qty: 10, price: 96, commission: d("0.10"),
            at: at(16, 31))
        tracker.order(member: "bob", strategy: "idle", rejected: true)
        tracker.tick(symbol: "AAPL", price: 97, at: at(20, 0))
        tracker.tick(symbol: "AAPL", price: 100, at: at(day: 3, 14, 30))
        tracker.order(member: "alice", strategy: "trend", rejected: false)
        tracker.fill(
            member: "alice", strategy: "trend", symbol: "AAPL", side: .buy, qty: 5, price: 100, commission: d("0.05"),
            at: at(day: 3, 14, 31))
        tracker.tick(symbol: "AAPL", price: 110, at: at(day: 3, 20, 0))
        tracker.finish()
        return tracker
    }

    @Test("P&L, commission, drawdown, round trips, positions and notional, to the cent")
    func handComputed() throws {
        let report = BacktestReport(
            tracker: Self.run(), fillAt: "next-tick", commissionPerShare: Self.d("0.01"), slippageBps: 0)
        let alice = try #require(report.members["alice"])
        #expect(alice.realizedPnL == "-40")
        #expect(alice.unrealizedPnL == "50")
        #expect(alice.commission == "0.25")
        #expect(alice.totalPnL == "9.75")
        #expect(alice.maxDrawdown == "100")
        #expect(alice.returnOnCapital == "0.0001")
        #expect(alice.roundTrips == 1)
        #expect(alice.winRate == "0.0000")
        #expect(alice.positions == ["AAPL": "5"])
        #expect(alice.tradedNotional == "2460")
        #expect(alice.orders == 3 && alice.fills == 3 && alice.rejected == 0)
        // Daily closes 99,959.80 and 100,009.75 against 100,000 of capital.
        #expect(alice.sharpe == "1.2162")
        #expect(alice.sortino == "2.7281")
        // Mean daily return × 252 over the drawdown of 100 as a fraction of 100,000.
        #expect(alice.calmar == "12.3103")
        #expect(
            alice.strategies?["trend"]
                == {
                    var strategy = alice; strategy.strategies = nil; return strategy
                }())
        let bob = try #require(report.members["bob"])
        #expect(bob.orders == 1 && bob.rejected == 1 && bob.fills == 0)
        #expect(bob.totalPnL == "0" && bob.maxDrawdown == "0" && bob.exposure == "0.0000")
        #expect(bob.sharpe == nil, "no variation")
        #expect(bob.calmar == nil, "no drawdown")
        #expect(report.ticks == 6)
        #expect(report.start == "2026-11-02T14:30:00.000Z")
        #expect(report.end == "2026-11-03T20:00:00.000Z")
    }

    @Test("calmar, like sharpe, needs two days: one day with a drawdown has none")
    func calmarNeedsTwoDays() throws {
        var tracker = PerformanceTracker(capital: 100_000)
        tracker.tick(symbol: "AAPL", price: 100, at: Self.at(14, 30))
        tracker.fill(
            member: "alice", strategy: "s", symbol: "AAPL", side: .buy, qty: 10, price: 100, at: Self.at(14, 31))
        tracker.tick(symbol: "AAPL", price: 90, at: Self.at(15, 0))
        tracker.finish()
        let report = BacktestReport(tracker: tracker, fillAt: "next-tick", commissionPerShare: 0, slippageBps: 0)
        let alice = try #require(report.members["alice"])
        #expect(alice.maxDrawdown == "100")
        #expect(alice.calmar == nil)
    }

    @Test("exposure is the share of time with a position open")
    func exposure() throws {
        let report = BacktestReport(tracker: Self.run(), fillAt: "next-tick", commissionPerShare: 0, slippageBps: 0)
        // Open 14:31–16:31 on day 1 and 14:31–20:00 on day 2, of 14:30 day 1 to 20:00 day 2.
        let open = 2.0 * 3600 + (5.0 * 3600 + 29 * 60)
        let span = 24.0 * 3600 + 5.5 * 3600
        #expect(report.members["alice"]?.exposure == String(format: "%.4f", open / span))
    }

    @Test("the JSON is the same bytes for the same run, keys sorted, decimals as strings")
    func deterministic() throws {
        let first = BacktestReport(tracker: Self.run(), fillAt: "next-tick", commissionPerShare: 0, slippageBps: 0)
        let second = BacktestReport(tracker: Self.run(), fillAt: "next-tick", commissionPerShare: 0, slippageBps: 0)
        #expect(first.json() == second.json())
        let object = try #require(JSONSerialization.jsonObject(with: Data(first.json().utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "ticks", "start", "end", "fill_at", "capital", "commission_per_share", "slippage_bps", "members",
            ])
        let alice = try #require((object["members"] as? [String: Any])?["alice"] as? [String: Any])
        #expect(alice["total_pnl"] as? String == "9.75")
        #expect((alice["strategies"] as? [String: Any])?["trend"] != nil)
    }

    @Test("a reversal closes one round trip and opens the next; a winning trip counts as a win")
    func reversals() {
        var tracker = PerformanceTracker(capital: 1_000)
        tracker.tick(symbol: "MSFT", price: 10, at: Self.at(14, 30))
        tracker.fill(member: "m", strategy: "s", symbol: "MSFT", side: .buy, qty: 2, price: 10, at: Self.at(14, 31))
        tracker.fill(member: "m", strategy: "s", symbol: "MSFT", side: .sell, qty: 5, price: 12, at: Self.at(14, 32))
        tracker.fill(member: "m", strategy: "s", symbol: "MSFT", side: .buy, qty: 3, price: 13, at: Self.at(14, 33))
        tracker.finish()
        let report = BacktestReport(tracker: tracker, fillAt: "same-tick", commissionPerShare: 0, slippageBps: 0)
        // Long 2 @ 10 closed at 12 (+4: a win), short 3 @ 12 closed at 13 (−3: a loss).
        #expect(report.members["m"]?.roundTrips == 2)
        #expect(report.members["m"]?.winRate == "0.5000")
        #expect(report.members["m"]?.realizedPnL == "1")
        #expect(report.members["m"]?.positions == [:])
    }

    @Test("the report page carries its charts inline and loads nothing")
    func page() {
        let tracker = Self.run()
        let report = BacktestReport(tracker: tracker, fillAt: "next-tick", commissionPerShare: 0, slippageBps: 0)
        let equity = tracker.books.filter { $0.key.strategy == nil }.reduce(
            into: [String: [(at: Date, equity: Decimal)]]()
        ) {
            $0[$1.key.member] = $1.value.samples
        }
        let html = ReportPage.render(report, equity: equity)
        #expect(html.contains("<svg id=\"equity-alice\""))
        #expect(html.contains("<svg id=\"drawdown-alice\""))
        #expect(html.contains("<polyline"))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        #expect(html.contains("+9.75"), "total P&L shown as money with its sign")
    }
}

/// Charts drawn from a thinned series must not contradict the table: thinning keeps
/// every bucket's extremes, and the drawdown is computed before thinning.
@Suite("The report page's charts keep every extreme")
struct ChartThinningTests {
    static func series(_ count: Int, spikes: [Int: Decimal]) -> [(at: Date, equity: Decimal)] {
        (0..<count).map { index in
            (at: Date(timeIntervalSince1970: Double(index) * 60), equity: spikes[index] ?? Decimal(100_000 + index % 7))
        }
    }

    @Test(
        "thinning keeps the first, the last, the lowest and the highest point, in time order, within the limit",
        arguments: [(10_000, 4_321, 7_777), (1_501, 3, 1_499), (250_000, 123_457, 5)])
    func extremes(count: Int, lowAt: Int, highAt: Int) {
        let series = Self.series(count, spikes: [lowAt: 99_383.20, highAt: 100_616.80])
        let thinned = ReportPage.thin(series)
        #expect(thinned.count <= ReportPage.maximumPoints)
        #expect(thinned.first?.at == series.first?.at && thinned.last?.at == series.last?.at)
        #expect(thinned.contains { $0.equity == 99_383.20 } && thinned.contains { $0.equity == 100_616.80 })
        #expect(zip(thinned, thinned.dropFirst()).allSatisfy { $0.at < $1.at })
    }

    @Test("a series within the limit is drawn whole")
    func short() {
        let series = Self.series(ReportPage.maximumPoints, spikes: [:])
        #expect(ReportPage.thin(series).map(\.at) == series.map(\.at))
    }

    @Test("the drawdown chart's deepest point is the drawdown of every sample, not of the thinned ones")
    func drawdown() {
        // Equity between 100,000 and 100,006, and one sample among 20,000 at 99,383.20: 622.80 under the peak.
        let series = Self.series(20_000, spikes: [10_001: 99_383.20])
        var tracker = PerformanceTracker(capital: 100_000)
        tracker.open(member: "m", strategy: "s")
        tracker.finish()
        let report = BacktestReport(tracker: tracker, fillAt: "next-tick", commissionPerShare: 0, slippageBps: 0)
        let html = ReportPage.render(report, equity: ["m": series])
        let chart = html.components(separatedBy: "<svg id=\"drawdown-m\"").last ?? ""
        #expect(chart.contains(">-622.80</text>"), "the chart's lowest label is the deepest drawdown")
    }
}

/// The tracker over a long run: its work per tick and per fill must not grow with
/// the run (it once copied every equity sample so far at each fill: O(fills × ticks),
/// minutes for a long backtest's report). The time limit only catches that blow-up.
@Suite("Backtest performance over a long run")
struct LongRunTests {
    @Test(
        "100,000 ticks with a fill on each: exact figures, one sample per change", .timeLimit(.minutes(1)))
    func longRun() throws {
        let ticks = 100_000
        var tracker = PerformanceTracker(capital: 100_000)
        tracker.open(member: "alice", strategy: "flip")
        let start = Date(timeIntervalSince1970: 1_763_303_460)  // 2025-11-16 14:31 UTC
        for index in 0..<ticks {
            // Buy 1 at 100, then sell it at 101: a winning round trip of 1 every two ticks.
            let buy = index % 2 == 0
            let at = start.addingTimeInterval(Double(index))
            tracker.tick(symbol: "AAPL", price: buy ? 100 : 101, at: at)
            tracker.fill(
                member: "alice", strategy: "flip", symbol: "AAPL", side: buy ? .buy : .sell, qty: 1,
                price: buy ? 100 : 101, at: at)
        }
        tracker.finish()
        let book = try #require(tracker.books[.init(member: "alice")])
        #expect(book.realized == Decimal(ticks / 2))
        #expect(book.roundTrips == ticks / 2 && book.winningRoundTrips == ticks / 2)
        #expect(book.fills == ticks && book.unrealized == 0)
        // A sample per fill and per price change while holding, and one per day's close.
        #expect(book.dailyEquity.count == 2)  // 27.8 hours from 09:31 New York: two dates
        #expect(book.samples.count == ticks + ticks / 2 + 2)
        #expect(book.maxDrawdown == 0)
    }
}
