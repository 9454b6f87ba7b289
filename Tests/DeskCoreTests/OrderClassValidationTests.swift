import DeskCore
import Foundation
import Testing

/// Issue 26's ticket fields: order classes and their exits, trailing stops,
/// notional and extended hours, checked by Alpaca's rules.
@Suite("Order classes, trailing stops, notional and extended hours")
struct OrderClassValidationTests {
    static func ticket(
        qty: String = "10", side: String = "buy", type: String = "", tif: String = "", limit: String = "",
        stop: String = "", trailPrice: String = "", trailPercent: String = "", notional: String = "",
        extendedHours: String = "", orderClass: String = "", takeProfit: String = "", stopLoss: String = "",
        stopLossLimit: String = ""
    ) -> OrderTicket {
        OrderTicket(
            symbol: "AAPL", qty: qty, side: side, orderType: type, timeInForce: tif, limitPrice: limit,
            stopPrice: stop, trailPrice: trailPrice, trailPercent: trailPercent, notional: notional,
            extendedHours: extendedHours, orderClass: orderClass, takeProfitLimitPrice: takeProfit,
            stopLossStopPrice: stopLoss, stopLossLimitPrice: stopLossLimit)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var ticket: OrderTicket
        var field: String
        var fragment: String
        var testDescription: String { "\(field): \(fragment)" }
        init(_ ticket: OrderTicket, _ field: String, _ fragment: String) {
            self.ticket = ticket
            self.field = field
            self.fragment = fragment
        }
    }

    @Test(
        "valid tickets",
        arguments: [
            ticket(type: "trailing_stop", trailPercent: "2.5"),
            ticket(side: "sell", type: "trailing_stop", tif: "gtc", trailPrice: "1.25"),
            ticket(qty: "", notional: "500"),
            ticket(qty: "", side: "sell", notional: "250.5"),
            ticket(type: "limit", limit: "150", extendedHours: "true"),
            ticket(type: "limit", limit: "150", extendedHours: "false"),
            ticket(orderClass: "simple"),
            ticket(orderClass: "bracket", takeProfit: "160", stopLoss: "140"),
            ticket(orderClass: "bracket", takeProfit: "160", stopLoss: "140", stopLossLimit: "139.5"),
            ticket(
                side: "sell", type: "limit", tif: "gtc", limit: "150", orderClass: "bracket", takeProfit: "140",
                stopLoss: "160"),
            ticket(orderClass: "oto", takeProfit: "160"),
            ticket(orderClass: "oto", stopLoss: "140"),
            ticket(side: "sell", type: "limit", orderClass: "oco", takeProfit: "160", stopLoss: "140"),
            ticket(side: "sell", type: "limit", limit: "160", orderClass: "oco", takeProfit: "160", stopLoss: "140"),
        ])
    func valid(ticket: OrderTicket) {
        #expect(throws: Never.self) { try OrderValidation.validateOrder(ticket).get() }
    }

