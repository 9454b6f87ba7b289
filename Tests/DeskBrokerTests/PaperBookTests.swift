import DeskBroker
import DeskCore
import Foundation
import Testing

@Suite("Paper broker fill rules")
struct PaperBookTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static func price(_ text: String) -> Decimal { Decimal(string: text)! }

    static func order(
        _ id: String, _ side: Side, _ qty: Decimal, type: OrderType = .market, tif: TimeInForce = .day,
        limit: String? = nil, stop: String? = nil
    ) -> Order {
        Order(
            id: id, member: "alice",
            terms: OrderTerms(
                symbol: "AAPL", qty: qty, side: side, type: type, timeInForce: tif, limitPrice: limit.map(price),
                stopPrice: stop.map(price)), placedAt: now)
    }

    /// Events reduced to comparable text: "accepted", "fill 10@100", "canceled", "expired".
    static func summary(_ updates: [OrderUpdate]) -> [String] {
        updates.map { update in
            switch update.event {
            case .accepted: "accepted"
            case .fill(let qty, let price): "fill \(ExactDecimal.plain(qty))@\(ExactDecimal.plain(price))"
            case .canceled: "canceled"
            case .expired: "expired"
            case .rejected: "rejected"
            case .replaced(let by): "replaced by \(by)"
            }
        }
    }

    static func book(last: String?, size: String? = nil) -> PaperBook {
        var book = PaperBook()
        if let last { _ = book.price(symbol: "AAPL", price: price(last), size: size.map(price), now: now) }
        return book
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var last: String?
        var size: String?
        var order: Order
        var atSubmit: [String]
        var ticks: [String] = []
        var afterTicks: [String] = []
        var testDescription: String { name }
    }

    @Test(
        "fill rules",
        arguments: [
            Case(
                name: "market fills at the last price", last: "100", order: order("m", .buy, 10),
                atSubmit: ["accepted", "fill 10@100"]),
            Case(
                name: "market limited by tick size rests the rest (day)", last: "100", size: "4",
                order: order("m", .buy, 10), atSubmit: ["accepted", "fill 4@100"], ticks: ["101"],
                afterTicks: ["fill 6@101"]),
            Case(
                name: "marketable buy limit fills at the better market price", last: "100",
                order: order("l", .buy, 10, type: .limit, limit: "101"), atSubmit: ["accepted", "fill 10@100"]),
            Case(
                name: "buy limit rests until the price crosses", last: "100",
                order: order("l", .buy, 10, type: .limit, limit: "99"), atSubmit: ["accepted"],
                ticks: ["99.5", "98.75"],
                afterTicks: ["fill 10@98.75"]),
            Case(
                name: "sell limit rests until the price rises", last: "100",
                order: order("l", .sell, 5, type: .limit, tif: .gtc, limit: "102"), atSubmit: ["accepted"],
                ticks: ["101", "102"], afterTicks: ["fill 5@102"]),
            Case(
                name: "buy stop triggers at the stop and fills at market", last: "100",
                order: order("s", .buy, 10, type: .stop, stop: "105"), atSubmit: ["accepted"], ticks: ["104", "106"],
                afterTicks: ["fill 10@106"]),
            Case(
                name: "sell stop triggers when the price falls to it", last: "100",
                order: order("s", .sell, 10, type: .stop, stop: "95"), atSubmit: ["accepted"], ticks: ["96", "95"],
                afterTicks: ["fill 10@95"]),
            Case(
                name: "stop limit triggers, then waits for its limit", last: "100",
                order: order("sl", .buy, 10, type: .stopLimit, limit: "105.50", stop: "105"), atSubmit: ["accepted"],
                ticks: ["106", "105.25"], afterTicks: ["fill 10@105.25"]),
            Case(
                name: "ioc fills what it can and cancels the rest", last: "100", size: "3",
                order: order("i", .buy, 10, tif: .ioc), atSubmit: ["accepted", "fill 3@100", "canceled"]),
            Case(
                name: "ioc limit not marketable is cancelled", last: "100",
                order: order("i", .buy, 10, type: .limit, tif: .ioc, limit: "90"), atSubmit: ["accepted", "canceled"]),
            Case(
                name: "fok that cannot fill completely is cancelled unfilled", last: "100", size: "3",
                order: order("f", .buy, 10, tif: .fok), atSubmit: ["accepted", "canceled"]),
            Case(
                name: "fok that can fill completely fills", last: "100", size: "30",
                order: order("f", .buy, 10, tif: .fok), atSubmit: ["accepted", "fill 10@100"]),
            Case(
                name: "limit order with no price yet rests", last: nil,
                order: order("l", .buy, 10, type: .limit, limit: "50"), atSubmit: ["accepted"], ticks: ["49"],
                afterTicks: ["fill 10@49"]),
        ])
    func fillRules(testCase: Case) throws {
        var book = Self.book(last: testCase.last, size: testCase.size)
        let submitted = try book.submit(testCase.order, now: Self.now).get()
        #expect(Self.summary(submitted) == testCase.atSubmit)
        var later: [OrderUpdate] = []
        for tick in testCase.ticks {
            later += book.price(symbol: "AAPL", price: Self.price(tick), size: nil, now: Self.now)
        }
        #expect(Self.summary(later) == testCase.afterTicks)
    }

    @Test("a market order with no price is refused with a reason")
    func noPrice() {
        var book = PaperBook()
        guard case .failure(.refused(let reason, let kind)) = book.submit(Self.order("m", .buy, 1), now: Self.now)
        else {
            Issue.record("expected a refusal")
            return
        }
        #expect(kind == .invalidOrder)
        #expect(reason.contains("no price is known for AAPL"))
    }

    @Test("day orders expire at the session close; gtc orders stay")
    func sessionClose() throws {
        var book = Self.book(last: "100")
        _ = try book.submit(Self.order("day", .buy, 1, type: .limit, limit: "90"), now: Self.now).get()
        _ = try book.submit(Self.order("gtc", .buy, 1, type: .limit, tif: .gtc, limit: "90"), now: Self.now).get()
        let expired = book.closeSession(now: Self.now)
        #expect(expired.map(\.orderId) == ["day"])
        #expect(Self.summary(expired) == ["expired"])
        #expect(book.workingOrderIds == ["gtc"])
    }

    @Test("cancel removes a working order; canceling again is refused")
    func cancel() throws {
        var book = Self.book(last: "100")
        _ = try book.submit(Self.order("l", .buy, 1, type: .limit, limit: "90"), now: Self.now).get()
        #expect(Self.summary(try book.cancel(orderId: "l", now: Self.now).get()) == ["canceled"])
        #expect(throws: BrokerError.self) { try book.cancel(orderId: "l", now: Self.now).get() }
        #expect(book.price(symbol: "AAPL", price: 80, size: nil, now: Self.now).isEmpty)
    }

    @Test("resubmitting the same order id changes nothing")
    func idempotent() throws {
        var book = Self.book(last: "100")
        #expect(
            Self.summary(try book.submit(Self.order("m", .buy, 1), now: Self.now).get()) == ["accepted", "fill 1@100"])
        #expect(try book.submit(Self.order("m", .buy, 1), now: Self.now).get().isEmpty)
    }

    @Test("restored orders keep their filled quantity and fill ids stay unique")
    func restore() throws {
        var book = PaperBook()
        let order = Self.order("r", .buy, 10, type: .limit, tif: .gtc, limit: "50")
        var progress = OrderProgress(qty: 10)
        try progress.apply(.fill(qty: 4, price: 50))
        book.restore([WorkingOrder(order: order, progress: progress)])
        let fills = book.price(symbol: "AAPL", price: 49, size: nil, now: Self.now)
        #expect(Self.summary(fills) == ["fill 6@49"])
        #expect(fills.first?.fillId == FillID.make(orderId: "r", cumulativeQty: 10))
        #expect(fills.first?.fillId == "r:10")
    }

    @Test("a forgotten order no longer rests, and its id can be submitted again")
    func forget() throws {
        var book = Self.book(last: "100")
        _ = try book.submit(Self.order("l", .buy, 1, type: .limit, tif: .gtc, limit: "90"), now: Self.now).get()
        book.forget(orderId: "l")
        #expect(book.workingOrderIds.isEmpty)
        #expect(book.price(symbol: "AAPL", price: 80, size: nil, now: Self.now).isEmpty)
        #expect(
            Self.summary(try book.submit(Self.order("l", .buy, 1, type: .limit, limit: "90"), now: Self.now).get())
                == ["accepted", "fill 1@80"])
    }

    @Test("fills go oldest order first and other symbols are untouched")
    func priority() throws {
        var book = Self.book(last: "100")
        _ = try book.submit(Self.order("first", .buy, 1, type: .limit, limit: "95"), now: Self.now).get()
        _ = try book.submit(Self.order("second", .buy, 1, type: .limit, limit: "95"), now: Self.now).get()
        #expect(book.price(symbol: "MSFT", price: 1, size: nil, now: Self.now).isEmpty)
        #expect(book.price(symbol: "AAPL", price: 94, size: nil, now: Self.now).map(\.orderId) == ["first", "second"])
    }

    @Test("session calendar finds the next close in its time zone")
    func calendar() throws {
        let calendar = try SessionCalendar.parse(close: "16:00", timeZone: "America/New_York").get()
        // 2026-11-25 15:00 New York (UTC-5) = 20:00 UTC
        let before = ISO8601DateFormatter().date(from: "2026-11-25T20:00:00Z")!
        #expect(calendar.nextClose(after: before) == ISO8601DateFormatter().date(from: "2026-11-25T21:00:00Z")!)
        #expect(
            calendar.nextClose(after: before.addingTimeInterval(7200)) == ISO8601DateFormatter().date(
                from: "2026-11-26T21:00:00Z")!)
        #expect(throws: SessionCalendarError.self) { try SessionCalendar.parse(close: "25:00", timeZone: "UTC").get() }
        #expect(throws: SessionCalendarError.self) {
            try SessionCalendar.parse(close: "16:00", timeZone: "Mars/Base").get()
        }
    }
}

