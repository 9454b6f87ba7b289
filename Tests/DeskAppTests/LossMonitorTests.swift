import DeskApp
import DeskAppTestSupport
import DeskBroker
import DeskCore
import DeskPromotion
import DeskServices
import DeskTestSupport
import Foundation
import Synchronization
import Testing

/// Strategies a test pretends the desk runs; it records what the monitor stops.
final class PretendStrategies: LossStrategies {
    let strategies: [WatchedStrategy]
    let stopped = Mutex<[([String], String)]>([])

    init(_ strategies: [WatchedStrategy]) { self.strategies = strategies }

    func watchedStrategies() async -> [WatchedStrategy] { strategies }

    func stop(_ names: [String], reason: String) async { stopped.withLock { $0.append((names, reason)) } }
}

/// A clock a test moves on.
final class SteppedClock: DeskClock {
    let time: Mutex<Date>

    init(_ start: Date) { time = Mutex(start) }

    func now() -> Date { time.withLock { $0 } }
    func newOrderId() -> String { WallClock().newOrderId() }
    func advance(by seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// What the monitor demoted: (member, strategy, reason).
final class Demotions: Sendable {
    let calls = Mutex<[(String, String, String)]>([])
}

@Suite("The loss monitor on a whole desk (in process): fills and prices in, cancels and stops or demotions out")
struct LossMonitorTests {
    static let strategies = [
        WatchedStrategy(name: "trend", member: "alice", venue: "live", isRunning: true),
        WatchedStrategy(name: "mean", member: "alice", venue: "live", isRunning: true),
        WatchedStrategy(name: "scalp", member: "alice", venue: "paper", isRunning: true),
    ]

    /// Runs `body` on a desk whose default venue `live` is of kind paper, with a loss monitor of `policy`
    /// (started after `before`).
    static func withMonitor(
        _ policy: LossPolicy, strategies: PretendStrategies, demotions: Demotions,
        clock: any DeskClock = WallClock(), calendar: SessionCalendar = SessionCalendar(),
        before: @Sendable (DeskApplication) async throws -> Void = { _ in },
        _ body: @Sendable (DeskApplication) async throws -> Void
    ) async throws {
        try await withRunningDesk {
            $0.venues.append(VenueConfiguration(name: "live", settings: PaperVenue.Settings()))
            $0.defaultVenue = "live"
        } _: { desk in
            try await before(desk)
            let monitor = LossMonitor(
                ledger: desk.ledger, orderDesk: desk.orderDesk, prices: desk.prices, policy: policy,
                defaultVenue: "live", calendar: calendar, strategies: strategies,
                demote: { member, strategy, reason in demotions.calls.withLock { $0.append((member, strategy, reason)) }
                },
                clock: clock, logger: testLogger())
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await monitor.run() }
                await monitor.ready()
                try await body(desk)
                group.cancelAll()
            }
        }
    }

    static func price(_ desk: DeskApplication, _ price: Decimal) {
        desk.prices.observe(PriceBook.Line(symbol: "AAPL", price: price, size: nil, at: Date()))
    }

    /// A market buy of 10 AAPL at 100 (filled) and two resting orders, for `strategy`; returns the resting ids.
    static func openBook(_ desk: DeskApplication, strategy: String) async throws -> [String] {
        price(desk, 100)
        var resting: [String] = []
        for ticket in [
            OrderTicket(symbol: "AAPL", qty: "10", side: "buy"),
            OrderTicket(
                symbol: "AAPL", qty: "10", side: "sell", orderType: "limit", timeInForce: "gtc", limitPrice: "1000"),
            OrderTicket(symbol: "AAPL", qty: "1", side: "buy", orderType: "limit", timeInForce: "gtc", limitPrice: "1"),
        ] {
            let placement = await desk.orderDesk.place(ticket, member: "alice", strategy: strategy)
            let order = try #require(placement.order, "\(placement)")
            if order.orderType == .limit { resting.append(order.orderId) }
        }
        #expect(await eventually { (try? await open(desk))?.count == 2 }, "the market buy filled, two orders rest")
        return resting
    }

