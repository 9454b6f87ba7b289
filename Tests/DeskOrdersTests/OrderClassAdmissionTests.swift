import DeskCore
import DeskOrders
import Foundation
import Testing

/// Admission of issue 26's orders: notional turned into a quantity, a bracket's
/// legs built with ids and counted once in risk and capital.
@Suite("Admission: order classes and notional")
struct OrderClassAdmissionTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func machine(capital: Decimal? = nil) -> Admission {
        var member = RiskLimitsOverride()
        if let capital { member = member.setting(\.capital, to: capital) }
        return Admission(
            policy: RiskPolicy(defaults: RiskLimits(maxOpenOrders: 2), members: ["alice": member]),
            rules: OrderRules())
    }

    static func admit(
        _ machine: inout Admission, _ ticket: OrderTicket, id: String = "e", last: Decimal? = 100,
        bid: Decimal? = nil, ask: Decimal? = nil
    ) -> Admission.Decision {
        var legs = 0
        return machine.admit(
            ticket, member: "alice", strategy: "s", orderId: id, now: start, lastPrice: last, bid: bid, ask: ask,
            newLegId: {
                legs += 1
                return "\(id)-leg\(legs)"
            })
    }

    static func bracket(qty: String = "10", takeProfit: String = "110", stopLoss: String = "90") -> OrderTicket {
        OrderTicket(
            symbol: "AAPL", qty: qty, side: "buy", orderType: "market", orderClass: "bracket",
            takeProfitLimitPrice: takeProfit, stopLossStopPrice: stopLoss)
    }

    struct NotionalCase: Sendable, CustomTestStringConvertible {
        var side: String
        var notional: String
        var last: Decimal?
        var bid: Decimal?
        var ask: Decimal?
        /// The quantity, or the refused field.
        var expect: String
        var testDescription: String { "\(side) \(notional) (last \(last.map(ExactDecimal.plain) ?? "-")) → \(expect)" }
    }

    @Test(
        "notional → qty: the amount over the ask (buy), the bid (sell), else the last trade, rounded down to 9 digits",
        arguments: [
            NotionalCase(side: "buy", notional: "500", last: 100, bid: 99, ask: 101, expect: "4.950495049"),
            NotionalCase(side: "sell", notional: "500", last: 100, bid: 99, ask: 101, expect: "5.050505050"),
            NotionalCase(side: "buy", notional: "500", last: 100, expect: "5"),
            NotionalCase(side: "buy", notional: "100", last: 3, expect: "33.333333333"),
            NotionalCase(side: "sell", notional: "0.01", last: 1_000_000, expect: "0.00000001"),
            NotionalCase(side: "buy", notional: "500", last: nil, expect: "invalid:notional"),
            NotionalCase(side: "buy", notional: "0.01", last: 100_000_000_000, expect: "invalid:notional"),
        ])
    func notional(_ check: NotionalCase) {
        var machine = Self.machine()
        let decision = Self.admit(
            &machine, OrderTicket(symbol: "AAPL", qty: "", side: check.side, notional: check.notional),
            last: check.last, bid: check.bid, ask: check.ask)
        switch decision {
        case .journal(let order):
            #expect(ExactDecimal.plain(order.terms.qty) == ExactDecimal.plain(Decimal(string: check.expect)!))
            #expect(order.terms.notional == Decimal(string: check.notional)!)
        case .refuse(.invalid(let error)):
            #expect("invalid:\(error.field)" == check.expect, "\(error.message)")
        case .refuse(let refusal):
            Issue.record("refused: \(refusal)")
        }
    }

    @Test("a bracket is journaled with its legs, ids from newLegId, and counts once")
    func bracketCountsOnce() throws {
        var machine = Self.machine()
        guard case .journal(let order) = Self.admit(&machine, Self.bracket()) else {
            Issue.record("bracket refused")
            return
        }
        #expect(order.orderClass == .bracket)
        #expect(order.legs.map(\.id) == ["e-leg1", "e-leg2"])
        #expect(order.legs.map(\.terms.type) == [.limit, .stop])
        #expect(order.legs.allSatisfy { $0.parentId == "e" && $0.terms.side == .sell && $0.terms.qty == 10 })
        let exposure = machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 100)
        #expect(exposure.openBuyQty == 10 && exposure.openSellQty == 0 && exposure.openOrders == 1)
        // max_open_orders 2: one more order fits, the bracket counting as one.
        #expect(
            Self.label(Self.admit(&machine, OrderTicket(symbol: "AAPL", qty: "1", side: "buy"), id: "x"))
                == "journal")
        #expect(
            Self.label(Self.admit(&machine, OrderTicket(symbol: "AAPL", qty: "1", side: "buy"), id: "y"))
                == "risk:max_open_orders")
        // A journal failure releases the entry and its legs.
        machine.journalFailed("e")
        #expect(!machine.openOrderIds.contains("e-leg1") && !machine.openOrderIds.contains("e"))
        #expect(machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 100).openBuyQty == 1)
    }

    @Test("capital: a bracket reserves its entry only; its exits claim nothing")
    func bracketCapital() {
        var machine = Self.machine(capital: 1_000)
        #expect(Self.label(Self.admit(&machine, Self.bracket(qty: "9"))) == "journal")
        let statement = machine.capitalStatement(member: "alice") { _ in 100 }
        #expect(statement.reserved == 900)
        #expect(statement.shortCollateral == 0)
    }

    @Test("a leg's fill moves the position though it reserves nothing")
    func legFill() throws {
        var machine = Self.machine()
        _ = Self.admit(&machine, Self.bracket())
        _ = machine.recorded("e", progress: OrderProgress(qty: 10, status: .new))
        _ = machine.recorded("e-leg1", progress: OrderProgress(qty: 10, status: .held))
        var entry = OrderProgress(qty: 10, status: .new)
        try entry.apply(.fill(qty: 10, price: 100))
        machine.booked("e", member: "alice", symbol: "AAPL", side: .buy, progress: entry, filled: 10, price: 100)
        var takeProfit = OrderProgress(qty: 10, status: .new)
        try takeProfit.apply(.fill(qty: 10, price: 110))
        machine.booked(
            "e-leg1", member: "alice", symbol: "AAPL", side: .sell, progress: takeProfit, filled: 10, price: 110)
        let exposure = machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 110)
        #expect(exposure.position == 0 && exposure.openSellQty == 0 && exposure.openBuyQty == 0)
        #expect(exposure.openOrders == 0)
    }

    @Test(
        "a market bracket's exits must be on their side of the last price",
        arguments: [
            (bracket(takeProfit: "110", stopLoss: "90"), "journal"),
            (bracket(takeProfit: "99", stopLoss: "90"), "invalid:take_profit.limit_price"),
            (bracket(takeProfit: "110", stopLoss: "100"), "invalid:stop_loss.stop_price"),
        ])
    func marketBracketSides(ticket: OrderTicket, expect: String) {
        var machine = Self.machine()
        #expect(Self.label(Self.admit(&machine, ticket)) == expect)
    }

    @Test(
        "replace: the new order is checked with the old one's reservation released, atomically; a failure restores it")
    func replace() {
        var machine = Admission(
            policy: RiskPolicy(defaults: RiskLimits(maxPosition: 15, maxOpenOrders: 1)), rules: OrderRules())
        let limit = { (qty: String, price: String) in
            OrderTicket(
                symbol: "AAPL", qty: qty, side: "buy", orderType: "limit", timeInForce: "gtc", limitPrice: price)
        }
        #expect(Self.label(Self.admit(&machine, limit("10", "90"), id: "old")) == "journal")
        // Not yet written: not working, so not replaceable.
        #expect(
            Self.label(machine.replace("old", by: limit("10", "91"), orderId: "x", now: Self.start, lastPrice: 100))
                == "invalid:order_id")
        _ = machine.journaled("old")
        // 15 fits once the old 10 no longer counts (max_open_orders 1 too).
        #expect(
            Self.label(machine.replace("old", by: limit("15", "91"), orderId: "new", now: Self.start, lastPrice: 100))
                == "journal")
        var exposure = machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 100)
        #expect(exposure.openBuyQty == 15 && exposure.openOrders == 1)
        // 16 would not fit: refused, and nothing changes.
        _ = machine.journaled("new")
        #expect(
            Self.label(machine.replace("new", by: limit("16", "91"), orderId: "n2", now: Self.start, lastPrice: 100))
                == "risk:max_position")
        #expect(machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 100).openBuyQty == 15)
        // The venue would not replace: the new order is released and the old one counts again.
        machine.replaceFailed("old", newId: "new")
        exposure = machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 100)
        #expect(exposure.openBuyQty == 10 && exposure.openOrders == 1)
        #expect(machine.openOrderIds == ["old"])
    }

    @Test(
        "replace tickets: the old order's terms with the changes; its remainder by default",
        arguments: [
            (ReplaceTicket(limitPrice: "91"), "qty=6 limit=91 tif=gtc trail=/"),
            (ReplaceTicket(qty: "20", timeInForce: "day"), "qty=20 limit=90 tif=day trail=/"),
            (ReplaceTicket(trail: "1"), "invalid:trail"),
        ])
    func replaceTicket(changes: ReplaceTicket, expect: String) throws {
        let old = Order(
            id: "o", member: "alice",
            terms: OrderTerms(symbol: "AAPL", qty: 10, side: .buy, type: .limit, timeInForce: .gtc, limitPrice: 90),
            placedAt: Self.start)
        switch changes.ticket(replacing: old, remaining: 6) {
        case .success(let ticket):
            #expect(
                "qty=\(ticket.qty) limit=\(ticket.limitPrice) tif=\(ticket.timeInForce) trail=\(ticket.trailPrice)/\(ticket.trailPercent)"
                    == expect)
        case .failure(let error): #expect("invalid:\(error.field)" == expect)
        }
        let trailing = Order(
            id: "t", member: "alice",
            terms: OrderTerms(symbol: "AAPL", qty: 10, side: .sell, type: .trailingStop, trailPercent: 2),
            placedAt: Self.start)
        #expect(try ReplaceTicket(trail: "3").ticket(replacing: trailing, remaining: 10).get().trailPercent == "3")
        var leg = old
        leg.orderClass = .bracket
        leg.parentId = "e"
        #expect(try ReplaceTicket(stopPrice: "85").ticket(replacing: leg, remaining: 6).get().stopPrice == "85")
        #expect(throws: OrderValidationError.self) {
            try ReplaceTicket(qty: "1").ticket(replacing: leg, remaining: 6).get()
        }
        var bracket = old
        bracket.orderClass = .bracket
        #expect(throws: OrderValidationError.self) {
            try ReplaceTicket(qty: "1").ticket(replacing: bracket, remaining: 10).get()
        }
    }

    @Test(
        "replacing a bracket's exit: the new exit belongs to the same entry and counts nowhere; a failure leaves it so")
    func replaceExit() {
        var machine = Self.machine()
        _ = Self.admit(&machine, Self.bracket())
        _ = machine.recorded("e", progress: OrderProgress(qty: 10, status: .new))
        _ = machine.recorded("e-leg2", progress: OrderProgress(qty: 10, status: .new))
        let stop = OrderTicket(symbol: "AAPL", qty: "10", side: "sell", orderType: "stop", stopPrice: "91")
        guard
            case .journal(let new) = machine.replace(
                "e-leg2", by: stop, orderId: "sl2", now: Self.start, lastPrice: 100)
        else {
            Issue.record("the exit was not replaced")
            return
        }
        #expect(new.parentId == "e" && new.orderClass == .bracket && new.terms.stopPrice == 91)
        var exposure = machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 100)
        #expect(exposure.openBuyQty == 10 && exposure.openSellQty == 0 && exposure.openOrders == 1)
        machine.replaceFailed("e-leg2", newId: "sl2")
        exposure = machine.exposure(member: "alice", symbol: "AAPL", lastPrice: 100)
        #expect(exposure.openSellQty == 0 && exposure.openOrders == 1)
        #expect(!machine.openOrderIds.contains("sl2") && machine.openOrderIds.contains("e-leg2"))
    }

    static func label(_ decision: Admission.Decision) -> String {
        switch decision {
        case .journal: "journal"
        case .refuse(.invalid(let error)): "invalid:\(error.field)"
        case .refuse(.halted): "halted"
        case .refuse(.rateLimited): "rate"
        case .refuse(.risk(let rejection)): "risk:\(rejection.limit)"
        }
    }
}
