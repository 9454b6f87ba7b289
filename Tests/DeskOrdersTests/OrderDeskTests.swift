import DeskBroker
import DeskCore
import DeskLedger
import DeskOrders
import Foundation
import Logging
import Synchronization
import Testing

/// A clock a test moves by hand, with counted order ids.
final class TestClock: DeskClock {
    private let state = Mutex((now: Date(timeIntervalSince1970: 1_800_000_000), next: 0))

    func now() -> Date { state.withLock { $0.now } }

    func newOrderId() -> String {
        state.withLock { state in
            state.next += 1
            return "order-\(state.next)"
        }
    }

    func advance(_ seconds: TimeInterval) { state.withLock { $0.now += seconds } }
}

struct NoMetrics: OrderDeskMetrics {
    func recordOrder(outcome: OrderOutcome, duration: Duration) {}
    func recordRefusedRequest(outcome: OrderOutcome) {}
    func recordFill() {}
}

/// An order desk over an in-memory ledger and a paper venue on a test clock, filling from `prices`.
func withPaperDesk(
    policy: RiskPolicy = RiskPolicy(),
    _ body: @Sendable (OrderDesk, Ledger, PriceBook, TestClock) async throws -> Void
) async throws {
    try await withOrderDesk(
        policy: policy, venues: { prices, clock in [PaperVenue(prices: prices, clock: clock)] }, body)
}

/// An order desk over an in-memory ledger and the venues `venues` makes (the first
/// is the default) on a test clock, filling from `prices`.
func withOrderDesk(
    policy: RiskPolicy = RiskPolicy(), venues: (PriceBook, TestClock) -> [PaperVenue],
    _ body: @Sendable (OrderDesk, Ledger, PriceBook, TestClock) async throws -> Void
) async throws {
    let clock = TestClock()
    let ledger = try Ledger.inMemory()
    let prices = PriceBook()
    let brokers = venues(prices, clock)
    var logger = Logger(label: "order-desk-test")
    logger.logLevel = .critical
    let desk = OrderDesk(
        ledger: ledger, venues: try Venues(brokers, defaultName: brokers[0].name), prices: prices, policy: policy,
        metrics: NoMetrics(), logger: logger, clock: clock, reportedStatus: { $0.outcome == .accepted ? 201 : 400 })
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await desk.run() }
        await desk.ready()
        defer {
            for broker in brokers { broker.finish() }
            ledger.close()
        }
        try await body(desk, ledger, prices, clock)
    }
}

/// What an order event hub's observer saw, one line per notice.
final class SeenNotices: Sendable {
    let lines = Mutex<[String]>([])
}