    /// A policy with `entry` as the rules of the venue `live`.
    static func live(_ entry: LossRulesEntry) throws -> LossPolicy {
        try LossPolicy.resolve(
            venues: ["live": entry], members: [:], venueNames: ["paper", "live"], paperVenue: "paper"
        ).get()
    }

    static func open(_ desk: DeskApplication) async throws -> [String] {
        try await desk.ledger.openOrders().map(\.orderId)
    }

    static func breaches(_ desk: DeskApplication) async throws -> [AuditEvent] {
        try await desk.ledger.auditEvents(member: "alice").filter { $0.action == .lossBreach }
    }

    @Test("a strategy's daily loss: a tick under the limit changes nothing; the tick over it cancels and demotes")
    func strategyDemoted() async throws {
        let policy = try Self.live(LossRulesEntry(strategy: [.maxDailyLoss: 500]))
        let (strategies, demotions) = (PretendStrategies(Self.strategies), Demotions())
        try await Self.withMonitor(policy, strategies: strategies, demotions: demotions) { desk in
            let resting = try await Self.openBook(desk, strategy: "trend")
            Self.price(desk, 60)  // a loss of 400
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await Self.open(desk).sorted() == resting.sorted())
            #expect(demotions.calls.withLock { $0.isEmpty } && strategies.stopped.withLock { $0.isEmpty })
            #expect(try await Self.breaches(desk).isEmpty)

            Self.price(desk, 40)  // a loss of 600, and no tick after it
            #expect(await eventually { demotions.calls.withLock { !$0.isEmpty } }, "demoted within the tick")
            #expect(try await Self.open(desk).isEmpty, "its open orders canceled before")
            let (member, strategy, reason) = try #require(demotions.calls.withLock { $0.first })
            #expect(member == "alice" && strategy == "trend")
            #expect(reason == "loss rule on venue live: lost 600 today, over its max_daily_loss of 500")
            #expect(strategies.stopped.withLock { $0.isEmpty }, "demoted, not stopped")
            let audit = try #require(try await Self.breaches(desk).first)
            #expect(audit.strategy == "trend" && audit.outcome == .ok)
            #expect(audit.detail == "\(reason); canceled 2 open orders; demoted trend")

            Self.price(desk, 30)  // still over: handled once
            try await Task.sleep(for: .milliseconds(300))
            #expect(demotions.calls.withLock { $0.count } == 1)
            #expect(try await Self.breaches(desk).count == 1)
            #expect(try desk.ledger.count("loss_session_marks") == 1, "the strategy's mark; alice's book has no rule")
        }
    }

    @Test("a member book's breach stops every strategy of the member on that venue, and cancels all their orders there")
    func memberBookStopped() async throws {
        let policy = try Self.live(LossRulesEntry(member: [.maxPositionValue: 1500], onBreach: .stop))
        let (strategies, demotions) = (PretendStrategies(Self.strategies), Demotions())
        try await Self.withMonitor(policy, strategies: strategies, demotions: demotions) { desk in
            _ = try await Self.openBook(desk, strategy: "trend")
            Self.price(desk, 149)  // 10 × 149 = 1490
            try await Task.sleep(for: .milliseconds(300))
            #expect(strategies.stopped.withLock { $0.isEmpty })
            Self.price(desk, 151)
            #expect(await eventually { strategies.stopped.withLock { !$0.isEmpty } }, "stopped within the tick")
            let (names, reason) = try #require(strategies.stopped.withLock { $0.first })
            #expect(names == ["mean", "trend"], "the member's strategies on live, not the one on paper")
            #expect(
                reason
                    == "loss rule on venue live (alice's book): holds positions worth 1510, over its max_position_value of 1500"
            )
            #expect(try await Self.open(desk).isEmpty)
            #expect(demotions.calls.withLock { $0.isEmpty })
            let audit = try #require(try await Self.breaches(desk).first)
            #expect(
                audit.strategy == "" && audit.detail?.hasSuffix("canceled 2 open orders; stopped mean, trend") == true)
        }
    }

    @Test("a drawdown counts from the peak the P&L history recorded before the monitor started")
    func drawdownFromRecordedPeak() async throws {
        let policy = try Self.live(LossRulesEntry(strategy: [.maxDrawdown: 250], onBreach: .stop))
        let (strategies, demotions) = (PretendStrategies(Self.strategies), Demotions())
        try await Self.withMonitor(policy, strategies: strategies, demotions: demotions) { desk in
            // Before this start: the strategy's book on live was worth 300 (and it has a position now).
            _ = try await Self.openBook(desk, strategy: "trend")
            try await desk.ledger.recordEquity([
                EquitySample(
                    member: "alice", strategy: "trend", at: Date().addingTimeInterval(-3600), realizedPnL: 300,
                    unrealizedPnL: 0, venue: "live")
            ])
        } _: { desk in
            Self.price(desk, 100)  // equity 0: 300 below the recorded peak
            #expect(await eventually { strategies.stopped.withLock { !$0.isEmpty } }, "stopped at the first tick")
            let (names, reason) = try #require(strategies.stopped.withLock { $0.first })
            #expect(names == ["trend"])
            #expect(reason == "loss rule on venue live: fell 300 from its peak, over its max_drawdown of 250")
        }
    }
}

