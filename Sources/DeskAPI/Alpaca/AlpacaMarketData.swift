import DeskCore
import Foundation

// Market Data v2's latest trade, quote and bar (`/v2/stocks/…/latest`), from the
// desk's own feed: prices are JSON numbers here, as Alpaca's data API writes them
// (exactly the decimal the feed had), times RFC 3339.

/// A trade: `t` time, `x` exchange, `p` price, `s` size, `c` conditions, `i` id, `z` tape.
public struct AlpacaTradeView: Codable, Sendable, Equatable {
    public var t: String
    public var x: String
    public var p: Decimal
    public var s: Decimal
    public var c: [String]
    public var i: Int64
    public var z: String

    public init(price: Decimal, size: Decimal, at date: Date, id: Int64) {
        t = AlpacaTime.string(date)
        x = "V"
        p = price
        s = size
        c = ["@"]
        i = id
        z = "C"
    }
}

/// A quote: bid and ask with their sizes and exchanges.
public struct AlpacaQuoteView: Codable, Sendable, Equatable {
    public var t: String
    public var ax: String
    public var ap: Decimal
    public var askSize: Decimal
    public var bx: String
    public var bp: Decimal
    public var bs: Decimal
    public var c: [String]
    public var z: String

    enum CodingKeys: String, CodingKey {
        case t, ax, ap, askSize = "as", bx, bp, bs, c, z
    }

    public init(bid: Decimal, ask: Decimal, bidSize: Decimal, askSize: Decimal, at date: Date) {
        t = AlpacaTime.string(date)
        ax = "V"
        ap = ask
        self.askSize = askSize
        bx = "V"
        bp = bid
        bs = bidSize
        c = ["R"]
        z = "C"
    }
}

/// A bar: open, high, low, close, volume, trade count and VWAP.
public struct AlpacaBarView: Codable, Sendable, Equatable {
    public var t: String
    public var o: Decimal
    public var h: Decimal
    public var l: Decimal
    public var c: Decimal
    public var v: Decimal
    public var n: Int
    public var vw: Decimal

    public init(open: Decimal, high: Decimal, low: Decimal, close: Decimal, volume: Decimal, at date: Date) {
        t = AlpacaTime.string(date)
        o = open
        h = high
        l = low
        c = close
        v = volume
        n = 1
        vw = close
    }
}

/// `{"symbol": "AAPL", "trade": {…}}` and its quote and bar forms.
public struct AlpacaLatest<Value: Encodable & Sendable>: Encodable, Sendable {
    public var symbol: String
    public var key: String
    public var value: Value

    public init(symbol: String, key: String, value: Value) {
        self.symbol = symbol
        self.key = key
        self.value = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: NamedKey.self)
        try container.encode(symbol, forKey: NamedKey("symbol"))
        try container.encode(value, forKey: NamedKey(key))
    }
}

/// `{"trades": {"AAPL": {…}, …}}` and its quote and bar forms: symbols the feed has nothing for are left out.
public struct AlpacaLatestMany<Value: Encodable & Sendable>: Encodable, Sendable {
    public var key: String
    public var values: [String: Value]

    public init(key: String, values: [String: Value]) {
        self.key = key
        self.values = values
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: NamedKey.self)
        try container.encode(values, forKey: NamedKey(key))
    }
}

/// The desk's trading sessions as Alpaca's clock and calendar show them: the
/// desk's exchange calendar (`SessionCalendar`: NYSE hours, holidays and early
/// closes, or the Alpaca venue's own calendar). The paper broker fills around the
/// clock, so with it the clock always reads open.
public struct AlpacaSessions: Sendable, Equatable {
    public var calendar: SessionCalendar
    /// The broker trades at any hour (the paper broker).
    public var alwaysOpen: Bool

    public init(calendar: SessionCalendar = SessionCalendar(), alwaysOpen: Bool) {
        self.calendar = calendar
        self.alwaysOpen = alwaysOpen
    }

    /// The clock at `now`.
    public func clock(at now: Date) -> AlpacaClockView {
        AlpacaClockView(
            timestamp: now, isOpen: alwaysOpen || calendar.isOpen(at: now),
            nextOpen: calendar.nextOpen(after: now), nextClose: calendar.nextClose(after: now))
    }

    /// A calendar query's day: `2024-01-02` (noon of that day in the session's time zone) or an RFC 3339 time.
    public func day(_ text: String) -> Date? {
        if let day = TradingDay(text) { return calendar.date(day, at: ClockTime(hour: 12, minute: 0)) }
        return AlpacaTime.date(text)
    }

    /// Trading days from `start` to `end` (dates, inclusive), at most 1000 days looked at.
    public func calendar(from start: Date, to end: Date) -> [AlpacaCalendarDay] {
        calendar.sessions(from: calendar.day(of: start), through: calendar.day(of: end)).map {
            AlpacaCalendarDay(
                date: $0.day.description, open: $0.hours.open.description, close: $0.hours.close.description)
        }
    }
}
