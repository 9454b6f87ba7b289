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

/// The desk's trading sessions as Alpaca's clock and calendar show them: weekdays
/// from 09:30 to the session close in the session's time zone (no holidays). The
/// paper broker fills around the clock, so with it the clock always reads open.
public struct AlpacaSessions: Sendable, Equatable {
    public var closeHour: Int
    public var closeMinute: Int
    public var timeZone: TimeZone
    /// The broker trades at any hour (the paper broker).
    public var alwaysOpen: Bool

    public static let openHour = 9
    public static let openMinute = 30

    public init(closeHour: Int, closeMinute: Int, timeZone: TimeZone, alwaysOpen: Bool) {
        self.closeHour = closeHour
        self.closeMinute = closeMinute
        self.timeZone = timeZone
        self.alwaysOpen = alwaysOpen
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// The session (open, close) of the day of `date`, when it is a weekday.
    func session(on date: Date) -> (open: Date, close: Date)? {
        let calendar = self.calendar
        guard !calendar.isDateInWeekend(date) else { return nil }
        let day = calendar.startOfDay(for: date)
        guard
            let open = calendar.date(
                bySettingHour: Self.openHour, minute: Self.openMinute, second: 0, of: day),
            let close = calendar.date(bySettingHour: closeHour, minute: closeMinute, second: 0, of: day)
        else { return nil }
        return (open, close)
    }

    /// Sessions starting from the day of `date`, in order (at most `days` calendar days looked at).
    func sessions(from date: Date, days: Int) -> [(open: Date, close: Date)] {
        let calendar = self.calendar
        return (0..<days).compactMap { offset in
            calendar.date(byAdding: .day, value: offset, to: calendar.startOfDay(for: date)).flatMap(session(on:))
        }
    }

    /// The clock at `now`.
    public func clock(at now: Date) -> AlpacaClockView {
        let upcoming = sessions(from: now, days: 8)
        let nextClose = upcoming.first { $0.close > now }?.close ?? now
        let nextOpen = upcoming.first { $0.open > now }?.open ?? now
        let inSession = upcoming.contains { $0.open <= now && now < $0.close }
        return AlpacaClockView(
            timestamp: now, isOpen: alwaysOpen || inSession, nextOpen: nextOpen, nextClose: nextClose)
    }

    /// A calendar query's day: `2024-01-02` (noon of that day in the session's time zone) or an RFC 3339 time.
    public func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-").map { Int($0) }
        if text.count == 10, parts.count == 3, let year = parts[0], let month = parts[1], let day = parts[2] {
            return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12))
        }
        return AlpacaTime.date(text)
    }

    /// Trading days from `start` to `end` (dates, inclusive), at most 1000.
    public func calendar(from start: Date, to end: Date) -> [AlpacaCalendarDay] {
        let calendar = self.calendar
        let days = (calendar.dateComponents([.day], from: start, to: end).day ?? 0) + 1
        let hhmm = { (date: Date) -> String in
            let parts = calendar.dateComponents([.hour, .minute], from: date)
            return String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
        }
        return sessions(from: start, days: min(max(days, 0), 1000)).map { session in
            let parts = calendar.dateComponents([.year, .month, .day], from: session.open)
            return AlpacaCalendarDay(
                date: String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0),
                open: hhmm(session.open), close: hhmm(session.close))
        }
    }
}
