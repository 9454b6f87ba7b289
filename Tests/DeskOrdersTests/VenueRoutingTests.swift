import DeskBroker
import DeskCore
import DeskLedger
import DeskOrders
import Foundation
import Logging
import Testing

/// An order desk over two paper venues, `paper` (the default) and `live`, sharing one price book.
func withTwoVenueDesk(
    policy: RiskPolicy = RiskPolicy(),
    _ body: @Sendable (OrderDesk, Ledger, PriceBook, TestClock) async throws -> Void
) async throws {
    let clock = TestClock()
    let ledger = try Ledger.inMemory()
    let prices = PriceBook()
    let paper = PaperVenue(name: "paper", prices: prices, clock: clock)
    let live = PaperVenue(
        name: "live", prices: prices, orderRules: OrderRules(allowsFractionalQuantity: false), clock: clock)
    var logger = Logger(label: "venue-routing-test")
    logger.logLevel = .critical
    let desk = OrderDesk(
        ledger: ledger, venues: try Venues([paper, live], defaultName: "paper"), prices: prices, policy: policy,
        metrics: NoMetrics(), logger: logger, clock: clock, reportedStatus: { $0.outcome == .accepted ? 201 : 400 })
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await desk.run() }
        await desk.ready()
        defer {
            paper.finish()
            live.finish()
            ledger.close()
        }
        try await body(desk, ledger, prices, clock)
    }
}

@Suite("Order desk: every order on its caller's venue")
struct VenueRoutingTests {
    static func ticket(_ qty: String = "10", limit: String = "") -> OrderTicket {
        OrderTicket(
            symbol: "AAPL", qty: qty, side: "buy", orderType: limit.isEmpty ? "market" : "limit",
            timeInForce: limit.isEmpty ? "day" : "gtc", limitPrice: limit)
    }

    @Test("an order goes to the venue it is placed for (empty: the default), with that venue's books and rules")
    func routesByVenue() async throws {
        try await withTwoVenueDesk { desk, ledger, prices, clock in
            prices.observe(PriceBook.Trade(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            let cases: [(venue: String, stored: String)] = [("", "paper"), ("paper", "paper"), ("live", "live")]
            for (venue, stored) in cases {
                guard
                    case .accepted(let order) = await desk.place(
                        Self.ticket(), member: "alice", strategy: "s1", venue: venue)
                else {
                    Issue.record("expected an accepted order on \(stored)")
                    continue
                }
                #expect(order.venue == stored)
                let fills = try await ledger.fills(orderId: order.orderId)
                #expect(fills.map(\.venue) == [stored])
            }
            let paper = try await ledger.positions(member: "alice", venue: "paper")
            let live = try await ledger.positions(member: "alice", venue: "live")
            #expect(paper.map(\.qty) == [20])
            #expect(live.map(\.qty) == [10])
            // `live` takes whole shares only: its rules, not the default venue's, validate its orders.
            guard
                case .invalid(let refusal) = await desk.place(
                    Self.ticket("0.5"), member: "alice", strategy: "", venue: "live")
            else {
                Issue.record("a fractional order on live should be invalid")
                return
            }
            #expect(refusal.field == "qty")
            guard case .accepted = await desk.place(Self.ticket("0.5"), member: "alice", strategy: "", venue: "paper")
            else {
                Issue.record("a fractional order on paper should be accepted")
                return
            }
        }
    }

    @Test("a venue the desk does not have is refused, naming it and the desk's venues; nothing is written")
    func unknownVenue() async throws {
        try await withTwoVenueDesk { desk, ledger, _, _ in
            guard
                case .invalid(let refusal) = await desk.place(
                    Self.ticket(), member: "alice", strategy: "", venue: "ghost")
            else {
                Issue.record("expected a refusal")
                return
            }
            #expect(refusal.field == "venue")
            #expect(refusal.message.contains("\"ghost\"") && refusal.message.contains("paper, live"))
            let orders = try await ledger.orders(OrderQuery(member: nil))
            #expect(orders.isEmpty)
        }
    }

    @Test("cancelOpenOrders cancels one strategy's working orders on one venue only, at that venue, and returns them")
    func cancelOpenOrders() async throws {
        try await withTwoVenueDesk { desk, ledger, prices, clock in
            prices.observe(PriceBook.Trade(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            var placed: [String: String] = [:]
            for (name, strategy, venue) in [
                ("s1-live-a", "s1", "live"), ("s1-live-b", "s1", "live"), ("s1-paper", "s1", "paper"),
                ("s2-live", "s2", "live"),
            ] {
                guard
                    case .accepted(let order) = await desk.place(
                        Self.ticket("1", limit: "90"), member: "alice", strategy: strategy, venue: venue)
                else {
                    Issue.record("expected a resting order")
                    return
                }
                placed[name] = order.orderId
            }
            let canceled = try await desk.cancelOpenOrders(member: "alice", strategy: "s1", venue: "live")
            #expect(Set(canceled.map(\.orderId)) == [placed["s1-live-a"], placed["s1-live-b"]])
            #expect(canceled.allSatisfy { $0.status == .canceled && $0.venue == "live" })
            let open = try await ledger.openOrders()
            #expect(Set(open.map(\.orderId)) == [placed["s1-paper"], placed["s2-live"]])
            // The venue itself let go of them: a later trade through the limit fills only the orders left.
            prices.observe(PriceBook.Trade(symbol: "AAPL", price: 80, size: nil, at: clock.now()))
            #expect(try await eventually { try await ledger.openOrders().isEmpty })
            #expect(try await ledger.positions(member: "alice", venue: "live").map(\.qty) == [1])
            #expect(try await desk.cancelOpenOrders(member: "alice", strategy: "s1", venue: "live").isEmpty)
        }
    }

    @Test("capital per venue: a member's live allocation limits their live orders, not their paper ones")
    func capitalPerVenue() async throws {
        let policy = RiskPolicy(venueCapital: ["alice": ["paper": 100_000, "live": 5_000]])
        try await withTwoVenueDesk(policy: policy) { desk, _, prices, clock in
            prices.observe(PriceBook.Trade(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            guard
                case .riskRejected(let rejection) = await desk.place(
                    Self.ticket("60"), member: "alice", strategy: "", venue: "live")
            else {
                Issue.record("60 shares at 100 exceed the live allocation of 5000")
                return
            }
            #expect(rejection.limit == "buying_power")
            guard case .accepted = await desk.place(Self.ticket("60"), member: "alice", strategy: "", venue: "paper")
            else {
                Issue.record("60 shares at 100 fit the paper allocation")
                return
            }
            #expect(await desk.capitalStatement(member: "alice", venue: "live").capital == 5_000)
            #expect(await desk.capitalStatement(member: "alice", venue: "paper").capital == 100_000)
            #expect(await desk.capitalStatement(member: "alice", venue: "paper").cash == 94_000)
            #expect(await desk.capitalStatement(member: "alice", venue: "live").cash == 5_000)
        }
    }
}
