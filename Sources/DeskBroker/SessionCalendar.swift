import Foundation

/// When the trading session closes each day: a wall-clock time in a time zone
/// (16:00 America/New_York by default). Day orders expire then.
public struct SessionCalendar: Sendable, Equatable {
    public var closeHour: Int
    public var closeMinute: Int
    public var timeZone: TimeZone

    public init(
        closeHour: Int = 16, closeMinute: Int = 0, timeZone: TimeZone = TimeZone(identifier: "America/New_York")!
    ) {
        self.closeHour = closeHour
        self.closeMinute = closeMinute
        self.timeZone = timeZone
    }

    /// Parses `"HH:MM"` and a time zone identifier; nil names what was wrong.
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

    /// The first session close strictly after `date`.
    public func nextClose(after date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = DateComponents(hour: closeHour, minute: closeMinute, second: 0)
        return calendar.nextDate(after: date, matching: components, matchingPolicy: .nextTime)
            ?? date.addingTimeInterval(86_400)
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
