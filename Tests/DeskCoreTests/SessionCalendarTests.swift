import DeskCore
import Foundation
import Testing

/// The NYSE calendar against the exchange's published dates. Source: NYSE Group's
/// press release "NYSE Group Announces 2025, 2026 and 2027 Holiday and Early Closings
/// Calendar" (November 8, 2024, nyse.com / Business Wire), and for 2025-01-09 the
/// NYSE's notice of the National Day of Mourning for President Jimmy Carter.
@Suite("SessionCalendar")
struct SessionCalendarTests {
    /// Every weekday the exchange is closed, per year, as published.
    static let publishedHolidays: [Int: [String]] = [
        2025: [
            "2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19",
            "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25",
        ],
        2026: [
            "2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03",
            "2026-09-07", "2026-11-26", "2026-12-25",
        ],
        2027: [
            "2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18", "2027-07-05",
            "2027-09-06", "2027-11-25", "2027-12-24",
        ],
    ]
    /// Every 13:00 close, per year, as published.
    static let publishedEarlyCloses: [Int: [String]] = [
        2025: ["2025-07-03", "2025-11-28", "2025-12-24"],
        2026: ["2026-11-27", "2026-12-24"],
        2027: ["2027-11-26"],
    ]

    static func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test(
        "every weekday of 2025, 2026 and 2027 is closed, early or regular exactly as the NYSE published",
        arguments: [2025, 2026, 2027])
    func published(year: Int) {
        var closed: [String] = []
        var early: [String] = []
        var day = TradingDay(year: year, month: 1, day: 1)
        while day.year == year {
            switch NYSERules.day(day) {
            case .closed: if !day.isWeekend { closed.append(day.description) }
            case .early: early.append(day.description)
            case .regular: break
            }
            day = day.adding(days: 1)
        }
        #expect(closed == Self.publishedHolidays[year])
        #expect(early == Self.publishedEarlyCloses[year])
    }

    @Test(
        "observed-date rules across 2020–2030",
        arguments: [
            ("2020-07-03", "closed"), ("2021-06-18", "regular"), ("2021-12-24", "closed"),
            ("2021-12-31", "regular"), ("2022-01-17", "closed"), ("2022-06-20", "closed"), ("2022-12-26", "closed"),
            ("2023-01-02", "closed"), ("2023-07-03", "early"), ("2024-07-03", "early"), ("2024-12-24", "early"),
            ("2027-12-31", "regular"), ("2028-07-03", "early"), ("2028-04-14", "closed"), ("2029-12-24", "early"),
            ("2030-04-19", "closed"), ("2030-07-03", "early"), ("2030-11-29", "early"),
        ])
    func observed(day: String, kind: String) {
        let found: String =
            switch NYSERules.day(TradingDay(day)!) {
            case .closed: "closed"
            case .early: "early"
            case .regular: "regular"
            }
        #expect(found == kind, "\(day)")
    }

    @Test("days are read strictly and count weekdays and offsets right")
    func tradingDays() {
        #expect(TradingDay("2026-11-27")?.weekday == 6)
        #expect(TradingDay("1970-01-01")?.weekday == 5)
        #expect(TradingDay("2026-02-30") == nil)
        #expect(TradingDay("2026-2-3") == nil)
        #expect(TradingDay("yesterday") == nil)
        #expect(TradingDay("2024-12-31")!.adding(days: 1) == TradingDay("2025-01-01"))
        #expect(TradingDay("2024-03-01")!.adding(days: -1) == TradingDay("2024-02-29"))
        #expect(ClockTime("09:30") == ClockTime(hour: 9, minute: 30))
        #expect(ClockTime("1300") == ClockTime(hour: 13, minute: 0))
        #expect(ClockTime("25:00") == nil)
    }

