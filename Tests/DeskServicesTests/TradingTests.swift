import DeskBroker
import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import DeskServices
import Foundation
import Logging
import Testing

struct NoMetrics: OrderDeskMetrics {
    func recordOrder(outcome: OrderOutcome, duration: Duration) {}
    func recordRefusedRequest(outcome: OrderOutcome) {}
    func recordFill() {}
}

/// Trading over a running order desk, an in-memory ledger and a paper broker
/// that knows AAPL at 100 (and MSFT at 50); with `live`, a second paper venue named `live` too.
func withTrading(
    orderRules: OrderRules = OrderRules(), live: Bool = false,
    _ body: @Sendable (Trading, Ledger) async throws -> Void
) async throws {
    let ledger = try Ledger.inMemory()
    let prices = PriceBook()
    let broker = PaperVenue(prices: prices, orderRules: orderRules)
    let brokers = [broker] + (live ? [PaperVenue(name: "live", prices: prices)] : [])
    var logger = Logger(label: "trading-test")
    logger.logLevel = .critical
    let desk = OrderDesk(
        ledger: ledger, venues: try Venues(brokers, defaultName: "paper"), prices: prices,
        policy: RiskPolicy(defaults: RiskLimits()), metrics: NoMetrics(), logger: logger,
        reportedStatus: { _ in nil })
    prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: Date()))
    prices.observe(PriceBook.Line(symbol: "MSFT", price: 50, size: nil, at: Date()))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await desk.run() }
        await desk.ready()
        defer {
            for broker in brokers { broker.finish() }
            ledger.close()
        }
        try await body(Trading(desk: desk, ledger: ledger, orderRules: broker.orderRules), ledger)
    }
}

func ticket(_ qty: String, _ side: String = "buy", symbol: String = "AAPL", limit: String = "") -> OrderTicket {
    OrderTicket(
        symbol: symbol, qty: qty, side: side, orderType: limit.isEmpty ? "market" : "limit",
        timeInForce: limit.isEmpty ? "day" : "gtc", limitPrice: limit)
}

let alice = Caller(member: "alice", strategy: "s1")
let bob = Caller(member: "bob")
let admin = Caller(member: "root", isAdmin: true)

@Suite("Trading: the desk's rules every face shares")
struct TradingTests {
    @Test(
        "the order that closes a position: side, quantity, and none when that is less than the smallest order",
        arguments: [
            (Decimal(10), CloseAmount.all, true, "sell 10"),
            (-4, .all, true, "buy 4"),
            (7, .qty(9), true, "sell 7"),
            (7, .qty(2.5), true, "sell 2.5"),
            (7, .percentage(50), true, "sell 3.5"),
            (7, .percentage(50), false, "sell 4"),
            (-7, .percentage(50), false, "buy 4"),
            (1, .percentage(10), false, nil),
            (0, .all, true, nil),
        ] as [(Decimal, CloseAmount, Bool, String?)])
    func closingTicket(held: Decimal, amount: CloseAmount, fractional: Bool, expected: String?) {
        let ticket = Trading.closingTicket(
            "AAPL", held: held, amount: amount, rules: OrderRules(allowsFractionalQuantity: fractional))
        #expect(ticket.map { "\($0.side) \($0.qty)" } == expected)
        #expect(ticket.map { $0.orderType == "market" && $0.timeInForce == "day" && $0.symbol == "AAPL" } ?? true)
    }

    @Test("a client order id is unique per member: taken once an order is recorded, free again when none was")
    func clientOrderIdReuse() async throws {
        try await withTrading { trading, ledger in
            let first = try await trading.place(ticket("1"), clientOrderId: "mine", by: alice).get()
            #expect(try await ledger.orderId(clientOrderId: "mine", member: "alice") == first.orderId)
            guard
                case .failure(.clientOrderIdTaken("mine")) = try await trading.place(
                    ticket("1"), clientOrderId: "mine", by: alice)
            else {
                Issue.record("expected the id to be taken")
                return
            }
            // Another member's ids are their own.
            _ = try await trading.place(ticket("1"), clientOrderId: "mine", by: bob).get()
            // Refused before anything was recorded: the id is free again.
            guard case .failure(.invalid) = try await trading.place(ticket("-1"), clientOrderId: "again", by: alice)
            else {
                Issue.record("expected an invalid ticket")
                return
            }
            _ = try await trading.place(ticket("1"), clientOrderId: "again", by: alice).get()
            // Refused by the broker after it was recorded (no price for ZZZ): the id stays with that order.
            guard
                case .failure(.broker(let refused, _, .invalidOrder)) = try await trading.place(
                    ticket("1", symbol: "ZZZ"), clientOrderId: "rejected", by: alice)
            else {
                Issue.record("expected a broker refusal")
                return
            }
            #expect(try await ledger.orderId(clientOrderId: "rejected", member: "alice") == refused.orderId)
            guard
                case .failure(.clientOrderIdTaken) = try await trading.place(
                    ticket("1"), clientOrderId: "rejected", by: alice)
            else {
                Issue.record("expected the id to stay taken")
                return
            }
        }
    }

