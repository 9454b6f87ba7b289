import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import DeskServices
import Foundation
import Testing

/// `ledgerWithHoldings()` with alice's order `a1` under her client order id `mine`.
func ledgerWithClientOrderId() async throws -> Ledger {
    let ledger = try await ledgerWithHoldings()
    #expect(try await ledger.reserveClientOrderId("mine", member: "alice"))
    try await ledger.bindClientOrderId("mine", member: "alice", orderId: "a1")
    return ledger
}

/// Every event of `listener` already published, after stopping it.
func drained(_ listener: OrderEventsListener) async -> [BookedOrderEvent] {
    listener.stop()
    var events: [BookedOrderEvent] = []
    for await event in listener.events { events.append(event) }
    return events
}

@Suite("The reads and streams the faces translate: order events, client order ids, reconciliation")
struct FaceReadsTests {
    static let at = Date(timeIntervalSince1970: 1_800_000_100)

    /// The notice of `event` on the ledger's order `id`.
    static func notice(_ id: String, _ event: OrderEvent, ledger: Ledger) async throws -> OrderEventNotice {
        let order = try #require(try await ledger.order(id: id))
        return OrderEventNotice(order: order, event: event, fillId: nil, at: at)
    }

    @Test(
        "a booked event carries the member's client order id, and after a fill their position in the symbol",
        arguments: [
            ("a1", OrderEvent.fill(qty: 10, price: 100), "alice", "mine", Decimal(10) as Decimal?),
            ("a1", OrderEvent.accepted, "alice", "mine", nil),
            ("b1", OrderEvent.fill(qty: 5, price: 200), "bob", nil, Decimal(5)),
            ("b1", OrderEvent.canceled(reason: nil), "bob", nil, nil),
        ] as [(String, OrderEvent, String, String?, Decimal?)])
    func bookedEvent(
        orderId: String, event: OrderEvent, member: String, clientOrderId: String?, positionQty: Decimal?
    ) async throws {
        let ledger = try await ledgerWithClientOrderId()
        defer { ledger.close() }
        let hub = OrderEventHub()
        let listener = OrderEvents(hub: hub, ledger: ledger).listen(for: Caller(member: member))
        hub.publish(try await Self.notice(orderId, event, ledger: ledger))
        let events = await drained(listener)
        #expect(events.map(\.order.orderId) == [orderId])
        #expect(events.first?.event == event)
        #expect(events.first?.clientOrderId == clientOrderId)
        #expect(events.first?.positionQty == positionQty)
    }

    @Test("a listener hears only its member's orders, and one that does not read keeps only the newest events")
    func listenerScopeAndBound() async throws {
        let ledger = try await ledgerWithClientOrderId()
        defer { ledger.close() }
        let hub = OrderEventHub()
        let events = OrderEvents(hub: hub, ledger: ledger)
        let alice = events.listen(for: Caller(member: "alice"), capacity: 2)
        let bob = events.listen(for: Caller(member: "bob"))
        for event in [OrderEvent.accepted, .fill(qty: 4, price: 100), .fill(qty: 6, price: 100)] {
            hub.publish(try await Self.notice("a1", event, ledger: ledger))
        }
        hub.publish(try await Self.notice("b1", .accepted, ledger: ledger))
        #expect(await drained(alice).map(\.event) == [.fill(qty: 4, price: 100), .fill(qty: 6, price: 100)])
        #expect(await drained(bob).map(\.order.orderId) == ["b1"])
    }

    @Test(
        "a client order id names the caller's own order; any other id stands for itself",
        arguments: [
            ("alice", "mine", "a1"), ("bob", "mine", "mine"), ("alice", "a1", "a1"), ("alice", "nothing", "nothing"),
        ])
    func orderIdOfClientOrderId(member: String, given: String, expected: String) async throws {
        let ledger = try await ledgerWithClientOrderId()
        defer { ledger.close() }
        let portfolio = Portfolio(ledger: ledger, lastPrice: { _ in nil })
        #expect(try await portfolio.orderId(clientOrderId: given, for: Caller(member: member)) == expected)
    }

    @Test("the client order ids of a listing: those the members gave, by order id")
    func clientOrderIdsOfOrders() async throws {
        let ledger = try await ledgerWithClientOrderId()
        defer { ledger.close() }
        let portfolio = Portfolio(ledger: ledger, lastPrice: { _ in nil })
        let orders = try await portfolio.orders(for: .ledgerOwner, OrderQuery(member: nil, status: .all, limit: 10))
        #expect(Set(orders.map(\.orderId)) == ["a1", "b1"])
        #expect(try await portfolio.clientOrderIds(of: orders) == ["a1": "mine"])
        #expect(try await portfolio.clientOrderIds(of: []) == [:])
    }

    @Test("a desk whose default venue has no account of its own refuses to reconcile: its book is the ledger")
    func reconcileWithoutAccount() async throws {
        await #expect(throws: ReconciliationRefusal.bookIsLedger) {
            _ = try await VenueReconciliation(reconciler: nil).run()
        }
    }
}
