import DeskCore
import DeskMarketData
import Foundation
import Testing

@Suite("Order event lines: what a strategy reads about its own orders")
struct OrderEventLineTests {
    static let at = Date(timeIntervalSince1970: 1_800_000_000.5)

    static func record(side: Side = .buy) -> OrderRecord {
        OrderRecord(
            Order(
                id: "o-1", member: "alice", strategy: "s",
                terms: OrderTerms(symbol: "AAPL", qty: 10, side: side, type: .market), placedAt: at),
            progress: OrderProgress(qty: 10))
    }

    @Test(
        "each event's line, numbers from exact decimal text; accepted and replaced are no line",
        arguments: [
            (
                OrderEvent.fill(qty: Decimal(string: "2.5")!, price: Decimal(string: "145.10")!), Side.buy,
                Decimal(string: "-7.5") as Decimal?,
                #"{"type":"fill","order_id":"o-1","symbol":"AAPL","side":"buy","qty":2.5,"price":145.1,"position":-7.5,"ts":"2027-01-15T08:00:00.500Z"}"#
                    as String?
            ),
            (
                .canceled(reason: "canceled by \"alice\""), .sell, nil,
                #"{"type":"canceled","order_id":"o-1","symbol":"AAPL","side":"sell","reason":"canceled by \"alice\"","ts":"2027-01-15T08:00:00.500Z"}"#
            ),
            (
                .canceled(reason: nil), .buy, nil,
                #"{"type":"canceled","order_id":"o-1","symbol":"AAPL","side":"buy","ts":"2027-01-15T08:00:00.500Z"}"#
            ),
            (
                .expired, .buy, nil,
                #"{"type":"expired","order_id":"o-1","symbol":"AAPL","side":"buy","ts":"2027-01-15T08:00:00.500Z"}"#
            ),
            (
                .rejected(reason: "no price for AAPL"), .buy, nil,
                #"{"type":"rejected","order_id":"o-1","symbol":"AAPL","side":"buy","reason":"no price for AAPL","ts":"2027-01-15T08:00:00.500Z"}"#
            ),
            (.accepted, .buy, nil, nil),
            (.replaced(by: "o-2"), .buy, nil, nil),
        ] as [(OrderEvent, Side, Decimal?, String?)])
    func lines(event: OrderEvent, side: Side, position: Decimal?, expected: String?) {
        let line = OrderEventLine.line(order: Self.record(side: side), event: event, position: position, at: Self.at)
        #expect(line.map { String(decoding: $0.bytes, as: UTF8.self) } == expected.map { $0 + "\n" })
        #expect(line?.tick == nil)
    }
}
