import DeskCore
import Foundation
import Testing

@Suite("Order state machine")
struct OrderLifecycleTests {
    @Test(
        "transitions",
        arguments: [
            ([OrderEvent.accepted], OrderStatus.new, Decimal(0)),
            ([.accepted, .fill(qty: 4, price: 10)], .partiallyFilled, 4),
            ([.accepted, .fill(qty: 4, price: 10), .fill(qty: 6, price: 11)], .filled, 10),
            ([.fill(qty: 10, price: 10)], .filled, 10),  // fill before the acceptance arrives
            ([.accepted, .canceled(reason: nil)], .canceled, 0),
            ([.accepted, .fill(qty: 3, price: 10), .canceled(reason: "ioc")], .canceled, 3),
            ([.accepted, .expired], .expired, 0),
            ([.rejected(reason: "no")], .rejected, 0),
            ([.fill(qty: 2, price: 10), .accepted], .partiallyFilled, 2),
        ])
    func transitions(events: [OrderEvent], status: OrderStatus, filled: Decimal) throws {
        var order = OrderProgress(qty: 10)
        for event in events { try order.apply(event) }
        #expect(order.status == status)
        #expect(order.filledQty == filled)
    }

    @Test(
        "refused transitions leave the order unchanged",
        arguments: [
            ([OrderEvent.accepted, .fill(qty: 10, price: 1)], OrderEvent.fill(qty: 1, price: 1)),
            ([.accepted, .fill(qty: 10, price: 1)], .canceled(reason: nil)),
            ([.accepted, .canceled(reason: nil)], .fill(qty: 1, price: 1)),
            ([.rejected(reason: "x")], .accepted),
            ([.accepted, .fill(qty: 5, price: 1)], .rejected(reason: "late")),
            ([.accepted], .fill(qty: 11, price: 1)),
            ([.accepted], .fill(qty: 0, price: 1)),
            ([.accepted], .fill(qty: 1, price: 0)),
        ])
    func refused(history: [OrderEvent], event: OrderEvent) throws {
        var order = OrderProgress(qty: 10)
        for past in history { try order.apply(past) }
        let before = order
        #expect(throws: OrderTransitionError.self) { try order.apply(event) }
        #expect(order == before)
    }

    @Test("average fill price is exact to 6 places")
    func averagePrice() throws {
        var order = OrderProgress(qty: 3)
        try order.apply(.fill(qty: 1, price: Decimal(string: "10.01")!))
        try order.apply(.fill(qty: 2, price: Decimal(string: "10.02")!))
        #expect(order.filledNotional == Decimal(string: "30.05")!)
        #expect(order.averageFillPrice == Decimal(string: "10.016667")!)
        #expect(OrderProgress(qty: 1).averageFillPrice == nil)
    }
}

@Suite("Order ids")
struct OrderIdTests {
    @Test("the wall clock's ids are lowercase UUIDv7: parseable, version 7, RFC variant, later ids sort later")
    func uuid7() throws {
        let early = WallClock.uuid7(at: Date(timeIntervalSince1970: 1_800_000_000))
        let late = WallClock.uuid7(at: Date(timeIntervalSince1970: 1_800_000_000.002))
        for id in [early, late, WallClock().newOrderId()] {
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            let bytes = uuid.uuid
            #expect(bytes.6 >> 4 == 7)
            #expect(bytes.8 >> 6 == 0b10)
        }
        #expect(early < late)
        #expect(early.hasPrefix("01a3185c-5000-7"), "48 bits of milliseconds first: \(early)")
        #expect(Set((0..<1_000).map { _ in WallClock().newOrderId() }).count == 1_000)
    }
}