func eventually(_ condition: @Sendable () async throws -> Bool) async throws -> Bool {
    for _ in 0..<400 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

@Suite("Order desk: the machine's actions performed")
struct OrderDeskTests {
    static func ticket(_ qty: String = "10", type: String = "", limit: String = "", tif: String = "") -> OrderTicket {
        OrderTicket(symbol: "AAPL", qty: qty, side: "buy", orderType: type, timeInForce: tif, limitPrice: limit)
    }

    @Test(
        "a paper market order is one transaction: filled, its fill, positions and one audit line; ids and times from the clock"
    )
    func oneTransaction() async throws {
        try await withPaperDesk { desk, ledger, prices, clock in
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            guard case .accepted(let order) = await desk.place(Self.ticket(), member: "alice", strategy: "s1") else {
                Issue.record("expected accepted")
                return
            }
            #expect(order.orderId == "order-1")
            #expect(order.status == .filled && order.filledQty == 10)
            #expect(order.createdAt == clock.now())
            #expect(try await ledger.order(id: "order-1") == order)
            #expect(try await ledger.fills(orderId: "order-1").map(\.fillId) == ["order-1:10"])
            #expect(try await ledger.positions(member: "alice", byStrategy: true).map(\.strategy) == ["s1"])
            let audit = try await ledger.auditEvents()
            #expect(audit.map(\.outcome) == [.accepted])
            #expect(audit.first?.detail == "buy 10 AAPL market day")
        }
    }

    @Test(
        "every booked event reaches the hub's observers before the call that booked it returns; a fill with the strategy's position after it"
    )
    func observedEventsCarryThePosition() async throws {
        try await withPaperDesk { desk, _, prices, clock in
            let seen = SeenNotices()
            desk.events.observe { notice in
                let position = notice.position.map { " position \(ExactDecimal.plain($0))" } ?? ""
                seen.lines.withLock { $0.append("\(notice.order.orderId) \(notice.event)\(position)") }
            }
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            _ = await desk.place(Self.ticket(), member: "alice", strategy: "s1")
            #expect(
                seen.lines.withLock { $0 } == ["order-1 accepted", "order-1 fill(qty: 10, price: 100) position 10"])
            _ = await desk.place(
                Self.ticket("5", type: "limit", limit: "90", tif: "gtc"), member: "alice", strategy: "s1")
            _ = await desk.place(
                Self.ticket("5", type: "limit", limit: "80", tif: "gtc"), member: "alice", strategy: "s1")
            _ = await desk.cancel(orderId: "order-3", member: "alice", strategy: "s1", isAdmin: false)
            // Another strategy's fill of the same member books into its own position.
            _ = await desk.place(Self.ticket("1"), member: "alice", strategy: "s2")
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 89, size: nil, at: clock.now()))
            let booked = try await eventually { seen.lines.withLock { $0.count } == 8 }
            #expect(booked)
            #expect(
                seen.lines.withLock { $0 } == [
                    "order-1 accepted", "order-1 fill(qty: 10, price: 100) position 10", "order-2 accepted",
                    "order-3 accepted", "order-3 canceled(reason: nil)", "order-4 accepted",
                    "order-4 fill(qty: 1, price: 100) position 1", "order-2 fill(qty: 5, price: 89) position 15",
                ])
        }
    }

    @Test("a resting order fills from a later price, booked once; the reservation follows it")
    func restingFill() async throws {
        let policy = RiskPolicy(defaults: RiskLimits(maxPosition: 15))
        try await withPaperDesk(policy: policy) { desk, ledger, prices, clock in
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            let resting = await desk.place(
                Self.ticket(type: "limit", limit: "90", tif: "gtc"), member: "alice", strategy: "")
            guard case .accepted(let order) = resting, order.status == .new else {
                Issue.record("expected a working order, got \(resting)")
                return
            }
            // 10 open + 10 more would pass 15.
            guard case .riskRejected = await desk.place(Self.ticket(), member: "alice", strategy: "") else {
                Issue.record("expected a risk refusal")
                return
            }
            clock.advance(1)
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 89, size: nil, at: clock.now()))
            let orderId = order.orderId
            let filled = try await eventually { try await ledger.order(id: orderId)?.status == .filled }
            #expect(filled)
            let prices = try await ledger.fills(orderId: orderId).map(\.price)
            #expect(prices == [89])
            let held = try await ledger.positions(member: "alice").first?.qty
            #expect(held == 10)
            // Held 10: five more pass, six do not.
            guard case .accepted = await desk.place(Self.ticket("5"), member: "alice", strategy: "") else {
                Issue.record("expected accepted")
                return
            }
            guard case .riskRejected = await desk.place(Self.ticket("1"), member: "alice", strategy: "") else {
                Issue.record("expected a risk refusal")
                return
            }
        }
    }

    @Test("a paper refusal is recorded as rejected with its reason and one audit line")
    func brokerRefusal() async throws {
        try await withPaperDesk(policy: RiskPolicy(defaults: RiskLimits())) { desk, ledger, _, _ in
            let placement = await desk.place(Self.ticket(), member: "alice", strategy: "")
            guard case .brokerRefused(let order, let reason, let kind) = placement else {
                Issue.record("expected a broker refusal, got \(placement)")
                return
            }
            #expect(kind == .invalidOrder && reason.contains("no price is known"))
            #expect(order.status == .rejected && order.statusReason == reason)
            let outcomes = try await ledger.auditEvents().map(\.outcome)
            #expect(outcomes == [.brokerRejected])
            let open = try await ledger.openOrders()
            #expect(open.isEmpty)
        }
    }

    @Test("halts refuse at once, are durable with their audit lines, and resume")
    func halts() async throws {
        try await withPaperDesk { desk, ledger, prices, clock in
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 100, size: nil, at: clock.now()))
            try await desk.halt(member: "alice", reason: "runaway", by: "root")
            #expect(try await ledger.halts().map(\.scope) == ["alice"])
            guard case .halted(let message) = await desk.place(Self.ticket(), member: "alice", strategy: "") else {
                Issue.record("expected halted")
                return
            }
            #expect(message.contains("runaway"))
            #expect(try await desk.resume(member: "alice", by: "root"))
            #expect(try await desk.resume(member: "alice", by: "root") == false)
            guard case .accepted = await desk.place(Self.ticket(), member: "alice", strategy: "") else {
                Issue.record("expected accepted")
                return
            }
            let outcomes = try await ledger.auditEvents().map { "\($0.action.rawValue):\($0.outcome.rawValue)" }
            #expect(outcomes == ["order:accepted", "resume:not_halted", "resume:ok", "order:halted", "halt:ok"])
        }
    }

    @Test("concurrent orders of one member cannot jointly pass max_position")
    func concurrentRisk() async throws {
        let policy = RiskPolicy(defaults: RiskLimits(maxPosition: 100))
        try await withPaperDesk(policy: policy) { desk, ledger, prices, clock in
            prices.observe(PriceBook.Line(symbol: "AAPL", price: 10, size: nil, at: clock.now()))
            let accepted = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        if case .accepted = await desk.place(Self.ticket("7"), member: "alice", strategy: "") {
                            return true
                        }
                        return false
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(accepted == 14)
            let held = try await ledger.positions(member: "alice").first?.qty
            #expect(held == 98)
        }
    }
}
