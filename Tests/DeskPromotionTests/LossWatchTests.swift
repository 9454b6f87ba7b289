import DeskPromotion
import Foundation
import Testing

@Suite("Loss rules")
struct LossWatchTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var limits: LossLimits
        /// (equity, session start equity, position value) observed in turn.
        var figures: [(Decimal, Decimal, Decimal)]
        /// The breach expected at each observation (nil: none).
        var expected: [LossBreach?]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "daily loss over the limit breaks at once", limits: LossLimits(maxDailyLoss: 100),
            figures: [(0, 0, 0), (-100, 0, 0), (-100.01, 0, 0)],
            expected: [nil, nil, LossBreach(rule: .maxDailyLoss, limit: 100, value: 100.01)]),
        Case(
            name: "daily loss counts from the session's start, not from zero", limits: LossLimits(maxDailyLoss: 50),
            figures: [(200, 200, 0), (160, 200, 0), (140, 200, 0)],
            expected: [nil, nil, LossBreach(rule: .maxDailyLoss, limit: 50, value: 60)]),
        Case(
            name: "drawdown from the peak equity", limits: LossLimits(maxDrawdown: 30),
            figures: [(10, 0, 0), (50, 0, 0), (25, 0, 0), (19, 0, 0)],
            expected: [nil, nil, nil, LossBreach(rule: .maxDrawdown, limit: 30, value: 31)]),
        Case(
            name: "position value", limits: LossLimits(maxPositionValue: 5000),
            figures: [(0, 0, 4999), (0, 0, 5000.5)],
            expected: [nil, LossBreach(rule: .maxPositionValue, limit: 5000, value: 5000.5)]),
        Case(
            name: "a breach reports once", limits: LossLimits(maxDailyLoss: 10),
            figures: [(-11, 0, 0), (-20, 0, 0)],
            expected: [LossBreach(rule: .maxDailyLoss, limit: 10, value: 11), nil]),
        Case(
            name: "no rules, no breach", limits: LossLimits(),
            figures: [(-1_000_000, 0, 9_999_999)], expected: [nil]),
        Case(
            name: "daily loss is checked before drawdown", limits: LossLimits(maxDailyLoss: 5, maxDrawdown: 5),
            figures: [(10, 10, 0), (0, 10, 0)],
            expected: [nil, LossBreach(rule: .maxDailyLoss, limit: 5, value: 10)]),
    ]

    @Test("breaches", arguments: cases)
    func breaches(_ test: Case) {
        var watch = LossWatch()
        let scope = LossScope(member: "alice", strategy: "trend", venue: "live")
        for (index, (equity, start, value)) in test.figures.enumerated() {
            let action = watch.observe(
                LossFigures(equity: equity, sessionStartEquity: start, positionValue: value), of: scope,
                limits: test.limits)
            #expect(action?.breach == test.expected[index], "observation \(index)")
            if let action { #expect(action.scope == scope && action.response == .demote) }
        }
    }

    @Test("scopes are apart; a reset starts a scope afresh")
    func scopes() {
        var watch = LossWatch()
        let limits = LossLimits(maxDrawdown: 10, onBreach: .stop)
        let live = LossScope(member: "alice", strategy: "trend", venue: "live")
        let paper = LossScope(member: "alice", strategy: "trend", venue: "paper")
        func see(_ equity: Decimal, _ scope: LossScope) -> LossAction? {
            watch.observe(
                LossFigures(equity: equity, sessionStartEquity: equity, positionValue: 0), of: scope, limits: limits)
        }
        #expect(see(100, live) == nil)
        #expect(see(95, paper) == nil)  // paper's peak is its own (0 → 95)
        #expect(see(89, live)?.response == .stop)
        #expect(watch.peak(live) == 100)
        watch.reset(live)
        #expect(watch.peak(live) == nil)
        #expect(see(89, live) == nil)  // a new peak at 89
        #expect(see(78, live)?.breach == LossBreach(rule: .maxDrawdown, limit: 10, value: 11))
        #expect(
            LossBreach(rule: .maxDrawdown, limit: 10, value: 11).description
                == "fell 11 from its peak, over its max_drawdown of 10")
    }
}
