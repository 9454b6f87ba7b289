import DeskCore
import DeskPromotion
import Foundation
import Testing

@Suite("Loss breaches: the figures of a book and the plan of a breach")
struct LossBreachPlanTests {
    static let orders = [
        WatchedOrder(orderId: "o1", member: "alice", strategy: "trend", venue: "live"),
        WatchedOrder(orderId: "o2", member: "alice", strategy: "trend", venue: "paper"),
        WatchedOrder(orderId: "o3", member: "alice", strategy: "mean", venue: "live"),
        WatchedOrder(orderId: "o4", member: "alice", strategy: "", venue: "live"),
        WatchedOrder(orderId: "o5", member: "bob", strategy: "trend", venue: "live"),
    ]
    static let strategies = [
        WatchedStrategy(name: "trend", member: "alice", venue: "live", isRunning: true),
        WatchedStrategy(name: "mean", member: "alice", venue: "live", isRunning: true),
        WatchedStrategy(name: "carry", member: "alice", venue: "live", isRunning: false),
        WatchedStrategy(name: "scalp", member: "alice", venue: "paper", isRunning: true),
        WatchedStrategy(name: "bobs", member: "bob", venue: "live", isRunning: true),
    ]
    static let breach = LossBreach(rule: .maxDailyLoss, limit: 500, value: 600)

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var scope: LossScope
        var open: [WatchedOrder]
        var strategies: [WatchedStrategy]
        var expected: LossBreachPlan
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "a strategy's breach: its orders on that venue, itself",
            scope: LossScope(member: "alice", strategy: "trend", venue: "live"), open: orders, strategies: strategies,
            expected: LossBreachPlan(cancel: ["trend"], strategies: ["trend"], response: .demote)),
        Case(
            name: "a member book's breach: all the member's orders on the venue, their running strategies there",
            scope: LossScope(member: "alice", venue: "live"), open: orders, strategies: strategies,
            expected: LossBreachPlan(cancel: ["", "mean", "trend"], strategies: ["mean", "trend"], response: .demote)),
        Case(
            name: "a strategy moved away: only its orders left on the venue",
            scope: LossScope(member: "alice", strategy: "scalp", venue: "live"),
            open: [WatchedOrder(orderId: "o9", member: "alice", strategy: "scalp", venue: "live")],
            strategies: strategies,
            expected: LossBreachPlan(cancel: ["scalp"], strategies: [], response: .demote)),
        Case(
            name: "handled before a restart: stopped, nothing open — nothing to do",
            scope: LossScope(member: "alice", strategy: "carry", venue: "live"), open: orders, strategies: strategies,
            expected: LossBreachPlan(cancel: [], strategies: [], response: .demote)),
    ]

    @Test("plans", arguments: cases)
    func plans(_ test: Case) {
        let action = LossAction(scope: test.scope, breach: Self.breach, response: .demote)
        let plan = LossBreachPlan.plan(action, open: test.open, strategies: test.strategies)
        #expect(plan == test.expected)
        #expect(plan.isEmpty == (test.expected.cancel.isEmpty && test.expected.strategies.isEmpty))
    }

    @Test(
        "a book's figures: realized plus unrealized at the last price, the absolute value held",
        arguments: [
            // (positions, prices, equity, position value)
            ([:], [:], 0, 0),
            (["AAPL": Position(qty: 10, costBasis: 1000, realizedPnL: 0)], ["AAPL": 94], -60, 940),
            (["AAPL": Position(qty: -10, costBasis: -1000, realizedPnL: 5)], ["AAPL": 94], 65, 940),
            (
                [
                    "AAPL": Position(qty: 10, costBasis: 1000, realizedPnL: -20),
                    "MSFT": Position(qty: 0, costBasis: 0, realizedPnL: 7),
                ], ["AAPL": 110], 87, 1100
            ),
            (["AAPL": Position(qty: 10, costBasis: 1000, realizedPnL: 3)], [:], 3, 1000),
        ] as [([String: Position], [String: Decimal], Decimal, Decimal)])
    func figures(positions: [String: Position], prices: [String: Decimal], equity: Decimal, value: Decimal) {
        let figures = LossFigures(positions: positions, sessionStartEquity: 12, price: { prices[$0] })
        #expect(figures == LossFigures(equity: equity, sessionStartEquity: 12, positionValue: value))
    }

    @Test("rearm watches a breached scope again and keeps its peak; reset forgets both")
    func rearm() {
        var watch = LossWatch()
        let scope = LossScope(member: "alice", strategy: "trend", venue: "live")
        let limits = LossLimits(maxDrawdown: 10)
        func see(_ equity: Decimal) -> LossAction? {
            watch.observe(
                LossFigures(equity: equity, sessionStartEquity: equity, positionValue: 0), of: scope, limits: limits)
        }
        #expect(see(50) == nil)
        #expect(see(39)?.breach.value == 11)
        #expect(see(30) == nil, "reported once")
        watch.rearm(scope)
        #expect(watch.peak(scope) == 50)
        #expect(see(30)?.breach.value == 20, "watched again, from the same peak")
        watch.reset(scope)
        watch.notePeak(45, of: scope)
        watch.notePeak(20, of: scope)
        #expect(watch.peak(scope) == 45, "a noted peak only raises it")
        #expect(see(34)?.breach.value == 11, "a drawdown from the noted peak")
    }
}