    @Test(
        "invalid tickets name the field and say what is allowed",
        arguments: [
            Case(ticket(type: "trailing_stop"), "trail_price", "needs trail_price or trail_percent"),
            Case(ticket(type: "trailing_stop", trailPrice: "1", trailPercent: "2"), "trail_percent", "not both"),
            Case(ticket(type: "trailing_stop", tif: "ioc", trailPercent: "2"), "time_in_force", "DAY or GTC"),
            Case(ticket(type: "trailing_stop", trailPercent: "0"), "trail_percent", "more than 0 and less than 100"),
            Case(ticket(type: "trailing_stop", trailPercent: "100"), "trail_percent", "less than 100"),
            Case(ticket(type: "trailing_stop", trailPrice: "1.005"), "trail_price", "sub-penny"),
            Case(ticket(trailPrice: "1"), "trail_price", "only for trailing_stop"),
            Case(ticket(type: "limit", limit: "1", trailPercent: "1"), "trail_percent", "only for trailing_stop"),
            Case(ticket(notional: "500"), "notional", "not both"),
            Case(ticket(qty: "", notional: "0"), "notional", "greater than zero"),
            Case(ticket(qty: "", notional: "10.001"), "notional", "at most 2"),
            Case(ticket(qty: "", notional: "ten"), "notional", "not a decimal"),
            Case(ticket(qty: "", type: "limit", limit: "10", notional: "500"), "notional", "must be market orders"),
            Case(ticket(qty: "", tif: "gtc", notional: "500"), "notional", "must be DAY orders"),
            Case(ticket(qty: "", notional: "500", orderClass: "bracket"), "notional", "must be simple orders"),
            Case(ticket(qty: ""), "qty", "qty is required"),
            Case(ticket(extendedHours: "true"), "extended_hours", "must be DAY limit orders"),
            Case(ticket(type: "limit", tif: "gtc", limit: "1", extendedHours: "true"), "extended_hours", "DAY limit"),
            Case(ticket(extendedHours: "yes"), "extended_hours", "use true or false"),
            Case(
                ticket(
                    type: "limit", limit: "150", extendedHours: "true", orderClass: "bracket", takeProfit: "160",
                    stopLoss: "140"), "extended_hours", "simple orders"),
            Case(ticket(orderClass: "mleg"), "order_class", "is not allowed"),
            Case(ticket(takeProfit: "160"), "take_profit.limit_price", "only for bracket, oco and oto"),
            Case(ticket(stopLoss: "140"), "stop_loss.stop_price", "only for bracket, oco and oto"),
            Case(ticket(orderClass: "bracket", stopLoss: "140"), "take_profit.limit_price", "bracket orders require"),
            Case(ticket(orderClass: "bracket", takeProfit: "160"), "stop_loss.stop_price", "bracket orders require"),
            Case(
                ticket(orderClass: "bracket", takeProfit: "160", stopLossLimit: "139"), "stop_loss.stop_price",
                "needs stop_loss.stop_price"),
            Case(
                ticket(type: "stop", stop: "150", orderClass: "bracket", takeProfit: "160", stopLoss: "140"),
                "order_type", "market or limit entry"),
            Case(
                ticket(tif: "ioc", orderClass: "bracket", takeProfit: "160", stopLoss: "140"), "time_in_force",
                "DAY or GTC"),
            Case(
                ticket(orderClass: "bracket", takeProfit: "140", stopLoss: "160"), "stop_loss.stop_price",
                "below take_profit.limit_price 140 for a sell exit"),
            Case(
                ticket(type: "limit", limit: "150", orderClass: "bracket", takeProfit: "149", stopLoss: "140"),
                "take_profit.limit_price", "above the entry's limit_price 150"),
            Case(
                ticket(type: "limit", limit: "150", orderClass: "bracket", takeProfit: "160", stopLoss: "150"),
                "stop_loss.stop_price", "below the entry's limit_price 150"),
            Case(
                ticket(
                    side: "sell", type: "limit", limit: "150", orderClass: "bracket", takeProfit: "151",
                    stopLoss: "160"), "take_profit.limit_price", "below the entry's limit_price 150 for a buy exit"),
            Case(
                ticket(orderClass: "bracket", takeProfit: "160.001", stopLoss: "140"), "take_profit.limit_price",
                "sub-penny"),
            Case(ticket(qty: "1.5", orderClass: "bracket", takeProfit: "160", stopLoss: "140"), "qty", "simple orders"),
            Case(ticket(orderClass: "oto"), "take_profit.limit_price", "one exit"),
            Case(ticket(orderClass: "oto", takeProfit: "160", stopLoss: "140"), "stop_loss.stop_price", "not both"),
            Case(
                ticket(side: "sell", orderClass: "oco", takeProfit: "160", stopLoss: "140"), "order_type",
                "oco orders must be limit orders"),
            Case(
                ticket(side: "sell", type: "limit", orderClass: "oco", stopLoss: "140"), "limit_price",
                "required for limit orders"),
            Case(
                ticket(side: "sell", type: "limit", orderClass: "oco", takeProfit: "160"), "stop_loss.stop_price",
                "oco orders require"),
            Case(
                ticket(
                    side: "sell", type: "limit", limit: "161", orderClass: "oco", takeProfit: "160", stopLoss: "140"),
                "limit_price", "give them equal"),
            Case(
                ticket(side: "sell", type: "limit", orderClass: "oco", takeProfit: "140", stopLoss: "160"),
                "stop_loss.stop_price", "below take_profit.limit_price"),
        ])
    func invalid(_ check: Case) {
        switch OrderValidation.validateOrder(check.ticket) {
        case .success(let order): Issue.record("expected a rejection, got \(order)")
        case .failure(let error):
            #expect(error.field == check.field, "\(error.message)")
            #expect(error.message.contains(check.fragment), "\(error.message)")
        }
    }

