import DeskBroker
import DeskCore
import Foundation
import Testing

/// Lines written short: `t 100` a trade at 100, `t 100 x5` of 5 shares, `q 99.98/100.02`
/// a quote alone (its price the midpoint), `q 99.98/100.02 3/4` with bid and ask
/// sizes (`-` for a side or size not given), `t 100 q 99.98/100.02` a trade carrying a quote.
enum Lines {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static func dec(_ text: String) -> Decimal? { text == "-" ? nil : Decimal(string: text)! }

    static func line(_ text: String, symbol: String = "AAPL") -> PriceBook.Line {
        var tokens = text.split(separator: " ").map(String.init)[...]
        var trade: (price: Decimal, size: Decimal?)?
        var quote: PriceBook.Quote?
        while let token = tokens.popFirst() {
            switch token {
            case "t":
                let price = dec(tokens.popFirst()!)!
                var size: Decimal?
                if let next = tokens.first, next.hasPrefix("x") {
                    size = dec(String(tokens.popFirst()!.dropFirst()))
                }
                trade = (price, size)
            case "q":
                let sides = tokens.popFirst()!.split(separator: "/").map { dec(String($0)) }
                var sizes: [Decimal?] = [nil, nil]
                if let next = tokens.first, next.contains("/") {
                    sizes = tokens.popFirst()!.split(separator: "/").map { dec(String($0)) }
                }
                quote = PriceBook.Quote(bid: sides[0], ask: sides[1], bidSize: sizes[0], askSize: sizes[1])
            default: fatalError("unknown token \(token)")
            }
        }
        let price = trade?.price ?? ((quote?.bid ?? 0) + (quote?.ask ?? 0)) / 2
        return PriceBook.Line(
            symbol: symbol, price: price, size: trade?.size, at: now, quote: quote, isTrade: trade != nil)
    }

    static func order(
        _ id: String, _ side: Side, _ qty: Decimal, type: OrderType = .market, tif: TimeInForce = .day,
        limit: String? = nil, stop: String? = nil, trailPrice: String? = nil, trailPercent: String? = nil,
        orderClass: OrderClass = .simple, parentId: String? = nil, legs: [Order] = []
    ) -> Order {
        Order(
            id: id, member: "alice",
            terms: OrderTerms(
                symbol: "AAPL", qty: qty, side: side, type: type, timeInForce: tif, limitPrice: limit.flatMap(dec),
                stopPrice: stop.flatMap(dec), trailPrice: trailPrice.flatMap(dec),
                trailPercent: trailPercent.flatMap(dec)),
            placedAt: now, orderClass: orderClass, parentId: parentId, legs: legs)
    }

    /// Events as text with the order id: `m accepted`, `m fill 4@100.02`, `sl canceled`.
    static func summary(_ updates: [OrderUpdate]) -> [String] {
        updates.map { update in
            let event =
                switch update.event {
                case .accepted: "accepted"
                case .fill(let qty, let price): "fill \(ExactDecimal.plain(qty))@\(ExactDecimal.plain(price))"
                case .canceled: "canceled"
                case .expired: "expired"
                case .rejected: "rejected"
                case .replaced(let by): "replaced by \(by)"
                }
            return "\(update.orderId) \(event)"
        }
    }

    /// A book that has seen `start`, then `order` submitted, then `lines`: the events at submit and after.
    static func run(
        _ fills: PaperBook.FillModel = .sameTick, slippageBps: Decimal = 0, start: [String], order: Order,
        lines: [String]
    ) throws -> (atSubmit: [String], later: [String]) {
        var book = PaperBook(fills: fills, slippageBps: slippageBps)
        for text in start { _ = book.line(line(text), now: now) }
        let submitted = try book.submit(order, now: now).get()
        let later = lines.flatMap { book.line(line($0), now: now) }
        return (summary(submitted), summary(later))
    }
}

