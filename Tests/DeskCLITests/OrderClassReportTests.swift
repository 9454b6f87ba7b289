import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// `desk orders` shows an order's class, its parent and its legs, in text and in `--json`.
@Suite("desk orders: order classes")
struct OrderClassReportTests {
    @Test("a bracket's entry lists its legs; each leg names its parent; --json carries class, parent and legs")
    func bracketInOrders() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let database = folder.path("desk.db")
        let ledger = try Ledger(path: database)
        let valid = ValidOrder(
            terms: OrderTerms(
                symbol: "AAPL", qty: 10, side: .buy, type: .limit, timeInForce: .gtc, limitPrice: 90),
            orderClass: .bracket, exits: OrderExits(takeProfit: 110, stopLoss: .init(stopPrice: 80)))
        var legs = ["tp-1", "sl-1"].makeIterator()
        let order = valid.order(
            id: "entry-1", member: "alice", strategy: "s", placedAt: Date(timeIntervalSince1970: 1_800_000_000),
            venue: "paper", newLegId: { legs.next()! })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ledger.run() }
            try await ledger.journal(
                order,
                audit: AuditEvent(
                    at: order.placedAt, member: "alice", strategy: "s", action: .order, orderId: order.id,
                    outcome: .accepted))
            ledger.close()
            try await group.waitForAll()
        }
        let text = try await runDesk(["orders", "--db", database])
        #expect(text.status == 0, "\(text.output)")
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasSuffix("CLASS    PARENT   LEGS") == true, "\(text.output)")
        let entry = try #require(lines.first { $0.contains(" entry-1 ") && $0.contains(" buy ") })
        #expect(entry.hasSuffix("bracket  -        tp-1,sl-1"), "\(entry)")
        let leg = try #require(lines.first { $0.contains(" sl-1 ") })
        #expect(leg.contains(" held ") && leg.hasSuffix("bracket  entry-1  -"), "\(leg)")
        let json = try await runDesk(["orders", "--json", "--db", database])
        #expect(json.status == 0, "\(json.output)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: [[String: Any]]])
        let listed = try #require(object["orders"]?.first { $0["order_id"] as? String == "entry-1" })
        #expect(listed["order_class"] as? String == "bracket")
        #expect((listed["legs"] as? [[String: Any]])?.compactMap { $0["order_id"] as? String } == ["tp-1", "sl-1"])
        let stop = try #require(object["orders"]?.first { $0["order_id"] as? String == "sl-1" })
        #expect(stop["parent_id"] as? String == "entry-1" && stop["status"] as? String == "held")
    }
}
