import DeskBroker
import DeskCore
import DeskLedger
import DeskOrders
import Foundation
import Logging
import Testing

/// An order desk over two paper venues, `paper` (the default) and `live` (whole shares only), sharing one price book.
func withTwoVenueDesk(
    policy: RiskPolicy = RiskPolicy(),
    _ body: @Sendable (OrderDesk, Ledger, PriceBook, TestClock) async throws -> Void
) async throws {
    try await withOrderDesk(
        policy: policy,
        venues: { prices, clock in
            [
                PaperVenue(name: "paper", prices: prices, clock: clock),
                PaperVenue(
                    name: "live", prices: prices, orderRules: OrderRules(allowsFractionalQuantity: false), clock: clock),
            ]
        }, body)
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
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
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
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
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
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 80, size: nil, at: clock.now()))
            #expect(try await eventually { try await ledger.openOrders().isEmpty })
            #expect(try await ledger.positions(member: "alice", venue: "live").map(\.qty) == [1])
            #expect(try await desk.cancelOpenOrders(member: "alice", strategy: "s1", venue: "live").isEmpty)
        }
    }

    @Test("capital per venue: a member's live allocation limits their live orders, not their paper ones")
    func capitalPerVenue() async throws {
        let policy = RiskPolicy(venueCapital: ["alice": ["paper": 100_000, "live": 5_000]])
        try await withTwoVenueDesk(policy: policy) { desk, _, prices, clock in
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
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

@Suite("Admission: kill switches of every scope")
struct HaltScopeAdmissionTests {
    static let at = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(
        "an order is refused when any scope that covers it is halted, and only then",
        arguments: [
            ("*", "paper", "s1", "the whole desk"), ("venue:live", "live", "s1", "the venue live"),
            ("venue:live", "paper", "s1", nil), ("alice", "paper", "", "alice"), ("bob", "paper", "s1", nil),
            ("strategy:s1", "live", "s1", "the strategy s1"), ("strategy:s1", "paper", "s2", nil),
            ("strategy:s1", "paper", "", nil), ("venue:paper", "", "", "the venue paper"),
        ] as [(String, String, String, String?)])
    func scopes(halted: String, venue: String, strategy: String, whom: String?) {
        var machine = Admission(policy: RiskPolicy(), rules: OrderRules(), defaultVenue: "paper")
        machine.halt(HaltRecord(scope: halted, reason: "drill", haltedBy: "olivia", haltedAt: Self.at))
        let decision = machine.admit(
            OrderTicket(symbol: "AAPL", qty: "1", side: "buy"), member: "alice", strategy: strategy, venue: venue,
            orderId: "o-1", now: Self.at, lastPrice: 100)
        if let whom {
            #expect(
                decision
                    == .refuse(
                        .halted(
                            "kill switch: trading is halted for \(whom) (drill); an admin or officer can resume it")))
        } else {
            guard case .journal(let order) = decision else {
                Issue.record("expected the order to be admitted: \(decision)")
                return
            }
            #expect(order.venue == (venue.isEmpty ? "paper" : venue))
        }
    }

    @Test("a venue halt after journaling stops the order there before it is sent")
    func haltAfterJournal() {
        var machine = Admission(policy: RiskPolicy(), rules: OrderRules(), defaultVenue: "paper")
        guard
            case .journal(let order) = machine.admit(
                OrderTicket(symbol: "AAPL", qty: "1", side: "buy"), member: "alice", strategy: "", venue: "live",
                orderId: "o-1", now: Self.at, lastPrice: 100)
        else {
            Issue.record("expected journal")
            return
        }
        machine.halt(HaltRecord(scope: "venue:live", reason: nil, haltedBy: "olivia", haltedAt: Self.at))
        guard case .stop(let stopped, let reason) = machine.journaled(order.id) else {
            Issue.record("expected the order stopped")
            return
        }
        #expect(stopped.id == "o-1" && reason.contains("the venue live"))
    }
}

@Suite("Order events per venue")
struct VenueOrderEventTests {
    @Test("a listener of one venue hears that venue's orders only; one of every venue hears all")
    func venueListeners() async {
        let hub = OrderEventHub()
        let live = hub.listen(member: "alice", venue: "live")
        let every = hub.listen(member: "alice")
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        for (id, venue) in [("p-1", "paper"), ("l-1", "live"), ("p-2", "paper")] {
            let order = Order(
                id: id, member: "alice", terms: OrderTerms(symbol: "AAPL", qty: 1, side: .buy), placedAt: at,
                venue: venue)
            hub.publish(
                OrderEventNotice(
                    order: OrderRecord(order, progress: OrderProgress(qty: 1)), event: .accepted, fillId: nil, at: at))
        }
        live.stop()
        every.stop()
        var heardLive: [String] = []
        for await notice in live.events { heardLive.append(notice.order.orderId) }
        var heardEvery: [String] = []
        for await notice in every.events { heardEvery.append(notice.order.orderId) }
        #expect(heardLive == ["l-1"])
        #expect(heardEvery == ["p-1", "l-1", "p-2"])
    }
}

@Suite("Recovery per venue")
struct VenueRecoveryTests {
    @Test("at start each venue takes back its own open orders only, and they fill and cancel there")
    func restorePerVenue() async throws {
        let clock = TestClock()
        let ledger = try Ledger.inMemory()
        var logger = Logger(label: "venue-recovery-test")
        logger.logLevel = .critical
        /// A desk over `ledger` with fresh `paper` and `live` venues (what a restarted desk has).
        func desk(_ prices: PriceBook) throws -> (OrderDesk, [PaperVenue]) {
            let venues = [
                PaperVenue(name: "paper", prices: prices, clock: clock),
                PaperVenue(name: "live", prices: prices, clock: clock),
            ]
            let desk = OrderDesk(
                ledger: ledger, venues: try Venues(venues, defaultName: "paper"), prices: prices,
                policy: RiskPolicy(), metrics: NoMetrics(), logger: logger, clock: clock, reportedStatus: { _ in nil })
            return (desk, venues)
        }
        let ticket = OrderTicket(
            symbol: "AAPL", qty: "1", side: "buy", orderType: "limit", timeInForce: "gtc", limitPrice: "90")
        let before = PriceBook()
        let (first, firstVenues) = try desk(before)
        try await first.recover()
        var ids: [String: String] = [:]
        for venue in ["paper", "live", "live"] {
            guard case .accepted(let order) = await first.place(ticket, member: "alice", strategy: "s1", venue: venue)
            else {
                Issue.record("expected a resting order on \(venue)")
                return
            }
            ids[order.orderId] = venue
        }
        for venue in firstVenues { venue.finish() }
        // A restart: new venues know nothing until recovery hands each its own orders back.
        let after = PriceBook()
        let (second, secondVenues) = try desk(after)
        try await second.recover()
        let liveIds = ids.filter { $0.value == "live" }.keys.sorted()
        guard
            case .canceled(let canceled) = await second.cancel(
                orderId: liveIds[0], member: "alice", strategy: "s1", isAdmin: false)
        else {
            Issue.record("the live venue should have taken its order back")
            return
        }
        #expect(canceled.venue == "live")
        let live = secondVenues[1]
        let paper = secondVenues[0]
        let liveFills = live.line(PriceBook.Line(symbol: "AAPL", price: 80, size: nil, at: clock.now()))
        let paperFills = paper.line(PriceBook.Line(symbol: "AAPL", price: 80, size: nil, at: clock.now()))
        #expect(Set(liveFills.map(\.orderId)) == [liveIds[1]])
        #expect(Set(paperFills.map(\.orderId)) == Set(ids.filter { $0.value == "paper" }.keys))
        for venue in secondVenues { venue.finish() }
        ledger.close()
    }
}