    @Test("whole-share brokers refuse notional orders")
    func notionalNeedsFractions() {
        let result = OrderValidation.validateOrder(
            Self.ticket(qty: "", notional: "500"), rules: OrderRules(allowsFractionalQuantity: false))
        #expect(throws: OrderValidationError.self) { try result.get() }
    }

    @Test("the typed fields: trail, notional (qty 0 until admission), extended hours, class and exits")
    func typedFields() throws {
        let trailing = try OrderValidation.validateOrder(Self.ticket(type: "trailing_stop", trailPercent: "2.5")).get()
        #expect(trailing.terms.trailPercent == Decimal(string: "2.5")! && trailing.terms.trailPrice == nil)
        let notional = try OrderValidation.validateOrder(Self.ticket(qty: "", notional: "250.5")).get()
        #expect(notional.terms.notional == Decimal(string: "250.5")! && notional.terms.qty == 0)
        let extended = try OrderValidation.validateOrder(
            Self.ticket(type: "limit", limit: "150", extendedHours: "true")
        ).get()
        #expect(extended.terms.extendedHours)
        let bracket = try OrderValidation.validateOrder(
            Self.ticket(orderClass: "bracket", takeProfit: "160", stopLoss: "140", stopLossLimit: "139.5")
        ).get()
        #expect(bracket.orderClass == .bracket)
        #expect(
            bracket.exits
                == OrderExits(takeProfit: 160, stopLoss: .init(stopPrice: 140, limitPrice: Decimal(string: "139.5")!)))
        let oco = try OrderValidation.validateOrder(
            Self.ticket(side: "sell", type: "limit", orderClass: "oco", takeProfit: "160", stopLoss: "140")
        ).get()
        #expect(oco.terms.limitPrice == 160)
    }

    @Test("legs: bracket = [take profit, stop loss] opposite the entry; oto its one exit; oco its stop loss")
    func legs() throws {
        var ids = ["l1", "l2"].makeIterator()
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        func order(_ ticket: OrderTicket) throws -> Order {
            ids = ["l1", "l2"].makeIterator()
            return try OrderValidation.validateOrder(ticket).get().order(
                id: "e", member: "alice", strategy: "s", placedAt: at, venue: "paper", newLegId: { ids.next()! })
        }
        let bracket = try order(
            Self.ticket(tif: "gtc", orderClass: "bracket", takeProfit: "160", stopLoss: "140", stopLossLimit: "139"))
        #expect(bracket.orderClass == .bracket && bracket.parentId == nil)
        #expect(bracket.legs.map(\.id) == ["l1", "l2"])
        #expect(bracket.legs.allSatisfy { $0.parentId == "e" && $0.member == "alice" && $0.strategy == "s" })
        #expect(bracket.legs.allSatisfy { $0.venue == "paper" && $0.orderClass == .bracket && $0.legs.isEmpty })
        #expect(
            bracket.legs.map(\.terms) == [
                OrderTerms(symbol: "AAPL", qty: 10, side: .sell, type: .limit, timeInForce: .gtc, limitPrice: 160),
                OrderTerms(
                    symbol: "AAPL", qty: 10, side: .sell, type: .stopLimit, timeInForce: .gtc, limitPrice: 139,
                    stopPrice: 140),
            ])
        #expect(bracket.legStatus == .held)
        let oto = try order(Self.ticket(side: "sell", orderClass: "oto", stopLoss: "160"))
        #expect(
            oto.legs.map(\.terms) == [
                OrderTerms(symbol: "AAPL", qty: 10, side: .buy, type: .stop, timeInForce: .day, stopPrice: 160)
            ])
        let oco = try order(
            Self.ticket(side: "sell", type: "limit", orderClass: "oco", takeProfit: "160", stopLoss: "140"))
        #expect(oco.terms.type == .limit && oco.terms.limitPrice == 160 && oco.terms.side == .sell)
        #expect(
            oco.legs.map(\.terms) == [
                OrderTerms(symbol: "AAPL", qty: 10, side: .sell, type: .stop, timeInForce: .day, stopPrice: 140)
            ])
        #expect(oco.legStatus == .new)
        #expect(try order(Self.ticket()).legs.isEmpty)
    }
}