@Suite("Paper broker: quotes, sizes and trailing stops")
struct PaperQuoteTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var fills: PaperBook.FillModel = .sameTick
        var slippageBps: Decimal = 0
        var start: [String]
        var order: Order
        var atSubmit: [String]
        var lines: [String] = []
        var later: [String] = []
        var testDescription: String { name }
    }

    @Test(
        "fill rules with quotes",
        arguments: [
            Case(
                name: "a market buy fills at the ask up to its size; the rest at later lines' own asks and fresh sizes",
                start: ["q 99.98/100.02 5/4"], order: Lines.order("m", .buy, 12),
                atSubmit: ["m accepted", "m fill 4@100.02"],
                lines: ["q 99.99/100.03 5/3", "t 100.01", "q 100/100.04 5/9"],
                later: ["m fill 3@100.03", "m fill 3@100.03", "m fill 2@100.04"]),
            Case(
                name: "a market sell fills at the bid; a size not given is unlimited",
                start: ["t 100 x1 q 99.98/100.02"], order: Lines.order("m", .sell, 10),
                atSubmit: ["m accepted", "m fill 10@99.98"]),
            Case(
                name: "without a quote on its side a market order fills at the last trade and its size",
                start: ["t 100 x6 q -/100.02 -/1"], order: Lines.order("m", .sell, 10),
                atSubmit: ["m accepted", "m fill 6@100"], lines: ["q -/100.03", "t 99 x9"], later: ["m fill 4@99"]),
            Case(
                name: "a marketable limit fills at the ask (better than its limit); the rest, resting, at its limit",
                start: ["q 99.98/100.02 -/5"], order: Lines.order("l", .buy, 10, type: .limit, limit: "100.05"),
                atSubmit: ["l accepted", "l fill 5@100.02"], lines: ["q 100.05/100.07", "q 100.01/100.04 -/10"],
                later: ["l fill 5@100.05"]),
            Case(
                name: "a resting sell limit fills when the bid reaches it, at its limit, not on a trade above it",
                start: ["q 99.98/100.02"], order: Lines.order("l", .sell, 10, type: .limit, limit: "100.10"),
                atSubmit: ["l accepted"], lines: ["t 100.12", "q 100.11/100.13"], later: ["l fill 10@100.1"]),
            Case(
                name: "a stop triggers on a trade, not on a quote, then sells at the bid",
                start: ["t 100 q 99.99/100.01"], order: Lines.order("s", .sell, 10, type: .stop, stop: "99"),
                atSubmit: ["s accepted"], lines: ["q 98.5/98.6", "t 98.9"], later: ["s fill 10@98.5"]),
            Case(
                name:
                    "a sell trailing stop (percent) follows the highest trade and sells at the bid once a trade reaches it",
                start: ["t 100 q 99.99/100.01"],
                order: Lines.order("ts", .sell, 10, type: .trailingStop, trailPercent: "1"),
                atSubmit: ["ts accepted"], lines: ["t 101", "t 100", "q 99.5/99.6", "t 99.99"],
                later: ["ts fill 10@99.5"]),
            Case(
                name: "a buy trailing stop (price) follows the lowest trade; without a quote it buys at the trade",
                start: ["t 100"], order: Lines.order("ts", .buy, 10, type: .trailingStop, trailPrice: "0.5"),
                atSubmit: ["ts accepted"], lines: ["t 99", "t 99.49", "t 99.5"], later: ["ts fill 10@99.5"]),
            Case(
                name: "ioc fills what the ask offers and cancels the rest",
                start: ["q 99.98/100.02 -/3"], order: Lines.order("i", .buy, 10, tif: .ioc),
                atSubmit: ["i accepted", "i fill 3@100.02", "i canceled"]),
            Case(
                name: "fok the ask cannot fill completely is canceled",
                start: ["q 99.98/100.02 -/3"], order: Lines.order("f", .buy, 10, tif: .fok),
                atSubmit: ["f accepted", "f canceled"]),
            Case(
                name: "fok the bid can fill completely fills at the bid",
                start: ["q 99.98/100.02 30/3"], order: Lines.order("f", .sell, 10, tif: .fok),
                atSubmit: ["f accepted", "f fill 10@99.98"]),
            Case(
                name: "next-tick: a market buy meets the next line, a quote alone too, and fills there up to its size",
                fills: .nextTick, start: ["q 1/2 -/100"], order: Lines.order("m", .buy, 10), atSubmit: ["m accepted"],
                lines: ["q 99.98/100.02 -/4", "q 99.99/100.03 -/10"], later: ["m fill 4@100.02", "m fill 6@100.03"]),
            Case(
                name: "next-tick: a triggered trailing stop sells at the next line's bid",
                fills: .nextTick, start: ["t 50"],
                order: Lines.order("ts", .sell, 10, type: .trailingStop, trailPrice: "1"), atSubmit: ["ts accepted"],
                lines: ["t 100", "t 101", "t 100 q 99.9/100.1", "q 99.5/99.7"], later: ["ts fill 10@99.5"]),
            Case(
                name: "next-tick: a marketable limit fills at the quote of the line it meets",
                fills: .nextTick, start: ["q 99/99.02"], order: Lines.order("l", .buy, 10, type: .limit, limit: "100"),
                atSubmit: ["l accepted"], lines: ["q 99.5/99.6 -/4", "q 99.7/99.8"],
                later: ["l fill 4@99.6", "l fill 6@100"]),
            Case(
                name: "slippage moves a market buy up from the ask",
                fills: .nextTick, slippageBps: 10, start: [], order: Lines.order("m", .buy, 10),
                atSubmit: ["m accepted"], lines: ["q 199.9/200"], later: ["m fill 10@200.2"]),
        ])
    func rules(testCase: Case) throws {
        let (atSubmit, later) = try Lines.run(
            testCase.fills, slippageBps: testCase.slippageBps, start: testCase.start, order: testCase.order,
            lines: testCase.lines)
        #expect(atSubmit == testCase.atSubmit)
        #expect(later == testCase.later)
    }

    @Test("orders on one line share its sizes, oldest first; the next line offers its sizes afresh")
    func sharedSizes() throws {
        var book = PaperBook(fills: .nextTick)
        _ = try book.submit(Lines.order("a", .buy, 5), now: Lines.now).get()
        _ = try book.submit(Lines.order("b", .buy, 5), now: Lines.now).get()
        _ = try book.submit(Lines.order("c", .sell, 2), now: Lines.now).get()
        #expect(
            Lines.summary(book.line(Lines.line("q 9.9/10 2/7"), now: Lines.now)) == [
                "a fill 5@10", "b fill 2@10", "c fill 2@9.9",
            ])
        #expect(Lines.summary(book.line(Lines.line("q 9.9/10.1 2/7"), now: Lines.now)) == ["b fill 3@10.1"])
    }

    @Test("the price book keeps the last quote beside the last price; market prices are the ask and the bid")
    func priceBook() {
        let prices = PriceBook()
        prices.observe(Lines.line("t 100 x5"))
        #expect(prices.marketPrice("AAPL", side: .buy) == 100 && prices.quote("AAPL") == nil)
        prices.observe(Lines.line("q 99/101 3/4"))
        #expect(prices.lastPrice("AAPL") == 100)
        #expect(prices.quote("AAPL") == PriceBook.Quote(bid: 99, ask: 101, bidSize: 3, askSize: 4))
        #expect(prices.marketPrice("AAPL", side: .buy) == 101 && prices.marketPrice("AAPL", side: .sell) == 99)
        #expect(prices.marketPrice("AAPL", side: nil) == 100)
        prices.observe(Lines.line("t 102"))
        #expect(prices.lastPrice("AAPL") == 102 && prices.marketPrice("AAPL", side: .buy) == 101)
        #expect(prices.marketPrice("MSFT", side: .buy) == nil)
    }
}

