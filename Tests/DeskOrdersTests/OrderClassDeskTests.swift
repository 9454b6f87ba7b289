import DeskBroker
import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import Logging
import Testing

@testable import DeskOrders

/// The order desk with issue 26's orders on the paper venue: replace, an entry's
/// cancel taking its legs, a restart giving the venue its entries with their legs.
@Suite("Order desk: replace, legs on cancel and restart")
struct OrderClassDeskTests {
    static func limit(_ qty: String, _ price: String) -> OrderTicket {
        OrderTicket(symbol: "AAPL", qty: qty, side: "buy", orderType: "limit", timeInForce: "gtc", limitPrice: price)
    }

    static func bracket() -> OrderTicket {
        OrderTicket(
            symbol: "AAPL", qty: "10", side: "buy", orderType: "limit", timeInForce: "gtc", limitPrice: "90",
            orderClass: "bracket", takeProfitLimitPrice: "110", stopLossStopPrice: "80")
    }

    @Test("replace: the old order ends replaced, the new one works with the old reservation released")
    func replace() async throws {
        try await withPaperDesk(policy: RiskPolicy(defaults: RiskLimits(maxPosition: 15))) {
            desk, ledger, prices, clock in
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            guard case .accepted(let old) = await desk.place(Self.limit("10", "90"), member: "alice", strategy: "")
            else {
                Issue.record("expected a resting order")
                return
            }
            // Another member cannot replace it.
            guard
                case .notFound = await desk.replace(
                    orderId: old.orderId, with: ReplaceTicket(qty: "5"), member: "bob", strategy: "", isAdmin: false)
            else {
                Issue.record("bob replaced alice's order")
                return
            }
            // 16 would pass max_position 15: refused, the old one works on.
            guard
                case .placed(_, .riskRejected) = await desk.replace(
                    orderId: old.orderId, with: ReplaceTicket(qty: "16"), member: "alice", strategy: "",
                    isAdmin: false)
            else {
                Issue.record("expected a risk refusal")
                return
            }
            let stillWorking = try await ledger.order(id: old.orderId)?.status
            #expect(stillWorking == .new)
            let outcome = await desk.replace(
                orderId: old.orderId, with: ReplaceTicket(qty: "5", limitPrice: "91"), member: "alice", strategy: "",
                isAdmin: false)
            guard case .placed(let replaced, .accepted(let new)) = outcome else {
                Issue.record("expected a replacement, got \(outcome)")
                return
            }
            #expect(replaced.status == .replaced && replaced.replacedBy == new.orderId)
            #expect(new.replaces == old.orderId && new.qty == 5 && new.limitPrice == 91 && new.status == .new)
            let open = try await ledger.openOrders().map(\.orderId)
            #expect(open == [new.orderId])
            // The old 10 no longer counts: 5 open + a market buy of 10 fits max_position 15.
            guard case .accepted = await desk.place(Self.limit("10", "100"), member: "alice", strategy: "") else {
                Issue.record("the replaced order's reservation was not released")
                return
            }
            // A final order cannot be replaced.
            guard
                case .notReplaceable(_, let message) = await desk.replace(
                    orderId: old.orderId, with: ReplaceTicket(qty: "1"), member: "alice", strategy: "",
                    isAdmin: false)
            else {
                Issue.record("a replaced order was replaced again")
                return
            }
            #expect(message.contains("already replaced"))
        }
    }

    @Test("canceling a bracket's entry cancels its held legs")
    func cancelEntry() async throws {
        try await withPaperDesk { desk, ledger, prices, clock in
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            guard case .accepted(let entry) = await desk.place(Self.bracket(), member: "alice", strategy: "") else {
                Issue.record("expected a resting bracket")
                return
            }
            #expect(entry.legs.map(\.status) == [.held, .held])
            guard
                case .canceled(let canceled) = await desk.cancel(
                    orderId: entry.orderId, member: "alice", strategy: "", isAdmin: false)
            else {
                Issue.record("expected the entry canceled")
                return
            }
            #expect(canceled.status == .canceled && canceled.legs.map(\.status) == [.canceled, .canceled])
            let open = try await ledger.openOrders()
            #expect(open.isEmpty)
        }
    }

    @Test("a restart gives the paper venue the entry with its legs: they still activate on its fill")
    func restartWithLegs() async throws {
        let clock = TestClock()
        let ledger = try Ledger.inMemory()
        var logger = Logger(label: "order-class-restart-test")
        logger.logLevel = .critical
        func desk(_ prices: PriceBook) throws -> (OrderDesk, PaperVenue) {
            let venue = PaperVenue(prices: prices, clock: clock)
            let desk = OrderDesk(
                ledger: ledger, venues: try Venues([venue], defaultName: venue.name), prices: prices,
                policy: RiskPolicy(), metrics: NoMetrics(), logger: logger, clock: clock, reportedStatus: { _ in nil })
            return (desk, venue)
        }
        let before = PriceBook()
        before.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
        let (first, firstVenue) = try desk(before)
        try await first.recover()
        guard case .accepted(let entry) = await first.place(Self.bracket(), member: "alice", strategy: "") else {
            Issue.record("expected a resting bracket")
            return
        }
        firstVenue.finish()
        let after = PriceBook()
        let (second, secondVenue) = try desk(after)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await second.run() }
            await second.ready()
            // The entry fills on the restarted venue; its legs activate there.
            clock.advance(1)
            after.observe(PriceBook.Line(symbol: "AAPL", price: 89, size: nil, at: clock.now()))
            let activated = try await eventually {
                let order = try? await ledger.order(id: entry.orderId)
                return order?.status == .filled && order?.legs.map(\.status) == [.new, .new]
            }
            let order = try await ledger.order(id: entry.orderId)
            #expect(activated, "\(String(describing: order))")
            secondVenue.finish()
            try await group.waitForAll()
        }
    }
}
