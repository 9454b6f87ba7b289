import Foundation

/// A date on an exchange's calendar, without a time or a zone: `2026-11-27`.
public struct TradingDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// The day `year`-`month`-`day` (not checked: use `init?(_:)` for text).
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Reads `YYYY-MM-DD`; nil when it is not a date.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), (1...12).contains(month),
            (1...31).contains(day)
        else { return nil }
        let candidate = TradingDay(year: year, month: month, day: day)
        // 2026-02-30 comes back as 2026-03-02.
        guard TradingDay(dayNumber: candidate.dayNumber) == candidate else { return nil }
        self = candidate
    }

    /// The day `dayNumber` days after 1970-01-01.
    public init(dayNumber: Int) {
        // Civil from days (H. Hinnant), proleptic Gregorian.
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// Days since 1970-01-01.
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// 1 = Sunday … 7 = Saturday (as Foundation's `Calendar` counts).
    public var weekday: Int { ((dayNumber % 7 + 7) % 7 + 4) % 7 + 1 }

    /// Saturday or Sunday.
    public var isWeekend: Bool { weekday == 1 || weekday == 7 }

    /// The day `days` later (earlier when negative).
    public func adding(days: Int) -> TradingDay { TradingDay(dayNumber: dayNumber + days) }

    /// `YYYY-MM-DD`.
    public var description: String { String(format: "%04d-%02d-%02d", year, month, day) }

    public static func < (left: TradingDay, right: TradingDay) -> Bool {
        (left.year, left.month, left.day) < (right.year, right.month, right.day)
    }
}

