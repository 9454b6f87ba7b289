import DeskCore
import Foundation
import Testing

/// What every order type and side is worth at admission, with the market above,
/// below and at its prices, and with no price known.
@Suite("Order valuation: the worst price an order can fill at")
struct OrderValuationTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var side: Side
        var type: OrderType
        var limit: Decimal?
        var stop: Decimal?
        var last: Decimal?
        /// The price, or nil when it cannot be valued.
        var price: Decimal?
        /// A fragment of the basis (or of the reason it cannot be valued).
        var says: String

        var testDescription: String {
            "\(side) \(type.rawValue)\(limit.map { " limit \($0)" } ?? "")\(stop.map { " stop \($0)" } ?? "") at last \(last.map { "\($0)" } ?? "none")"
        }
    }

    static func row(
        _ side: Side, _ type: OrderType, limit: Decimal? = nil, stop: Decimal? = nil, last: Decimal?, _ price: Decimal?,
        _ says: String
    ) -> Row {
        Row(side: side, type: type, limit: limit, stop: stop, last: last, price: price, says: says)
    }

    static let rows: [Row] = [
        // Market orders: the market, or nothing to value them by.
        row(.buy, .market, last: 190, 190, "the last price"),
        row(.buy, .market, last: nil, nil, "no price is known for AAPL yet, and a market order"),
        row(.sell, .market, last: 190, 190, "the last price"),
        row(.sell, .market, last: nil, nil, "wait until the desk has a price for AAPL"),
        // A buy limit fills at its limit or below: marketable or not, its limit bounds it.
        row(.buy, .limit, limit: 200, last: 190, 200, "its limit"),
        row(.buy, .limit, limit: 180, last: 190, 180, "its limit"),
        row(.buy, .limit, limit: 180, last: nil, 180, "its limit"),
        // A sell limit fills at its limit or above: marketable (0.01 under 190), it is the market.
        row(.sell, .limit, limit: Decimal(string: "0.01")!, last: 190, 190, "the last price, above its limit 0.01"),
        row(.sell, .limit, limit: 200, last: 190, 200, "its limit"),
        row(.sell, .limit, limit: 200, last: nil, nil, "a sell limit fills at its limit or any price above it"),
        // A buy stop fills at the market once triggered: a stop under the market triggers at once.
        row(.buy, .stop, stop: Decimal(string: "0.01")!, last: 190, 190, "the last price, above its stop 0.01"),
        row(.buy, .stop, stop: 200, last: 190, 200, "its stop"),
        row(.buy, .stop, stop: 190, last: 190, 190, "its stop"),
        row(.buy, .stop, stop: 200, last: nil, nil, "send a stop-limit order"),
        // A sell stop fills at its stop or below, or at once at the market when the stop is above it.
        row(.sell, .stop, stop: 180, last: 190, 180, "its stop"),
        row(.sell, .stop, stop: 1_000_000, last: 190, 190, "the last price, below its stop 1000000"),
        row(.sell, .stop, stop: 180, last: nil, 180, "its stop"),
        // A buy stop-limit never pays more than its limit.
        row(.buy, .stopLimit, limit: 205, stop: 200, last: 190, 205, "its limit"),
        row(.buy, .stopLimit, limit: 195, stop: Decimal(string: "0.01")!, last: 190, 195, "its limit"),
        row(.buy, .stopLimit, limit: 205, stop: 200, last: nil, 205, "its limit"),
        // A sell stop-limit: the higher of its limit and where it triggers (its stop, or at once the market).
        row(.sell, .stopLimit, limit: 175, stop: 180, last: 190, 180, "its stop, above its limit 175"),
        row(.sell, .stopLimit, limit: 185, stop: 180, last: 190, 185, "its limit"),
        row(
            .sell, .stopLimit, limit: Decimal(string: "0.01")!, stop: 1_000_000, last: 190, 190,
            "the last price, above its limit 0.01"),
        row(.sell, .stopLimit, limit: 175, stop: 180, last: nil, 180, "its stop"),
    ]

    @Test("every type and side, marketable or not, with and without a last price", arguments: rows)
    func valuation(_ row: Row) {
        let terms = OrderTerms(
            symbol: "AAPL", qty: 10, side: row.side, type: row.type, limitPrice: row.limit, stopPrice: row.stop)
        let valuation = OrderValuation(terms, lastPrice: row.last)
        #expect(valuation.price == row.price, "\(valuation)")
        switch valuation {
        case .price(_, let basis): #expect(basis.contains(row.says), "\(basis)")
        case .unbounded(let why): #expect(why.contains(row.says), "\(why)")
        }
    }
}