@Suite("Paper broker: brackets, oco, oto, replace")
struct PaperOrderClassTests {
    static func bracket(_ entry: OrderType = .market, limit: String? = nil, tif: TimeInForce = .day) -> Order {
        Lines.order(
            "e", .buy, 10, type: entry, tif: tif, limit: limit, orderClass: .bracket,
            legs: [
                Lines.order("tp", .sell, 10, type: .limit, tif: tif, limit: "101", parentId: "e"),
                Lines.order("sl", .sell, 10, type: .stop, tif: tif, stop: "99", parentId: "e"),
            ])
    }

    @Test(
        "a bracket's exits work once the entry filled completely; the take profit's fill, a partial too, cancels the stop"
    )
    func bracketTakeProfit() throws {
        let (atSubmit, later) = try Lines.run(
            start: ["q 99.99/100.01 -/4"], order: Self.bracket(),
            lines: ["q 101/101.02 -/6", "q 101/101.02 3/6", "q 101.5/101.6", "q 101.5/101.6"])
        #expect(atSubmit == ["e accepted", "e fill 4@100.01"])
        #expect(
            later == [
                "e fill 6@101.02", "tp accepted", "sl accepted", "tp fill 3@101", "sl canceled", "tp fill 7@101",
            ])
    }

    @Test("a bracket's stop loss triggers on a trade and sells at the bid, canceling the take profit")
    func bracketStopLoss() throws {
        let (atSubmit, later) = try Lines.run(
            .nextTick, start: [], order: Self.bracket(),
            lines: ["t 100 q 99.99/100.01", "t 99.5", "t 98.9 q 98.8/99", "q 98.7/98.9"])
        #expect(atSubmit == ["e accepted"])
        #expect(later == ["e fill 10@100.01", "tp accepted", "sl accepted", "sl fill 10@98.7", "tp canceled"])
    }

    @Test("canceling an entry cancels its held exits; an entry that expires takes them too")
    func cancelEntry() throws {
        var book = PaperBook()
        _ = book.line(Lines.line("q 99/101"), now: Lines.now)
        let order = Self.bracket(.limit, limit: "95")
        #expect(Lines.summary(try book.submit(order, now: Lines.now).get()) == ["e accepted"])
        #expect(book.heldOrderIds(entry: "e") == ["tp", "sl"])
        #expect(
            Lines.summary(try book.cancel(orderId: "e", now: Lines.now).get()) == [
                "e canceled", "tp canceled", "sl canceled",
            ])
        #expect(book.workingOrderIds.isEmpty && book.heldOrderIds(entry: "e").isEmpty)
        var other = PaperBook()
        _ = try other.submit(Self.bracket(.limit, limit: "95"), now: Lines.now).get()
        #expect(
            Lines.summary(other.closeSession(now: Lines.now)) == ["e expired", "tp canceled", "sl canceled"])
    }

    @Test("oco: the take profit and the stop loss work at once; one's fill cancels the other")
    func oco() throws {
        let order = Lines.order(
            "tp", .sell, 10, type: .limit, tif: .gtc, limit: "105", orderClass: .oco,
            legs: [Lines.order("sl", .sell, 10, type: .stop, tif: .gtc, stop: "95", parentId: "tp")])
        let (atSubmit, later) = try Lines.run(
            start: ["t 100 q 99.9/100.1"], order: order, lines: ["q 94/94.5", "t 94.8", "t 106 q 105/106"])
        #expect(atSubmit == ["tp accepted", "sl accepted"])
        #expect(later == ["sl fill 10@94", "tp canceled"])
    }

    @Test("oto: the exit works once the entry filled; nothing cancels the entry")
    func oto() throws {
        let order = Lines.order(
            "e", .buy, 10, type: .limit, limit: "100", orderClass: .oto,
            legs: [Lines.order("x", .sell, 10, type: .limit, limit: "102", parentId: "e")])
        let (atSubmit, later) = try Lines.run(
            start: ["q 100.5/101"], order: order, lines: ["q 99.9/100", "q 102/102.1"])
        #expect(atSubmit == ["e accepted"])
        #expect(later == ["e fill 10@100", "x accepted", "x fill 10@102"])
    }

    @Test("replace: the old order ends replaced, the new one works; its held exits follow it")
    func replace() throws {
        var book = PaperBook()
        _ = book.line(Lines.line("q 99/101"), now: Lines.now)
        _ = try book.submit(Self.bracket(.limit, limit: "95"), now: Lines.now).get()
        let new = Lines.order("e2", .buy, 10, type: .limit, limit: "99.5")
        #expect(
            Lines.summary(try book.replace(orderId: "e", with: new, now: Lines.now).get()) == [
                "e replaced by e2", "e2 accepted",
            ])
        #expect(book.heldOrderIds(entry: "e2") == ["tp", "sl"])
        #expect(
            Lines.summary(book.line(Lines.line("q 99/99.5"), now: Lines.now)) == [
                "e2 fill 10@99.5", "tp accepted", "sl accepted",
            ])
        let again = Lines.order("e3", .buy, 10, type: .limit, limit: "99")
        #expect(throws: BrokerError.self) { try book.replace(orderId: "e", with: again, now: Lines.now).get() }
        let wrongSide = Lines.order("tp2", .buy, 10, type: .limit, limit: "101")
        #expect(throws: BrokerError.self) { try book.replace(orderId: "tp", with: wrongSide, now: Lines.now).get() }
    }

    @Test(
        "restore: an entry's exits are held again; exits whose entry filled work as a pair; a trailing stop marks anew")
    func restore() throws {
        var book = PaperBook()
        let open = OrderProgress(qty: 10, status: .new)
        let tp = Lines.order("x1", .sell, 10, type: .limit, tif: .gtc, limit: "101", parentId: "f")
        let sl = Lines.order("x2", .sell, 10, type: .trailingStop, tif: .gtc, trailPrice: "1", parentId: "f")
        book.restore([
            WorkingOrder(order: Self.bracket(.limit, limit: "95"), progress: open),
            WorkingOrder(order: tp, progress: open), WorkingOrder(order: sl, progress: open),
        ])
        #expect(book.heldOrderIds(entry: "e") == ["tp", "sl"] && book.workingOrderIds == ["e", "x1", "x2"])
        let later = ["t 100", "t 100.5", "t 99.5 q 99.4/99.6"].flatMap { book.line(Lines.line($0), now: Lines.now) }
        #expect(Lines.summary(later) == ["x2 fill 10@99.4", "x1 canceled"])
    }
}