/// A time of day on a 24-hour clock, in the calendar's time zone.
public struct ClockTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let hour: Int
    public let minute: Int

    public init(hour: Int, minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    /// Reads `HH:MM` (Alpaca's calendar) or `HHMM`; nil when it is not a time.
    public init?(_ text: some StringProtocol) {
        let digits = String(text.filter { $0 != ":" })
        guard digits.count == 4, text.count == 4 || (text.count == 5 && Array(text)[2] == ":"),
            let hour = Int(digits.prefix(2)), let minute = Int(digits.suffix(2)), (0..<24).contains(hour),
            (0..<60).contains(minute)
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    /// `HH:MM`.
    public var description: String { String(format: "%02d:%02d", hour, minute) }

    public static func < (left: ClockTime, right: ClockTime) -> Bool {
        (left.hour, left.minute) < (right.hour, right.minute)
    }
}

/// One trading day's regular session.
public struct TradingSession: Sendable, Equatable {
    public var day: TradingDay
    /// When the session opens and closes, in the calendar's time zone.
    public var hours: SessionHours
    public var open: Date
    public var close: Date
}

/// A session's opening and closing times.
public struct SessionHours: Sendable, Hashable {
    public var open: ClockTime
    public var close: ClockTime

    public init(open: ClockTime, close: ClockTime) {
        self.open = open
        self.close = close
    }

    /// 09:30 to 16:00.
    public static let regular = SessionHours(
        open: ClockTime(hour: 9, minute: 30), close: ClockTime(hour: 16, minute: 0))
    /// 09:30 to 13:00 (the day after Thanksgiving, Christmas Eve, July 3).
    public static let early = SessionHours(open: ClockTime(hour: 9, minute: 30), close: ClockTime(hour: 13, minute: 0))
}

/// The New York Stock Exchange's trading days by its published rules: weekdays,
/// less New Year's Day (a Sunday's on Monday; a Saturday's is not observed),
/// Martin Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day,
/// Juneteenth (from 2022), Independence Day, Labor Day, Thanksgiving and
/// Christmas (a Saturday holiday on the Friday before, a Sunday's on the Monday
/// after), and the special closings in `specialClosings`. The day after
/// Thanksgiving, and July 3 and December 24 when they are trading days, close at 13:00.
public enum NYSERules {
    /// What kind of day a date is at the exchange.
    public enum Day: Sendable, Equatable {
        /// No trading: a weekend, or the named holiday.
        case closed(String)
        /// 09:30 to 16:00.
        case regular
        /// 09:30 to 13:00.
        case early
    }

    /// Closings outside the rules (national days of mourning).
    public static let specialClosings: [TradingDay: String] = [
        TradingDay(year: 2025, month: 1, day: 9): "National Day of Mourning for President Jimmy Carter"
    ]

    /// What `day` is at the exchange.
    public static func day(_ day: TradingDay) -> Day {
        if day.isWeekend { return .closed(day.weekday == 1 ? "Sunday" : "Saturday") }
        if let name = holiday(day) { return .closed(name) }
        let thanksgiving = nth(4, weekday: 5, month: 11, year: day.year)
        if day == thanksgiving.adding(days: 1) { return .early }
        if day.month == 7 && day.day == 3 { return .early }
        if day.month == 12 && day.day == 24 { return .early }
        return .regular
    }

    /// The holiday `day` is, if any (a weekday).
    public static func holiday(_ day: TradingDay) -> String? {
        holidays(year: day.year).first { $0.day == day }?.name ?? specialClosings[day]
    }

    /// The year's holidays on the days the exchange is closed for them, in date order.
    public static func holidays(year: Int) -> [(day: TradingDay, name: String)] {
        var days: [(day: TradingDay, name: String)] = []
        let newYear = TradingDay(year: year, month: 1, day: 1)
        if newYear.weekday != 7 { days.append((observed(newYear), "New Year's Day")) }
        days.append((nth(3, weekday: 2, month: 1, year: year), "Martin Luther King Jr. Day"))
        days.append((nth(3, weekday: 2, month: 2, year: year), "Washington's Birthday"))
        days.append((easter(year: year).adding(days: -2), "Good Friday"))
        days.append((last(weekday: 2, month: 5, year: year), "Memorial Day"))
        if year >= 2022 { days.append((observed(TradingDay(year: year, month: 6, day: 19)), "Juneteenth")) }
        days.append((observed(TradingDay(year: year, month: 7, day: 4)), "Independence Day"))
        days.append((nth(1, weekday: 2, month: 9, year: year), "Labor Day"))
        days.append((nth(4, weekday: 5, month: 11, year: year), "Thanksgiving Day"))
        days.append((observed(TradingDay(year: year, month: 12, day: 25)), "Christmas Day"))
        return days
    }

    /// A Saturday holiday is observed on the Friday before, a Sunday one on the Monday after.
    static func observed(_ day: TradingDay) -> TradingDay {
        switch day.weekday {
        case 7: day.adding(days: -1)
        case 1: day.adding(days: 1)
        default: day
        }
    }

    /// The `n`th `weekday` (1 = Sunday) of the month.
    static func nth(_ n: Int, weekday: Int, month: Int, year: Int) -> TradingDay {
        let first = TradingDay(year: year, month: month, day: 1)
        let offset = (weekday - first.weekday + 7) % 7
        return first.adding(days: offset + 7 * (n - 1))
    }

    /// The last `weekday` (1 = Sunday) of the month.
    static func last(weekday: Int, month: Int, year: Int) -> TradingDay {
        let next =
            month == 12
            ? TradingDay(year: year + 1, month: 1, day: 1) : TradingDay(year: year, month: month + 1, day: 1)
        let end = next.adding(days: -1)
        return end.adding(days: -((end.weekday - weekday + 7) % 7))
    }

    /// Easter Sunday (the anonymous Gregorian algorithm).
    static func easter(year: Int) -> TradingDay {
        let a = year % 19
        let b = year / 100
        let c = year % 100
        let d = b / 4
        let e = b % 4
        let f = (b + 8) / 25
        let g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4
        let k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = (h + l - 7 * m + 114) % 31 + 1
        return TradingDay(year: year, month: month, day: day)
    }
}

/// When the market trades: the exchange calendar. By default the NYSE's
/// (`NYSERules`: 09:30–16:00 America/New_York, holidays, 13:00 early closes),
/// with the days a venue publishes (Alpaca's `/v2/calendar`) taking the place of
/// the rules where it has them. A config file's `session.close` instead closes
/// every day at one time (`daily`), as the desk did before it knew the exchange.
/// Day orders expire at each close; the backtest's sessions, the loss rules'
/// sessions and the P&L day follow it.
public struct SessionCalendar: Sendable, Equatable {
    /// Which days trade and when they close.
    public enum Schedule: Sendable, Equatable {
        /// The exchange's trading days (NYSE rules, or a venue's published days).
        case exchange
        /// Every day closes at this time (sessions shown on weekdays from 09:30); no holidays.
        case daily(close: ClockTime)
    }

    public var schedule: Schedule
    public var timeZone: TimeZone
    /// Days a venue published, with their hours; within `publishedRange` a day not here is closed.
    public private(set) var published: [TradingDay: SessionHours] = [:]
    /// The days the venue's calendar covers (outside it the rules apply).
    public private(set) var publishedRange: ClosedRange<TradingDay>?

    /// The NYSE's calendar in New York time.
    public init() {
        schedule = .exchange
        timeZone = Self.newYork
    }

    /// Every day closes at `closeHour`:`closeMinute` in `timeZone` (the config file's `session`).
    public init(closeHour: Int, closeMinute: Int, timeZone: TimeZone) {
        schedule = .daily(close: ClockTime(hour: closeHour, minute: closeMinute))
        self.timeZone = timeZone
    }

    /// America/New_York.
    public static let newYork = TimeZone(identifier: "America/New_York")!

    /// The regular close's hour (16 on the exchange's calendar).
    public var closeHour: Int { regularHours.close.hour }
    /// The regular close's minute.
    public var closeMinute: Int { regularHours.close.minute }

    private var regularHours: SessionHours {
        switch schedule {
        case .exchange: .regular
        case .daily(let close): SessionHours(open: SessionHours.regular.open, close: close)
        }
    }

    /// Parses `"HH:MM"` and a time zone identifier into a daily close; the error names what was wrong.
    public static func parse(close: String, timeZone identifier: String) -> Result<
        SessionCalendar, SessionCalendarError
    > {
        let parts = close.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
            (0..<60).contains(minute)
        else {
            return .failure(.badClose(close))
        }
        guard let zone = TimeZone(identifier: identifier) else { return .failure(.badTimeZone(identifier)) }
        return .success(SessionCalendar(closeHour: hour, closeMinute: minute, timeZone: zone))
    }

    /// This calendar with a venue's published sessions for `range` (days of it not in `days` are closed).
    /// A daily schedule ignores them.
    public func publishing(_ days: [TradingDay: SessionHours], covering range: ClosedRange<TradingDay>)
        -> SessionCalendar
    {
        var calendar = self
        calendar.published = days.filter { range.contains($0.key) }
        calendar.publishedRange = range
        return calendar
    }

    private var gregorian: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// The calendar day of `date` in the calendar's time zone.
    public func day(of date: Date) -> TradingDay {
        let parts = gregorian.dateComponents([.year, .month, .day], from: date)
        return TradingDay(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    /// `time` on `day` in the calendar's time zone.
    public func date(_ day: TradingDay, at time: ClockTime) -> Date {
        gregorian.date(
            from: DateComponents(year: day.year, month: day.month, day: day.day, hour: time.hour, minute: time.minute))!
    }

    /// The hours of `day`, nil when the market is closed all day.
    public func hours(on day: TradingDay) -> SessionHours? {
        switch schedule {
        case .daily: return day.isWeekend ? nil : regularHours
        case .exchange:
            if let range = publishedRange, range.contains(day) { return published[day] }
            switch NYSERules.day(day) {
            case .closed: return nil
            case .regular: return .regular
            case .early: return .early
            }
        }
    }

    /// The session of `day`, nil when the market is closed all day.
    public func session(on day: TradingDay) -> TradingSession? {
        hours(on: day).map {
            TradingSession(day: day, hours: $0, open: date(day, at: $0.open), close: date(day, at: $0.close))
        }
    }

    /// The sessions from `start` through `end` (days, inclusive), at most `limit` days looked at.
    public func sessions(from start: TradingDay, through end: TradingDay, limit: Int = 1000) -> [TradingSession] {
        let count = min(max(end.dayNumber - start.dayNumber + 1, 0), limit)
        return (0..<count).compactMap { session(on: start.adding(days: $0)) }
    }

    /// The first session close strictly after `date` (day orders expire then).
    public func nextClose(after date: Date) -> Date {
        if case .daily(let close) = schedule {
            let components = DateComponents(hour: close.hour, minute: close.minute, second: 0)
            return gregorian.nextDate(after: date, matching: components, matchingPolicy: .nextTime)
                ?? date.addingTimeInterval(86_400)
        }
        return upcoming(from: date).first { $0.close > date }?.close ?? date.addingTimeInterval(86_400)
    }

    /// The first session open strictly after `date`.
    public func nextOpen(after date: Date) -> Date {
        upcoming(from: date).first { $0.open > date }?.open ?? date.addingTimeInterval(86_400)
    }

    /// The last session close at or before `date`: where the P&L day that `date` is in began.
    public func lastClose(atOrBefore date: Date) -> Date {
        if case .daily = schedule {
            var close = nextClose(after: date.addingTimeInterval(-2 * 86_400))
            while true {
                let next = nextClose(after: close)
                if next > date { return close }
                close = next
            }
        }
        let today = day(of: date)
        for offset in 0..<30 {
            if let session = session(on: today.adding(days: -offset)), session.close <= date { return session.close }
        }
        return gregorian.startOfDay(for: date)
    }

    /// Whether the regular session is open at `date`.
    public func isOpen(at date: Date) -> Bool {
        session(on: day(of: date)).map { $0.open <= date && date < $0.close } ?? false
    }

    /// The sessions of the next weeks from the day of `date` (long enough to pass any run of holidays).
    private func upcoming(from date: Date) -> [TradingSession] {
        let today = day(of: date)
        return sessions(from: today, through: today.adding(days: 14))
    }
}

/// A session close setting that cannot be used.
public enum SessionCalendarError: Error, Equatable, Sendable, CustomStringConvertible {
    case badClose(String)
    case badTimeZone(String)

    public var description: String {
        switch self {
        case .badClose(let text): "session close \"\(text)\" is not a time: use HH:MM on a 24-hour clock, e.g. 16:00"
        case .badTimeZone(let text): "time zone \"\(text)\" is unknown: use an IANA name such as America/New_York"
        }
    }
}