    @Test("cancel-all cancels every open order of the caller's own member and nothing else, one result each")
    func cancelAll() async throws {
        try await withTrading { trading, ledger in
            let resting = [
                try await trading.place(ticket("1", limit: "90"), by: alice).get().orderId,
                try await trading.place(ticket("2", symbol: "MSFT", limit: "40"), by: alice).get().orderId,
            ]
            _ = try await trading.place(ticket("1"), by: alice).get()  // filled: not open
            let bobs = try await trading.place(ticket("1", limit: "90"), by: bob).get().orderId
            let admins = try await trading.place(ticket("1", limit: "80"), by: admin).get().orderId

            let results = try await trading.cancelAll(by: alice)
            #expect(Set(results.map(\.orderId)) == Set(resting))
            for result in results { #expect((try? result.result.get())?.status == .canceled) }
            #expect(try await trading.cancelAll(by: alice).isEmpty)
            // An admin's cancel-all is their own orders only.
            #expect(try await trading.cancelAll(by: admin).map(\.orderId) == [admins])
            #expect(try await ledger.order(id: bobs)?.status == .new)
        }
    }

    @Test("cancel: another member's order is not found; an admin may cancel it unless only their own are meant")
    func cancelOwnership() async throws {
        try await withTrading { trading, _ in
            let bobs = try await trading.place(ticket("1", limit: "90"), by: bob).get().orderId
            guard case .failure(.notFound) = await trading.cancel(bobs, by: alice) else {
                Issue.record("expected not found")
                return
            }
            guard case .failure(.notFound) = await trading.cancel(bobs, by: admin, ownOrdersOnly: true) else {
                Issue.record("expected not found")
                return
            }
            #expect((try? await trading.cancel(bobs, by: admin).get())?.status == .canceled)
            guard case .failure(.notCancelable(_, let message)) = await trading.cancel(bobs, by: bob) else {
                Issue.record("expected not cancelable")
                return
            }
            #expect(message.contains("already canceled"))
        }
    }

    @Test("closing: part of a position, a symbol not held, an amount under one share, then close-all")
    func closePositions() async throws {
        try await withTrading(orderRules: OrderRules(allowsFractionalQuantity: false)) { trading, ledger in
            _ = try await trading.place(ticket("10"), by: alice).get()
            _ = try await trading.place(ticket("3", "sell", symbol: "MSFT"), by: alice).get()
            let half = try await trading.closePosition("AAPL", amount: .percentage(50), by: alice).get()
            #expect(half.side == .sell && half.qty == 5 && half.status == .filled)
            guard case .failure(.noPosition(symbol: "NVDA")) = try await trading.closePosition("NVDA", by: alice)
            else {
                Issue.record("expected no position")
                return
            }
            guard case .failure(.noPosition) = try await trading.closePosition("AAPL", by: bob) else {
                Issue.record("bob holds nothing")
                return
            }
            guard
                case .failure(.nothingToClose(symbol: "AAPL")) = try await trading.closePosition(
                    "AAPL", amount: .percentage(1), by: alice)
            else {
                Issue.record("expected nothing to close")
                return
            }
            let closed = try await trading.closeAll(cancelOrders: false, by: alice)
            #expect(closed.map(\.symbol).sorted() == ["AAPL", "MSFT"])
            let sides = closed.compactMap { try? $0.result.get() }.map { "\($0.side.rawValue) \($0.qty)" }.sorted()
            #expect(sides == ["buy 3", "sell 5"])
            #expect(try await ledger.positions(member: "alice").allSatisfy { $0.qty == 0 })
            #expect(try await trading.closeAll(cancelOrders: true, by: alice).isEmpty)
        }
    }

    @Test("close-all with cancel_orders cancels the open orders first")
    func closeAllCancels() async throws {
        try await withTrading { trading, ledger in
            _ = try await trading.place(ticket("2"), by: alice).get()
            let resting = try await trading.place(ticket("1", "sell", limit: "150"), by: alice).get().orderId
            let closed = try await trading.closeAll(cancelOrders: true, by: alice)
            #expect(try await ledger.order(id: resting)?.status == .canceled)
            #expect(closed.compactMap { try? $0.result.get().qty } == [2])
        }
    }
}