    @Test(
        "the next close skips weekends and holidays and knows early closes (Thanksgiving week 2026)",
        arguments: [
            ("2026-11-25T15:00:00Z", "2026-11-25T21:00:00Z"),  // Wednesday: 16:00 New York
            ("2026-11-25T21:00:00Z", "2026-11-27T18:00:00Z"),  // Thanksgiving closed; Friday closes at 13:00
            ("2026-11-27T17:59:00Z", "2026-11-27T18:00:00Z"),
            ("2026-11-27T18:00:00Z", "2026-11-30T21:00:00Z"),  // over the weekend
            ("2026-12-24T12:00:00Z", "2026-12-24T18:00:00Z"),  // Christmas Eve, early
            ("2026-12-24T18:00:00Z", "2026-12-28T21:00:00Z"),  // Christmas, then the weekend
            ("2026-07-02T21:00:00Z", "2026-07-06T20:00:00Z"),  // July 3 observed; summer time
        ])
    func nextClose(after: String, close: String) {
        #expect(SessionCalendar().nextClose(after: Self.at(after)) == Self.at(close))
    }

    @Test("the P&L day begins at the last close; the clock opens and closes with the sessions")
    func lastCloseAndClock() {
        let calendar = SessionCalendar()
        #expect(calendar.lastClose(atOrBefore: Self.at("2026-11-30T15:00:00Z")) == Self.at("2026-11-27T18:00:00Z"))
        #expect(calendar.lastClose(atOrBefore: Self.at("2026-11-27T18:00:00Z")) == Self.at("2026-11-27T18:00:00Z"))
        #expect(calendar.lastClose(atOrBefore: Self.at("2026-11-26T12:00:00Z")) == Self.at("2026-11-25T21:00:00Z"))
        #expect(calendar.isOpen(at: Self.at("2026-11-27T17:00:00Z")))
        #expect(!calendar.isOpen(at: Self.at("2026-11-27T18:30:00Z")))
        #expect(!calendar.isOpen(at: Self.at("2026-11-26T16:00:00Z")))
        #expect(calendar.nextOpen(after: Self.at("2026-11-25T22:00:00Z")) == Self.at("2026-11-27T14:30:00Z"))
        #expect(
            calendar.sessions(from: TradingDay("2024-01-01")!, through: TradingDay("2024-01-07")!).map(
                \.day.description) == ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    }

    @Test("a venue's published days replace the rules within their range, and only there")
    func published() {
        let range = TradingDay("2026-12-01")!...TradingDay("2026-12-31")!
        let early = SessionHours(open: ClockTime(hour: 9, minute: 30), close: ClockTime(hour: 12, minute: 0))
        var days: [TradingDay: SessionHours] = [:]
        for session in SessionCalendar().sessions(from: range.lowerBound, through: range.upperBound)
        where session.day != TradingDay("2026-12-07") {
            days[session.day] = session.hours
        }
        days[TradingDay("2026-12-08")!] = early
        let calendar = SessionCalendar().publishing(days, covering: range)
        #expect(calendar.hours(on: TradingDay("2026-12-07")!) == nil, "closed by the venue")
        #expect(calendar.hours(on: TradingDay("2026-12-08")!) == early)
        #expect(calendar.hours(on: TradingDay("2026-11-27")!) == .early, "before the range: the rules")
        #expect(calendar.nextClose(after: Self.at("2026-12-04T21:00:00Z")) == Self.at("2026-12-08T17:00:00Z"))
    }

    @Test("a daily close (the config file's session.close) closes every day, as before")
    func daily() throws {
        let calendar = try SessionCalendar.parse(close: "16:00", timeZone: "America/New_York").get()
        #expect(calendar.nextClose(after: Self.at("2026-11-25T22:00:00Z")) == Self.at("2026-11-26T21:00:00Z"))
        #expect(calendar.lastClose(atOrBefore: Self.at("2026-11-26T20:00:00Z")) == Self.at("2026-11-25T21:00:00Z"))
        #expect(calendar.lastClose(atOrBefore: Self.at("2026-11-26T21:00:00Z")) == Self.at("2026-11-26T21:00:00Z"))
        #expect(calendar.closeHour == 16 && calendar.closeMinute == 0)
    }
}
