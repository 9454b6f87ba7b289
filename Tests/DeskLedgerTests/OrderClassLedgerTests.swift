import DeskCore
import DeskTestSupport
import Foundation
import Testing

@testable import DeskLedger

/// Ledger v13: order classes, legs journaled with their entry, trail, notional and extended hours.
@Suite("Ledger: order classes and legs")
struct OrderClassLedgerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func bracket(_ id: String = "e", orderClass: OrderClass = .bracket) -> Order {
        let valid = ValidOrder(
            terms: OrderTerms(
                symbol: "AAPL", qty: 10, side: orderClass == .oco ? .sell : .buy,
                type: orderClass == .oco ? .limit : .market, timeInForce: .gtc,
                limitPrice: orderClass == .oco ? 110 : nil),
            orderClass: orderClass,
            exits: OrderExits(takeProfit: 110, stopLoss: .init(stopPrice: 90, limitPrice: 89)))
        var legs = 0
        return valid.order(id: id, member: "alice", strategy: "s", placedAt: now, venue: "paper") {
            legs += 1
            return "\(id)-leg\(legs)"
        }
    }

    static func audit(_ id: String) -> AuditEvent {
        AuditEvent(at: now, member: "alice", strategy: "s", action: .order, orderId: id, outcome: .accepted)
    }

    @Test("a journaled bracket: the entry pending_new, its legs held, read back with the entry and on their own")
    func journalBracket() async throws {
        let ledger = try Ledger.inMemory()
        defer { ledger.close() }
        let order = Self.bracket()
        try await ledger.journal(order, audit: Self.audit("e"))
        let entry = try #require(try await ledger.order(id: "e"))
        #expect(entry.status == .pendingNew && entry.orderClass == .bracket && entry.parentId == nil)
        #expect(entry.legs.map(\.orderId) == ["e-leg1", "e-leg2"])
        #expect(entry.legs.map(\.status) == [.held, .held])
        #expect(entry.legs.map(\.orderType) == [.limit, .stopLimit])
        #expect(entry.order == order)
        let leg = try #require(try await ledger.order(id: "e-leg2"))
        #expect(leg.parentId == "e" && leg.side == .sell && leg.stopPrice == 90 && leg.limitPrice == 89)
        #expect(try ledger.count("audit_events") == 1)
        // Every open order, legs too; the entry carries its legs.
        let open = try await ledger.openOrders()
        #expect(Set(open.map(\.orderId)) == ["e", "e-leg1", "e-leg2"])
        #expect(open.first { $0.orderId == "e" }?.legs.count == 2)
        // A held leg activates on `accepted` and books like any order.
        let outcomes = try await ledger.apply([
            OrderUpdate(orderId: "e", event: .accepted, at: Self.now),
            .fill(orderId: "e", qty: 10, price: 100, cumulativeQty: 10, at: Self.now),
            OrderUpdate(orderId: "e-leg1", event: .accepted, at: Self.now),
            OrderUpdate(orderId: "e-leg2", event: .accepted, at: Self.now),
            .fill(orderId: "e-leg1", qty: 10, price: 110, cumulativeQty: 10, at: Self.now),
            OrderUpdate(orderId: "e-leg2", event: .canceled(reason: "its other leg filled"), at: Self.now),
        ])
        #expect(outcomes.count == 6)
        let after = try #require(try await ledger.order(id: "e"))
        #expect(after.status == .filled && after.legs.map(\.status) == [.filled, .canceled])
        let position = try #require(try await ledger.positions(member: "alice").first)
        #expect(position.qty == 0 && position.realizedPnL == 100)
        #expect(try await ledger.openOrders().isEmpty)
    }

    @Test("an oco's stop loss is journaled new, beside its take profit")
    func journalOCO() async throws {
        let ledger = try Ledger.inMemory()
        defer { ledger.close() }
        try await ledger.journal(Self.bracket("o", orderClass: .oco), audit: Self.audit("o"))
        let oco = try #require(try await ledger.order(id: "o"))
        #expect(oco.orderClass == .oco && oco.legs.map(\.status) == [.new] && oco.legs.map(\.orderType) == [.stopLimit])
    }

    @Test("a decided bracket is recorded in one transaction with its legs and the legs' events")
    func recordBracket() async throws {
        let ledger = try Ledger.inMemory()
        defer { ledger.close() }
        let recorded = try await ledger.record(
            Self.bracket(),
            updates: [
                OrderUpdate(orderId: "e", event: .accepted, at: Self.now),
                .fill(orderId: "e", qty: 10, price: 100, cumulativeQty: 10, at: Self.now),
                OrderUpdate(orderId: "e-leg1", event: .accepted, at: Self.now),
                OrderUpdate(orderId: "e-leg2", event: .accepted, at: Self.now),
            ], audit: Self.audit("e")
        ).order
        #expect(recorded.status == .filled && recorded.legs.map(\.status) == [.new, .new])
        #expect(try await ledger.order(id: "e") == recorded)
        #expect(try await ledger.positions(member: "alice").first?.qty == 10)
        #expect(try await ledger.fills(orderId: "e").count == 1)
    }

    @Test("trail, notional, extended hours and the class read back exactly")
    func fieldsRoundTrip() async throws {
        let ledger = try Ledger.inMemory()
        defer { ledger.close() }
        let trailing = Order(
            id: "t", member: "alice",
            terms: OrderTerms(
                symbol: "AAPL", qty: 5, side: .sell, type: .trailingStop, timeInForce: .gtc,
                trailPercent: Decimal(string: "2.5")!),
            placedAt: Self.now)
        let notional = Order(
            id: "n", member: "alice",
            terms: OrderTerms(
                symbol: "AAPL", qty: Decimal(string: "4.950495049")!, side: .buy, notional: 500),
            placedAt: Self.now)
        let extended = Order(
            id: "x", member: "alice",
            terms: OrderTerms(
                symbol: "AAPL", qty: 1, side: .buy, type: .limit, limitPrice: 99, trailPrice: nil, extendedHours: true),
            placedAt: Self.now)
        for order in [trailing, notional, extended] {
            try await ledger.journal(order, audit: Self.audit(order.id))
            #expect(try await ledger.order(id: order.id)?.order == order)
        }
        #expect(try await ledger.order(id: "t")?.trailPercent == Decimal(string: "2.5")!)
        #expect(try await ledger.order(id: "n")?.notional == 500)
        #expect(try await ledger.order(id: "x")?.extendedHours == true)
        #expect(try await ledger.order(id: "x")?.orderClass == .simple)
    }
}
