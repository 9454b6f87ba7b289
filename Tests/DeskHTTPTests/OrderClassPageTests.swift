import DeskCore
import Foundation
import Testing

@testable import DeskHTTP

/// The page's order table shows an order's class and legs under its type.
@Suite("Web desk: order classes")
struct OrderClassPageTests {
    static let at = Date(timeIntervalSince1970: 1_800_000_000)

    static func record(_ orderClass: OrderClass, legs: [String] = [], parent: String? = nil) -> OrderRecord {
        var order = Order(
            id: "order-000000000001", member: "alice",
            terms: OrderTerms(symbol: "AAPL", qty: 1, side: .buy, type: .limit, limitPrice: 90), placedAt: at,
            orderClass: orderClass, parentId: parent)
        order.legs = legs.map {
            Order(
                id: $0, member: "alice", terms: OrderTerms(symbol: "AAPL", qty: 1, side: .sell), placedAt: at,
                orderClass: orderClass, parentId: order.id)
        }
        return OrderRecord(order, progress: OrderProgress(qty: 1))
    }

    @Test(
        "under the type: nothing for a simple order, the class and legs for an entry, the class and entry for a leg",
        arguments: [
            (record(.simple), ""),
            (
                record(.bracket, legs: ["leg-aaaaaaaa11111111", "leg-bbbbbbbb22222222"]),
                "<br><small>bracket: 2 leg(s) …11111111, …22222222</small>"
            ),
            (record(.oco, parent: "entry-<script>12"), "<br><small>oco exit of …cript&gt;12</small>"),
        ])
    func classNote(order: OrderRecord, html: String) {
        #expect(WebDesk.classNote(order) == html)
    }
}