/// Backtests' fill model: a new order first meets the tick after the one it reacted to.
@Suite("Paper broker: next-tick fills and slippage")
struct PaperBookNextTickTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var order: Order
        var slippageBps: String = "0"
        var atSubmit: [String] = ["accepted"]
        var ticks: [String]
        var afterTicks: [String]
        var testDescription: String { name }
    }

    typealias Book = PaperBookTests

    @Test(
        "next-tick fill rules",
        arguments: [
            Case(
                name: "market waits for the next tick and fills at its price", order: Book.order("m", .buy, 10),
                ticks: ["101", "102"], afterTicks: ["fill 10@101"]),
            Case(
                name: "a marketable limit is not matched at the price it was placed at",
                order: Book.order("l", .buy, 10, type: .limit, limit: "100.50"), ticks: ["100.40"],
                afterTicks: ["fill 10@100.4"]),
            Case(
                name: "a limit the next tick does not cross rests (day)",
                order: Book.order("l", .buy, 10, type: .limit, limit: "99"), ticks: ["100", "99.50", "98.75"],
                afterTicks: ["fill 10@98.75"]),
            Case(
                name: "ioc is decided at the next tick: not crossed, canceled",
                order: Book.order("i", .buy, 10, type: .limit, tif: .ioc, limit: "99"), ticks: ["100", "98"],
                afterTicks: ["canceled"]),
            Case(
                name: "fok filled whole at the next tick", order: Book.order("f", .sell, 5, tif: .fok),
                ticks: ["100.25", "90"], afterTicks: ["fill 5@100.25"]),
            Case(
                name: "slippage moves a market buy up", order: Book.order("m", .buy, 10), slippageBps: "10",
                ticks: ["200"], afterTicks: ["fill 10@200.2"]),
            Case(
                name: "slippage moves a market sell down", order: Book.order("m", .sell, 10), slippageBps: "25",
                ticks: ["100"], afterTicks: ["fill 10@99.75"]),
            Case(
                name: "slippage leaves a limit's price alone",
                order: Book.order("l", .buy, 1, type: .limit, limit: "50"),
                slippageBps: "25", ticks: ["49"], afterTicks: ["fill 1@49"]),
        ] as [Case])
    func nextTick(testCase: Case) throws {
        var book = PaperBook(fills: .nextTick, slippageBps: Decimal(string: testCase.slippageBps)!)
        _ = book.price(symbol: "AAPL", price: Book.price("100"), size: nil, now: Book.now)
        let submitted = try book.submit(testCase.order, now: Book.now).get()
        #expect(Book.summary(submitted) == testCase.atSubmit)
        var later: [OrderUpdate] = []
        for tick in testCase.ticks {
            later += book.price(symbol: "AAPL", price: Book.price(tick), size: nil, now: Book.now)
        }
        #expect(Book.summary(later) == testCase.afterTicks)
    }

    @Test(
        "at the close, a day order placed on its symbol's last line meets that line; the rest expires, gtc waits",
        arguments: [
            ("a market day order fills at the session's last price", Book.order("m", .buy, 10), ["fill 10@100"]),
            (
                "a marketable day limit fills there too", Book.order("l", .sell, 5, type: .limit, limit: "99.50"),
                ["fill 5@100"]
            ),
            (
                "a day limit the last price does not reach expires",
                Book.order("l", .buy, 5, type: .limit, limit: "99"), ["expired"]
            ),
            ("a gtc market order waits for the next line", Book.order("g", .buy, 5, tif: .gtc), []),
        ] as [(String, Order, [String])])
    func closeMeetsTheLastLine(name: String, order: Order, atClose: [String]) throws {
        var book = PaperBook(fills: .nextTick)
        _ = book.price(symbol: "AAPL", price: Book.price("100"), size: nil, now: Book.now)
        #expect(Book.summary(try book.submit(order, now: Book.now).get()) == ["accepted"])
        #expect(Book.summary(book.closeSession(now: Book.now)) == atClose, "\(name)")
    }

    @Test("with next-tick fills a market order needs no price yet")
    func noPriceYet() throws {
        var book = PaperBook(fills: .nextTick)
        #expect(Book.summary(try book.submit(Book.order("m", .buy, 1), now: Book.now).get()) == ["accepted"])
        #expect(Book.summary(book.price(symbol: "AAPL", price: 5, size: nil, now: Book.now)) == ["fill 1@5"])
    }

    @Test("a simulated clock gives the same ids for the same run and follows the data's time")
    func simulatedClock() {
        let start = Date(timeIntervalSince1970: 1_763_303_460)
        let (one, two) = (SimulatedClock(start: start, seed: 7), SimulatedClock(start: start, seed: 7))
        let ids = (0..<3).map { _ in one.newOrderId() }
        #expect(ids == (0..<3).map { _ in two.newOrderId() })
        #expect(Set(ids).count == 3)
        one.set(start.addingTimeInterval(60))
        one.set(start)  // never backwards
        #expect(one.now() == start.addingTimeInterval(60))
        #expect(one.newOrderId() > ids.last!, "ids made later sort later")
    }
}
