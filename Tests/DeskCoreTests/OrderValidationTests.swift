import DeskCore
import Foundation
import Testing

@Suite("Order validation")
struct OrderValidationTests {
    static func ticket(
        symbol: String = "AAPL", qty: String = "10", side: String = "buy", type: String = "", tif: String = "",
        limit: String = "", stop: String = ""
    ) -> OrderTicket {
        OrderTicket(
            symbol: symbol, qty: qty, side: side, orderType: type, timeInForce: tif, limitPrice: limit, stopPrice: stop)
    }

    @Test("a seed-style market order is valid with defaults")
    func defaults() throws {
        let order = try OrderValidation.validate(Self.ticket()).get()
        #expect(order == OrderTerms(symbol: "AAPL", qty: 10, side: .buy, type: .market, timeInForce: .day))
    }

    struct Valid: Sendable, CustomTestStringConvertible {
        var ticket: OrderTicket
        var testDescription: String { "\(ticket)" }
    }

    @Test(
        "valid tickets",
        arguments: [
            ticket(type: "limit", limit: "145.50"),
            ticket(type: "limit", tif: "gtc", limit: "0.5123"),
            ticket(type: "stop", tif: "gtc", stop: "140"),
            ticket(type: "stop_limit", tif: "ioc", limit: "141.01", stop: "141"),
            ticket(qty: "2.5", type: "market", tif: "day"),
            ticket(qty: "0.123456789"),
            ticket(symbol: "BRK.B"),
            ticket(symbol: "BTC/USD"),
            ticket(side: "sell", tif: "fok"),
        ])
    func valid(ticket: OrderTicket) {
        #expect(throws: Never.self) { try OrderValidation.validate(ticket).get() }
    }

    @Test(
        "invalid tickets name the field and say what is allowed",
        arguments: [
            (ticket(symbol: ""), "symbol", "symbol is required"),
            (ticket(symbol: "aapl"), "symbol", "is not a ticker"),
            (ticket(symbol: "ÄPFEL"), "symbol", "is not a ticker"),
            (ticket(symbol: "📈"), "symbol", "is not a ticker"),
            (ticket(symbol: "A B"), "symbol", "is not a ticker"),
            (ticket(symbol: String(repeating: "A", count: 16)), "symbol", "too long"),
            (ticket(side: ""), "side", "side is required"),
            (ticket(side: "BUY"), "side", "use one of \"buy\", \"sell\""),
            (ticket(type: "trailing"), "order_type", "is not allowed"),
            (ticket(type: "trailing_stop"), "trail_price", "needs trail_price or trail_percent"),
            (ticket(tif: "opg"), "time_in_force", "is not allowed"),
            (ticket(qty: ""), "qty", "qty is required"),
            (ticket(qty: "-5"), "qty", "must be greater than zero"),
            (ticket(qty: "0"), "qty", "must be greater than zero"),
            (ticket(qty: "ten"), "qty", "is not a decimal number"),
            (ticket(qty: "1e3"), "qty", "is not a decimal number"),
            (ticket(qty: "+10"), "qty", "written without \"+\""),
            (ticket(qty: "00010"), "qty", "no zeros before the first significant integer digit"),
            (ticket(qty: ".5"), "qty", "is not a decimal number"),
            (ticket(type: "limit", limit: "+145.50"), "limit_price", "written without \"+\""),
            (ticket(type: "stop", stop: "0145.50"), "stop_price", "no zeros before"),
            (ticket(qty: "99999999999999999999"), "qty", "larger than the desk accepts"),
            (ticket(qty: String(repeating: "1", count: 40)), "qty", "too long"),
            (ticket(qty: "0.1234567891"), "qty", "at most 9 are allowed"),
            (ticket(qty: "2.5", tif: "gtc"), "qty", "fractional orders must be market or limit"),
            (ticket(qty: "2.5", type: "stop", stop: "10"), "qty", "fractional orders must be market or limit"),
            (ticket(type: "limit"), "limit_price", "required for limit orders"),
            (ticket(type: "stop_limit", stop: "10"), "limit_price", "required for stop_limit orders"),
            (ticket(limit: "10"), "limit_price", "not allowed for market orders"),
            (ticket(stop: "10"), "stop_price", "not allowed for market orders"),
            (ticket(type: "stop"), "stop_price", "required for stop orders"),
            (ticket(type: "limit", limit: "145.60000000000002"), "limit_price", "14 decimal places"),
            (ticket(type: "limit", limit: "145.605"), "limit_price", "sub-penny rule"),
            (ticket(type: "limit", limit: "0.12345"), "limit_price", "below $1 at most 4"),
            (ticket(type: "limit", limit: "-1"), "limit_price", "must be greater than zero"),
            (ticket(type: "limit", limit: "0"), "limit_price", "must be greater than zero"),
            (ticket(type: "limit", limit: "99999999"), "limit_price", "larger than the desk accepts"),
            (ticket(type: "stop", stop: "abc"), "stop_price", "is not a decimal number"),
        ])
    func invalid(ticket: OrderTicket, field: String, fragment: String) {
        switch OrderValidation.validate(ticket) {
        case .success(let order): Issue.record("expected a rejection, got \(order)")
        case .failure(let error):
            #expect(error.field == field)
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test("whole-share brokers refuse fractional quantities")
    func wholeShares() {
        let rules = OrderRules(allowsFractionalQuantity: false)
        #expect(throws: OrderValidationError.self) {
            try OrderValidation.validate(Self.ticket(qty: "1.5"), rules: rules).get()
        }
        #expect(throws: Never.self) { try OrderValidation.validate(Self.ticket(qty: "1.000"), rules: rules).get() }
    }

    @Test("error messages quote hostile text safely")
    func quoting() {
        #expect(OrderValidation.quoted("a\"b\u{0}c") == #""a\"b\0c""#)
        #expect(OrderValidation.quoted(String(repeating: "x", count: 100)).hasSuffix("…\""))
    }

    @Test(
        "identifiers",
        arguments: [
            ("alice", true), ("bob_2", true), ("mean-rev.v2", true), ("", false), ("../x", false),
            ("a..b", false), ("-x", false), ("a b", false), ("é", false), (String(repeating: "a", count: 65), false),
        ])
    func identifiers(name: String, safe: Bool) {
        #expect(Identifier.isSafe(name) == safe)
    }
}