extension LossMonitorTests {
    @Test("the daily loss counts from the session's start: a session close starts every book afresh")
    func sessionClose() async throws {
        let policy = try Self.live(LossRulesEntry(strategy: [.maxDailyLoss: 500], onBreach: .stop))
        let start = Date()
        let clock = SteppedClock(start)
        // The session closes an hour after the test starts (UTC, whole minutes).
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let close = utc.dateComponents([.hour, .minute], from: start.addingTimeInterval(3600))
        let calendar = SessionCalendar(
            closeHour: close.hour!, closeMinute: close.minute!, timeZone: TimeZone(identifier: "UTC")!)
        let (strategies, demotions) = (PretendStrategies(Self.strategies), Demotions())
        try await Self.withMonitor(
            policy, strategies: strategies, demotions: demotions, clock: clock, calendar: calendar
        ) { desk in
            _ = try await Self.openBook(desk, strategy: "trend")
            Self.price(desk, 60)  // 400 lost in this session
            // The monitor must have checked this price before the clock passes the close (a loaded
            // machine can take a while to run it; too late, and it counts in the new session).
            try await Task.sleep(for: .seconds(1))
            clock.advance(by: 2 * 3600)  // past the close: a new session
            Self.price(desk, 55)  // the new session starts at -450
            Self.price(desk, 10)  // 450 lost in the new session (900 in all)
            try await Task.sleep(for: .milliseconds(300))
            #expect(strategies.stopped.withLock { $0.isEmpty }, "the first session's losses do not count")
            Self.price(desk, 4)  // 510 lost in the new session
            #expect(await eventually { strategies.stopped.withLock { !$0.isEmpty } }, "stopped within the tick")
            #expect(
                strategies.stopped.withLock { $0.first?.1 }
                    == "loss rule on venue live: lost 510 today, over its max_daily_loss of 500")
        }
    }
}

extension LossMonitorTests {
    @Test("a split is no loss: the monitor reads the books again before the price moves by the ratio")
    func splitIsNoLoss() async throws {
        let policy = try Self.live(LossRulesEntry(strategy: [.maxDailyLoss: 500], onBreach: .stop))
        let (strategies, demotions) = (PretendStrategies(Self.strategies), Demotions())
        try await Self.withMonitor(policy, strategies: strategies, demotions: demotions) { desk in
            _ = try await Self.openBook(desk, strategy: "trend")
            let split = CorporateAction(
                symbol: "AAPL", exDate: TradingDay("2026-03-02")!, kind: .split(ratio: 4))
            let applied = try await desk.corporateActions.apply(split, venues: ["live"], cancelOrders: true)
            #expect(applied["live"]?.map(\.effect.after.qty) == [40, 40])
            #expect(desk.prices.lastPrice("AAPL") == 25)
            Self.price(desk, 24)  // 40 at 24: a loss of 40 (10 at 25 would read as a loss of 760)
            try await Task.sleep(for: .milliseconds(300))
            #expect(strategies.stopped.withLock { $0.isEmpty })
            #expect(try await Self.open(desk).isEmpty, "the split canceled the resting orders")
        }
    }
}
